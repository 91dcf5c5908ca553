/**
 * The package content rules on their own: names, lengths, whiteouts, owner ids, parents, links, xattrs and
 * identities. Each command applying them is tested with real packages in test/cli and test/e2e.
 */
import assert from 'node:assert/strict';
import { join, resolve, sep } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  checkPackageIdentity,
  cleanEntryPath,
  MAX_OWNER_ID,
  PackageContentRules,
} from '../../src/apk/rules.ts';
import type { TarEntry } from '../../src/tar/reader.ts';
import { fuzzRuns } from '../helpers/fuzz.ts';

function entry(name: string, fields: Partial<TarEntry> = {}): TarEntry {
  return {
    name,
    type: 'file',
    mode: 0o644,
    uid: 0,
    gid: 0,
    uname: '',
    gname: '',
    size: 0,
    mtime: 0,
    linkname: '',
    devmajor: 0,
    devminor: 0,
    pax: {},
    xattrs: {},
    headerOffset: 0,
    dataOffset: 0,
    ...fields,
  };
}

const dir = (name: string) => entry(name, { type: 'directory' });

test('cleanEntryPath normalises harmless names', () => {
  assert.equal(cleanEntryPath('usr/bin/x'), 'usr/bin/x');
  assert.equal(cleanEntryPath('usr/'), 'usr');
  assert.equal(cleanEntryPath('./usr//lib/./x/'), 'usr/lib/x');
  assert.equal(cleanEntryPath('.PKGINFO'), '.PKGINFO');
  assert.equal(cleanEntryPath('a/..b/c..'), 'a/..b/c..');
  assert.equal(cleanEntryPath(`${'d/'.repeat(2046)}x`).length, 4093);
});

test('cleanEntryPath refuses escapes, absolute paths, the root, control characters and overlong names', () => {
  for (const [name, why] of [
    ['../etc/passwd', /"\.\."/],
    ['usr/../../etc', /"\.\."/],
    ['usr/..', /"\.\."/],
    ['/etc/passwd', /absolute/],
    ['', /empty/],
    ['./', /root/],
    ['.', /root/],
    ['a\0b', /NUL/],
    ['etc/evil\nconf', /control character/],
    ['etc/tab\there', /control character/],
    [`usr/${'n'.repeat(256)}`, /longer than 255 bytes \(NAME_MAX\)/],
    [`usr/${'é'.repeat(128)}`, /NAME_MAX/],
    [`${'d/'.repeat(2047)}x`, /PATH_MAX/],
    ['x'.repeat(1 << 20), /NAME_MAX/],
  ] as const) {
    assert.throws(() => cleanEntryPath(name, 'p.apk'), {
      code: 'APK_UNSAFE_PATH',
      file: 'p.apk',
      message: why,
    });
  }
  // a 1 MiB name is quoted cut, not whole
  assert.throws(
    () => cleanEntryPath('x'.repeat(1 << 20)),
    (e: Error) => e.message.length < 400,
  );
});

test('property: any accepted name stays inside the target directory', () => {
  const root = resolve('/tmp/target');
  const part = fc.constantFrom('a', 'b', '.', '..', '', 'c.d', '...', '..a', 'x\ny');
  fc.assert(
    fc.property(fc.array(part, { maxLength: 8 }), fc.boolean(), (parts, abs) => {
      const name = (abs ? '/' : '') + parts.join('/');
      let clean: string;
      try {
        clean = cleanEntryPath(name);
      } catch (e) {
        assert.equal((e as Error).name, 'LadingError');
        return;
      }
      const full = resolve(join(root, clean));
      assert.ok(full.startsWith(root + sep), `${name} -> ${full}`);
      assert.ok(!clean.split('/').includes('..'));
    }),
    fuzzRuns(500, 2000),
  );
});

test('whiteouts, owner ids, parents, links: refused with a message naming the entry', () => {
  const cases: [TarEntry[], RegExp][] = [
    [[dir('etc'), entry('etc/.wh.good.conf')], /"etc\/\.wh\.good\.conf" is an OCI whiteout/],
    [[dir('usr'), dir('usr/bin'), entry('usr/bin/.wh..wh..opq')], /whiteout/],
    [[dir('.wh.usr')], /whiteout/],
    [[entry('x', { uid: 1e23 })], /x: uid 1e\+23 is out of range \(0 to 4294967294\)/],
    [[entry('x', { gid: MAX_OWNER_ID + 1 })], /gid 4294967295 is out of range/],
    [[entry('usr/bin/x')], /usr\/bin\/x: its directory usr\/bin is not earlier in the archive/],
    [[entry('f'), entry('f/x')], /f\/x: f is a file, not a directory/],
    [
      [entry('l', { type: 'symlink', linkname: '/etc' }), entry('l/passwd')],
      /below l, a symlink of the same/,
    ],
    [[entry('h', { type: 'hardlink', linkname: 'nothing' })], /not an earlier file/],
    [[dir('d'), entry('h', { type: 'hardlink', linkname: 'd' })], /not an earlier file/],
    [[entry('h', { type: 'hardlink', linkname: '../etc/passwd' })], /"\.\."/],
    [[entry('s', { type: 'symlink', linkname: '' })], /empty target/],
    [[entry('s', { type: 'symlink', linkname: `/${'t'.repeat(4095)}` })], /PATH_MAX/],
  ];
  for (const [entries, message] of cases) {
    const rules = new PackageContentRules('evil.apk');
    assert.throws(
      () => {
        for (const e of entries) rules.check(e);
      },
      { file: 'evil.apk', message },
      String(message),
    );
  }
});

test('accepted: the root entry, escaping symlinks (they resolve inside the image), ids up to 2^32-2; overlay xattrs dropped', () => {
  const rules = new PackageContentRules();
  assert.equal(rules.check(dir('./')), undefined);
  assert.deepEqual(rules.check(dir('usr')), { path: 'usr' });
  assert.deepEqual(rules.check(entry('usr/up', { type: 'symlink', linkname: '../../../../etc' })), {
    path: 'usr/up',
  });
  assert.deepEqual(rules.check(entry('usr/f', { uid: MAX_OWNER_ID, gid: MAX_OWNER_ID })), { path: 'usr/f' });
  assert.deepEqual(rules.check(entry('usr/h', { type: 'hardlink', linkname: './usr/f' })), {
    path: 'usr/h',
    linkPath: 'usr/f',
  });
  const xattrs = {
    'trusted.overlay.opaque': Buffer.from('y'),
    'user.overlay.redirect': Buffer.from('/x'),
    'security.capability': Buffer.from([1]),
  };
  const e = entry('usr/cap', { xattrs });
  assert.deepEqual(rules.check(e), {
    path: 'usr/cap',
    dropped: ['trusted.overlay.opaque', 'user.overlay.redirect'],
  });
  assert.deepEqual(Object.keys(e.xattrs), ['security.capability']);
});

test('package names and versions must be words that can name a file', () => {
  checkPackageIdentity({ name: 'so:libc.musl-x86_64.so.1', version: '1.2.4_git20230717-r4' });
  for (const [name, version] of [
    ['a/b', '1'],
    ['a', '1/2'],
    ['..', '1'],
    ['a b', '1'],
    ['a\nb', '1'],
    ['a', ''],
    ['a=1', '1'],
  ]) {
    assert.throws(() => checkPackageIdentity({ name: name!, version: version! }, 'x.apk'), {
      code: 'APK_BAD_IDENTITY',
      file: 'x.apk',
    });
  }
});
