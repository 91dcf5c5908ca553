/**
 * `lading build-minirootfs`: the filesystem `lading build` puts in its layer (the same diff ID), as gzip for a
 * `.gz` name (apko writes plain tar whatever the name) and plain tar otherwise; unpacked, it runs its shell in
 * a chroot. Another architecture with `--build-arch`; the config's archs ignored with a warning, the world not
 * pinned (as apko: no lock).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { entryData, readTar } from '../../src/tar/reader.ts';
import { writeAlpineConfig } from '../helpers/build.ts';
import { sharedCache } from '../helpers/cache.ts';
import { layoutManifests } from '../helpers/image-tree.ts';
import { fixture } from '../helpers/paths.ts';
import { lading, requireTool, run, tempDir } from '../helpers/tools.ts';

const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

describe('lading build-minirootfs', () => {
  const tmp = tempDir('lading-minirootfs-');
  after(() => tmp.remove());
  const cache = sharedCache();

  it('writes the layer lading build writes, gzip for .gz, plain tar otherwise, and it runs in a chroot', () => {
    const config = writeAlpineConfig(tmp.path, 'base.yaml', ['alpine-base']);
    const layout = join(tmp.path, 'layout');
    let r = lading(['build', config, 'base:1', `${layout}/`, '--cache-dir', cache, '--log-level', 'warn']);
    assert.equal(r.status, 0, r.stderr);
    const diffId = (layoutManifests(layout).get('amd64')!.config as { rootfs: { diff_ids: string[] } }).rootfs
      .diff_ids[0];

    const gz = join(tmp.path, 'rootfs.tar.gz');
    const plain = join(tmp.path, 'rootfs.tar');
    for (const out of [gz, plain]) {
      r = lading(['build-minirootfs', config, out, '--build-arch', 'x86_64', '--cache-dir', cache]);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stderr, new RegExp(`x86_64: \\d+ packages, rootfs diff ID ${diffId}`));
    }
    const gzBytes = readFileSync(gz);
    assert.deepEqual([...gzBytes.subarray(0, 2)], [0x1f, 0x8b]);
    assert.equal(sha256(gunzipSync(gzBytes)), diffId);
    const plainBytes = readFileSync(plain);
    assert.equal(plainBytes.subarray(257, 262).toString(), 'ustar');
    assert.equal(sha256(plainBytes), diffId);

    const root = join(tmp.path, 'root');
    mkdirSync(root);
    const x = run(requireTool('bsdtar'), ['-xpf', gz, '-C', root]);
    assert.equal(x.status, 0, x.stderr);
    const sh = run(requireTool('chroot'), [root, '/bin/sh', '-c', 'echo ok; cat /etc/alpine-release']);
    assert.equal(sh.status, 0, sh.stderr);
    assert.equal(sh.stdout, 'ok\n3.19.1\n');
  });

  it('--build-arch picks another architecture; archs: in the config are ignored, the world is not pinned', () => {
    const out = join(tmp.path, 'arm.tar');
    const r = lading(
      ['build-minirootfs', 'testdata/apko.yaml', out, '--build-arch', 'aarch64', '--cache-dir', cache],
      {
        cwd: fixture('apko/internal/cli'),
      },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /ignoring archs in the config, only building for aarch64/);
    const tar = readFileSync(out);
    const files = new Map([...readTar(tar)].map((e) => [e.name, e]));
    assert.equal(entryData(tar, files.get('etc/apk/arch')!).toString(), 'aarch64\n');
    assert.equal(entryData(tar, files.get('etc/apk/world')!).toString(), 'replayout\n');
  });
});
