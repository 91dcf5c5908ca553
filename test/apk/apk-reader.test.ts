import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { listApkData } from '../../src/apk/apk-data.ts';
import { inflateApkDataSync, readApk, readApkData, verifyApk } from '../../src/apk/apk-reader.ts';
import { gzipDeterministic } from '../../src/apk/gzip-members.ts';
import { loadKeyring } from '../../src/apk/keyring.ts';
import { flipped } from '../helpers/bytes.ts';
import { type HostileEntry, hostileApk, hostileTar } from '../helpers/hostile.ts';
import { fixture } from '../helpers/paths.ts';

const busyboxFile = fixture('alpine/v3.19.1-iso-repo/x86_64/busybox-1.36.1-r15.apk');
const busybox = readFileSync(busyboxFile);

test('readApk gives the parts the build needs without inflating the data', async () => {
  const apk = readApk(busybox, { file: busyboxFile });
  assert.equal(apk.info.name, 'busybox');
  assert.equal(apk.info.checksum, apk.checksum);
  assert.equal(apk.info.size, busybox.length);
  assert.match(apk.checksum, /^Q1[A-Za-z0-9+/]{27}=$/);
  assert.equal(apk.signatures.length, 1);
  assert.equal(apk.signatures[0]!.algorithm, 'RSA');
  assert.deepEqual(
    apk.scripts.map((s) => s.name),
    ['.post-install', '.post-upgrade', '.trigger'],
  );
  assert.equal(apk.scripts[0]!.mode, 0o755);
  assert.deepEqual(apk.triggers, ['/bin', '/usr/bin', '/sbin', '/usr/sbin', '/lib/modules/*']);
  // the raw parts are views into the input, not copies
  assert.equal(apk.data.buffer, busybox.buffer);
  assert.equal(apk.control.buffer, busybox.buffer);
  assert.equal(apk.signedBytes, apk.control);
  const keyring = await loadKeyring([fixture('alpine/keys')]);
  assert.equal(verifyApk(apk, keyring).status, 'OK');

  const tar = inflateApkDataSync(apk);
  const streamed: Buffer[] = [];
  const { entries, size } = await readApkData(apk, {
    checkChecksums: true,
    sink: async (chunk) => {
      streamed.push(Buffer.from(chunk));
    },
  });
  assert.deepEqual(Buffer.concat(streamed), tar);
  assert.equal(size, tar.length);
  assert.deepEqual(listApkData(tar, { file: busyboxFile, checkChecksums: true }), entries);
  const bin = entries.find((e) => e.path === 'bin/busybox')!;
  assert.equal(bin.type, 'file');
  assert.equal(bin.sha1, '0e617f66cd5b2d29f010cae1eab326479a3b0f1c');
  assert.equal(entries.find((e) => e.path === 'tmp')!.mode, 0o1777);
});

test('symlinks carry the SHA-1 of their target; setuid modes are kept', async () => {
  const binsh = readApk(readFileSync(fixture('alpine/v3.19.1-iso-repo/x86_64/busybox-binsh-1.36.1-r15.apk')));
  const entries = (await readApkData(binsh)).entries;
  const sh = entries.find((e) => e.path === 'bin/sh')!;
  assert.equal(sh.type, 'symlink');
  assert.equal(sh.linkname, '/bin/busybox');
  assert.equal(sh.sha1, 'a5c7d37c33446cd290736b35b626bb75ad3933c4');
  const suid = readApk(readFileSync(fixture('alpine/v3.19.1-iso-repo/x86_64/busybox-suid-1.36.1-r15.apk')));
  const bbsuid = (await readApkData(suid)).entries.find((e) => e.path === 'bin/bbsuid')!;
  assert.equal(bbsuid.mode, 0o4111);
});

test('the root entry is dropped; ./-prefixed and trailing-slash names are cleaned', () => {
  const tar = hostileTar([
    { name: './', type: 'directory' },
    { name: 'usr/', type: 'directory' },
    { name: './usr/x', data: 'x' },
  ]);
  assert.deepEqual(
    listApkData(tar).map((e) => e.path),
    ['usr', 'usr/x'],
  );
});

test('an APKINDEX given as a package is named as such', () => {
  const index = readFileSync(fixture('alpine/v3.19.1-iso-repo/x86_64/APKINDEX.tar.gz'));
  assert.throws(() => readApk(index, { file: 'i.apk' }), { code: 'APK_NOT_PACKAGE', file: 'i.apk' });
});

