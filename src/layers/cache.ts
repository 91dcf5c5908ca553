/**
 * The layer cache: a layer built before from identical entries is taken from the store, not written again.
 * Where it is found decides what is checked:
 * - this machine's cache: trusted (verified by stat fingerprint, like every cached blob);
 * - a shared cache tier (`--cache-from`): the blob's hash (the store checks it), its diff ID (it must inflate to
 *   it) and the key's claim (the diff ID of the tar these entries make) — a poisoned entry is ignored;
 * - a hint (`LayerHints`: a registry that holds an image built before, whose layer descriptors carry their
 *   keys): only the key's claim is checked, against the diff ID the registry's image config lists. The layer is
 *   then used without its bytes — a registry that has the blob takes it by reference — and written only if
 *   something asks for them.
 */
import { Readable } from 'node:stream';
import { fileSource, layerInfo, layerOf } from '../oci/blobs.ts';
import { gzipDiffId, layerCacheKey, layerDiffId, writeLayer } from '../oci/layer.ts';
import type { Layer, LayerEntry, LayerInfo } from '../oci/types.ts';
import type { ContentCache } from '../store/cache.ts';
import { LAYERS } from '../store/namespaces.ts';
import { LadingError } from '../util/errors.ts';
import type { Logger } from '../util/log.ts';

/**
 * On each layer's descriptor: the layer cache key it was built under, so a worker with an empty cache can find
 * an unchanged layer among what a registry already holds without writing and compressing it again.
 */
export const LAYER_KEY_ANNOTATION = 'dev.lading.layer-key';

/** Layers known elsewhere by their keys (a registry's image built before). */
export interface LayerHints {
  find(key: string): Promise<LayerInfo | undefined>;
}

export interface CachedLayerOptions {
  /** gzip (default) or zstd. */
  compression?: 'gzip' | 'zstd';
  level?: number;
  hints?: LayerHints;
  logger?: Logger;
}

/**
 * The layer for some entries, from the cache when an identical one was built before (same headers and
 * content identities): a warm rebuild then skips tar and gzip entirely. `entries` is called once for the
 * key and again to write (or check).
 */
export async function cachedLayer(
  entries: () => Iterable<LayerEntry>,
  cache: ContentCache,
  options: CachedLayerOptions = {},
): Promise<Layer> {
  const layerOptions = {
    ...(options.level === undefined ? {} : { level: options.level }),
    ...(options.compression === undefined ? {} : { compression: options.compression }),
  };
  const key = await layerCacheKey(entries(), layerOptions);
  if (key !== null) {
    const annotations = { [LAYER_KEY_ANNOTATION]: key };
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
        annotations,
      };
      if (!hit.fromTier) return layerOf(info, fileSource(hit.file.path));
      if (
        (await layerDiffId(entries())) === info.diffId &&
        (await gzipDiffId(() => fileSource(hit.file.path).open(), info.mediaType)) === info.diffId
      ) {
        options.logger?.debug(`layer ${info.digest.slice(0, 19)}: from a shared cache, checked, not written`);
        return layerOf(info, fileSource(hit.file.path));
      }
      options.logger?.warn(
        `shared cache: the layer under key ${key.slice(7, 19)} is not the layer these files make; ignored (the entry is damaged or poisoned)`,
      );
    }
    const hint = await options.hints?.find(key);
    if (hint && (await layerDiffId(entries())) === hint.diffId) {
      options.logger?.debug(
        `layer ${hint.digest.slice(0, 19)}: the registry holds it under its key; not written`,
      );
      return layerOf({ ...hint, annotations }, lazySource(entries, cache, layerOptions, key, hint));
    }
  }
  return writeCachedLayer(entries, cache, layerOptions, key);
}

/** Writes the layer into the cache and remembers it under its key. */
async function writeCachedLayer(
  entries: () => Iterable<LayerEntry>,
  cache: ContentCache,
  layerOptions: { level?: number },
  key: string | null,
): Promise<Layer> {
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

/** The bytes of a hinted layer, written the first time something reads them; they must be the hinted blob. */
function lazySource(
  entries: () => Iterable<LayerEntry>,
  cache: ContentCache,
  layerOptions: { level?: number },
  key: string,
  hint: LayerInfo,
): { open(): Readable } {
  let written: Promise<Layer> | undefined;
  return {
    open: () =>
      Readable.from(
        (async function* () {
          written ??= writeCachedLayer(entries, cache, layerOptions, key);
          const layer = await written;
          if (layer.digest !== hint.digest) {
            throw new LadingError(
              'LAYER_HINT_MISMATCH',
              `the layer under key ${key.slice(7, 19)} compressed to ${layer.digest}, not to ${hint.digest} as the registry's image says`,
              { hint: 'publish again: the layer is in the cache now and will be used as it is' },
            );
          }
          yield* layer.open();
        })(),
      ),
  };
}
