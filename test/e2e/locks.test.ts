/**
 * One version across architectures, and lock files that lock. Repositories are made here with the library calls
 * behind `lading package` and `lading index` (test/cli has the commands; x86_64 has foo 1.0 and 2.0, aarch64 only
 * 1.0) and served over HTTP by the repo server,
 * whose request log shows what a locked build fetches. apko's own lock fixture is matched byte for byte, and a
 * noarch package laid out apk-tools' way (only under REPO/noarch/) builds, as the real apk-tools installs it.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createApk, readSourceTree } from '../../src/apk/apk-writer.ts';
import { indexRecordsFromFiles, writeApkIndex } from '../../src/apk/apkindex.ts';
import { loadSigningKey } from '../../src/apk/signature.ts';
import { parseLock, parseRange } from '../../src/lock/format.ts';
import { readTar } from '../../src/tar/reader.ts';
import { layerTars, layoutManifests } from '../helpers/image-tree.ts';
import { makeKey } from '../helpers/make-repo.ts';
import { apkOracle, fixture } from '../helpers/paths.ts';
import { type RepoServer, startRepoServer } from '../helpers/repo-server.ts';
import { ladingAsync, type RunResult, run, tempDir } from '../helpers/tools.ts';

const tmp = tempDir('lading-locks-');
const at = (...p: string[]) => join(tmp.path, ...p);
const key = makeKey(at('keys'));
const KEY_PATH = '/keys/test@lading.rsa.pub';

/** NAME-VERSION.apk in `dir` (as `lading package` writes it), holding usr/share/NAME/version. */
async function makePackage(
  dir: string,
  name: string,
  version: string,
  arch: string,
  depends: string[] = [],
): Promise<string> {
  const src = at('src', `${name}-${version}-${arch}`);
  mkdirSync(join(src, 'usr/share', name), { recursive: true });
  writeFileSync(join(src, 'usr/share', name, 'version'), `${version}\n`);
  mkdirSync(dir, { recursive: true });
  const out = join(dir, `${name}-${version}.apk`);
  const entries = await readSourceTree(src);
  const signingKey = await loadSigningKey(key.privateKey);
  writeFileSync(out, createApk({ name, version, arch, depends }, entries, { signingKey }).bytes);
  return out;
}

/** DIR/APKINDEX.tar.gz of these packages (as `lading index` writes it). */
async function index(dir: string, apks: string[]): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const signingKey = await loadSigningKey(key.privateKey);
  const packages = await indexRecordsFromFiles(apks);
  writeFileSync(join(dir, 'APKINDEX.tar.gz'), writeApkIndex({ packages, signingKey }));
}

function ok(r: RunResult): string {
  assert.equal(r.status, 0, r.stderr + r.stdout);
  return r.stdout;
}

function config(name: string, repo: string, keyring: string, packages: string[]): string {
  const path = at(name);
  writeFileSync(
    path,
    `contents:\n  repositories: [${repo}]\n  keyring: [${keyring}]\n  packages: [${packages.join(', ')}]\narchs: [x86_64, aarch64]\n`,
  );
  return path;
}

/** A file of one image of a layout (`amd64`, `arm64`). */
function imageFile(layout: string, arch: string, path: string): string | undefined {
  for (const tar of layerTars(layout, arch)) {
    for (const e of readTar(tar)) {
      if (e.name === path) return tar.toString('utf8', e.dataOffset, e.dataOffset + e.size);
    }
  }
  return undefined;
}

/** name → version from the image's installed database. */
function installed(layout: string, arch: string): Map<string, string> {
  const db = imageFile(layout, arch, 'lib/apk/db/installed') ?? '';
  return new Map([...db.matchAll(/^P:(.*)\nV:(.*)$/gm)].map((m) => [m[1]!, m[2]!]));
}

const digestOf = (r: RunResult) => ok(r).trim();

let server: RepoServer;
let multi: string;
let only: string;
let plainDigest: string;
const cacheA = at('cache-a');
const cacheB = at('cache-b');
/** A cache that has not seen the repository before it changed (indexes are fresh in a cache for 60 s). */
const cacheC = at('cache-c');
const multiRepo = at('multi');
const lockFile = at('multi.lock.json');

