/**
 * The nouns of the OCI side: layer entries (input), layers, images and indexes (output models), and the
 * media types. Writers (layout, docker archive) and the validator work only against these.
 */

export const MediaType = {
  imageIndex: 'application/vnd.oci.image.index.v1+json',
  imageManifest: 'application/vnd.oci.image.manifest.v1+json',
  imageConfig: 'application/vnd.oci.image.config.v1+json',
  layerTarGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  layerTar: 'application/vnd.oci.image.layer.v1.tar',
  layerTarZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
} as const;

/** The annotation that names a tag inside an OCI image layout's index.json. */
export const REF_NAME_ANNOTATION = 'org.opencontainers.image.ref.name';

import type { Readable } from 'node:stream';
import type { ContentSource } from '../util/content.ts';

/** Where an entry's bytes come from: in memory, or a byte range of a file (the package data cache). */
export type { ContentSource } from '../util/content.ts';

export type LayerEntryType = 'file' | 'directory' | 'symlink' | 'hardlink' | 'chardev' | 'blockdev' | 'fifo';

/** One member of a layer tar, in final order (the caller walks its filesystem sorted). */
export interface LayerEntry {
  /** Relative, no leading `/` or `./`; directories without a trailing `/`. */
  path: string;
  type: LayerEntryType;
  /** Permission bits including setuid/setgid/sticky. */
  mode: number;
  uid: number;
  gid: number;
  uname?: string;
  gname?: string;
  /** Seconds since the epoch. */
  mtime: number;
  /** Symlink target, or the path (relative, as `path`) a hardlink points at. */
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  xattrs?: Record<string, Buffer>;
  /** Data size; 0 for everything but regular files. */
  size: number;
  content?: ContentSource;
  /** Optional stable identity of the content (e.g. `<package datahash>:<offset>`), for cache keys. */
  contentId?: string;
  /**
   * An OCI whiteout: an empty file named `.wh.<name>` (`path` ends with it) that deletes `<name>` from the
   * layers below. The only entry whose name may start with `.wh.`.
   */
  whiteout?: true;
}

export interface Descriptor {
  mediaType: string;
  size: number;
  /** `sha256:<hex>` */
  digest: string;
  annotations?: Record<string, string>;
  platform?: Platform;
  artifactType?: string;
}

export interface Platform {
  architecture: string;
  os: string;
  'os.version'?: string;
  'os.features'?: string[];
  variant?: string;
}

/**
 * A blob's bytes behind an opener (go-containerregistry's `Compressed()`): each call opens them anew, so a
 * retry reads them again. A blob kept in a file also names it, so a destination on this machine may copy it
 * in the kernel; every destination must work with `open` alone.
 */
export interface BlobSource {
  open(): Readable;
  /** The file holding exactly the blob's bytes, when there is one. */
  readonly file?: string;
}

/** A layer: its bytes behind an opener, plus what the manifest and config say about it. */
export interface Layer extends BlobSource {
  mediaType: string;
  /** sha256 of the blob (compressed) bytes, `sha256:<hex>`. */
  digest: string;
  size: number;
  /** sha256 of the uncompressed tar, `sha256:<hex>`. */
  diffId: string;
  /** Size of the uncompressed tar, when known (the writer knows it; a layer read from a layout does not). */
  uncompressedSize?: number;
  annotations?: Record<string, string>;
}

/** What describes a layer, without its bytes (what a memo stores). */
export type LayerInfo = Omit<Layer, keyof BlobSource>;

/** A small JSON document and its identity, computed from the exact bytes. */
export interface Blob {
  mediaType: string;
  digest: string;
  size: number;
  bytes: Buffer;
}

/** The `config` object of an image config (Docker/OCI container defaults). */
export interface ContainerConfig {
  Cmd?: string[];
  Entrypoint?: string[];
  Env?: string[];
  Labels?: Record<string, string>;
  User?: string;
  /** Paths; written as the OCI set `{"<path>": {}}`. */
  Volumes?: string[];
  WorkingDir?: string;
  /** `port/proto` strings; written as the OCI set. */
  ExposedPorts?: string[];
  StopSignal?: string;
}

export interface HistoryEntry {
  author?: string;
  /** RFC 3339 */
  created?: string;
  created_by?: string;
  comment?: string;
  empty_layer?: boolean;
}

/** One platform's image: its layers on disk, and its config and manifest documents. */
export interface Image {
  platform: Platform;
  layers: Layer[];
  config: Blob;
  manifest: Blob;
  /** The manifest's descriptor as an index lists it (with platform and artifactType). */
  descriptor: Descriptor;
}

/** The multi-platform image: always an index, even for one platform. */
export interface ImageIndex {
  /** Sorted by platform (`386 < amd64 < arm/v6 < arm/v7 < arm64 < …`). */
  images: Image[];
  index: Blob;
  annotations: Record<string, string>;
}
