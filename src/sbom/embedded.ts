/**
 * Merging SPDX documents shipped inside packages (`var/lib/db/sbom/*.spdx.json`, written by melange)
 * into the image document. apko replaces its own package entries with these; we keep ours (they
 * carry the checksums, the distro purl and the dependency graph) and add what the embedded document
 * knows beyond them: the packages reachable from the package it describes (e.g. the melange build
 * configuration) with their relationships, extra external references (CPEs) and license texts.
 * Files are not imported (apko does the same); everything copied is re-validated field by field,
 * because the image document must stay schema-valid whatever a package ships.
 */
import { LadingError } from '../util/errors.ts';
import type {
  SbomElement,
  SpdxChecksum,
  SpdxExternalRef,
  SpdxPackage,
  SpdxRelationship,
} from './document.ts';
import type { IdAllocator } from './identifiers.ts';
import { byString, spdxIdPart } from './identifiers.ts';
import type { LicenseRegistry } from './license-refs.ts';
import { rewriteRefs } from './license-refs.ts';
import type { EmbeddedSbom } from './types.ts';

export interface ImportContext {
  /** Our elements for the installed packages, by package name. */
  installed: ReadonlyMap<string, SbomElement>;
  ids: IdAllocator;
  licenses: LicenseRegistry;
}

const PURPOSES = new Set([
  'APPLICATION',
  'FRAMEWORK',
  'LIBRARY',
  'CONTAINER',
  'OPERATING_SYSTEM',
  'DEVICE',
  'FIRMWARE',
  'SOURCE',
  'ARCHIVE',
  'FILE',
  'INSTALL',
  'OTHER',
]);
const CHECKSUM_ALGORITHMS = new Set([
  'SHA1',
  'SHA224',
  'SHA256',
  'SHA384',
  'SHA512',
  'SHA3-256',
  'SHA3-384',
  'SHA3-512',
  'BLAKE2b-256',
  'BLAKE2b-384',
  'BLAKE2b-512',
  'BLAKE3',
  'MD2',
  'MD4',
  'MD5',
  'MD6',
  'ADLER32',
]);
const REF_CATEGORIES = new Set(['SECURITY', 'PACKAGE-MANAGER', 'PERSISTENT-ID', 'OTHER']);
/** Relationship types kept between imported elements (DESCRIBES and file-level ones are not). */
const RELATIONSHIP_TYPES = new Set([
  'AMENDS',
  'ANCESTOR_OF',
  'BUILD_DEPENDENCY_OF',
  'BUILD_TOOL_OF',
  'CONTAINED_BY',
  'CONTAINS',
  'COPY_OF',
  'DEPENDENCY_MANIFEST_OF',
  'DEPENDENCY_OF',
  'DEPENDS_ON',
  'DESCENDANT_OF',
  'DESCRIBED_BY',
  'DEV_DEPENDENCY_OF',
  'DEV_TOOL_OF',
  'DISTRIBUTION_ARTIFACT',
  'DOCUMENTATION_OF',
  'DYNAMIC_LINK',
  'EXAMPLE_OF',
  'GENERATED_FROM',
  'GENERATES',
  'HAS_PREREQUISITE',
  'METAFILE_OF',
  'OPTIONAL_COMPONENT_OF',
  'OPTIONAL_DEPENDENCY_OF',
  'OTHER',
  'PACKAGE_OF',
  'PATCH_APPLIED',
  'PATCH_FOR',
  'PREREQUISITE_FOR',
  'PROVIDED_DEPENDENCY_OF',
  'REQUIREMENT_DESCRIPTION_FOR',
  'RUNTIME_DEPENDENCY_OF',
  'SPECIFICATION_FOR',
  'STATIC_LINK',
  'TEST_CASE_OF',
  'TEST_DEPENDENCY_OF',
  'TEST_OF',
  'TEST_TOOL_OF',
  'VARIANT_OF',
]);
const ID = /^SPDXRef-[A-Za-z0-9.-]+$/;
const CDX_TYPES = new Map(
  Object.entries({
    APPLICATION: 'application',
    FRAMEWORK: 'framework',
    LIBRARY: 'library',
    CONTAINER: 'container',
    OPERATING_SYSTEM: 'operating-system',
    DEVICE: 'device',
    FIRMWARE: 'firmware',
  }),
);

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v : undefined);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

