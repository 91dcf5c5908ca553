/** The apko configuration format: load, merge, validate, override, derive OCI values, render, JSON Schema. */
export {
  ARCH_SPELLINGS,
  ARCHS,
  type Arch,
  apkArch,
  archFromApk,
  archFromPlatform,
  hostArchitecture,
  type OciPlatform,
  ociPlatform,
  parseArch,
  parseArchList,
  sortArchs,
  tryParseArch,
} from '../platform/arch.ts';
export {
  DEFAULT_ENV,
  imageCmd,
  imageEntrypoint,
  imageEnv,
  type OciRuntimeConfig,
  ociRuntimeConfig,
} from './image.ts';
export { configJsonSchema, configJsonSchemaText } from './json-schema.ts';
export { configChecksum, type LoadOptions, loadConfig, loadConfigObject, loadConfigText } from './load.ts';
export { cleanImagePath, S6_COMMAND } from './normalize.ts';
export {
  applyOverrides,
  type ConfigOverrides,
  parseAnnotationFlags,
  targetArchitectures,
} from './overrides.ts';
export { ConfigError, type ConfigProblem, type ConfigWarning, formatProblem } from './problems.ts';
export { type ApkoDocumentOptions, redactRepository, renderConfigYaml, toApkoDocument } from './render.ts';
export { type ApkoConfig, configSchema, type RawConfig } from './schema.ts';
export { ShellSplitError, type SplitResult, splitWords } from './shlex.ts';
export type {
  BaseImage,
  Group,
  ImageAccounts,
  ImageCertificates,
  ImageConfig,
  ImageContents,
  ImageEntrypoint,
  Layering,
  LoadedConfig,
  NamedPem,
  PathMutation,
  PathType,
  User,
} from './types.ts';
