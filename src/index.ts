/**
 * The lading library: the stages of the pipeline as typed functions, and the types they take and give.
 *   loadConfig → resolve (→ lock) → build (open → fetch indexes → resolve → prepare → rootfs → layers → image → index →
 *   SBOMs → destination) → publish
 * `build` and `resolve` run whole pipelines; the phase functions below let a caller run or replace one step.
 * See docs/library.md.
 */

export type { PackageInfo, RepositoryPackage } from './apk/types.ts';
// config
export {
  type ApkoConfig,
  ConfigError,
  type ConfigProblem,
  type ConfigWarning,
  configJsonSchema,
  type ImageConfig,
  type LoadedConfig,
  type LoadOptions,
  loadConfig,
  loadConfigObject,
  loadConfigText,
} from './config/index.ts';
export type {
  BaseImage,
  Group,
  ImageAccounts,
  ImageCertificates,
  ImageContents,
  ImageEntrypoint,
  Layering,
  NamedPem,
  PathMutation,
  PathType,
  User,
} from './config/types.ts';
export { LAYER_KEY_ANNOTATION } from './layers/cache.ts';
// lock files: apko's format, written from a resolution, read by build, publish and resolve (`lockfile`)
export { diffLocks, formatLockDiff, type LockDiff } from './lock/diff.ts';
export { formatLock, type LockFile, type LockPackage, parseLock } from './lock/format.ts';
// OCI: images, where they go, reading them back
export { type BlobContent, fileSource, layerOf } from './oci/blobs.ts';
export {
  type CommitOptions,
  type ImageDestination,
  indexBlobs,
  type WrittenImage,
  writeImage,
} from './oci/destination.ts';
export { dockerArchiveDestination, writeDockerArchive } from './oci/docker-archive.ts';
export { layoutDestination, writeLayout } from './oci/layout.ts';
export { type ReadOptions, readImage, readImageIndex } from './oci/read.ts';
export type {
  Blob,
  BlobSource,
  Descriptor,
  Image,
  ImageIndex,
  Layer,
  LayerInfo,
  Platform,
} from './oci/types.ts';
export { type ValidationReport, validateDockerArchive, validateLayout } from './oci/validate.ts';
// the phases of a build, each from its own small input
export {
  type ArchLayers,
  archBuildDate,
  imageForArch,
  layersForArch,
  type PreparedArch,
  prepareArch,
  rootfsForArch,
} from './pipeline/arch.ts';
// the whole build
export {
  type BuildEvent,
  type BuildOptions,
  type BuildResult,
  type BuiltArch,
  build,
  finishBuild,
  type StartedBuild,
  startBuild,
} from './pipeline/build.ts';
export { type ArchIndexes, type BuildKey, fetchArchIndexes } from './pipeline/indexes.ts';
export { INPUT_DIGEST_ANNOTATION, inputDigest, type PinnedPackage } from './pipeline/input-digest.ts';
export { type LockOptions, type LockResult, lockConfig as lock } from './pipeline/lock.ts';
// many images: one plan, shards, one result per image
export { type ManyOptions, type ManyResult, runMany } from './pipeline/many.ts';
export { type OpenBuildOptions, type OpenedBuild, openBuild } from './pipeline/open.ts';
export { type OutputOptions, type WrittenOutputs, writeOutputs } from './pipeline/outputs.ts';
export {
  type Plan,
  type PlannedImage,
  type PlanOptions,
  packageGraph,
  plan,
  readPlan,
} from './pipeline/plan.ts';
// publishing to a registry or the local Docker engine
export { type PublishOptions, type PublishResult, publish } from './pipeline/publish.ts';
// resolution
export {
  type ResolveConfigOptions as ResolveOptions,
  type ResolvedArch,
  type ResolvedConfig,
  type ResolveInput,
  resolveArchitectures,
  resolveConfig as resolve,
} from './pipeline/resolve.ts';
export { buildSboms, type SbomFile, type SbomFormat, type SbomOptions } from './pipeline/sbom.ts';
export { parseShard, partition, type Shard } from './pipeline/shard.ts';
export type { BuildInputs, BuildSummary } from './pipeline/types.ts';
// architectures, errors, logging
export { ARCHS, type Arch } from './platform/arch.ts';
export type { Resolution } from './solver/resolve.ts';
export { isLadingError, LadingError } from './util/errors.ts';
export { createLogger, type Logger } from './util/log.ts';
