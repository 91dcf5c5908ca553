/**
 * Checks the schemas cannot express: ids unique and well-formed, every relationship and dependency
 * points at something in the document, every license expression parses with spdx-expression-parse
 * and every LicenseRef it uses is defined (and every definition used).
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

// spdx-expression-parse is CommonJS without type declarations
export const parseSpdxExpression = createRequire(import.meta.url)('spdx-expression-parse') as (
  text: string,
) => unknown;

export interface SpdxDoc {
  SPDXID: string;
  name: string;
  documentNamespace: string;
  creationInfo: { created: string; creators: string[] };
  documentDescribes: string[];
  externalDocumentRefs?: {
    externalDocumentId: string;
    spdxDocument: string;
    checksum: { algorithm: string; checksumValue: string };
  }[];
  packages: SpdxPkg[];
  hasExtractedLicensingInfos?: { licenseId: string; name: string; extractedText: string }[];
  relationships: { spdxElementId: string; relationshipType: string; relatedSpdxElement: string }[];
}
export interface SpdxPkg {
  SPDXID: string;
  name: string;
  versionInfo?: string;
  supplier?: string;
  originator?: string;
  downloadLocation: string;
  checksums?: { algorithm: string; checksumValue: string }[];
  licenseDeclared?: string;
  licenseConcluded?: string;
  externalRefs?: { referenceCategory: string; referenceType: string; referenceLocator: string }[];
  primaryPackagePurpose?: string;
}

export const purlOf = (p: SpdxPkg): string | undefined =>
  p.externalRefs?.find((r) => r.referenceType === 'purl')?.referenceLocator;

const LICENSE_REF = /(?<![A-Za-z0-9.:-])LicenseRef-[A-Za-z0-9.-]+/g;

export function checkSpdxIntegrity(doc: SpdxDoc): void {
  const ids = new Set<string>();
  for (const p of doc.packages) {
    assert.match(p.SPDXID, /^SPDXRef-[A-Za-z0-9.-]+$/, `bad SPDXID ${p.SPDXID}`);
    assert.ok(!ids.has(p.SPDXID), `duplicate SPDXID ${p.SPDXID}`);
    ids.add(p.SPDXID);
  }
  assert.equal(doc.documentDescribes.length, 1);
  assert.ok(ids.has(doc.documentDescribes[0]!));
  const docRefs = new Set((doc.externalDocumentRefs ?? []).map((r) => r.externalDocumentId));
  const seen = new Set<string>();
  for (const r of doc.relationships) {
    const key = `${r.spdxElementId} ${r.relationshipType} ${r.relatedSpdxElement}`;
    assert.ok(!seen.has(key), `duplicate relationship ${key}`);
    seen.add(key);
    for (const end of [r.spdxElementId, r.relatedSpdxElement]) {
      const external = /^(DocumentRef-[A-Za-z0-9.-]+):SPDXRef-[A-Za-z0-9.-]+$/.exec(end);
      assert.ok(
        end === 'SPDXRef-DOCUMENT' || ids.has(end) || (external && docRefs.has(external[1]!)),
        `relationship ${key} points nowhere`,
      );
    }
  }
  const used = new Set<string>();
  for (const p of doc.packages) {
    for (const expr of [p.licenseDeclared, p.licenseConcluded]) {
      if (expr === undefined || expr === 'NOASSERTION' || expr === 'NONE') continue;
      assert.doesNotThrow(() => parseSpdxExpression(expr), `${p.SPDXID}: ${expr} does not parse`);
      for (const m of expr.matchAll(LICENSE_REF)) used.add(m[0]);
    }
  }
  const defined = new Set((doc.hasExtractedLicensingInfos ?? []).map((l) => l.licenseId));
  assert.equal(defined.size, (doc.hasExtractedLicensingInfos ?? []).length, 'a LicenseRef is defined twice');
  assert.deepEqual([...used].sort(), [...defined].sort(), 'LicenseRefs used and defined differ');
  const lower = new Set([...defined].map((d) => d.toLowerCase()));
  assert.equal(lower.size, defined.size, 'LicenseRefs differing only in case');
}

export interface CdxDoc {
  serialNumber: string;
  metadata: { timestamp: string; component: CdxComponent };
  components: CdxComponent[];
  dependencies: { ref: string; dependsOn: string[] }[];
}
export interface CdxComponent {
  type: string;
  'bom-ref': string;
  name: string;
  version?: string;
  purl?: string;
  cpe?: string;
  hashes?: { alg: string; content: string }[];
  licenses?: { expression: string }[];
  externalReferences?: { type: string; url: string }[];
  supplier?: { name: string };
}

export function checkCycloneDxIntegrity(doc: CdxDoc): void {
  const refs = new Set<string>();
  for (const c of [doc.metadata.component, ...doc.components]) {
    assert.ok(!refs.has(c['bom-ref']), `duplicate bom-ref ${c['bom-ref']}`);
    refs.add(c['bom-ref']);
    for (const l of c.licenses ?? [])
      assert.doesNotThrow(() => parseSpdxExpression(l.expression), l.expression);
  }
  assert.deepEqual(
    doc.dependencies.map((d) => d.ref).sort(),
    [...refs].sort(),
    'every component has a dependencies entry',
  );
  for (const d of doc.dependencies)
    for (const t of d.dependsOn) assert.ok(refs.has(t), `${d.ref} depends on unknown ${t}`);
}
