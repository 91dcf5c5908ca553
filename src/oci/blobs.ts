/**
 * What every OCI-layout-shaped destination (a layout directory, the docker archive, which is one too) stores:
 * the set of blobs of an index, stored once each, and the layout's `index.json` with the tag annotations.
 */
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { indexBlob } from './image.ts';
import { parseTag } from './tags.ts';
import {
  type Blob,
  type BlobSource,
  type ImageIndex,
  type Layer,
  type LayerInfo,
  MediaType,
  REF_NAME_ANNOTATION,
} from './types.ts';

/** `oci-layout`, byte for byte as go-containerregistry (apko) writes it. */
export const OCI_LAYOUT_FILE = Buffer.from('{\n    "imageLayoutVersion": "1.0.0"\n}');

/** A blob to store: its identity and its bytes, in memory (JSON documents) or behind an opener (layers). */
export type BlobContent = { digest: string; size: number } & ({ bytes: Buffer } | { source: BlobSource });

/** The bytes of a file, opened in 1 MiB reads (few syscalls, flat memory whatever the size). */
export function fileSource(file: string): BlobSource {
  return { file, open: () => createReadStream(file, { highWaterMark: 1 << 20 }) };
}

/** Bytes in memory as a blob source. */
export function bytesSource(bytes: Buffer): BlobSource {
  return { open: () => Readable.from([bytes]) };
}

/** A layer from what describes it and where its bytes are. */
export function layerOf(info: LayerInfo, source: BlobSource): Layer {
  const layer: Layer = {
    mediaType: info.mediaType,
    digest: info.digest,
    size: info.size,
    diffId: info.diffId,
    open: () => source.open(),
  };
  if (info.uncompressedSize !== undefined) layer.uncompressedSize = info.uncompressedSize;
  if (source.file !== undefined) Object.assign(layer, { file: source.file });
  if (info.annotations) layer.annotations = info.annotations;
  return layer;
}

/** What describes a layer, without its bytes. */
export function layerInfo(layer: Layer): LayerInfo {
  const { open: _open, file: _file, ...info } = layer;
  return info;
}

/** `sha256:<hex>` → `blobs/sha256/<hex>` */
export function blobPath(digest: string): string {
  const [alg, hex] = digest.split(':');
  return `blobs/${alg}/${hex}`;
}

export interface LayoutContent {
  /** Every blob once, sorted by digest. */
  blobs: BlobContent[];
  /** The layout's `index.json`. */
  indexJson: Buffer;
}

/**
 * The blobs and `index.json` of a layout holding `index`.
 * - No tag: `index.json` is the image index itself (as apko writes it).
 * - A tag: `index.json` lists exactly one entry, the image index (stored as a blob) with `ref.name` = TAG, for
 *   one platform as for several. One entry is what lets skopeo (`oci:DIR`, `oci-archive:FILE`) and podman
 *   (`load -i DIR`) read the output without being told a tag, and makes `skopeo copy --all oci:DIR docker://…`
 *   push the image index, whose digest the build prints and `lading publish` pushes: the digest a registry
 *   then holds. Tools pick their platform from the index. umoci, which cannot follow a nested index, takes one
 *   platform copied out first: `skopeo copy [--override-arch A] oci:DIR:TAG oci:ONE:TAG`.
 */
export function layoutContent(index: ImageIndex, tag?: string): LayoutContent {
  const blobs = new Map<string, BlobContent>();
  const addBytes = (b: Blob) => blobs.set(b.digest, { digest: b.digest, size: b.size, bytes: b.bytes });
  for (const img of index.images) {
    addBytes(img.config);
    addBytes(img.manifest);
    for (const l of img.layers)
      if (!blobs.has(l.digest)) blobs.set(l.digest, { digest: l.digest, size: l.size, source: l });
  }
  let indexJson = index.index.bytes;
  if (tag !== undefined) {
    parseTag(tag);
    addBytes(index.index);
    const top = {
      mediaType: MediaType.imageIndex,
      size: index.index.size,
      digest: index.index.digest,
      annotations: { [REF_NAME_ANNOTATION]: tag },
    };
    indexJson = indexBlob([top], index.annotations).bytes;
  }
  const sorted = [...blobs.values()].sort((a, b) => (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0));
  return { blobs: sorted, indexJson };
}
