/**
 * The OCI seams: a layer is bytes behind an opener, an image goes to an ImageDestination, and what was
 * written reads back (oci/read.ts) verified. One multi-platform test image, written several ways.
 */
import assert from 'node:assert/strict';
import { createReadStream, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { layerInfo, layerOf } from '../../src/oci/blobs.ts';
import { type BlobContent, type ImageDestination, writeImage } from '../../src/oci/destination.ts';
import { writeDockerArchive } from '../../src/oci/docker-archive.ts';
import { layoutDestination, writeLayout } from '../../src/oci/layout.ts';
import { readImage, readImageIndex } from '../../src/oci/read.ts';
import type { ImageIndex } from '../../src/oci/types.ts';
import { validateIndex, validateLayout } from '../../src/oci/validate.ts';
import { isLadingError } from '../../src/util/errors.ts';
import { throwsCode } from '../helpers/assert.ts';
import { flipped } from '../helpers/bytes.ts';
import { alpineIndex } from '../helpers/oci-image.ts';
import { tempDir } from '../helpers/tools.ts';

const TAG = 'lading-test/seams:1';

/** The same index with every layer behind a bare opener (no file to copy from). */
function openerOnly(index: ImageIndex): ImageIndex {
  return {
    ...index,
    images: index.images.map((img) => ({
      ...img,
      layers: img.layers.map((l) => layerOf(layerInfo(l), { open: () => createReadStream(l.file!) })),
    })),
  };
}

/** A destination that records every call and holds blobs in memory; `has` lists digests it already holds. */
function recording(has: string[] = [], failOn?: string) {
  const calls: string[] = [];
  const stored = new Map<string, Buffer>();
  const destination: ImageDestination = {
    location: 'memory',
    parallelBlobs: 3,
    hasBlob: async (b) => {
      calls.push(`has ${b.digest.slice(7, 15)}`);
      return has.includes(b.digest);
    },
    putBlob: async (b: BlobContent) => {
      if (b.digest === failOn) throw new Error('upload failed');
      const chunks: Buffer[] = [];
      if ('bytes' in b) chunks.push(b.bytes);
      else for await (const c of b.source.open()) chunks.push(c as Buffer);
      stored.set(b.digest, Buffer.concat(chunks));
      calls.push(`put ${b.digest.slice(7, 15)}`);
    },
    commit: async (index, options) => {
      calls.push(`commit ${options.tag}`);
      return { digest: index.index.digest, files: [] };
    },
    abort: async () => {
      calls.push('abort');
    },
  };
  return { destination, calls, stored };
}

describe('OCI seams', () => {
  let tmp: { path: string; remove: () => void };
  let index: ImageIndex;
  before(async () => {
    tmp = tempDir('lading-oci-seams-');
    index = await alpineIndex(tmp.path, ['arm64', 'amd64']);
  });
  after(() => tmp.remove());

  it('a layer behind a bare opener writes the same layout and archive bytes as a file-backed one', async () => {
    const bare = openerOnly(index);
    await validateIndex(bare);
    await writeLayout(join(tmp.path, 'file'), index, { tag: TAG });
    await writeLayout(join(tmp.path, 'bare'), bare, { tag: TAG });
    const layer = index.images[0]!.layers[0]!.digest.slice(7);
    for (const f of ['index.json', `blobs/sha256/${layer}`]) {
      assert.ok(readFileSync(join(tmp.path, 'file', f)).equals(readFileSync(join(tmp.path, 'bare', f))), f);
    }
    await validateLayout(join(tmp.path, 'bare'));
    await writeDockerArchive(join(tmp.path, 'file.tar'), index, { tag: TAG });
    await writeDockerArchive(join(tmp.path, 'bare.tar'), bare, { tag: TAG });
    assert.ok(readFileSync(join(tmp.path, 'file.tar')).equals(readFileSync(join(tmp.path, 'bare.tar'))));
  });

  it('writeImage sends only missing blobs, streamed, and commits last; a failure aborts before commit', async () => {
    const config = index.images[0]!.config.digest;
    const layer = index.images[0]!.layers[0]!;
    const r = recording([config]);
    const written = await writeImage(r.destination, index, { tag: TAG });
    assert.equal(written.digest, index.index.digest);
    assert.equal(r.calls.at(-1), `commit ${TAG}`);
    assert.ok(!r.calls.includes(`put ${config.slice(7, 15)}`), 'a blob it has is not sent');
    assert.equal(r.calls.filter((c) => c.startsWith('has')).length, 3, 'two configs and the shared layer');
    assert.ok(r.stored.get(layer.digest)?.equals(readFileSync(layer.file!)));

    const failing = recording([], layer.digest);
    await assert.rejects(writeImage(failing.destination, index, { tag: TAG }), /upload failed/);
    assert.equal(failing.calls.at(-1), 'abort');
    assert.ok(!failing.calls.some((c) => c.startsWith('commit')));
  });

  it('reads back what it wrote, from a layout and from an archive, verifying every blob', async () => {
    const layout = join(tmp.path, 'read');
    const destination = layoutDestination(layout);
    await writeImage(destination, index, { tag: TAG });
    await writeDockerArchive(join(tmp.path, 'read.tar'), index, { tag: TAG });
    for (const path of [layout, join(tmp.path, 'read.tar')]) {
      const back = readImageIndex(path, { ref: TAG });
      assert.equal(back.index.digest, index.index.digest);
      assert.deepEqual(
        back.images.map((i) => [i.platform.architecture, i.manifest.digest, i.config.digest]),
        index.images.map((i) => [i.platform.architecture, i.manifest.digest, i.config.digest]),
      );
      const chunks: Buffer[] = [];
      for await (const c of back.images[0]!.layers[0]!.open()) chunks.push(c as Buffer);
      assert.ok(Buffer.concat(chunks).equals(readFileSync(index.images[0]!.layers[0]!.file!)));
      const arm = readImage(path, { ref: TAG, platform: 'arm64' });
      const arm64 = index.images.find((i) => i.platform.architecture === 'arm64')!;
      assert.equal(arm.manifest.digest, arm64.manifest.digest);
      assert.equal(readImageIndex(path, { digest: index.index.digest }).index.digest, index.index.digest);
    }

    // a damaged layer fails when it is read, a damaged document at once
    const layerFile = join(layout, 'blobs/sha256', index.images[0]!.layers[0]!.digest.slice(7));
    const good = readFileSync(layerFile);
    writeFileSync(layerFile, flipped(good, -1));
    const back = readImageIndex(layout, { ref: TAG });
    await assert.rejects(
      (async () => {
        for await (const _ of back.images[0]!.layers[0]!.open());
      })(),
      (e: unknown) => isLadingError(e) && e.code === 'OCI_READ' && /has sha256/.test(e.message),
    );
    writeFileSync(join(layout, 'blobs/sha256', index.images[1]!.config.digest.slice(7)), '{}');
    throwsCode(() => readImageIndex(layout, { ref: TAG }), 'OCI_READ');
    assert.throws(
      () => readImageIndex(layout, { ref: 'no:such' }),
      (e: unknown) => isLadingError(e) && e.hint?.includes(TAG) === true,
    );
  });
});
