/** SBOMs (SPDX 2.3 and CycloneDX 1.6) of built images and indexes: pure functions from build data to JSON text. */
export { cyclonedxImageDocument, cyclonedxIndexDocument, cyclonedxSerialNumber } from './cyclonedx.ts';
export { apkPurl } from './identifiers.ts';
export { type NormalizedLicense, normalizeLicense } from './license.ts';
export { parseOsRelease } from './os-release.ts';
export { spdxImageDocument, spdxIndexDocument } from './spdx.ts';
export type {
  EmbeddedSbom,
  ImageSbomInput,
  IndexImage,
  IndexSbomInput,
  OsRelease,
  SbomArch,
  SbomLayer,
  SbomPackage,
} from './types.ts';
