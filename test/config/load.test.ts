import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { type ImageConfig, loadConfig, loadConfigText } from '../../src/config/index.ts';
import { dataDir, examplesDir, loadText, writeFiles } from '../helpers/config.ts';
import { fixture } from '../helpers/paths.ts';
import { tempDir } from '../helpers/tools.ts';

const tmp = tempDir('lading-config-');
after(() => tmp.remove());
let n = 0;
const dir = () => join(tmp.path, `t${n++}`);

const apkoCli = fixture('apko/internal/cli');

describe('real apko configs', () => {
  // apko's CLI tests run from internal/cli, so their relative paths start with ./testdata.
  const configs = readdirSync(join(apkoCli, 'testdata'))
    .filter((f) => f.endsWith('.yaml') && !f.endsWith('.melange.yaml'))
    .sort();

  test('the fixture set is what this test expects', () => {
    assert.deepEqual(configs, [
      'apko-certs.yaml',
      'apko-discover.yaml',
      'apko.yaml',
      'base_image.apko.yaml',
      'empty-layering.yaml',
      'image_on_top.apko.yaml',
      'layering.yaml',
    ]);
  });

  for (const name of configs) {
    test(`${name} loads`, async () => {
      const loaded = await loadConfig(`testdata/${name}`, { cwd: apkoCli });
      assert.deepEqual(loaded.files, [join(apkoCli, 'testdata', name)]);
      assert.deepEqual(loaded.warnings, []);
      assert.deepEqual(loaded.config.archs, ['amd64', 'arm64']);
      assert.ok(loaded.config.contents.packages.length > 0);
    });
  }

  test('apko.yaml: every field as apko reads it', async () => {
    const { config } = await loadConfig('testdata/apko.yaml', { cwd: apkoCli });
    assert.deepEqual(config, {
      contents: {
        repositories: ['./testdata/packages'],
        buildRepositories: [],
        runtimeRepositories: [],
        keyring: ['./testdata/melange.rsa.pub'],
        runtimeKeyring: [],
        packages: ['replayout'],
      },
      entrypoint: { command: '/bin/sh -l', services: {} },
      accounts: { users: [], groups: [] },
      archs: ['amd64', 'arm64'],
      environment: {},
      paths: [],
      annotations: {},
      volumes: [],
      certificates: { additional: [], providers: [] },
      format: 'tar',
    } satisfies ImageConfig);
  });

  test('layering.yaml, empty-layering.yaml, image_on_top and apko-certs keep their special fields', async () => {
    const layered = (await loadConfig('testdata/layering.yaml', { cwd: apkoCli })).config;
    assert.deepEqual(layered.layering, { strategy: 'origin', budget: 2 });
    assert.deepEqual(layered.contents.buildRepositories, ['./packages']);
    assert.deepEqual(layered.contents.runtimeRepositories, ['apk.cgr.dev/runtime-only-repo']);
    const empty = (await loadConfig('testdata/empty-layering.yaml', { cwd: apkoCli })).config;
    assert.equal(empty.layering, undefined);
    const onTop = (await loadConfig('testdata/image_on_top.apko.yaml', { cwd: apkoCli })).config;
    assert.deepEqual(onTop.contents.baseimage, {
      image: './testdata/base_image/',
      apkindex: './testdata/base_image/metadata/',
    });
    const certs = (await loadConfig('testdata/apko-certs.yaml', { cwd: apkoCli })).config;
    assert.deepEqual(certs.certificates.providers, ['custom-ca-certificates']);
  });

  test('the checksum equals the one in apko’s own lock file for the same config', async () => {
    const loaded = await loadConfig('testdata/apko.yaml', { cwd: apkoCli });
    const lock = JSON.parse(readFileSync(join(apkoCli, 'testdata/apko.lock.json'), 'utf8'));
    assert.equal(loaded.checksum, lock.config.checksum);
    const discover = await loadConfig('testdata/apko-discover.yaml', { cwd: apkoCli });
    const discoverLock = JSON.parse(readFileSync(join(apkoCli, 'testdata/apko-discover.lock.json'), 'utf8'));
    assert.equal(discover.checksum, discoverLock.config.checksum);
  });
});

