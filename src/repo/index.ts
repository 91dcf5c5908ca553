/** Package repositories: entries parsed into references, and fetching indexes, packages and keys through the store. */
export type {
  Fetched,
  FetchOptions,
  FetchPackageOptions,
  FetchSource,
  PackageRequest,
  RepoSettings,
} from './fetch.ts';
export { createFetchOptions, fetchIndex, fetchKey, fetchPackage, forgetPackage } from './fetch.ts';
export type { KeySource, RepositoryKind, RepositoryRef } from './ref.ts';
export {
  formatRepositoryEntry,
  indexLocation,
  packageLocation,
  parseKeySource,
  parseRepositoryRef,
  repositoryFile,
} from './ref.ts';
