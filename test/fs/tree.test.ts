import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bytesContent } from '../../src/fs/content.ts';
import { cleanPath, compareBytes } from '../../src/fs/path.ts';
import { ImageFS } from '../../src/fs/tree.ts';
import { LadingError } from '../../src/util/errors.ts';

const file = (data: string) => ({
  type: 'file' as const,
  mode: 0o644,
  uid: 0,
  gid: 0,
  mtime: 0,
  size: data.length,
  content: bytesContent(data),
});

describe('image filesystem', () => {
  it('normalises paths and refuses to leave the root', () => {
    assert.equal(cleanPath('/etc//apk/./world/'), 'etc/apk/world');
    assert.throws(() => cleanPath('/etc/../../x'), LadingError);
  });

  it('creates directories and files and walks them in byte order', () => {
    const fs = new ImageFS();
    fs.mkdirAll('/usr/lib', { mode: 0o755 });
    fs.put('usr/lib/b', file('b'));
    fs.put('usr/lib/B', file('B'));
    fs.put('usr/lib/a.so', file('a'));
    assert.deepEqual(
      [...fs.walk()].map(([p]) => p),
      ['usr', 'usr/lib', 'usr/lib/B', 'usr/lib/a.so', 'usr/lib/b'],
    );
    assert.equal(fs.readFile('/usr/lib/b').toString(), 'b');
    assert.ok(compareBytes('a', 'b') < 0 && compareBytes('Z', 'a') < 0 && compareBytes('é', 'z') > 0);
  });

  it('resolves symlinks inside the image, absolute ones from the image root', () => {
    const fs = new ImageFS();
    fs.mkdirAll('usr/lib');
    fs.put('lib', { type: 'symlink', mode: 0o777, uid: 0, gid: 0, mtime: 0, size: 0, linkname: 'usr/lib' });
    fs.put('lib/libc.so', file('c'));
    assert.equal(fs.readFile('usr/lib/libc.so').toString(), 'c');
    // a symlink pointing far above the root stops at the root, as under chroot
    fs.put('escape', {
      type: 'symlink',
      mode: 0o777,
      uid: 0,
      gid: 0,
      mtime: 0,
      size: 0,
      linkname: '../../../../etc',
    });
    fs.mkdirAll('etc');
    fs.put('escape/hosts', file('h'));
    assert.equal(fs.readFile('/etc/hosts').toString(), 'h');
    fs.put('abs', {
      type: 'symlink',
      mode: 0o777,
      uid: 0,
      gid: 0,
      mtime: 0,
      size: 0,
      linkname: '/usr/lib/libc.so',
    });
    assert.equal(fs.readFile('abs').toString(), 'c');
    assert.equal(fs.lstat('abs')?.type, 'symlink');
  });

  it('detects symlink loops', () => {
    const fs = new ImageFS();
    fs.put('a', { type: 'symlink', mode: 0o777, uid: 0, gid: 0, mtime: 0, size: 0, linkname: 'b' });
    fs.put('b', { type: 'symlink', mode: 0o777, uid: 0, gid: 0, mtime: 0, size: 0, linkname: 'a' });
    assert.throws(
      () => fs.stat('a/x'),
      (e: unknown) => e instanceof LadingError && e.code === 'FS_SYMLINK_LOOP',
    );
  });

  it('hard links share one node; removing one name keeps the other', () => {
    const fs = new ImageFS();
    fs.mkdirAll('bin');
    fs.put('bin/a', file('x'));
    fs.link('bin/b', 'bin/a');
    assert.equal(fs.lstat('bin/a'), fs.lstat('bin/b'));
    fs.remove('bin/a');
    assert.equal(fs.readFile('bin/b').toString(), 'x');
  });

  it('refuses to put a file where a directory is, and into a missing parent', () => {
    const fs = new ImageFS();
    fs.mkdirAll('etc');
    assert.throws(
      () => fs.put('etc', file('x')),
      (e: unknown) => e instanceof LadingError && e.code === 'FS_IS_DIR',
    );
    assert.throws(
      () => fs.put('nope/x', file('x')),
      (e: unknown) => e instanceof LadingError && e.code === 'FS_NO_PARENT',
    );
  });
});
