/**
 * SBOM files as the outputs name them: apart from the documents (sbom.ts), so writing an image the memo
 * answers never loads the SBOM builders.
 */

export type SbomFormat = 'spdx' | 'cyclonedx';

export interface SbomFile {
  name: string;
  text: string;
}

/** apko's SBOM file names: `sbom-<apk arch>.spdx.json`, `sbom-index.cdx.json`, … */
export function sbomFileName(scope: string, format: SbomFormat): string {
  return `sbom-${scope}.${format === 'spdx' ? 'spdx' : 'cdx'}.json`;
}
