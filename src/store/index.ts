/** The content-addressed store: blobs, typed reference namespaces, the layout on disk, maintenance. */
export type {
  BlobInfo,
  BlobWriter,
  CachedFile,
  CacheOptions,
  CacheRef,
  RefInput,
  RefMeta,
  RefNamespace,
} from './cache.ts';
export { ContentCache, openCache, refNamespace, sweepTemporaryFiles } from './cache.ts';
export { defaultCacheDir } from './default-dir.ts';
export { blobFile, buildRecordFile, CACHE_LAYOUT, layoutPaths, refFile, type StoreLayout } from './layout.ts';
export type { CacheUsage, PruneResult, VerifyResult } from './maintenance.ts';
export { cacheUsage, cleanCache, pruneCache, verifyCache } from './maintenance.ts';
export * from './namespaces.ts';
