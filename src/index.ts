/**
 * The lading library: every stage of the pipeline as a typed function.
 * config → resolved packages → filesystem → layers → image → outputs.
 */

export { inflateApkData } from './apk/apk-data.ts';
export { readApk, readApkData, verifyApk } from './apk/apk-reader.ts';
export { createApk } from './apk/apk-writer.ts';
export { readApkIndex, verifyApkIndex, writeApkIndex } from './apk/apkindex.ts';
// APK formats
export { formatApkIndexText, formatIndexRecord, parseApkIndexText } from './apk/apkindex-text.ts';
export { formatDependency, parseDependency } from './apk/dependency.ts';
export { formatInstalledDb, formatTriggers, scriptsTar } from './apk/installed-db.ts';
export { createKeyring, loadKeyring } from './apk/keyring.ts';
export type { PackageInfo, RepositoryPackage } from './apk/types.ts';
export { compareVersions, isValidVersion } from './apk/version.ts';
// config (repository entries are parsed by repo's parseRepositoryRef)
export * from './config/index.ts';
// the image filesystem and install
export { ImageFS } from './fs/tree.ts';
// the network, repositories and the store
export * from './net/index.ts';
// OCI
export * from './oci/index.ts';
// the whole pipeline
export { type BuildEvent, type BuildOptions, type BuildResult, build } from './pipeline/build.ts';
export type { RepositoryRef } from './repo/index.ts';
export * from './repo/index.ts';
export { Installer } from './rootfs/install.ts';
// SBOMs
export * from './sbom/index.ts';
// resolution
export * from './solver/index.ts';
export * from './store/index.ts';
// tar
export type { TarEntry, TarEntryType } from './tar/reader.ts';
export { readTar } from './tar/reader.ts';
export { encodeTarHeader } from './tar/writer.ts';
export { LadingError } from './util/errors.ts';
