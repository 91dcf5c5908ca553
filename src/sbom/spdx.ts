/** SPDX 2.3 JSON documents for an image and for an index. */

import type { SbomModel } from './document.ts';
import { isoSeconds, parseReference, sha256OfText, uuidV5 } from './identifiers.ts';
import { buildIndexModel, type ExternalDocumentRef } from './index-model.ts';
import { buildImageModel } from './model.ts';
import type { ImageSbomInput, IndexSbomInput } from './types.ts';

const NAMESPACE_BASE = 'https://spdx.org/spdxdocs/lading';

const CHECKSUM_NOTE =
  'apk package checksums: SHA1 is the apk package checksum (C: field, the SHA-1 of the control section), ' +
  'SHA256 is the datahash (the SHA-256 of the data section).';

interface DocumentHeader {
  name: string;
  /** digest of the described image or index: the namespace is derived from it */
  digest: string;
  /** short, readable part of the namespace */
  slug: string;
  created: string;
  toolVersion: string;
  comment?: string;
  externalDocumentRefs?: ExternalDocumentRef[];
}

/** A readable, URL-safe part of the namespace. */
const slugPart = (text: string): string => text.replace(/[^A-Za-z0-9._-]+/g, '-');

/** Pretty JSON with a final newline: the bytes every writer produces. */
export function formatJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

function render(model: SbomModel, header: DocumentHeader): string {
  const doc = (namespace: string) => ({
    SPDXID: 'SPDXRef-DOCUMENT',
    spdxVersion: 'SPDX-2.3',
    dataLicense: 'CC0-1.0',
    name: header.name,
    documentNamespace: namespace,
    creationInfo: {
      created: header.created,
      creators: [`Tool: lading-${header.toolVersion}`],
      comment: header.comment,
    },
    externalDocumentRefs: header.externalDocumentRefs?.length ? header.externalDocumentRefs : undefined,
    documentDescribes: [model.root.spdx.SPDXID],
    packages: [model.root, ...model.elements].map((e) => e.spdx),
    hasExtractedLicensingInfos: model.extractedLicenses.length ? model.extractedLicenses : undefined,
    relationships: [
      {
        spdxElementId: 'SPDXRef-DOCUMENT',
        relationshipType: 'DESCRIBES',
        relatedSpdxElement: model.root.spdx.SPDXID,
      },
      ...model.relationships,
    ],
  });
  // SPDX wants a namespace unique to this document: a UUID named by the image digest and by the
  // content itself, so a later lading that writes a different document for the same image gets a new one
  const content = sha256OfText(formatJson(doc('')));
  const uuid = uuidV5(`lading:spdx:${header.digest}:${content}`);
  return formatJson(doc(`${NAMESPACE_BASE}/${header.slug}-${uuid}`));
}

/** The SPDX 2.3 document of one architecture's image, as JSON text. */
export function spdxImageDocument(input: ImageSbomInput): string {
  const model = buildImageModel(input);
  const ref = parseReference(input.reference);
  return render(model, {
    name: `sbom-${input.reference ?? ref.repository}-${input.arch.apk}`,
    digest: input.manifestDigest,
    slug: `${slugPart(ref.name)}-${slugPart(input.arch.apk)}`,
    created: isoSeconds(input.buildDate),
    toolVersion: input.toolVersion,
    comment: input.packages.length ? CHECKSUM_NOTE : undefined,
  });
}

/** The SPDX 2.3 document of a multi-arch index, as JSON text (links the per-arch documents given in `images[].spdxDocument`). */
export function spdxIndexDocument(input: IndexSbomInput): string {
  const model = buildIndexModel(input);
  const ref = parseReference(input.reference);
  return render(model, {
    name: `sbom-${input.reference ?? ref.repository}-index`,
    digest: input.indexDigest,
    slug: `${slugPart(ref.name)}-index`,
    created: isoSeconds(input.buildDate),
    toolVersion: input.toolVersion,
    externalDocumentRefs: model.externalDocumentRefs,
  });
}
