import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { chmodSync, chownSync, linkSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { listApkData } from '../../src/apk/apk-data.ts';
import { inflateApkDataSync, readApk, verifyApk } from '../../src/apk/apk-reader.ts';
import { type ApkSourceEntry, createApk, readSourceTree, sourceDateEpoch } from '../../src/apk/apk-writer.ts';
import { createKeyring } from '../../src/apk/keyring.ts';
import { signingKeyFromPem } from '../../src/apk/signature.ts';
import { readTar } from '../../src/tar/reader.ts';
import { run, tempDir } from '../helpers/tools.ts';

const tmp = tempDir();
after(tmp.remove);

const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
const key = signingKeyFromPem(pair.privateKey.export({ type: 'pkcs1', format: 'pem' }), 'k/test.rsa');
const keyring = createKeyring([
  { name: 'test.rsa.pub', pem: pair.publicKey.export({ type: 'spki', format: 'pem' }) },
]);

const entries: ApkSourceEntry[] = [
  { path: 'usr', type: 'directory', mode: 0o755, uid: 0, gid: 0 },
  { path: 'usr/bin', type: 'directory', mode: 0o755, uid: 0, gid: 0 },
  { path: 'usr/bin/tool', type: 'file', mode: 0o4755, uid: 0, gid: 0, data: Buffer.from('#!/bin/sh\n') },
  { path: 'usr/bin/tool2', type: 'hardlink', mode: 0o4755, uid: 0, gid: 0, linkTarget: 'usr/bin/tool' },
  { path: 'usr/bin/t', type: 'symlink', mode: 0o777, uid: 0, gid: 0, linkTarget: 'tool' },
  { path: 'usr/share', type: 'directory', mode: 0o755, uid: 1000, gid: 1000 },
  { path: 'usr/share/f', type: 'file', mode: 0o600, uid: 1000, gid: 100, data: Buffer.alloc(70000, 7) },
  { path: 'dev', type: 'directory', mode: 0o755, uid: 0, gid: 0 },
  { path: 'dev/null', type: 'chardev', mode: 0o666, uid: 0, gid: 0, devmajor: 1, devminor: 3 },
];

test('createApk: the same input gives the same bytes, and the result reads back exactly', () => {
  const spec = {
    name: 'demo',
    version: '1.2.3-r4',
    arch: 'x86_64',
    depends: ['musl', 'so:libc.musl-x86_64.so.1'],
    provides: ['cmd:tool=1.2.3-r4'],
  };
  const a = createApk(spec, entries, { signingKey: key, buildTime: 1700000000 });
  const b = createApk(
    spec,
    entries.map((e) => ({ ...e })),
    { signingKey: key, buildTime: 1700000000 },
  );
  assert.deepEqual(a.bytes, b.bytes);

  const apk = readApk(a.bytes, { file: 'demo.apk' });
  assert.equal(apk.checksum, a.checksum);
  assert.equal(apk.dataHash, a.datahash);
  assert.equal(apk.signatures[0]!.entryName, '.SIGN.RSA256.test.rsa.pub');
  assert.equal(verifyApk(apk, keyring).status, 'OK');
  assert.deepEqual(apk.info, a.info);
  assert.equal(apk.info.installedSize, 10 + 70000);
  assert.equal(apk.info.origin, 'demo');
  assert.equal(apk.info.buildTime, 1700000000);
  assert.deepEqual(apk.info.depends, spec.depends);

  const tar = inflateApkDataSync(apk);
  const got = listApkData(tar, { checkChecksums: true });
  assert.deepEqual(
    got.map((e) => [e.path, e.type, e.mode, e.uid, e.gid, e.mtime, e.linkname, e.devmajor, e.devminor]),
    entries.map((e) => [
      e.path,
      e.type,
      e.mode,
      e.uid,
      e.gid,
      1700000000,
      e.linkTarget ?? '',
      e.devmajor ?? 0,
      e.devminor ?? 0,
    ]),
  );
  assert.equal(got.find((e) => e.path === 'usr/bin/tool')!.uname, 'root');
  assert.equal(got.find((e) => e.path === 'usr/share/f')!.uname, '');
  // hardlinks and symlinks carry checksums as melange and abuild write them
  assert.equal(
    got.find((e) => e.path === 'usr/bin/tool2')!.sha1,
    got.find((e) => e.path === 'usr/bin/tool')!.sha1,
  );
  assert.ok(got.find((e) => e.path === 'usr/bin/t')!.sha1);
  // signature and control tars are cut: no end-of-archive blocks
  assert.equal(apk.controlTar.length % 512, 0);
  assert.ok(!apk.controlTar.subarray(-512).equals(Buffer.alloc(512)));
});

test('scripts and triggers go into the control part', () => {
  const a = createApk({ name: 's', version: '1-r0', triggers: ['/usr/share/fonts/*'] }, [], {
    scripts: [
      { name: '.post-install', data: Buffer.from('#!/bin/sh\n') },
      { name: '.trigger', data: Buffer.from('#!/bin/sh\n') },
    ],
  });
  const apk = readApk(a.bytes);
  assert.deepEqual(
    apk.scripts.map((s) => [s.name, s.mode]),
    [
      ['.post-install', 0o755],
      ['.trigger', 0o755],
    ],
  );
  assert.deepEqual(apk.triggers, ['/usr/share/fonts/*']);
  assert.equal(apk.signatures.length, 0);
  assert.deepEqual(
    [...readTar(apk.controlTar)].map((e) => e.name),
    ['.PKGINFO', '.post-install', '.trigger'],
  );
});

test('invalid input is refused with a clear message', () => {
  const spec = { name: 'x', version: '1-r0' };
  for (const name of ['a b', 'a/b', '..', 'a\nb']) {
    assert.throws(() => createApk({ ...spec, name }, []), {
      code: 'APK_BAD_IDENTITY',
      message: /package name/,
    });
  }
  assert.throws(() => createApk({ ...spec, version: '' }, []), {
    code: 'APK_BAD_IDENTITY',
    message: /version/,
  });
  assert.throws(() => createApk({ ...spec, version: '1/2' }, []), { code: 'APK_BAD_IDENTITY' });
  assert.throws(() => createApk({ ...spec, description: 'a\nb' }, []), { code: 'PKGINFO_BAD_VALUE' });
  assert.throws(() => createApk(spec, [{ path: '../x', type: 'file', mode: 0o644, uid: 0, gid: 0 }]), {
    code: 'APK_UNSAFE_PATH',
  });
  assert.throws(
    () => createApk(spec, [{ path: 'x', type: 'hardlink', mode: 0o644, uid: 0, gid: 0, linkTarget: 'y' }]),
    {
      message: /not an earlier file/,
    },
  );
  // the package content rules build, verify and index apply
  const file = (path: string, uid = 0) => ({ path, type: 'file' as const, mode: 0o644, uid, gid: 0 });
  for (const [entries, message] of [
    [[file('.wh.x')], /whiteout/],
    [[file('a\nb')], /control character/],
    [[file('x', 4294967295)], /uid 4294967295 is out of range/],
    [[file('usr/x')], /its directory usr is not earlier/],
    [[file('n'.repeat(256))], /NAME_MAX/],
  ] as const) {
    assert.throws(() => createApk(spec, [...entries]), { message }, String(message));
  }
  assert.throws(() => createApk(spec, [], { scripts: [{ name: '.evil', data: Buffer.alloc(0) }] }), {
    message: /unknown script/,
  });
  assert.throws(() => createApk({ ...spec, triggers: ['/x'] }, []), { message: /no \.trigger script/ });
  assert.throws(() => sourceDateEpoch({ SOURCE_DATE_EPOCH: 'yesterday' }), { code: 'APK_BAD_INPUT' });
  assert.equal(sourceDateEpoch({}), 0);
  assert.equal(sourceDateEpoch({ SOURCE_DATE_EPOCH: '1700000000' }), 1700000000);
});

test('readSourceTree: sorted walk with owners, modes, hardlinks, symlinks, devices and FIFOs', async () => {
  assert.equal(
    process.getuid?.(),
    0,
    'this test creates device nodes and chowns files: run it as root (as CI does)',
  );
  const dir = join(tmp.path, 'tree');
  mkdirSync(join(dir, 'b/sub'), { recursive: true });
  mkdirSync(join(dir, 'a'));
  writeFileSync(join(dir, 'b/file'), 'content');
  chmodSync(join(dir, 'b/file'), 0o2750);
  linkSync(join(dir, 'b/file'), join(dir, 'a/link'));
  symlinkSync('../b/file', join(dir, 'a/sym'));
  writeFileSync(join(dir, 'b/sub/user'), 'u');
  chownSync(join(dir, 'b/sub/user'), 1000, 1001);
  assert.equal(run('mknod', [join(dir, 'b/tty'), 'c', '5', '0']).status, 0);
  assert.equal(run('mknod', [join(dir, 'b/disk'), 'b', '259', '65537']).status, 0);
  assert.equal(run('mkfifo', [join(dir, 'b/pipe')]).status, 0);

  const tree = await readSourceTree(dir);
  const brief = tree.map((e) => [e.path, e.type, e.linkTarget ?? '']);
  assert.deepEqual(brief, [
    ['a', 'directory', ''],
    ['a/link', 'file', ''],
    ['a/sym', 'symlink', '../b/file'],
    ['b', 'directory', ''],
    ['b/disk', 'blockdev', ''],
    ['b/file', 'hardlink', 'a/link'],
    ['b/pipe', 'fifo', ''],
    ['b/sub', 'directory', ''],
    ['b/sub/user', 'file', ''],
    ['b/tty', 'chardev', ''],
  ]);
  const byPath = new Map(tree.map((e) => [e.path, e]));
  assert.equal(byPath.get('a/link')!.mode, 0o2750);
  assert.equal(byPath.get('b/sub/user')!.uid, 1000);
  assert.equal(byPath.get('b/sub/user')!.gid, 1001);
  assert.deepEqual([byPath.get('b/tty')!.devmajor, byPath.get('b/tty')!.devminor], [5, 0]);
  assert.deepEqual([byPath.get('b/disk')!.devmajor, byPath.get('b/disk')!.devminor], [259, 65537]);
  const rooted = await readSourceTree(dir, { rootOwned: true });
  assert.ok(rooted.every((e) => e.uid === 0 && e.gid === 0));

  const built = createApk({ name: 't', version: '1-r0' }, tree);
  const back = listApkData(inflateApkDataSync(readApk(built.bytes)));
  assert.deepEqual(
    back.map((e) => e.path),
    tree.map((e) => e.path),
  );

  const sock = join(tmp.path, 'socktree');
  mkdirSync(sock);
  const net = await import('node:net');
  const server = net.createServer().listen(join(sock, 's.sock'));
  await new Promise((r) => server.once('listening', r));
  try {
    await assert.rejects(readSourceTree(sock), { code: 'APK_SOURCE_UNSUPPORTED', message: /sockets/ });
  } finally {
    server.close();
  }
  await assert.rejects(readSourceTree(join(tmp.path, 'missing')), { code: 'APK_SOURCE_MISSING' });
});

test('readSourceTree leaves out excluded paths and reports unreadable names', async () => {
  const dir = join(tmp.path, 'excl');
  mkdirSync(dir);
  writeFileSync(join(dir, 'keep'), 'k');
  writeFileSync(join(dir, 'out.apk'), 'previous output');
  const tree = await readSourceTree(dir, { exclude: [join(dir, 'out.apk')] });
  assert.deepEqual(
    tree.map((e) => e.path),
    ['keep'],
  );
  // a file name that is not UTF-8 cannot be named in a package
  writeFileSync(Buffer.from(`${dir}/bad-\xff`, 'latin1'), 'x');
  await assert.rejects(readSourceTree(dir), { code: 'APK_SOURCE_UNREADABLE', message: /cannot read/ });
});