test('bad input: each gives a typed error naming the file and the reason', async () => {
  const file = 'bad.apk';
  const cases: [string, () => unknown, string, RegExp][] = [
    ['truncated gzip', () => readApk(busybox.subarray(0, 1000), { file }), 'GZIP_TRUNCATED', /truncated/],
    ['garbage', () => readApk(Buffer.from('garbage'.repeat(10)), { file }), 'GZIP_CORRUPT', /not gzip/],
    ['empty file', () => readApk(Buffer.alloc(0), { file }), 'GZIP_TRUNCATED', /too short/],
    ['signature only', () => readApk(busybox.subarray(0, 662), { file }), 'APK_NO_CONTROL', /no control/],
    [
      'no .PKGINFO',
      () =>
        readApk(gzipDeterministic(hostileTar([{ name: '.post-install', data: '#!/bin/sh' }], false)), {
          file,
        }),
      'APK_NO_PKGINFO',
      /\.PKGINFO/,
    ],
    [
      'huge .PKGINFO',
      () =>
        readApk(
          gzipDeterministic(
            hostileTar([{ name: '.PKGINFO', data: `pkgname = a\npkgver = 1\n${'# x\n'.repeat(3 << 20)}` }]),
          ),
          { file },
        ),
      'GZIP_TOO_LARGE',
      /size limit/,
    ],
    [
      'tampered data',
      () => {
        return readApk(flipped(busybox, -100), { file });
      },
      'APK_DATAHASH_MISMATCH',
      /datahash/,
    ],
  ];
  for (const [what, fn, code, message] of cases) {
    assert.throws(fn, (e: Error & { code?: string; file?: string }) => {
      assert.equal(e.name, 'LadingError', what);
      assert.equal(e.code, code, `${what}: ${e.message}`);
      assert.equal(e.file, file, what);
      assert.match(e.message, message, what);
      return true;
    });
  }
  // truncated data: readApk passes (without a datahash check) but inflating fails cleanly
  const cut = readApk(busybox.subarray(0, busybox.length - 5000), { file, verifyDataHash: false });
  await assert.rejects(readApkData(cut), { code: 'GZIP_TRUNCATED', file });
  assert.throws(() => inflateApkDataSync(cut), { code: 'GZIP_TRUNCATED', file });
});

test('unsafe data entries are refused with the entry named', async () => {
  const cases: [string, HostileEntry[], RegExp][] = [
    ['dot-dot', [{ name: '../etc/passwd', data: 'x' }], /"\.\.\/etc\/passwd" contains a "\.\." component/],
    ['nested dot-dot', [{ name: 'usr/../../x', data: 'x' }], /"\.\." component/],
    ['absolute', [{ name: '/etc/passwd', data: 'x' }], /absolute path/],
    [
      'below a symlink',
      [
        { name: 'etc', type: 'symlink', linkname: '/tmp' },
        { name: 'etc/passwd', data: 'x' },
      ],
      /below etc/,
    ],
    ['dangling hardlink', [{ name: 'a', type: 'hardlink', linkname: 'b' }], /not an earlier file/],
    ['hardlink escaping', [{ name: 'a', type: 'hardlink', linkname: '../b' }], /"\.\." component/],
  ];
  for (const [what, entries, message] of cases) {
    const apk = readApk(hostileApk({ name: 'evil', entries }), { file: 'evil.apk' });
    await assert.rejects(readApkData(apk), (e: Error & { code?: string; file?: string }) => {
      assert.equal(e.name, 'LadingError', what);
      assert.match(e.code!, /^APK_(UNSAFE_PATH|BAD_DATA)$/, what);
      assert.equal(e.file, 'evil.apk', what);
      assert.match(e.message, message, what);
      return true;
    });
  }
  // symlink targets are resolved inside the image, absolute or climbing: fine
  const ok = readApk(
    hostileApk({ name: 'ok', entries: [{ name: 'sh', type: 'symlink', linkname: '/bin/busybox' }] }),
  );
  assert.equal((await readApkData(ok)).entries.length, 1);
  const climbing = readApk(
    hostileApk({
      name: 'climbing',
      entries: [
        { name: 'usr', type: 'directory' },
        { name: 'usr/x', type: 'symlink', linkname: '../../../y' },
      ],
    }),
  );
  assert.equal((await readApkData(climbing)).entries.length, 2);
});

test('a file whose content does not match its checksum record is reported', async () => {
  const apk = readApk(readFileSync(fixture('alpine/v3.19.1-iso-repo/x86_64/alpine-release-3.19.1-r0.apk')));
  const tar = Buffer.from(inflateApkDataSync(apk));
  const entries = listApkData(tar);
  const f = entries.find((e) => e.type === 'file' && e.size > 0 && e.sha1)!;
  tar[f.dataOffset] = tar[f.dataOffset]! ^ 0xff;
  assert.doesNotThrow(() => listApkData(tar));
  assert.throws(() => listApkData(tar, { file: 'p.apk', checkChecksums: true }), {
    code: 'APK_FILE_CHECKSUM_MISMATCH',
    message: new RegExp(f.path),
  });
});

test('a package without datahash is signed over control and data together', () => {
  const control = gzipSync(hostileTar([{ name: '.PKGINFO', data: 'pkgname = old\npkgver = 1-r0\n' }], false));
  const data = gzipSync(hostileTar([{ name: 'x', data: 'x' }]));
  const apk = readApk(Buffer.concat([control, data]));
  assert.equal(apk.signedBytes.length, control.length + data.length);
});
