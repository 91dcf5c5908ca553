import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import fc from 'fast-check';
import { readApk } from '../../src/apk/apk-reader.ts';
import { formatPkgInfo, parsePkgInfo, pkgInfoFields, pkgInfoValues } from '../../src/apk/pkginfo.ts';
import { emptyPackage } from '../../src/apk/types.ts';
import { fixture } from '../helpers/paths.ts';

test('a real abuild .PKGINFO: every key, repeatable keys as lists, comments skipped', () => {
  const apk = readApk(readFileSync(fixture('alpine/v3.19.1-iso-repo/x86_64/busybox-1.36.1-r15.apk')));
  const p = apk.pkginfo;
  assert.equal(p.package.name, 'busybox');
  assert.equal(p.package.version, '1.36.1-r15');
  assert.equal(p.package.buildTime, 1699383189);
  assert.equal(p.package.installedSize, 946176);
  assert.equal(p.package.maintainer, 'Sören Tempel <soeren+alpine@soeren-tempel.net>');
  assert.deepEqual(p.package.replaces, ['busybox-initscripts']);
  assert.deepEqual(p.package.depends, ['so:libc.musl-x86_64.so.1']);
  assert.deepEqual(p.package.provides, ['cmd:busybox=1.36.1-r15']);
  assert.deepEqual(p.triggers, ['/bin', '/usr/bin', '/sbin', '/usr/sbin', '/lib/modules/*']);
  assert.equal(p.packager, 'Buildozer <alpine-devel@lists.alpinelinux.org>');
  assert.equal(p.datahash, '382c75e2d1a2e2b9d281e879b763b3b363508400d7cc796d9448c46a7b6ba342');
  assert.ok(p.fields.every(([k]) => !k.startsWith('#')));
  assert.deepEqual(pkgInfoValues(p, 'license'), ['GPL-2.0-only']);
});

test('repeated depend lines and several names on one line both add to the list', () => {
  const p = parsePkgInfo(
    'pkgname = a\npkgver = 1-r0\ndepend = b c\ndepend = d\r\n# depend = e\nbogus line\nreplaces = x\nreplaces = y\n',
  );
  assert.deepEqual(p.package.depends, ['b', 'c', 'd']);
  assert.deepEqual(p.package.replaces, ['x', 'y']);
  assert.deepEqual(pkgInfoValues(p, 'depend'), ['b c', 'd']);
});

test('errors name the file and line', () => {
  assert.throws(() => parsePkgInfo('pkgver = 1\n', 'x.apk'), {
    code: 'PKGINFO_MISSING_FIELD',
    file: 'x.apk',
    message: /pkgname/,
  });
  assert.throws(() => parsePkgInfo('pkgname = a\npkgver = 1\nsize = 12k\n', 'x.apk'), {
    code: 'PKGINFO_BAD_FIELD',
    line: 3,
  });
  assert.throws(() => parsePkgInfo('pkgname = a\npkgver = 1\ndatahash = zz\n'), {
    code: 'PKGINFO_BAD_FIELD',
    line: 3,
  });
});

test('format then parse gives the same package back', () => {
  const word = fc.stringMatching(/^[a-z0-9][a-z0-9._+:=<>~-]{0,12}$/);
  fc.assert(
    fc.property(
      word,
      word,
      fc.array(word, { maxLength: 4 }),
      fc.array(word, { maxLength: 3 }),
      fc.option(fc.integer({ min: 0, max: 2 ** 40 }), { nil: undefined }),
      fc.option(fc.stringMatching(/^[ -~]{0,40}$/), { nil: undefined }),
      (name, version, depends, provides, size, desc) => {
        const pkg = emptyPackage(name, version);
        pkg.depends = depends;
        pkg.provides = provides;
        pkg.installedSize = size;
        pkg.description = desc;
        const text = formatPkgInfo(pkgInfoFields({ package: pkg, datahash: 'ab'.repeat(32) }));
        const back = parsePkgInfo(text);
        assert.equal(back.package.name, name);
        assert.deepEqual(back.package.depends, depends);
        assert.deepEqual(back.package.provides, provides);
        assert.equal(back.package.installedSize, size);
        if (desc !== undefined && !desc.includes(' = ')) assert.equal(back.package.description, desc);
        assert.equal(back.datahash, 'ab'.repeat(32));
      },
    ),
    { numRuns: 300 },
  );
});

test('values with line breaks cannot be written', () => {
  const pkg = emptyPackage('a', '1-r0');
  pkg.description = 'two\nlines';
  assert.throws(() => pkgInfoFields({ package: pkg }), { code: 'PKGINFO_BAD_VALUE' });
});