describe('examples/', () => {
  // test/e2e/examples.test.ts resolves, builds and runs them
  for (const name of ['alpine-base.yaml', 'busybox-static.yaml', 'nonroot-app.yaml']) {
    test(`${name} loads without warnings and names Alpine's v3.19 main repository`, async () => {
      const { config, warnings } = await loadConfig(join(examplesDir, name));
      assert.deepEqual(warnings, []);
      assert.deepEqual(config.contents.repositories, ['https://dl-cdn.alpinelinux.org/alpine/v3.19/main']);
    });
  }
});

describe('every field', () => {
  test('full.yaml normalises to the expected ImageConfig', async () => {
    const loaded = await loadConfig('full.yaml', { cwd: dataDir });
    const c = loaded.config;
    assert.deepEqual(c.contents.buildRepositories, ['./local-build-repo']);
    assert.deepEqual(c.contents.runtimeRepositories, [
      'https://dl-cdn.alpinelinux.org/alpine/v3.19/community',
    ]);
    assert.deepEqual(c.contents.repositories, [
      'https://dl-cdn.alpinelinux.org/alpine/v3.19/main',
      '@edge https://dl-cdn.alpinelinux.org/alpine/edge/main',
    ]);
    assert.deepEqual(c.contents.keyring, [
      './keys/local.rsa.pub',
      'https://alpinelinux.org/keys/alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub',
    ]);
    assert.equal(c.contents.runtimeKeyring.length, 1);
    assert.equal(c.contents.runtimeKeyring[0]!.name, 'lading-test.rsa.pub');
    assert.match(
      c.contents.runtimeKeyring[0]!.content,
      /^-----BEGIN PUBLIC KEY-----\n[\s\S]*-----END PUBLIC KEY-----\n$/,
    );
    assert.deepEqual(c.contents.packages, ['alpine-baselayout', 'busybox>=1.36', 'tzdata@edge']);
    assert.equal(c.contents.baseimage, undefined);
    assert.deepEqual(c.entrypoint, {
      command: `/usr/bin/server --listen ":8080" --name 'my server'`,
      services: {},
    });
    assert.equal(c.cmd, '--verbose --config=/etc/server.conf');
    assert.equal(c.stopSignal, 'SIGQUIT');
    assert.equal(c.workDir, '/srv');
    assert.deepEqual(c.accounts, {
      runAs: '65532',
      users: [
        { username: 'nonroot', uid: 65532, gid: 65532, shell: '/bin/sh', homedir: '/home/nonroot' },
        { username: 'app', uid: 1000, gid: 1001, shell: '/sbin/nologin', homedir: '/srv/app' },
      ],
      groups: [
        { groupname: 'nonroot', gid: 65532, members: ['nonroot'] },
        { groupname: 'app', gid: 1001, members: [] },
      ],
    });
    assert.deepEqual(c.archs, ['amd64', 'arm/v7', 'arm64']);
    assert.deepEqual(Object.entries(c.environment), [
      ['PATH', '/usr/bin:/bin'],
      ['TZ', 'UTC'],
      ['WORKERS', '4'],
    ]);
    assert.deepEqual(c.paths, [
      { path: '/srv/data', type: 'directory', uid: 65532, gid: 65532, permissions: 0o750, recursive: true },
      { path: '/srv/data/empty', type: 'empty-file', permissions: 0o640, recursive: false },
      { path: '/usr/local/bin/sh', type: 'symlink', source: '../../../bin/busybox', recursive: false },
      { path: '/srv/app/busybox', type: 'hardlink', source: '/bin/busybox', recursive: false },
      { path: '/etc/shadow', type: 'permissions', uid: 0, gid: 0, permissions: 0o600, recursive: false },
    ]);
    assert.equal(c.vcsUrl, 'https://github.com/example/app@0123456789abcdef0123456789abcdef01234567');
    // `1.10` is a float to YAML; apko (and lading) keep the text as written.
    assert.deepEqual(c.annotations, {
      'org.opencontainers.image.title': 'full',
      'org.opencontainers.image.version': '1.10',
    });
    assert.deepEqual(c.volumes, ['/srv/data']);
    assert.deepEqual(c.layering, { strategy: 'origin', budget: 4 });
    assert.equal(c.format, 'tar');
    assert.equal(c.certificates.additional[0]!.name, 'lading-test-ca');
    assert.deepEqual(c.certificates.providers, ['custom-ca-certificates']);
    assert.deepEqual(loaded.warnings, []);
  });

  test('service-bundle forces the s6 entrypoint and adds s6 once', async () => {
    const { config } = await loadConfig('service-bundle.yaml', { cwd: dataDir });
    assert.equal(config.entrypoint.type, 'service-bundle');
    assert.equal(config.entrypoint.command, '/bin/s6-svscan /sv');
    assert.deepEqual(config.entrypoint.services, {
      cron: '/bin/busybox crond -f',
      web: '/bin/busybox httpd -f -p 8080',
    });
    assert.deepEqual(config.contents.packages, ['busybox', 's6']);
    const pinned = await loadText(
      dir(),
      'a.yaml',
      'contents: {packages: ["s6=2.12"]}\nentrypoint: {type: service-bundle}\n',
    );
    assert.deepEqual(pinned.config.contents.packages, ['s6=2.12']);
  });

  test('a service bundle with its own command warns that the command is replaced', async () => {
    const l = await loadText(dir(), 'a.yaml', 'entrypoint:\n  type: service-bundle\n  command: /bin/true\n');
    assert.equal(l.config.entrypoint.command, '/bin/s6-svscan /sv');
    assert.deepEqual(
      l.warnings.map((w) => `${w.line}:${w.column}`),
      ['2:3'],
    );
  });

  test('YAML details apko users rely on: octal forms, scalar text, yes/no, null, anchors and merge keys', async () => {
    const ok = await loadText(
      dir(),
      'b.yaml',
      [
        'accounts:',
        '  run-as: 0',
        'environment:',
        '  EMPTY:',
        '  FLAG: true',
        '  HEX: 0x10',
        'cmd:',
        'paths:',
        '  - &p {path: /a, type: directory, permissions: 0755}',
        '  - {path: /b, type: directory, permissions: 0o755}',
        '  - {path: /c, type: directory, permissions: 493}',
        '  - {path: /d, type: permissions, permissions: 0x1ED, recursive: yes}',
        '  - <<: *p',
        '    path: /e',
        '    uid: 1_000',
        '    recursive: off',
      ].join('\n'),
    );
    const c = ok.config;
    assert.equal(c.accounts.runAs, '0');
    assert.deepEqual(c.environment, { EMPTY: '', FLAG: 'true', HEX: '0x10' });
    assert.equal(c.cmd, undefined);
    assert.deepEqual(
      c.paths.map((p) => [p.path, p.permissions, p.uid, p.gid, p.recursive]),
      [
        ['/a', 0o755, undefined, undefined, false],
        ['/b', 0o755, undefined, undefined, false],
        ['/c', 0o755, undefined, undefined, false],
        ['/d', 0o755, undefined, undefined, true],
        ['/e', 0o755, 1000, 0, false],
      ],
    );
  });

  test('loadConfigText reads a config from memory', async () => {
    const l = await loadConfigText('contents: {packages: [busybox]}\n', 'stdin.yaml', { cwd: dataDir });
    assert.deepEqual(l.config.contents.packages, ['busybox']);
    assert.equal(l.path, 'stdin.yaml');
  });
});

