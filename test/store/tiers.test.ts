/**
 * Shared cache tiers on directories (the HTTP ones are in test/e2e/scale.test.ts, with nginx): what a cache
 * writes through (`to`) another cache reads (`from`) with the same bytes; a tier's blob with the wrong bytes is
 * ignored; only shared namespaces are written through. (A read-only cache directory, read in place by an
 * unprivileged build, is in test/e2e/scale.test.ts.)
 */
import assert from 'node:assert/strict';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { openCache } from '../../src/store/cache.ts';
import { IMAGES, LAYERS } from '../../src/store/namespaces.ts';
import { createLogger } from '../../src/util/log.ts';
import { tempDir } from '../helpers/tools.ts';

const tmp = tempDir('lading-tiers-');
after(tmp.remove);

function logged(): { logger: ReturnType<typeof createLogger>; lines: string[] } {
  const lines: string[] = [];
  return { logger: createLogger('warn', (s) => lines.push(s)), lines };
}

const meta = { diffId: `sha256:${'1'.repeat(64)}`, uncompressedSize: 3, mediaType: 'x' };

describe('cache tiers', () => {
  it('write through to a directory, read from it verified, ignore wrong bytes', async () => {
    const shared = join(tmp.path, 'shared');
    const writer = await openCache(join(tmp.path, 'a'), { to: shared });
    const blob = await writer.putBytes(Buffer.from('layer bytes'));
    await writer.setRef(LAYERS, 'key-1', { blob, meta });
    const image = await writer.putBytes(Buffer.from('image memo'));
    await writer.setRef(IMAGES, 'key-2', { blob: image });
    await writer.flush();

    const { logger, lines } = logged();
    const reader = await openCache(join(tmp.path, 'b'), { from: [shared], logger });
    const hit = await reader.openRef(LAYERS, 'key-1');
    assert.ok(hit?.fromTier, 'found in the tier');
    assert.equal((await hit.file.read(0, 11)).toString(), 'layer bytes');
    await hit.file.close();
    // IMAGES is not a shared namespace: never written through
    assert.equal(await reader.getRef(IMAGES, 'key-2'), undefined);

    // the same name, other bytes: ignored, said once
    const path = join(shared, 'v1/blobs/sha256', blob.digest.slice(7, 9), blob.digest.slice(7));
    chmodSync(path, 0o644);
    writeFileSync(path, 'LAYER BYTES');
    const again = await openCache(join(tmp.path, 'c'), { from: [shared], logger });
    assert.equal(await again.openRef(LAYERS, 'key-1'), undefined);
    assert.match(lines.join(''), /do not hash to it; ignored/);
  });
});
