/**
 * The image memo: a finished image remembered under everything it was built from, so building the same
 * inputs again (say, to another output path) writes the remembered image instead of resolving, installing
 * and packing it again. The key covers lading's build id, the loaded config (all fields, after command-line
 * overrides), every repository index's bytes (by digest) per architecture, the build keys' contents, the
 * build date inputs, the resolver's rules (--apk3-install-if) and the output options that change bytes (tag, SBOM
 * formats, compression level).
 * Package contents are covered through the indexes: each package is named by its control checksum.
 * The memo stores the small documents (index, configs, manifests, SBOM texts); layers are cache blobs.
 */
import { createHash } from 'node:crypto';
import { fileSource, layerInfo, layerOf } from '../oci/blobs.ts';
import type { Blob, Descriptor, Image, ImageIndex, Layer, LayerInfo, Platform } from '../oci/types.ts';
import type { ContentCache } from '../store/cache.ts';
import { IMAGES } from '../store/namespaces.ts';
import { LADING_BUILD_ID } from '../util/version.ts';
import type { SbomFile } from './sbom.ts';
import type { BuildInputs, BuildSummary } from './types.ts';

const FORMAT = 2;

export interface ImageMemoKeyInput {
  config: unknown;
  archs: { apkArch: string; indexes: { repository: string; tag?: string; digest: string }[] }[];
  keys: readonly { name: string; content: Buffer }[];
  outputOptions: Record<string, unknown>;
}

export function imageMemoKey(input: ImageMemoKeyInput): string {
  const h = createHash('sha256');
  h.update(JSON.stringify({ f: FORMAT, build: LADING_BUILD_ID, config: input.config, archs: input.archs }));
  for (const k of input.keys)
    h.update(`\0${k.name}\0`).update(createHash('sha256').update(k.content).digest('hex'));
  h.update(JSON.stringify(input.outputOptions));
  return h.digest('hex');
}

export interface ImageMemo {
  index: ImageIndex;
  sbomFiles: SbomFile[];
  summary: BuildSummary[];
  inputs: BuildInputs;
}

interface StoredBlob {
  mediaType: string;
  digest: string;
  size: number;
  bytes: string;
}

interface Stored {
  format: number;
  index: StoredBlob;
  annotations: Record<string, string>;
  images: {
    platform: Platform;
    config: StoredBlob;
    manifest: StoredBlob;
    descriptor: Descriptor;
    /** With the stat fingerprint each layer blob had when this build used it (verified then). */
    layers: (LayerInfo & { fingerprint?: string })[];
  }[];
  sbomFiles: SbomFile[];
  summary: BuildSummary[];
  inputs: BuildInputs;
}

const store = (b: Blob): StoredBlob => ({
  mediaType: b.mediaType,
  digest: b.digest,
  size: b.size,
  bytes: b.bytes.toString('base64'),
});
const load = (b: StoredBlob): Blob => ({
  mediaType: b.mediaType,
  digest: b.digest,
  size: b.size,
  bytes: Buffer.from(b.bytes, 'base64'),
});

export async function saveImageMemo(cache: ContentCache, key: string, memo: ImageMemo): Promise<void> {
  const stored: Stored = {
    format: FORMAT,
    index: store(memo.index.index),
    annotations: memo.index.annotations,
    images: await Promise.all(
      memo.index.images.map(async (i) => ({
        platform: i.platform,
        config: store(i.config),
        manifest: store(i.manifest),
        descriptor: i.descriptor,
        // the build just wrote and hashed these blobs, or opened them by fingerprint: this is that state
        layers: await Promise.all(
          i.layers.map(async (layer) => {
            const l = layerInfo(layer);
            const fingerprint = await cache.blobFingerprint(l.digest);
            return fingerprint === undefined ? l : { ...l, fingerprint };
          }),
        ),
      })),
    ),
    sbomFiles: memo.sbomFiles,
    summary: memo.summary,
    inputs: memo.inputs,
  };
  const blob = await cache.putBytes(Buffer.from(JSON.stringify(stored)));
  await cache.setRef(IMAGES, key, { blob });
}

/** The remembered image, when there is one and every layer blob is still in the cache. */
export async function loadImageMemo(cache: ContentCache, key: string): Promise<ImageMemo | undefined> {
  const hit = await cache.readRef(IMAGES, key).catch(() => undefined);
  if (!hit) return undefined;
  let stored: Stored;
  try {
    stored = JSON.parse(hit.bytes.toString('utf8'));
  } catch {
    return undefined;
  }
  if (stored.format !== FORMAT) return undefined;
  const images: Image[] = [];
  let rehashed = false;
  for (const i of stored.images) {
    const layers: Layer[] = [];
    for (const { fingerprint, ...l } of i.layers) {
      // verified as every cached layer is: by its stat fingerprint, hashed again when that changed
      const opened = await cache.openBlob(l, fingerprint === undefined ? {} : { fingerprint });
      if (!opened) return undefined;
      await opened.file.close();
      rehashed ||= opened.fingerprint !== fingerprint;
      layers.push(layerOf(l, fileSource(opened.file.path)));
    }
    images.push({
      platform: i.platform,
      layers,
      config: load(i.config),
      manifest: load(i.manifest),
      descriptor: i.descriptor,
    });
  }
  const memo: ImageMemo = {
    index: { images, index: load(stored.index), annotations: stored.annotations },
    sbomFiles: stored.sbomFiles,
    summary: stored.summary,
    inputs: stored.inputs,
  };
  // a layer was hashed again (say, a cache restored elsewhere): remember its new fingerprint, best effort
  if (rehashed) await saveImageMemo(cache, key, memo).catch(() => {});
  return memo;
}
