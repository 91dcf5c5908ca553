/**
 * Every kind of reference the store holds: its directory under `refs/`, its key, and what its `meta` carries.
 * The names and key texts are the on-disk format: changing one orphans what existing caches hold. `shared`
 * namespaces (keys that name their content completely) are read from and written to HTTP cache tiers.
 */
import { type RefMeta, refNamespace } from './cache.ts';

/** An index fetched over HTTP, by URL; `etag`, `lastModified` and `checkedAt` drive revalidation. */
export const INDEXES = refNamespace<string>('index', (url) => url);

/** A key fetched over HTTP, by URL; revalidated like an index. */
export const KEYS = refNamespace<string>('key', (url) => url);

/** A package to fetch: by name, version and control checksum when the index gives one, else by URL. */
export interface PackageKey {
  name: string;
  version: string;
  /** The index's `C:` (Q1 + base64 SHA-1 of the control member). */
  checksum?: string;
  /** Where it is downloaded from, without credentials. */
  url: string;
}

export interface PackageMeta extends RefMeta {
  name: string;
  version: string;
  url: string;
}

/** A downloaded `.apk`, as fetched. */
export const PACKAGES = refNamespace<PackageKey, PackageMeta>(
  'package',
  (p) => (p.checksum ? `${p.name}-${p.version} ${p.checksum}` : `url ${p.url}`),
  { shared: true },
);

/**
 * An expanded package, by control checksum: the blob is its uncompressed data tar, the `meta` attachment a JSON
 * index of its entries and control data (see src/rootfs/packages.ts).
 */
export const EXPANDED_PACKAGES = refNamespace<string>('apk-expanded', (checksum) => checksum, {
  shared: true,
});

export interface ResolutionMeta extends RefMeta {
  arch: string;
}

/** A resolution, by a key over the world, the index digests and lading's build (see the resolve phase). */
export const RESOLUTIONS = refNamespace<string, ResolutionMeta>('resolution', (key) => key, { shared: true });

export interface LayerMeta extends RefMeta {
  diffId: string;
  uncompressedSize: number;
  mediaType: string;
}

/** A layer blob, by a key over its tar headers and content identities (see src/oci/layer.ts layerCacheKey). */
export const LAYERS = refNamespace<string, LayerMeta>('layer', (key) => key, { shared: true });

/** A finished image's small documents and SBOMs, by everything it was built from (the image memo). */
export const IMAGES = refNamespace<string>('image', (key) => key);

/**
 * A base image's layer, expanded, by diff ID: the blob is its uncompressed tar, the `meta` attachment a JSON
 * index of its entries (see src/base/layers.ts).
 */
export const BASE_LAYERS = refNamespace<string>('base-layer', (diffId) => diffId);

/** A blob pulled from a registry for a base image, by digest (blobs never change). */
export const BASE_PULLED = refNamespace<string>('base-blob', (digest) => digest);

/** A registry's manifest for a base image reference (`registry/path@tag-or-digest`), with its media type. */
export const BASE_MANIFESTS = refNamespace<string>('base-manifest', (key) => key);

/** Every namespace, for maintenance and tests. */
export const NAMESPACES = [
  INDEXES,
  KEYS,
  PACKAGES,
  EXPANDED_PACKAGES,
  RESOLUTIONS,
  LAYERS,
  IMAGES,
  BASE_LAYERS,
  BASE_PULLED,
  BASE_MANIFESTS,
] as const;
