// CLI tests run bin/lading.js, which uses the bundle in dist/: rebuild it first
// (./node_modules/.bin/node scripts/build.mjs; `npm test` does).
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { parse } from 'yaml';
import { configJsonSchemaText } from '../../src/config/index.ts';
import { examplesDir, writeFiles } from '../helpers/config.ts';
import { fixture } from '../helpers/paths.ts';
import { lading, tempDir } from '../helpers/tools.ts';

const tmp = tempDir('lading-config-cli-');
after(() => tmp.remove());

describe('lading schema', () => {
  test('prints the JSON Schema', () => {
    const r = lading(['schema']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, configJsonSchemaText());
  });

  test('-o writes it to a file; a bad destination fails and leaves nothing behind', () => {
    const out = join(tmp.path, 'schema.json');
    const r = lading(['schema', '-o', out]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, '');
    assert.equal(readFileSync(out, 'utf8'), configJsonSchemaText());
    const bad = lading(['schema', '-o', join(tmp.path, 'missing-dir', 'schema.json')]);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /^lading: error: .*missing-dir\/schema\.json: cannot write output/);
    assert.deepEqual(
      readdirSync(tmp.path).filter((f) => f.includes('.tmp')),
      [],
    );
  });
});

describe('lading show-config', () => {
  test('prints the merged config with flags applied and credentials removed', () => {
    const d = join(tmp.path, 'show');
    writeFiles(d, {
      'base.yaml':
        'contents:\n  repositories: [https://user:hunter2@repo.example/main]\n  packages: [musl]\n',
      'app.yaml': 'include: base.yaml\ncontents:\n  packages: [busybox]\narchs: [x86_64]\n',
    });
    const r = lading(
      [
        '-C',
        d,
        'show-config',
        'app.yaml',
        '-r',
        'https://u2:pw2@extra.example/repo',
        '-b',
        './build-only',
        '-k',
        'https://keys.example/k.rsa.pub',
        '-p',
        'zlib,tzdata',
        '--arch',
        'aarch64',
        '--annotations',
        'org.opencontainers.image.title:app, with comma',
      ],
      { cwd: tmp.path },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.ok(!/hunter2|user|pw2|u2/.test(r.stdout + r.stderr));
    assert.deepEqual(parse(r.stdout), {
      contents: {
        build_repositories: ['./build-only'],
        repositories: ['https://repo.example/main', 'https://extra.example/repo'],
        keyring: ['https://keys.example/k.rsa.pub'],
        packages: ['musl', 'busybox', 'zlib', 'tzdata'],
      },
      archs: ['arm64'],
      annotations: { 'org.opencontainers.image.title': 'app, with comma' },
    });
  });

  test('--json prints apko field names', () => {
    const r = lading(['show-config', '--json', join(examplesDir, 'busybox-static.yaml')]);
    assert.equal(r.status, 0, r.stderr);
    const doc = JSON.parse(r.stdout);
    assert.deepEqual(doc.contents.packages, ['busybox-static', 'alpine-baselayout-data', 'alpine-release']);
    assert.deepEqual(doc.entrypoint, { command: '/bin/busybox.static sh' });
  });

  test('apko’s own config, from its directory', () => {
    const r = lading(['show-config', 'testdata/apko.yaml'], { cwd: fixture('apko/internal/cli') });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(
      r.stdout,
      [
        'contents:',
        '  repositories:',
        '    - ./testdata/packages',
        '  keyring:',
        '    - ./testdata/melange.rsa.pub',
        '  packages:',
        '    - replayout',
        'entrypoint:',
        '  command: /bin/sh -l',
        'archs:',
        '  - amd64',
        '  - arm64',
        '',
      ].join('\n'),
    );
  });

  test('a bad config exits 1 with every problem as file:line:column on stderr and nothing on stdout', () => {
    const d = join(tmp.path, 'bad');
    writeFiles(d, {
      'bad.yaml': 'contents:\n  pakages: [busybox]\naccounts:\n  users:\n    - {username: x, uid: 0}\n',
    });
    const r = lading(['show-config', 'bad.yaml'], { cwd: d });
    assert.equal(r.status, 1);
    assert.equal(r.stdout, '');
    assert.equal(
      r.stderr,
      [
        'lading: error: bad.yaml:2:3: unknown field "pakages" in contents (did you mean "packages"?)',
        'bad.yaml:5:26: accounts.users[0].uid: uid 0 is root and cannot be added as a user (to run as root, use `run-as: 0`)',
        '',
      ].join('\n'),
    );
  });

  test('warnings go to stderr and the config is still printed', () => {
    const d = join(tmp.path, 'warn');
    writeFiles(d, { 'w.yaml': 'entrypoint:\n  command: /bin/app | tee log\n' });
    const r = lading(['show-config', 'w.yaml'], { cwd: d });
    assert.equal(r.status, 0);
    assert.match(r.stderr, /^warn: w\.yaml:2:3: entrypoint\.command is not run by a shell/);
    assert.match(r.stderr, /hint: use entrypoint\.shell-fragment/);
    assert.match(r.stdout, /command: \/bin\/app \| tee log/);
  });

  test('usage errors: bad --annotations, unknown --arch, missing config', () => {
    const example = join(examplesDir, 'alpine-base.yaml');
    const a = lading(['show-config', example, '--annotations', 'nocolon']);
    assert.equal(a.status, 1);
    assert.match(a.stderr, /--annotations "nocolon": expected key:value/);
    const b = lading(['show-config', example, '--arch', 'x86-64']);
    assert.equal(b.status, 1);
    assert.match(b.stderr, /unknown architecture "x86-64" \(did you mean "x86_64"\?\)/);
    const c = lading(['show-config', join(tmp.path, 'nope.yaml')]);
    assert.equal(c.status, 1);
    assert.match(c.stderr, /config file ".*nope\.yaml" not found/);
    assert.ok(!existsSync(join(tmp.path, 'nope.yaml')));
  });
});
