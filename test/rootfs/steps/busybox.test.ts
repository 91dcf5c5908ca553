import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bytesContent } from '../../../src/fs/content.ts';
import type { FsNode } from '../../../src/fs/tree.ts';
import { BUSYBOX_1_36_APPLETS } from '../../../src/rootfs/steps/busybox-applets.ts';
import { BBSUID_APPLETS, installBusyboxLinks } from '../../../src/rootfs/steps/index.ts';
import { isLadingError } from '../../../src/util/errors.ts';
import { imageTree, installOracleWorld, modeString, readOracleTree } from '../../helpers/fixture-image.ts';

const T = { mtime: 1700000000 };

function textFile(text: string | Buffer): FsNode {
  const data = Buffer.from(text);
  return {
    type: 'file',
    mode: 0o644,
    uid: 0,
    gid: 0,
    mtime: 5,
    size: data.length,
    content: bytesContent(data),
  };
}

/** path → link target of every symlink to `target` in a tree. */
function linksTo(tree: Map<string, { link?: string }>, target: string): string[] {
  return [...tree].filter(([, e]) => e.link === target).map(([p]) => p);
}

for (const world of ['alpine-base', 'minimal-world']) {
  test(`${world}: the applet links equal the real busybox trigger's (bbsuid's included), parents too`, () => {
    const img = installOracleWorld(world, { initdb: T });
    const before = new Set(imageTree(img.fs).keys());
    const result = installBusyboxLinks(
      img.fs,
      img.packages.map((p) => p.info),
      T,
    );
    assert.deepEqual(result.sources, [{ package: 'busybox', from: 'paths.d' }]);
    assert.deepEqual(result.warnings, []);
    const oracle = readOracleTree(world);
    const ours = imageTree(img.fs);
    assert.deepEqual(linksTo(ours, '/bin/busybox'), linksTo(oracle, '/bin/busybox'));
    assert.deepEqual(linksTo(ours, '/bin/bbsuid'), linksTo(oracle, '/bin/bbsuid'));
    // bin/sh comes from busybox-binsh; every other link is ours
    assert.deepEqual(
      result.created.sort(),
      [...linksTo(ours, '/bin/busybox'), ...linksTo(ours, '/bin/bbsuid')]
        .filter((p) => !before.has(p))
        .sort(),
    );
    for (const p of result.created) {
      const dir = p.slice(0, p.lastIndexOf('/'));
      assert.deepEqual(
        [ours.get(dir)?.mode, ours.get(dir)?.owner],
        [oracle.get(dir)?.mode, oracle.get(dir)?.owner],
        dir,
      );
      const node = img.fs.lstat(p)!;
      assert.deepEqual([node.uid, node.gid, node.mtime], [0, 0, T.mtime]);
    }
    // ifupdown-ng's own ifup/ifdown links (alpine-base) are kept
    if (world === 'alpine-base') assert.equal(img.fs.lstat('sbin/ifup')?.linkname, '/sbin/ifupdown');
  });
}

test('without a paths.d file the built-in 1.36.1 list gives the same links, with a warning', () => {
  const img = installOracleWorld('minimal-world', { initdb: T });
  img.fs.remove('etc/busybox-paths.d/busybox');
  const result = installBusyboxLinks(
    img.fs,
    img.packages.map((p) => p.info),
    T,
  );
  assert.deepEqual(result.sources, [{ package: 'busybox', from: 'builtin-1.36.1' }]);
  assert.match(result.warnings[0]!, /busybox-1\.36\.1-r15 ships no \/etc\/busybox-paths\.d\/busybox/);
  assert.equal(BUSYBOX_1_36_APPLETS.length, 304);
  assert.deepEqual(
    linksTo(imageTree(img.fs), '/bin/busybox'),
    linksTo(readOracleTree('minimal-world'), '/bin/busybox'),
  );
});

