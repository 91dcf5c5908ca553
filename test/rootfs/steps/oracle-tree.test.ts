/**
 * The image tree after initApkDatabase → install → busybox links → writeApkDatabase equals what the
 * real apk-tools 2.14.4 produced (tree.txt: every path, type, mode, owner, size, sha256, link target),
 * except for the differences listed here.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { installBusyboxLinks, writeApkDatabase } from '../../../src/rootfs/steps/index.ts';
import {
  diffTrees,
  imageTree,
  installOracleWorld,
  ORACLE_WORLDS,
  readOracleTree,
} from '../../helpers/fixture-image.ts';

const MTIME = 1700000000;

/** Intended: lading does not run package scripts; with scripts apk re-creates lib/apk/exec 0700 to run them. */
const SCRIPTS_NOT_RUN = 'lib/apk/exec: mode drwxr-xr-x != drwx------';

/**
 * Intended: apk 2.14.4 files alpine-base's `replaces = alpine-baselayout` (from its .PKGINFO) under the
 * alpine-baselayout record; lading writes it under alpine-base, which declares it (see test/build/install.test.ts).
 */
const INSTALLED_DB_QUIRK = new Set(['alpine-base']);

const INTENDED: Record<string, string[]> = {
  'alpine-base': [SCRIPTS_NOT_RUN],
  'minimal-world': [SCRIPTS_NOT_RUN],
  'apko-testdata-replayout': [],
};

for (const world of ORACLE_WORLDS) {
  test(`${world}: the image tree equals the real apk's, except the intended differences`, () => {
    const img = installOracleWorld(world, { initdb: { mtime: MTIME } });
    installBusyboxLinks(
      img.fs,
      img.packages.map((p) => p.info),
      { mtime: MTIME },
    );
    writeApkDatabase(img.fs, { ...img.db, world: img.world }, { mtime: MTIME });
    let diff = diffTrees(imageTree(img.fs), readOracleTree(world));
    if (INSTALLED_DB_QUIRK.has(world)) diff = diff.filter((d) => !d.startsWith('lib/apk/db/installed:'));
    assert.deepEqual(diff, INTENDED[world]);
  });
}

test('everything the steps create carries the build date, never the wall clock', () => {
  const img = installOracleWorld('minimal-world', { initdb: { mtime: MTIME } });
  installBusyboxLinks(
    img.fs,
    img.packages.map((p) => p.info),
    { mtime: MTIME },
  );
  writeApkDatabase(img.fs, { ...img.db, world: img.world }, { mtime: MTIME });
  const packageTimes = new Set<number>();
  for (const p of img.packages) for (const e of p.entries) packageTimes.add(e.mtime);
  for (const [path, node] of img.fs.walk()) {
    assert.ok(node.mtime === MTIME || packageTimes.has(node.mtime), `${path} has mtime ${node.mtime}`);
  }
  for (const p of ['dev/null', 'lib/apk/db/installed', 'etc/apk/world', 'bin/ls', 'proc', 'var/cache/misc']) {
    assert.equal(img.fs.lstat(p)?.mtime, MTIME, p);
  }
});
