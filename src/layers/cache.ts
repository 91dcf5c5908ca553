/** The layer cache: a layer built before from identical entries is taken from the store, not written again. */
import { fileSource, layerInfo, layerOf } from '../oci/blobs.ts';
import { layerCacheKey, writeLayer } from '../oci/layer.ts';
import type { Layer, LayerEntry } from '../oci/types.ts';
import type { ContentCache } from '../store/cache.ts';
import { LAYERS } from '../store/namespaces.ts';

/**
 * On each layer's descriptor: the layer cache key it was built under, so a worker with an empty cache can find
 * an unchanged layer among what a registry already holds without writing and compressing it again.
 */
export const LAYER_KEY_ANNOTATION = 'dev.lading.layer-key';

/**
 * The layer for some entries, from the cache when an identical one was built before (same headers and
 * content identities): a warm rebuild then skips tar and gzip entirely. `entries` is called once for the
 * key and again to write.
 */
export async function cachedLayer(
  entries: () => Iterable<LayerEntry>,
  cache: ContentCache,
  level?: number,
): Promise<Layer> {
  const layerOptions = level === undefined ? {} : { level };
  const key = await layerCacheKey(entries(), layerOptions);
  if (key !== null) {
    // verified like every cached blob: by its stat fingerprint, recorded when the layer was written and hashed
    const hit = await cache.openRef(LAYERS, key);
    if (hit) {
      await hit.file.close();
      const { ref } = hit;
      const info = {
        mediaType: String(ref.meta?.mediaType),
        digest: ref.blob.digest,
        size: ref.blob.size,
        diffId: String(ref.meta?.diffId),
        uncompressedSize: Number(ref.meta?.uncompressedSize),
        annotations: { [LAYER_KEY_ANNOTATION]: key },
      };
      return layerOf(info, fileSource(hit.file.path));
    }
  }
  const tmp = await cache.tempFilePath();
  const layer = await writeLayer(entries(), tmp, layerOptions);
  const blob = await cache.adoptFile(tmp, layer.digest, layer.size);
  if (key !== null) {
    await cache.setRef(LAYERS, key, {
      blob,
      meta: {
        diffId: layer.diffId,
        uncompressedSize: layer.uncompressedSize ?? 0,
        mediaType: layer.mediaType,
      },
      // the writer hashed these bytes as it wrote them: the fingerprint stands for that check
      ...(blob.fingerprint ? { verified: { [blob.digest]: blob.fingerprint } } : {}),
    });
  }
  const info =
    key === null ? layerInfo(layer) : { ...layerInfo(layer), annotations: { [LAYER_KEY_ANNOTATION]: key } };
  return layerOf(info, fileSource(blob.path ?? cache.blobPath(blob.digest)));
}