test('existing entries are kept, missing directories are created 0755, and bbsuid replaces only symlinks', () => {
  const img = installOracleWorld('alpine-base', { initdb: T });
  const fs = img.fs;
  // a package file where an applet would go, a user symlink, a removed directory
  fs.put('bin/ls', { ...textFile('ls\n'), mode: 0o755 });
  fs.put('bin/mount', {
    type: 'symlink',
    mode: 0o777,
    uid: 0,
    gid: 0,
    mtime: 5,
    size: 0,
    linkname: '/bin/busybox',
  });
  fs.put('bin/su', { type: 'file', mode: 0o4755, uid: 0, gid: 0, mtime: 5, size: 0 });
  fs.remove('usr/sbin', true);
  fs.remove('usr/bin', true);
  const list = ['# applets', '', 'bin/ls', '/usr/sbin/crond', 'usr/local/sbin/new-applet', ...BBSUID_APPLETS];
  fs.put('etc/busybox-paths.d/busybox', textFile(`${list.join('\n')}\n`));
  const result = installBusyboxLinks(
    fs,
    img.packages.map((p) => p.info),
    T,
  );
  assert.equal(fs.lstat('bin/ls')?.type, 'file');
  assert.equal(fs.lstat('bin/mount')?.linkname, '/bin/bbsuid');
  assert.equal(fs.lstat('bin/su')?.type, 'file');
  assert.equal(fs.lstat('usr/sbin/crond')?.linkname, '/bin/busybox');
  assert.equal(modeString(fs.lstat('usr/sbin')!), 'drwxr-xr-x');
  assert.equal(fs.lstat('usr/local/sbin/new-applet')?.linkname, '/bin/busybox');
  assert.equal(fs.lstat('usr/local/sbin')?.mtime, T.mtime);
  assert.ok(result.created.includes('usr/local/sbin/new-applet'));
  // bbsuid skips applets whose directory is missing (usr/bin); busybox then creates the directory and links them
  for (const p of BBSUID_APPLETS.filter((a) => a.startsWith('usr/bin/'))) {
    assert.equal(fs.lstat(p)?.linkname, '/bin/busybox', p);
  }
  assert.equal(fs.lstat('bin/umount')?.linkname, '/bin/bbsuid');
});

test('no busybox package, or no /bin/busybox: nothing is linked', () => {
  const img = installOracleWorld('minimal-world', { initdb: T });
  const others = img.packages.map((p) => p.info).filter((p) => p.name !== 'busybox');
  assert.deepEqual(installBusyboxLinks(img.fs, others, T).created, []);
  img.fs.remove('bin/busybox');
  assert.deepEqual(
    installBusyboxLinks(
      img.fs,
      img.packages.map((p) => p.info),
      T,
    ).created,
    [],
  );
});

test('a package providing busybox counts as busybox, and reads its own paths.d file', () => {
  const img = installOracleWorld('minimal-world', { initdb: T });
  const list = img.fs.readFile('etc/busybox-paths.d/busybox');
  img.fs.remove('etc/busybox-paths.d/busybox');
  img.fs.put('etc/busybox-paths.d/busybox-full', textFile(list));
  const pkgs = img.packages
    .map((p) => p.info)
    .map((p) =>
      p.name === 'busybox' ? { ...p, name: 'busybox-full', provides: ['busybox=1.36.1-r15'] } : p,
    );
  const result = installBusyboxLinks(img.fs, pkgs, T);
  assert.deepEqual(result.sources, [{ package: 'busybox-full', from: 'paths.d' }]);
  assert.equal(result.created.length, 303);
});

test('a paths.d entry leaving the image is an error naming the package file', () => {
  const img = installOracleWorld('minimal-world', { initdb: T });
  img.fs.put('etc/busybox-paths.d/busybox', textFile('bin/ls\n../../etc/evil\n'));
  assert.throws(
    () =>
      installBusyboxLinks(
        img.fs,
        img.packages.map((p) => p.info),
        T,
      ),
    (e: unknown) =>
      isLadingError(e) &&
      e.code === 'BUSYBOX_BAD_PATH' &&
      /\/etc\/busybox-paths\.d\/busybox of busybox-1\.36\.1-r15 lists "\.\.\/\.\.\/etc\/evil"/.test(
        e.message,
      ),
  );
});
