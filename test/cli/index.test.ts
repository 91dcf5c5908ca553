import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { readApkIndex } from '../../src/apk/apkindex.ts';
import { type HostilePackage, hostileApk, testKey } from '../helpers/hostile.ts';
import { apkOracle, fixture } from '../helpers/paths.ts';
import { lading, ladingAsync, run, tempDir } from '../helpers/tools.ts';

const tmp = tempDir('lading-index-');
after(tmp.remove);
const keys = join(tmp.path, 'keys');
const iso = (f: string) => fixture(`alpine/v3.19.1-iso-repo/x86_64/${f}`);
const pkgs = ['zlib-1.3.1-r0.apk', 'musl-1.2.4_git20230717-r4.apk', 'busybox-1.36.1-r15.apk'].map(iso);

before(() => {
  mkdirSync(keys);
  const r = lading(['keygen', join(keys, 'idx'), '--bits', '2048']);
  assert.equal(r.status, 0, r.stderr);
});

test('an index of real Alpine packages: the same records as Alpine’s own index, signed, accepted by apk', () => {
  const dir = join(tmp.path, 'repo/x86_64');
  mkdirSync(dir, { recursive: true });
  for (const p of pkgs) copyFileSync(p, join(dir, p.split('/').pop()!));
  const out = join(dir, 'APKINDEX.tar.gz');
  const r = lading(['index', '--key', join(keys, 'idx.rsa'), '-o', out, '--description', 'mine', ...pkgs]);
  assert.equal(r.status, 0, r.stderr);
  const ours = readApkIndex(readFileSync(out));
  assert.equal(ours.description, 'mine');
  assert.deepEqual(
    ours.packages.map((p) => p.name),
    ['busybox', 'musl', 'zlib'],
  );
  const alpine = readApkIndex(readFileSync(iso('APKINDEX.tar.gz')));
  for (const p of ours.packages) {
    const theirs = alpine.packages.find((a) => a.name === p.name && a.version === p.version);
    assert.deepEqual(p, theirs, p.name);
  }
  const v = run(apkOracle, ['--keys-dir', keys, 'verify', out]);
  assert.match(v.stdout, /0 - OK/, v.stdout + v.stderr);
  // apk resolves from it (the packages themselves are signed by Alpine's key)
  const alpineAndOurs = join(tmp.path, 'both-keys');
  mkdirSync(alpineAndOurs);
  copyFileSync(join(keys, 'idx.rsa.pub'), join(alpineAndOurs, 'idx.rsa.pub'));
  for (const k of readdirSync(fixture('alpine/keys')))
    copyFileSync(join(fixture('alpine/keys'), k), join(alpineAndOurs, k));
  const add = run(apkOracle, [
    'add',
    '--root',
    join(tmp.path, 'root'),
    '--initdb',
    '--no-network',
    '--no-scripts',
    '--arch',
    'x86_64',
    '--keys-dir',
    alpineAndOurs,
    '--repository',
    join(tmp.path, 'repo'),
    'zlib',
  ]);
  assert.equal(add.status, 0, add.stdout + add.stderr);
  assert.match(add.stdout, /Installing musl .*\n.*Installing zlib/s);

  // --sha1 writes an RSA (SHA-1) signature that apk also accepts
  const sha1 = join(tmp.path, 'sha1.tar.gz');
  assert.equal(lading(['index', '--key', join(keys, 'idx.rsa'), '--sha1', '-o', sha1, ...pkgs]).status, 0);
  assert.equal(readApkIndex(readFileSync(sha1)).signatures[0]!.algorithm, 'RSA');
  assert.match(run(apkOracle, ['--keys-dir', keys, 'verify', sha1]).stdout, /0 - OK/);

  // without --key the index is unsigned, and says so
  const unsigned = join(tmp.path, 'unsigned.tar.gz');
  const u = lading(['index', '-o', unsigned, ...pkgs]);
  assert.match(u.stdout, /unsigned/);
  assert.match(lading(['verify', '--keyring', keys, unsigned]).stdout, /UNSIGNED/);
});

