/**
 * The neutral SBOM document model both writers render: elements in SPDX package shape plus what CycloneDX
 * needs beyond it, relationships and extracted licenses.
 */

export interface SpdxChecksum {
  algorithm: string;
  checksumValue: string;
}
export interface SpdxExternalRef {
  referenceCategory: string;
  referenceType: string;
  referenceLocator: string;
  comment?: string;
}
/** An SPDX 2.3 package, with keys in the order they are written. */
export interface SpdxPackage {
  SPDXID: string;
  name: string;
  versionInfo?: string;
  packageFileName?: string;
  supplier?: string;
  originator?: string;
  downloadLocation: string;
  filesAnalyzed: false;
  checksums?: SpdxChecksum[];
  homepage?: string;
  sourceInfo?: string;
  licenseConcluded?: string;
  licenseDeclared?: string;
  licenseComments?: string;
  copyrightText?: string;
  summary?: string;
  description?: string;
  comment?: string;
  externalRefs?: SpdxExternalRef[];
  attributionTexts?: string[];
  primaryPackagePurpose?: string;
  releaseDate?: string;
  builtDate?: string;
  validUntilDate?: string;
}
export interface SpdxRelationship {
  spdxElementId: string;
  relationshipType: string;
  relatedSpdxElement: string;
}
export interface ExtractedLicense {
  licenseId: string;
  name: string;
  extractedText: string;
  comment?: string;
}

/** A supplier or author for CycloneDX. */
export interface Party {
  name: string;
  email?: string;
  url?: string;
}

export interface SbomElement {
  spdx: SpdxPackage;
  /** CycloneDX component type; undefined = not a CycloneDX component (layers and source packages are properties there). */
  cdxType?: string;
  supplier?: Party;
  authors?: Party[];
  externalReferences: { type: string; url: string }[];
  properties: [string, string][];
}

export interface SbomModel {
  /** The described element: the image (or the index). */
  root: SbomElement;
  /** Every other element in output order. */
  elements: SbomElement[];
  relationships: SpdxRelationship[];
  extractedLicenses: ExtractedLicense[];
}
