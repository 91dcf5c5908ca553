/** The lading library: every stage of the pipeline as a typed function. */

export { formatApkIndexText, formatIndexRecord, parseApkIndexText } from './apk/apkindex-text.ts';
export type { PackageInfo, RepositoryPackage } from './apk/types.ts';
export type { TarEntry, TarEntryType } from './tar/reader.ts';
export { readTar } from './tar/reader.ts';
export { LadingError } from './util/errors.ts';
