/** The model of a multi-arch image index: the index, one element per architecture image, and links to their SBOMs. */
import { createHash } from 'node:crypto';
import { LadingError } from '../util/errors.ts';
import type { Party, SbomElement, SbomModel, SpdxRelationship } from './document.ts';
import { digestHex, IdAllocator, isoSeconds, ociPurl, parseReference } from './identifiers.ts';
import {
  attachVcs,
  imageElementId,
  MEDIA_TYPES,
  osSupplier,
  sortRelationships,
  spdxOrganization,
} from './model.ts';
import type { IndexImage, IndexSbomInput } from './types.ts';

export interface ExternalDocumentRef {
  externalDocumentId: string;
  spdxDocument: string;
  checksum: { algorithm: 'SHA1'; checksumValue: string };
}

/** The supplier all images agree on (same os-release NAME), else none: the index has no supplier of its own. */
function commonSupplier(images: readonly IndexImage[]): Party | undefined {
  const suppliers = images.map((i) => osSupplier(i.osRelease));
  const first = suppliers[0];
  return first && suppliers.every((s) => s?.name === first.name && s?.url === first.url) ? first : undefined;
}

/** The namespace of an SPDX document we wrote, to reference it from the index document. */
function documentNamespace(text: string, arch: string): string {
  let ns: unknown;
  try {
    ns = (JSON.parse(text) as { documentNamespace?: unknown }).documentNamespace;
  } catch {
    ns = undefined;
  }
  if (typeof ns !== 'string') {
    throw new LadingError('SBOM_BAD_INPUT', `the SPDX document given for ${arch} has no documentNamespace`);
  }
  return ns;
}

export function buildIndexModel(
  input: IndexSbomInput,
): SbomModel & { externalDocumentRefs: ExternalDocumentRef[] } {
  const ids = new IdAllocator();
  const ref = parseReference(input.reference);
  const indexHex = digestHex(input.indexDigest, 'index digest');
  const supplier = commonSupplier(input.images);
  const relationships: SpdxRelationship[] = [];
  const externalDocumentRefs: ExternalDocumentRef[] = [];
  const rootId = ids.take(`SPDXRef-Package-sha256-${indexHex}`);
  const root: SbomElement = {
    spdx: {
      SPDXID: rootId,
      name: ref.repository,
      versionInfo: input.indexDigest,
      supplier: spdxOrganization(supplier),
      downloadLocation: 'NOASSERTION',
      filesAnalyzed: false,
      checksums: [{ algorithm: 'SHA256', checksumValue: indexHex }],
      description: `Multi-arch image index ${input.reference ?? ref.repository}`,
      externalRefs: [
        {
          referenceCategory: 'PACKAGE-MANAGER',
          referenceType: 'purl',
          referenceLocator: ociPurl(ref, input.indexDigest, {
            mediaType: input.indexMediaType ?? MEDIA_TYPES.index,
          }),
        },
      ],
      primaryPackagePurpose: 'CONTAINER',
      builtDate: isoSeconds(input.buildDate),
    },
    cdxType: 'container',
    supplier,
    externalReferences: [],
    properties: [],
  };

  const elements: SbomElement[] = [];
  for (const image of input.images) {
    const hex = digestHex(image.manifestDigest, `manifest digest of ${image.arch.apk}`);
    const imageSupplier = osSupplier(image.osRelease);
    const id = ids.take(imageElementId(hex));
    elements.push({
      spdx: {
        SPDXID: id,
        name: ref.repository,
        versionInfo: image.manifestDigest,
        supplier: spdxOrganization(imageSupplier),
        downloadLocation: 'NOASSERTION',
        filesAnalyzed: false,
        checksums: [{ algorithm: 'SHA256', checksumValue: hex }],
        description: `Container image ${input.reference ?? ref.repository} for ${image.arch.apk}`,
        externalRefs: [
          {
            referenceCategory: 'PACKAGE-MANAGER',
            referenceType: 'purl',
            referenceLocator: ociPurl(ref, image.manifestDigest, {
              arch: image.arch.oci,
              variant: image.arch.variant,
              mediaType: image.manifestMediaType ?? MEDIA_TYPES.manifest,
              os: 'linux',
            }),
          },
        ],
        primaryPackagePurpose: 'CONTAINER',
      },
      cdxType: 'container',
      supplier: imageSupplier,
      externalReferences: [],
      properties: [['lading:apk:arch', image.arch.apk]],
    });
    // an index holds its images; apko wrote "index VARIANT_OF image", which reads backwards
    relationships.push({ spdxElementId: rootId, relationshipType: 'CONTAINS', relatedSpdxElement: id });
    if (image.spdxDocument !== undefined) {
      // readable (`DocumentRef-image-x86-64`), not the C<code point> form ids need to match melange's
      const docRef = ids.take(`DocumentRef-image-${image.arch.apk.replace(/[^A-Za-z0-9.-]+/g, '-')}`);
      externalDocumentRefs.push({
        externalDocumentId: docRef,
        spdxDocument: documentNamespace(image.spdxDocument, image.arch.apk),
        checksum: {
          algorithm: 'SHA1',
          checksumValue: createHash('sha1').update(image.spdxDocument, 'utf8').digest('hex'),
        },
      });
      relationships.push({
        spdxElementId: id,
        relationshipType: 'DESCRIBED_BY',
        relatedSpdxElement: `${docRef}:SPDXRef-DOCUMENT`,
      });
    }
  }

  if (input.vcsUrl) attachVcs(input.vcsUrl, root, supplier, ids, elements, relationships);
  return {
    root,
    elements,
    relationships: sortRelationships(relationships),
    extractedLicenses: [],
    externalDocumentRefs,
  };
}