test('bad input: an error naming the file, exit 1, no output', () => {
  const outDir = join(tmp.path, 'bad');
  mkdirSync(outDir);
  const out = join(outDir, 'APKINDEX.tar.gz');
  const truncated = join(tmp.path, 'truncated.apk');
  writeFileSync(truncated, readFileSync(pkgs[0]!).subarray(0, 1000));
  const cases: [string[], RegExp][] = [
    [['index', '-o', out, join(tmp.path, 'missing.apk')], /missing\.apk: cannot read package \(ENOENT\)/],
    [['index', '-o', out, truncated], /truncated\.apk: .*truncated/],
    [['index', '-o', out, iso('APKINDEX.tar.gz')], /APKINDEX\.tar\.gz: this is an APKINDEX, not a package/],
    [['index', '-o', out, pkgs[0]!, pkgs[0]!], /zlib-1\.3\.1-r0 is given twice/],
    [
      ['index', '--key', join(keys, 'idx.rsa.pub'), '-o', out, pkgs[0]!],
      /idx\.rsa\.pub: this is a public key/,
    ],
    [
      ['index', '--key', join(tmp.path, 'nokey.rsa'), '-o', out, pkgs[0]!],
      /nokey\.rsa: cannot read the signing key/,
    ],
  ];
  for (const [args, message] of cases) {
    const r = lading(args);
    assert.equal(r.status, 1, args.join(' '));
    assert.match(r.stderr, message);
    assert.deepEqual(readdirSync(outDir), [], `${args.join(' ')}: no output`);
  }
});

test('one set of package rules: index refuses and verify reports what build refuses; escaping symlinks pass all', async () => {
  const outDir = join(tmp.path, 'evil-out');
  mkdirSync(outDir);
  const key = await testKey();
  const trusted = join(tmp.path, 'trusted-keys');
  mkdirSync(trusted);
  writeFileSync(join(trusted, key.name), key.publicPem);
  const usr = { name: 'usr', type: 'directory' as const };
  const cases: [string, HostilePackage, RegExp][] = [
    [
      'dotdot',
      { name: 'dotdot', entries: [{ name: '../../etc/passwd', data: 'root::0:0::/:/bin/sh\n' }] },
      /contains a "\.\." component/,
    ],
    ['absolute', { name: 'absolute', entries: [{ name: '/etc/shadow', data: 'x' }] }, /is an absolute path/],
    [
      'newline',
      { name: 'newline', entries: [usr, { name: 'usr/a\nb', data: 'x' }] },
      /contains a control character/,
    ],
    [
      'whiteout',
      { name: 'whiteout', entries: [usr, { name: 'usr/.wh..wh..opq', data: '' }] },
      /OCI whiteout/,
    ],
    [
      'uid',
      { name: 'uid', entries: [{ name: 'f', data: 'x', pax: { uid: '4294967295' } }] },
      /uid 4294967295 is out of range/,
    ],
    [
      'bigid',
      { name: 'bigid', entries: [{ name: 'f', data: 'x', pax: { gid: '99999999999999999999999' } }] },
      /PAX gid 9+ is too large/,
    ],
    ['longname', { name: 'longname', entries: [{ name: 'n'.repeat(300), data: 'x' }] }, /NAME_MAX/],
    ['slash', { name: 'sl/ash', entries: [] }, /package name "sl\/ash" is not valid/],
  ];
  const files = cases.map(([name, pkg]) => {
    const file = join(tmp.path, `${name}.apk`);
    writeFileSync(file, hostileApk(pkg, key));
    return file;
  });
  // index stops at the first bad package: one run each, side by side; verify reports them all in one run
  const indexed = await Promise.all(
    files.map((file, i) => ladingAsync(['index', '-o', join(outDir, `${i}.tar.gz`), file])),
  );
  const verified = lading(['verify', '--keyring', trusted, ...files]);
  assert.equal(verified.status, 1);
  const lines = verified.stdout.trim().split('\n');
  for (const [i, [name, , reason]] of cases.entries()) {
    assert.equal(indexed[i]!.status, 1, name);
    assert.match(indexed[i]!.stderr, new RegExp(`${name}\\.apk: .*${reason.source}`), name);
    assert.match(lines[i]!, new RegExp(`${name}\\.apk: corrupt: .*${reason.source}`), name);
  }
  assert.deepEqual(readdirSync(outDir), [], 'no index written');
  // a relative symlink climbing above the root resolves inside the image: index, verify (and build) accept it
  const climbing = join(tmp.path, 'climbing.apk');
  writeFileSync(
    climbing,
    hostileApk(
      { name: 'climbing', entries: [usr, { name: 'usr/x', type: 'symlink', linkname: '../../../../etc' }] },
      key,
    ),
  );
  const r = lading(['index', '-o', join(outDir, 'APKINDEX.tar.gz'), climbing]);
  assert.equal(r.status, 0, r.stderr);
  const v = lading(['verify', '--keyring', trusted, climbing]);
  assert.equal(v.status, 0, v.stdout);
});

test('index --help describes the flags', () => {
  const r = lading(['index', '--help']);
  assert.equal(r.status, 0);
  for (const flag of ['--key', '--output', '--description', '--sha1', 'SOURCE_DATE_EPOCH'])
    assert.ok(r.stdout.includes(flag), flag);
});