function actor(v: unknown): string | undefined {
  const s = str(v);
  return s !== undefined && /^((Person|Organization|Tool): \S.*|NOASSERTION)$/s.test(s) ? s : undefined;
}

/** A copy of an embedded package with only schema-valid SPDX 2.3 package fields. */
function sanitizePackage(p: Json, id: string): SpdxPackage | undefined {
  const name = str(p.name);
  if (name === undefined) return undefined;
  const checksums: SpdxChecksum[] = [];
  for (const c of arr(p.checksums)) {
    if (
      isObject(c) &&
      CHECKSUM_ALGORITHMS.has(String(c.algorithm)) &&
      /^[0-9a-fA-F]+$/.test(String(c.checksumValue))
    ) {
      checksums.push({
        algorithm: String(c.algorithm),
        checksumValue: String(c.checksumValue).toLowerCase(),
      });
    }
  }
  const externalRefs = sanitizeRefs(p.externalRefs);
  const purpose = str(p.primaryPackagePurpose)?.toUpperCase().replaceAll('-', '_');
  const attributionTexts = arr(p.attributionTexts).filter((t): t is string => typeof t === 'string');
  return {
    SPDXID: id,
    name,
    versionInfo: str(p.versionInfo),
    packageFileName: str(p.packageFileName),
    supplier: actor(p.supplier),
    originator: actor(p.originator),
    downloadLocation: str(p.downloadLocation) ?? 'NOASSERTION',
    filesAnalyzed: false,
    checksums: checksums.length ? checksums : undefined,
    homepage: str(p.homepage),
    sourceInfo: str(p.sourceInfo),
    licenseConcluded: str(p.licenseConcluded),
    licenseDeclared: str(p.licenseDeclared),
    licenseComments: str(p.licenseComments),
    copyrightText: str(p.copyrightText),
    summary: str(p.summary),
    description: str(p.description),
    comment: str(p.comment),
    externalRefs: externalRefs.length ? externalRefs : undefined,
    attributionTexts: attributionTexts.length ? attributionTexts : undefined,
    primaryPackagePurpose: purpose !== undefined && PURPOSES.has(purpose) ? purpose : undefined,
    releaseDate: str(p.releaseDate),
    builtDate: str(p.builtDate),
    validUntilDate: str(p.validUntilDate),
  };
}

function sanitizeRefs(v: unknown): SpdxExternalRef[] {
  const out: SpdxExternalRef[] = [];
  for (const r of arr(v)) {
    if (!isObject(r)) continue;
    const category = str(r.referenceCategory)?.toUpperCase().replaceAll('_', '-');
    const type = str(r.referenceType);
    const locator = str(r.referenceLocator);
    if (
      category === undefined ||
      !REF_CATEGORIES.has(category) ||
      type === undefined ||
      locator === undefined
    )
      continue;
    out.push({ referenceCategory: category, referenceType: type, referenceLocator: locator });
  }
  return out;
}

/** An SPDX expression from an embedded document, with its references renamed; NONE/NOASSERTION kept. */
function importLicense(
  text: string | undefined,
  rename: ReadonlyMap<string, string>,
  licenses: LicenseRegistry,
): string | undefined {
  if (text === undefined || text === 'NONE' || text === 'NOASSERTION') return text;
  return licenses.normalize(rewriteRefs(text, rename));
}

