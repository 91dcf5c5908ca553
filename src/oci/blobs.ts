/**
 * What every OCI-layout-shaped destination (a layout directory, the docker archive, which is one too) stores:
 * the set of blobs of an index, stored once each, and the layout's `index.json` with the tag annotations.
 */
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { indexBlob } from './image.ts';
import { archTag, parseTag } from './tags.ts';
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
 * - One platform: `index.json` lists its manifest with `ref.name` = the tag, so `skopeo inspect oci:DIR:TAG`
 *   and `umoci unpack --image DIR:TAG` (which cannot follow nested indexes) work, and then, untagged, the
 *   image index itself (stored as a blob): the digest the build reports and the index SBOM describes.
 * - Several platforms: the image index is stored as a blob and listed with `ref.name` = TAG (skopeo and
 *   containerd pick the platform from it), followed by each manifest with `ref.name` = `TAG-<arch>` (for umoci
 *   and single-platform tools).
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
    const ref = (name: string) => ({ [REF_NAME_ANNOTATION]: name });
    addBytes(index.index);
    const top = { mediaType: MediaType.imageIndex, size: index.index.size, digest: index.index.digest };
    if (index.images.length === 1) {
      // the image index (the digest lading prints, which the index SBOM describes) is stored too, untagged
      const d = index.images[0]!.descriptor;
      indexJson = indexBlob([{ ...d, annotations: ref(tag) }, top], index.annotations).bytes;
    } else {
      indexJson = indexBlob(
        [
          { ...top, annotations: ref(tag) },
          ...index.images.map((i) => ({ ...i.descriptor, annotations: ref(archTag(tag, i.platform)) })),
        ],
        index.annotations,
      ).bytes;
    }
  }
  const sorted = [...blobs.values()].sort((a, b) => (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0));
  return { blobs: sorted, indexJson };
}