before(async () => {
  const x86 = join(multiRepo, 'x86_64');
  const arm = join(multiRepo, 'aarch64');
  await index(x86, [
    await makePackage(x86, 'base', '1.0-r0', 'x86_64'),
    await makePackage(x86, 'foo', '1.0-r0', 'x86_64', ['base']),
    await makePackage(x86, 'foo', '2.0-r0', 'x86_64', ['base']),
    await makePackage(x86, 'only-x86', '1.0-r0', 'x86_64'),
  ]);
  await index(arm, [
    await makePackage(arm, 'base', '1.0-r0', 'aarch64'),
    await makePackage(arm, 'foo', '1.0-r0', 'aarch64', ['base']),
  ]);
  server = await startRepoServer({ repo: multiRepo, keys: at('keys') });
  multi = config('multi.yaml', `${server.url}/repo`, `${server.url}${KEY_PATH}`, ['foo']);
  only = config('only.yaml', `${server.url}/repo`, `${server.url}${KEY_PATH}`, ['only-x86']);
});
after(async () => {
  await server?.close();
  tmp.remove();
});

const build = (cfg: string, out: string, cache: string, args: string[] = []) =>
  ladingAsync(['build', cfg, 'test:1', `${at(out)}/`, '--cache-dir', cache, '--log-level', 'warn', ...args]);

describe('one version across architectures', () => {
  it('a version one architecture lacks is chosen for none; a package one architecture lacks is an error', async () => {
    plainDigest = digestOf(await build(multi, 'plain', cacheA));
    for (const arch of ['amd64', 'arm64'])
      assert.equal(installed(at('plain'), arch).get('foo'), '1.0-r0', arch);
    // show-packages and dot agree with the build
    const shown = ok(
      await ladingAsync(['show-packages', multi, '--cache-dir', cacheA, '--log-level', 'warn']),
    );
    assert.equal(shown, 'base 1.0-r0\nfoo 1.0-r0\n'.repeat(2));

    const r = await build(only, 'only', cacheA);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /only-x86: x86_64 has 1\.0-r0; aarch64 has none \(aarch64 lacks only-x86\)/);
    assert.equal(existsSync(at('only')), false);
  });
});

