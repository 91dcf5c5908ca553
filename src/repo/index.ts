/** Getting bytes: repository references, HTTP with auth and retries, the content-addressed cache. */
export type { HttpAuthEntry, ParsedHttpAuth } from './auth.ts';
export { BasicCredentials, credentialsForHost, parseHttpAuth } from './auth.ts';
export type { BlobInfo, BlobWriter, CachedFile, CacheOptions, CacheRef, RefInput } from './cache.ts';
export { ContentCache, defaultCacheDir, digestOf, openCache, sweepTemporaryFiles } from './cache.ts';
export type { CacheUsage, PruneResult, VerifyResult } from './cache-maintenance.ts';
export { cacheUsage, cleanCache, pruneCache, verifyCache } from './cache-maintenance.ts';
export type {
  Fetched,
  FetchOptions,
  FetchPackageOptions,
  FetchSource,
  PackageRequest,
  RepoSettings,
} from './fetch.ts';
export { createFetchOptions, fetchIndex, fetchKey, fetchPackage, forgetPackage } from './fetch.ts';
export type { BodySink, GetOptions, GetResult, HttpClient, HttpClientOptions } from './http.ts';
export { createHttpClient, DEFAULT_USER_AGENT, describeUrl } from './http.ts';
export type { Limiter } from './limit.ts';
export { createLimiter, createSingleFlight } from './limit.ts';
export type { KeySource, RepositoryKind, RepositoryRef } from './ref.ts';
export {
  formatRepositoryEntry,
  indexLocation,
  packageLocation,
  parseKeySource,
  parseRepositoryRef,
  repositoryFile,
} from './ref.ts';
