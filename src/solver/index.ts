/** The resolver: repositories + world (+ installed database) → package set, graph, explanations. */
export { type Explanation, explainFailure } from './explain.ts';
export {
  type DotOptions,
  formatDot,
  formatPackageList,
  PACKAGE_LIST_FORMATS,
  packageJson,
  packageSource,
} from './format.ts';
export {
  decodeResolution,
  encodeResolution,
  RESOLVER_VERSION,
  type ResolutionKeyParts,
  resolutionKey,
} from './memo.ts';
export {
  type IndexOptions,
  type InstalledPackage,
  PackageIndex,
  type SolverRepository,
  scannableAsLatin1,
} from './package-index.ts';
export {
  buildPackageIndex,
  buildPackageIndexAsync,
  type ChangeAction,
  type IndexInput,
  type PackageChange,
  parseWorld,
  type Resolution,
  type ResolvedEdge,
  type ResolveOptions,
  resolve,
  resolvePackages,
} from './resolve.ts';
export {
  type NameFlags,
  SOLVERF_AVAILABLE,
  SOLVERF_IGNORE_UPGRADE,
  SOLVERF_LATEST,
  SOLVERF_REINSTALL,
  SOLVERF_UPGRADE,
  type SolveOptions,
} from './state.ts';
export { formatWhy, type WhyResult, type WhyStep, whyChains, whyNotInstalled } from './why.ts';
