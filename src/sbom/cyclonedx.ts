/** CycloneDX 1.6 JSON documents for an image and for an index, rendered from the same model as SPDX. */

import type { Party, SbomElement, SbomModel } from './document.ts';
import { byString, isoSeconds, uuidV5 } from './identifiers.ts';
import { buildIndexModel } from './index-model.ts';
import { buildImageModel } from './model.ts';
import { formatJson } from './spdx.ts';
import type { ImageSbomInput, IndexSbomInput } from './types.ts';

/** SPDX checksum algorithm → CycloneDX hash algorithm. */
const HASH_ALGORITHMS = new Map(
  Object.entries({
    MD5: 'MD5',
    SHA1: 'SHA-1',
    SHA256: 'SHA-256',
    SHA384: 'SHA-384',
    SHA512: 'SHA-512',
    'SHA3-256': 'SHA3-256',
    'SHA3-384': 'SHA3-384',
    'SHA3-512': 'SHA3-512',
    'BLAKE2b-256': 'BLAKE2b-256',
    'BLAKE2b-384': 'BLAKE2b-384',
    'BLAKE2b-512': 'BLAKE2b-512',
    BLAKE3: 'BLAKE3',
  }),
);
const HASH_CONTENT = /^([a-f0-9]{32}|[a-f0-9]{40}|[a-f0-9]{64}|[a-f0-9]{96}|[a-f0-9]{128})$/;
const EMAIL = /^[^\s@]+@[^\s@]+$/;

/**
 * The serial number of the CycloneDX document of an image or index: a UUID named by its digest, so
 * any document can link to another one (`urn:cdx:<serial>/1`) knowing only the digest.
 */
export function cyclonedxSerialNumber(digest: string): string {
  return `urn:uuid:${uuidV5(`lading:cyclonedx:${digest}`)}`;
}

/** bom-refs are the SPDX ids without the prefix, so both documents name elements alike. */
const bomRef = (e: SbomElement): string => e.spdx.SPDXID.replace(/^SPDXRef-/, '');

function party(p: Party | undefined): Record<string, unknown> | undefined {
  return p ? { name: p.name, url: p.url ? [p.url] : undefined } : undefined;
}

function component(e: SbomElement): Record<string, unknown> {
  const s = e.spdx;
  const hashes = (s.checksums ?? [])
    .filter((c) => HASH_ALGORITHMS.has(c.algorithm) && HASH_CONTENT.test(c.checksumValue))
    .map((c) => ({ alg: HASH_ALGORITHMS.get(c.algorithm), content: c.checksumValue }));
  const license = s.licenseDeclared;
  const refs = s.externalRefs ?? [];
  const purl = refs.find((r) => r.referenceType === 'purl')?.referenceLocator;
  const cpe = refs.find(
    (r) => r.referenceType === 'cpe23Type' || r.referenceType === 'cpe22Type',
  )?.referenceLocator;
  const properties = e.properties.map(([name, value]) => ({ name, value }));
  return {
    type: e.cdxType,
    'bom-ref': bomRef(e),
    supplier: party(e.supplier),
    authors: e.authors?.map((a) => ({
      name: a.name,
      email: a.email && EMAIL.test(a.email) ? a.email : undefined,
    })),
    name: s.name,
    version: s.versionInfo,
    description: s.description,
    hashes: hashes.length ? hashes : undefined,
    // always an expression: `license.id` must be in the schema's own copy of the SPDX list, which may lag ours
    licenses:
      license && license !== 'NOASSERTION' && license !== 'NONE' ? [{ expression: license }] : undefined,
    cpe,
    purl,
    externalReferences: e.externalReferences.length ? e.externalReferences : undefined,
    properties: properties.length ? properties : undefined,
  };
}

function render(model: SbomModel, serialNumber: string, created: string, toolVersion: string): string {
  const components = model.elements.filter((e) => e.cdxType !== undefined);
  const isComponent = new Set([model.root, ...components].map((e) => e.spdx.SPDXID));
  const dependsOn = new Map<string, Set<string>>([...isComponent].map((id) => [id, new Set<string>()]));
  for (const r of model.relationships) {
    if (!isComponent.has(r.spdxElementId) || !isComponent.has(r.relatedSpdxElement)) continue;
    if (
      r.relationshipType === 'DEPENDS_ON' ||
      (r.relationshipType === 'CONTAINS' && r.spdxElementId === model.root.spdx.SPDXID)
    ) {
      dependsOn.get(r.spdxElementId)!.add(r.relatedSpdxElement);
    } else if (r.relationshipType === 'DEPENDENCY_OF') {
      dependsOn.get(r.relatedSpdxElement)!.add(r.spdxElementId);
    }
  }
  const ref = (id: string) => id.replace(/^SPDXRef-/, '');
  const dependencies = [...dependsOn.entries()]
    .map(([id, targets]) => ({ ref: ref(id), dependsOn: [...targets].map(ref).sort() }))
    .sort((a, b) => byString(a.ref, b.ref));
  return formatJson({
    $schema: 'http://cyclonedx.org/schema/bom-1.6.schema.json',
    bomFormat: 'CycloneDX',
    specVersion: '1.6',
    serialNumber,
    version: 1,
    metadata: {
      timestamp: created,
      lifecycles: [{ phase: 'build' }],
      tools: { components: [{ type: 'application', name: 'lading', version: toolVersion }] },
      component: component(model.root),
    },
    components: components.map(component),
    dependencies,
  });
}

/** The CycloneDX 1.6 document of one architecture's image, as JSON text. */
export function cyclonedxImageDocument(input: ImageSbomInput): string {
  return render(
    buildImageModel(input),
    cyclonedxSerialNumber(input.manifestDigest),
    isoSeconds(input.buildDate),
    input.toolVersion,
  );
}

/** The CycloneDX 1.6 document of a multi-arch index, as JSON text; each image links to its own document by BOM-Link. */
export function cyclonedxIndexDocument(input: IndexSbomInput): string {
  const model = buildIndexModel(input);
  for (const [i, image] of input.images.entries()) {
    model.elements[i]!.externalReferences.push({
      type: 'bom',
      url: `${cyclonedxSerialNumber(image.manifestDigest).replace('urn:uuid:', 'urn:cdx:')}/1`,
    });
  }
  return render(
    model,
    cyclonedxSerialNumber(input.indexDigest),
    isoSeconds(input.buildDate),
    input.toolVersion,
  );
}