describe('include:', () => {
  test('merge rules: singles from the base only when unset, lists base first, maps per key, vcs-url not inherited', async () => {
    const d = dir();
    writeFiles(d, {
      'base.yaml': [
        'contents:',
        '  build_repositories: [base-build]',
        '  runtime_repositories: [base-runtime]',
        '  repositories: [base-repo]',
        '  keyring: [base.rsa.pub]',
        '  packages: [base-pkg]',
        'entrypoint: {command: /base}',
        'cmd: base-cmd',
        'stop-signal: SIGINT',
        'work-dir: /base',
        'accounts:',
        '  run-as: base',
        '  users: [{username: base, uid: 100}]',
        '  groups: [{groupname: base, gid: 100}]',
        'archs: [aarch64]',
        'environment: {A: base, B: base}',
        'annotations: {a: base, b: base}',
        'paths: [{path: /base, type: directory}]',
        'volumes: [/base]',
        'vcs-url: https://example.com/base@1',
        'layering: {strategy: origin, budget: 3}',
        'certificates: {providers: [base-ca]}',
        '',
      ].join('\n'),
      'top.yaml': [
        'include: base.yaml',
        'contents:',
        '  repositories: [top-repo]',
        '  packages: [top-pkg]',
        'cmd: top-cmd',
        'accounts:',
        '  users: [{username: top, uid: 200}]',
        'environment: {B: top, C: top}',
        'annotations: {b: top}',
        'paths: [{path: /top, type: directory}]',
        'volumes: [/top]',
        '',
      ].join('\n'),
    });
    const { config, files } = await loadConfig('top.yaml', { cwd: d });
    assert.deepEqual(files, [join(d, 'top.yaml'), join(d, 'base.yaml')]);
    assert.deepEqual(config.contents, {
      repositories: ['base-repo', 'top-repo'],
      buildRepositories: ['base-build'],
      runtimeRepositories: ['base-runtime'],
      keyring: ['base.rsa.pub'],
      runtimeKeyring: [],
      packages: ['base-pkg', 'top-pkg'],
    });
    assert.equal(config.entrypoint.command, '/base');
    assert.equal(config.cmd, 'top-cmd');
    assert.equal(config.stopSignal, 'SIGINT');
    assert.equal(config.workDir, '/base');
    assert.equal(config.accounts.runAs, 'base');
    assert.deepEqual(
      config.accounts.users.map((u) => u.username),
      ['base', 'top'],
    );
    assert.deepEqual(
      config.accounts.groups.map((g) => g.groupname),
      ['base'],
    );
    assert.deepEqual(config.archs, ['arm64']);
    assert.deepEqual(config.environment, { A: 'base', B: 'top', C: 'top' });
    assert.deepEqual(config.annotations, { a: 'base', b: 'top' });
    assert.deepEqual(
      config.paths.map((p) => p.path),
      ['/base', '/top'],
    );
    assert.deepEqual(config.volumes, ['/base', '/top']);
    assert.equal(config.vcsUrl, undefined);
    assert.deepEqual(config.layering, { strategy: 'origin', budget: 3 });
    assert.deepEqual(config.certificates.providers, ['base-ca']);
  });

  test('the including file’s own single values and whole entrypoint win', async () => {
    const d = dir();
    writeFiles(d, {
      'base.yaml':
        'entrypoint: {command: /base, shell-fragment: "echo base"}\narchs: [x86_64]\nwork-dir: /base\n',
      'top.yaml': 'include: base.yaml\nentrypoint: {command: /top}\narchs: [arm64]\nwork-dir: /top\n',
    });
    const { config } = await loadConfig('top.yaml', { cwd: d });
    assert.deepEqual(config.entrypoint, { command: '/top', services: {} });
    assert.deepEqual(config.archs, ['arm64']);
    assert.equal(config.workDir, '/top');
  });

  test('recursive includes are resolved from the working directory, then --include-paths, then beside the file', async () => {
    const d = dir();
    writeFiles(d, {
      'conf/top.yaml': 'include: conf/mid.yaml\ncontents: {packages: [top]}\n',
      'conf/mid.yaml': 'include: low.yaml\ncontents: {packages: [mid]}\n',
      'shared/low.yaml': 'contents: {packages: [low]}\n',
    });
    const { config, files } = await loadConfig('conf/top.yaml', { cwd: d, includePaths: ['shared'] });
    assert.deepEqual(config.contents.packages, ['low', 'mid', 'top']);
    assert.deepEqual(files, [join(d, 'conf/top.yaml'), join(d, 'conf/mid.yaml'), join(d, 'shared/low.yaml')]);
    writeFiles(d, {
      'conf/side.yaml': 'include: sibling.yaml\n',
      'conf/sibling.yaml': 'contents: {packages: [sib]}\n',
    });
    const side = await loadConfig('conf/side.yaml', { cwd: d });
    assert.deepEqual(side.config.contents.packages, ['sib']);
  });

  test('the checksum covers the config and its includes, in order, and ignores CRLF', async () => {
    const d = dir();
    const base = 'contents:\n  packages: [busybox]\n';
    const top = 'include: base.yaml\ncmd: /bin/sh\n';
    writeFiles(d, { 'base.yaml': base, 'top.yaml': top });
    const lf = await loadConfig('top.yaml', { cwd: d });
    const expected = `sha256-${createHash('sha256').update(top).update(base).digest('base64')}`;
    assert.equal(lf.checksum, expected);
    writeFiles(d, { 'base.yaml': base.replace(/\n/g, '\r\n'), 'top.yaml': top.replace(/\n/g, '\r\n') });
    const crlf = await loadConfig('top.yaml', { cwd: d });
    assert.equal(crlf.checksum, expected);
    assert.deepEqual(crlf.config, lf.config);
    writeFiles(d, { 'base.yaml': 'contents:\n  packages: [musl]\n' });
    assert.notEqual((await loadConfig('top.yaml', { cwd: d })).checksum, expected);
  });
});