/** Parses one embedded document; a package shipping a broken SBOM is a packaging error worth stopping for. */
function parseDocument(sbom: EmbeddedSbom): Json {
  let doc: unknown;
  try {
    doc = JSON.parse(sbom.text);
  } catch (e) {
    throw new LadingError(
      'SBOM_EMBEDDED_INVALID',
      `${sbom.path} (from package ${sbom.owner}) is not valid JSON: ${(e as Error).message}`,
      {
        file: sbom.path,
        hint: 'the package ships a broken SBOM; report it to the package maintainer, or build with --sbom=false',
      },
    );
  }
  if (!isObject(doc) || typeof doc.spdxVersion !== 'string' || !doc.spdxVersion.startsWith('SPDX-2.')) {
    throw new LadingError(
      'SBOM_EMBEDDED_INVALID',
      `${sbom.path} (from package ${sbom.owner}) is not an SPDX 2.x JSON document`,
      {
        file: sbom.path,
        hint: 'the package ships a broken SBOM; report it to the package maintainer, or build with --sbom=false',
      },
    );
  }
  return doc;
}

export function importEmbeddedSboms(
  sboms: readonly EmbeddedSbom[],
  ctx: ImportContext,
): { elements: SbomElement[]; relationships: SpdxRelationship[] } {
  const imported: SbomElement[] = [];
  /** id of each imported element by the JSON of its content, so identical packages from two documents merge */
  const byContent = new Map<string, string>();
  const installedIds = new Set([...ctx.installed.values()].map((e) => e.spdx.SPDXID));
  const relationships: SpdxRelationship[] = [];
  const ordered = [...sboms].sort((a, b) => byString(a.owner, b.owner) || byString(a.path, b.path));

  for (const sbom of ordered) {
    const owner = ctx.installed.get(sbom.owner);
    if (owner === undefined) {
      throw new LadingError(
        'SBOM_BAD_INPUT',
        `embedded SBOM ${sbom.path} belongs to ${sbom.owner}, which is not installed`,
      );
    }
    const doc = parseDocument(sbom);
    const docId = str(doc.SPDXID) ?? 'SPDXRef-DOCUMENT';
    const packages = new Map<string, Json>();
    for (const p of arr(doc.packages))
      if (isObject(p) && typeof p.SPDXID === 'string') packages.set(p.SPDXID, p);
    const rels = arr(doc.relationships).filter(isObject);

    // the packages the document describes
    const roots = new Set<string>();
    for (const id of arr(doc.documentDescribes))
      if (typeof id === 'string' && packages.has(id)) roots.add(id);
    for (const r of rels) {
      if (
        r.spdxElementId === docId &&
        r.relationshipType === 'DESCRIBES' &&
        packages.has(String(r.relatedSpdxElement))
      ) {
        roots.add(String(r.relatedSpdxElement));
      }
      if (
        r.relatedSpdxElement === docId &&
        r.relationshipType === 'DESCRIBED_BY' &&
        packages.has(String(r.spdxElementId))
      ) {
        roots.add(String(r.spdxElementId));
      }
    }

    // everything connected to them through package-to-package relationships (either direction)
    const neighbours = new Map<string, string[]>();
    for (const r of rels) {
      const a = String(r.spdxElementId);
      const b = String(r.relatedSpdxElement);
      if (!packages.has(a) || !packages.has(b)) continue;
      for (const [from, to] of [
        [a, b],
        [b, a],
      ] as const) {
        const list = neighbours.get(from);
        if (list) list.push(to);
        else neighbours.set(from, [to]);
      }
    }
    const reachable = new Set(roots);
    const queue = [...roots];
    for (let id = queue.pop(); id !== undefined; id = queue.pop()) {
      for (const next of neighbours.get(id) ?? []) {
        if (!reachable.has(next)) {
          reachable.add(next);
          queue.push(next);
        }
      }
    }

    // the license texts imported packages use, renamed where the image document already has another text
    const used = new Set<string>();
    for (const id of reachable) {
      const p = packages.get(id)!;
      for (const field of [p.licenseDeclared, p.licenseConcluded]) {
        for (const m of String(field ?? '').matchAll(/LicenseRef-[A-Za-z0-9.-]+/g)) used.add(m[0]);
      }
    }
    const rename = new Map<string, string>();
    for (const info of arr(doc.hasExtractedLicensingInfos)) {
      if (!isObject(info)) continue;
      const id = str(info.licenseId);
      const text = str(info.extractedText);
      if (id === undefined || text === undefined || !used.has(id)) continue;
      const final = ctx.licenses.define(id, str(info.name) ?? id, text);
      if (final !== id) rename.set(id, final);
    }

    // map every reachable package to an element id: ours for installed packages, imported otherwise
    const mapped = new Map<string, string>();
    for (const id of [...reachable].sort()) {
      const p = packages.get(id)!;
      const mine = ctx.installed.get(String(p.name));
      if (mine !== undefined && (p.versionInfo === undefined || p.versionInfo === mine.spdx.versionInfo)) {
        mapped.set(id, mine.spdx.SPDXID);
        if (mine === owner) enrichOwner(owner, p, rename, ctx.licenses);
        continue;
      }
      const wanted = ID.test(id) ? id : `SPDXRef-${spdxIdPart(id.replace(/^SPDXRef-/, ''))}`;
      const spdx = sanitizePackage(p, wanted);
      if (spdx === undefined) continue;
      spdx.licenseDeclared = importLicense(spdx.licenseDeclared, rename, ctx.licenses);
      spdx.licenseConcluded = importLicense(spdx.licenseConcluded, rename, ctx.licenses);
      const content = JSON.stringify(spdx);
      const same = byContent.get(content);
      if (same !== undefined) {
        mapped.set(id, same);
        continue;
      }
      spdx.SPDXID = ctx.ids.take(wanted);
      byContent.set(content, spdx.SPDXID);
      imported.push(importedElement(spdx, sbom.path));
      mapped.set(id, spdx.SPDXID);
    }

    for (const r of rels) {
      const from = mapped.get(String(r.spdxElementId));
      const to = mapped.get(String(r.relatedSpdxElement));
      const type = String(r.relationshipType);
      if (from !== undefined && to !== undefined && RELATIONSHIP_TYPES.has(type)) {
        relationships.push({ spdxElementId: from, relationshipType: type, relatedSpdxElement: to });
      }
    }
    // described packages that are not the owner itself are shipped inside it
    for (const id of roots) {
      const to = mapped.get(id);
      if (to !== undefined && !installedIds.has(to)) {
        relationships.push({
          spdxElementId: owner.spdx.SPDXID,
          relationshipType: 'CONTAINS',
          relatedSpdxElement: to,
        });
      }
    }
  }
  imported.sort((a, b) => byString(a.spdx.SPDXID, b.spdx.SPDXID));
  return { elements: imported, relationships };
}

