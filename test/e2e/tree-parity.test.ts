/**
 * The image lading builds has the same file tree as what the real apk-tools 2.14.4 installs for the same
 * world (`apk add --initdb --no-scripts`, then the busybox trigger's links): paths, types, modes, owners,
 * link targets and content hashes. Every difference is intended and listed here.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { isoRepoDir, ladingBuild, writeAlpineConfig } from '../helpers/build.ts';
import { sharedCache } from '../helpers/cache.ts';
import { diskTree, layerTars, tarTree, treeDiff } from '../helpers/image-tree.ts';
import { apkOracle, fixture } from '../helpers/paths.ts';
import { run, tempDir } from '../helpers/tools.ts';

/** Differences we intend, as treeDiff lines (prefix match). */
function intended(world: string[]): RegExp[] {
  return [
    // lading records the runtime repositories in the image, as apko does; apk was given them on its
    // command line instead
    /^\+etc\/apk\/repositories /,
    // lading copies the build keyring into /etc/apk/keys (apko does too); with alpine-keys installed the
    // package's own copy of the key wins, so this only shows for worlds without alpine-keys
    ...(world.includes('alpine-base')
      ? []
      : [/^\+etc\/apk\/keys( |\/alpine-devel@lists\.alpinelinux\.org-6165ee59\.rsa\.pub )/]),
    // apk 2.14.4 files alpine-base's `replaces` under alpine-baselayout's record; lading writes it under
    // alpine-base, which declares it (test/build/install.test.ts compares the rest of the file line by line)
    ...(world.includes('alpine-base') ? [/^~lib\/apk\/db\/installed /] : []),
  ];
}

describe('image tree equals the real apk-tools install', () => {
  const tmp = tempDir('lading-parity-');
  after(() => tmp.remove());

  for (const world of [['alpine-base'], ['alpine-baselayout', 'busybox', 'musl-utils']]) {
    it(`world: ${world.join(' ')}`, () => {
      const dir = join(tmp.path, world[0]!);
      mkdirSync(dir);
      // apk-tools
      const root = join(dir, 'root');
      const apk = run(apkOracle, [
        'add',
        '--root',
        root,
        '--initdb',
        '--no-network',
        '--no-scripts',
        '--arch',
        'x86_64',
        '--keys-dir',
        fixture('alpine/keys'),
        '--repository',
        isoRepoDir(),
        ...world,
      ]);
      assert.equal(apk.status, 0, apk.stdout + apk.stderr);
      assert.doesNotMatch(apk.stdout + apk.stderr, /WARNING|ERROR/);
      const trigger = run('chroot', [
        root,
        '/bin/sh',
        '-c',
        '[ -e /bin/bbsuid ] && /bin/bbsuid --install; /bin/busybox --install -s',
      ]);
      assert.equal(trigger.status, 0, trigger.stderr);
      // lading
      const config = writeAlpineConfig(dir, 'c.yaml', world);
      const layout = join(dir, 'layout');
      mkdirSync(layout);
      const r = ladingBuild(config, 'parity:1', layout, sharedCache(), ['--sbom=false']);
      assert.equal(r.status, 0, r.stderr);

      const [tar] = layerTars(layout);
      const diff = treeDiff(tarTree(tar!), diskTree(root)).filter(
        (d) => !intended(world).some((re) => re.test(d)),
      );
      assert.deepEqual(diff, []);
    });
  }
});
