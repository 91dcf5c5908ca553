import assert from 'node:assert/strict';
import { join, resolve, sep } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { safeEntryPath, symlinkEscapes } from '../../src/apk/paths.ts';

test('safeEntryPath normalises harmless names', () => {
  assert.equal(safeEntryPath('usr/bin/x'), 'usr/bin/x');
  assert.equal(safeEntryPath('usr/'), 'usr');
  assert.equal(safeEntryPath('./usr//lib/./x/'), 'usr/lib/x');
  assert.equal(safeEntryPath('.PKGINFO'), '.PKGINFO');
  assert.equal(safeEntryPath('a/..b/c..'), 'a/..b/c..');
});

test('safeEntryPath refuses escapes, absolute paths, the root and NULs', () => {
  for (const [name, why] of [
    ['../etc/passwd', /"\.\."/],
    ['usr/../../etc', /"\.\."/],
    ['usr/..', /"\.\."/],
    ['/etc/passwd', /absolute/],
    ['', /empty/],
    ['./', /root/],
    ['.', /root/],
    ['a\0b', /NUL/],
  ] as const) {
    assert.throws(() => safeEntryPath(name, 'p.apk'), {
      code: 'APK_UNSAFE_PATH',
      file: 'p.apk',
      message: why,
    });
  }
});

test('property: any accepted name stays inside the target directory', () => {
  const root = resolve('/tmp/target');
  const part = fc.constantFrom('a', 'b', '.', '..', '', 'c.d', '...', '..a');
  fc.assert(
    fc.property(fc.array(part, { maxLength: 8 }), fc.boolean(), (parts, abs) => {
      const name = (abs ? '/' : '') + parts.join('/');
      let clean: string;
      try {
        clean = safeEntryPath(name);
      } catch (e) {
        assert.equal((e as Error).name, 'LadingError');
        return;
      }
      const full = resolve(join(root, clean));
      assert.ok(full.startsWith(root + sep), `${name} -> ${full}`);
      assert.ok(!clean.split('/').includes('..'));
    }),
    { numRuns: 2000 },
  );
});

test('symlinkEscapes: relative targets that climb above the root', () => {
  assert.equal(symlinkEscapes('usr/bin/sh', '/bin/busybox'), false);
  assert.equal(symlinkEscapes('usr/bin/sh', '../../bin/busybox'), false);
  assert.equal(symlinkEscapes('usr/bin/sh', '../../../etc/passwd'), true);
  assert.equal(symlinkEscapes('x', '..'), true);
  assert.equal(symlinkEscapes('usr/lib/x', 'a/../../..'), false);
  assert.equal(symlinkEscapes('usr/lib/x', 'a/../../../..'), true);
});