/** What the package's own SBOM adds to our entry for it: extra references (CPEs…) and a license if apk had none. */
function enrichOwner(
  owner: SbomElement,
  p: Json,
  rename: ReadonlyMap<string, string>,
  licenses: LicenseRegistry,
): void {
  const refs = owner.spdx.externalRefs ?? [];
  const known = new Set(refs.map((r) => `${r.referenceType}\0${r.referenceLocator}`));
  for (const r of sanitizeRefs(p.externalRefs)) {
    if (r.referenceType === 'purl') continue; // ours carries the distro qualifier scanners need
    const key = `${r.referenceType}\0${r.referenceLocator}`;
    if (known.has(key)) continue;
    known.add(key);
    refs.push(r);
  }
  owner.spdx.externalRefs = refs;
  if (owner.spdx.licenseDeclared === 'NOASSERTION') {
    const theirs = importLicense(str(p.licenseDeclared), rename, licenses);
    if (theirs !== undefined) owner.spdx.licenseDeclared = theirs;
  }
}

function importedElement(spdx: SpdxPackage, path: string): SbomElement {
  const purpose = spdx.primaryPackagePurpose ?? 'OTHER';
  return {
    spdx,
    cdxType: CDX_TYPES.get(purpose) ?? (purpose === 'OTHER' ? 'library' : 'file'),
    externalReferences: [],
    properties: [['lading:sbom:importedFrom', path]],
  };
}