describe('lock files', () => {
  it('lock, then build --lockfile: the same image, no index fetched, a gone key URL replaced by the lock', async () => {
    ok(await ladingAsync(['lock', multi, '--cache-dir', cacheA]));
    const lock = parseLock(readFileSync(lockFile, 'utf8'), lockFile);
    assert.deepEqual(
      lock.contents.packages.map((p) => `${p.architecture} ${p.name}-${p.version}`),
      ['x86_64 base-1.0-r0', 'x86_64 foo-1.0-r0', 'aarch64 base-1.0-r0', 'aarch64 foo-1.0-r0'],
    );
    assert.match(ok(await ladingAsync(['lock', '--check', multi, '--cache-dir', cacheA])), /^$/);

    // a fresh cache: every package comes from its locked URL; the key URL now answers 404
    server.requests.length = 0;
    server.faults.push({ path: KEY_PATH, fault: { kind: 'status', status: 404 } });
    const r = await build(multi, 'locked', cacheB, ['--lockfile', lockFile]);
    assert.equal(digestOf(r), plainDigest);
    assert.match(r.stderr, /using the key's content recorded in the lock file/);
    const paths = server.requests.map((q) => q.path);
    assert.deepEqual(
      paths.filter((p) => p.includes('APKINDEX')),
      [],
    );
    assert.deepEqual(paths.filter((p) => p.endsWith('.apk')).sort(), [
      '/repo/aarch64/base-1.0-r0.apk',
      '/repo/aarch64/foo-1.0-r0.apk',
      '/repo/x86_64/base-1.0-r0.apk',
      '/repo/x86_64/foo-1.0-r0.apk',
    ]);
    // show-packages reads the lock alone
    server.requests.length = 0;
    const shown = ok(
      await ladingAsync(['show-packages', multi, '--lockfile', lockFile, '--cache-dir', cacheB]),
    );
    assert.equal(shown, 'base 1.0-r0\nfoo 1.0-r0\n'.repeat(2));
    assert.deepEqual(
      server.requests.filter((q) => !q.path.startsWith('/keys/')),
      [],
    );
  });

  it('a newer version is ignored with the lock and picked without it; lock --check says what changed', async () => {
    for (const arch of ['x86_64', 'aarch64']) {
      const dir = join(multiRepo, arch);
      await makePackage(dir, 'foo', '3.0-r0', arch, ['base']);
      const apks = ['base-1.0-r0', 'foo-1.0-r0', 'foo-3.0-r0', ...(arch === 'x86_64' ? ['foo-2.0-r0'] : [])];
      await index(
        dir,
        apks.map((a) => join(dir, `${a}.apk`)),
      );
    }
    server.requests.length = 0;
    assert.equal(digestOf(await build(multi, 'locked-again', cacheB, ['--lockfile', lockFile])), plainDigest);
    assert.deepEqual(
      server.requests.filter((q) => q.path.includes('APKINDEX')),
      [],
    );

    const fresh = await build(multi, 'fresh', cacheC);
    assert.notEqual(digestOf(fresh), plainDigest);
    assert.equal(installed(at('fresh'), 'arm64').get('foo'), '3.0-r0');

    const check = await ladingAsync(['lock', '--check', multi, '--cache-dir', cacheC]);
    assert.equal(check.status, 1, check.stderr);
    assert.match(
      check.stderr,
      /x86_64:\n\s+upgraded: foo 1\.0-r0 → 3\.0-r0\n\s+aarch64:\n\s+upgraded: foo 1\.0-r0 → 3\.0-r0/,
    );
    assert.deepEqual(parseLock(readFileSync(lockFile, 'utf8'), 'x').contents.packages[1]!.version, '1.0-r0');
    // rewriting a lock says the same
    const copy = at('rewritten.lock.json');
    copyFileSync(lockFile, copy);
    const rewrite = await ladingAsync(['lock', multi, '-o', copy, '--cache-dir', cacheC]);
    assert.match(
      ok(rewrite) + rewrite.stderr,
      /updated \S+rewritten\.lock\.json [^\n]*:\n\s+x86_64:\n\s+upgraded: foo 1\.0-r0 → 3\.0-r0/,
    );
    assert.equal(parseLock(readFileSync(copy, 'utf8'), 'x').contents.packages[1]!.version, '3.0-r0');
  });

  it('--arch builds a subset of the lock with its pinned packages; an architecture it lacks is named', async () => {
    ok(await build(multi, 'arm', cacheB, ['--lockfile', lockFile, '--arch', 'aarch64']));
    assert.deepEqual([...layoutManifests(at('arm')).keys()], ['arm64']);
    assert.equal(imageFile(at('arm'), 'arm64', 'etc/apk/world'), 'foo\n');
    assert.deepEqual(
      [...installed(at('arm'), 'arm64')],
      [
        ['base', '1.0-r0'],
        ['foo', '1.0-r0'],
      ],
    );

    const r = await build(multi, 'armv7', cacheB, ['--lockfile', lockFile, '--arch', 'armv7']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /the lock has no packages for armv7 \(it locks x86_64, aarch64\)/);
  });

  it('refuses a tampered or stale lock, saying what differs; a CRLF copy of the config is not stale', async () => {
    const lock = parseLock(readFileSync(lockFile, 'utf8'), lockFile);
    const tampered = structuredClone(lock);
    tampered.contents.packages[3]!.data.checksum = `sha256-${Buffer.alloc(32).toString('base64')}`;
    writeFileSync(at('tampered.lock.json'), JSON.stringify(tampered));
    const t = await build(multi, 'tampered', cacheB, ['--lockfile', at('tampered.lock.json')]);
    assert.equal(t.status, 1);
    assert.match(t.stderr, /locked package foo-1\.0-r0 \(aarch64\) from \S+ does not match the lock: data /);
    // publish builds through the same lock
    const p = await ladingAsync([
      'publish',
      multi,
      '127.0.0.1:9/x:1',
      '--lockfile',
      at('tampered.lock.json'),
      '--cache-dir',
      cacheB,
    ]);
    assert.equal(p.status, 1);
    assert.match(p.stderr, /foo-1\.0-r0 \(aarch64\) from \S+ does not match the lock: data /);

    // a package gone from the repository (a fresh cache has to fetch it)
    renameSync(join(multiRepo, 'aarch64/base-1.0-r0.apk'), at('base.apk'));
    const g = await build(multi, 'gone', at('cache-d'), ['--lockfile', lockFile]);
    renameSync(at('base.apk'), join(multiRepo, 'aarch64/base-1.0-r0.apk'));
    assert.equal(g.status, 1);
    assert.match(
      g.stderr,
      /locked package base-1\.0-r0 \(aarch64\) is gone from http:\S+: package base-1\.0-r0 not found at \S+\/aarch64\/base-1\.0-r0\.apk/,
    );

    const changed = config('changed.yaml', `${server.url}/repo`, `${server.url}${KEY_PATH}`, [
      'foo',
      'only-x86',
    ]);
    const s = await build(changed, 'changed', cacheB, ['--lockfile', lockFile]);
    assert.equal(s.status, 1);
    assert.match(
      s.stderr,
      /the lock is stale: \S+changed\.yaml changed since the lock was written:\n\s+- package added: only-x86/,
    );

    const crlf = at('crlf.yaml');
    writeFileSync(crlf, readFileSync(multi, 'utf8').replace(/\n/g, '\r\n'));
    const c = await ladingAsync([
      'build',
      crlf,
      'test:1',
      `${at('crlf')}/`,
      '--cache-dir',
      cacheB,
      '--lockfile',
      lockFile,
    ]);
    assert.equal(c.stdout.trim(), plainDigest, c.stderr);
    assert.match(
      c.stderr,
      /crlf\.yaml has CRLF line endings: its checksum was compared with LF line endings/,
    );
  });

  it("apko's fixture: the lock equals apko's byte for byte, its ranges tile each package; old locks are refused", async () => {
    const dir = at('apko');
    mkdirSync(dir);
    const testdata = fixture('apko/internal/cli/testdata');
    copyFileSync(join(testdata, 'apko.yaml'), join(dir, 'apko.yaml'));
    symlinkSync(testdata, join(dir, 'testdata'));
    const cwd = { cwd: dir };
    ok(await ladingAsync(['lock', 'apko.yaml', '--cache-dir', cacheA], cwd));
    const text = readFileSync(join(dir, 'apko.lock.json'), 'utf8');
    assert.equal(text, readFileSync(join(testdata, 'apko.lock.json'), 'utf8'));
    for (const p of parseLock(text, 'apko.lock.json').contents.packages) {
      const bytes = readFileSync(join(dir, p.url));
      let next = 0;
      for (const [member, algorithm] of [
        ['signature', 'sha1'],
        ['control', 'sha1'],
        ['data', 'sha256'],
      ] as const) {
        const [from, to] = parseRange(p[member].range)!;
        assert.equal(from, next, `${p.url} ${member}`);
        const digest = createHash(algorithm)
          .update(bytes.subarray(from, to + 1))
          .digest('base64');
        assert.equal(p[member].checksum, `${algorithm}-${digest}`);
        next = to + 1;
      }
      assert.equal(next, bytes.length, p.url);
    }
    const plain = digestOf(
      await ladingAsync(['build', 'apko.yaml', 'golden:latest', 'plain/', '--cache-dir', cacheA], cwd),
    );
    const locked = await ladingAsync(
      [
        'build',
        'apko.yaml',
        'golden:latest',
        'locked/',
        '--cache-dir',
        cacheB,
        '--lockfile',
        'apko.lock.json',
      ],
      cwd,
    );
    assert.equal(digestOf(locked), plain);
    const old = await ladingAsync(
      [
        'build',
        'apko.yaml',
        'x',
        'old/',
        '--cache-dir',
        cacheB,
        '--lockfile',
        'testdata/apko.pre-0.13.lock.json',
      ],
      cwd,
    );
    assert.equal(old.status, 1);
    assert.match(old.stderr, /written by apko before 0\.13[\s\S]*regenerate it with `lading lock CONFIG`/);
  });
});

describe('noarch packages', () => {
  it("build from apk-tools' layout (REPO/noarch/) and apko's (REPO/<arch>/); apk-tools installs the first", async () => {
    const apkTools = at('noarch-apk-tools');
    const data = await makePackage(join(apkTools, 'noarch'), 'data', '1.0-r0', 'noarch');
    const apko = at('noarch-apko');
    for (const arch of ['x86_64', 'aarch64']) {
      await index(join(apkTools, arch), [data]);
      mkdirSync(join(apko, arch), { recursive: true });
      copyFileSync(data, join(apko, arch, 'data-1.0-r0.apk'));
      await index(join(apko, arch), [join(apko, arch, 'data-1.0-r0.apk')]);
    }
    for (const [name, repo] of [
      ['tools', apkTools],
      ['apko', apko],
    ] as const) {
      const cfg = config(`noarch-${name}.yaml`, repo, key.key, ['data']);
      ok(await build(cfg, `noarch-${name}`, cacheA));
      for (const arch of ['amd64', 'arm64']) {
        assert.equal(
          imageFile(at(`noarch-${name}`), arch, 'usr/share/data/version'),
          '1.0-r0\n',
          `${name} ${arch}`,
        );
      }
    }
    // locked: the URL is where the package is
    const cfg = at('noarch-tools.yaml');
    ok(await ladingAsync(['lock', cfg, '--cache-dir', cacheA]));
    const lock = parseLock(readFileSync(at('noarch-tools.lock.json'), 'utf8'), 'x');
    assert.deepEqual(
      lock.contents.packages.map((p) => `${p.architecture} ${p.url}`),
      ['x86_64', 'aarch64'].map((a) => `${a} ${apkTools}/noarch/data-1.0-r0.apk`),
    );
    ok(await build(cfg, 'noarch-locked', cacheB, ['--lockfile', at('noarch-tools.lock.json')]));

    const root = at('apk-root');
    const apk = run(apkOracle, [
      ...['add', '--root', root, '--initdb', '--no-network', '--no-scripts', '--arch', 'x86_64'],
      ...['--keys-dir', dirname(key.key), '--repository', apkTools, 'data'],
    ]);
    assert.equal(apk.status, 0, apk.stderr);
    assert.equal(readFileSync(join(root, 'usr/share/data/version'), 'utf8'), '1.0-r0\n');
  });
});
