/** The lading library: every stage of the pipeline as a typed function. */
export { LadingError } from './util/errors.ts';
export type { PackageInfo, RepositoryPackage } from './apk/types.ts';
export { parseApkIndexText, formatApkIndexText, formatIndexRecord } from './apk/apkindex-text.ts';
export { readTar } from './tar/reader.ts';
export type { TarEntry, TarEntryType } from './tar/reader.ts';
