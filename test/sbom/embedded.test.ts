/**
 * Packages that carry their own SBOM (melange-built, Wolfi style): apko's golden test packages
 * pretend-baselayout and replayout, whose .apk files ship var/lib/db/sbom/<name>-<version>.spdx.json.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { cyclonedxImageDocument } from '../../src/sbom/cyclonedx.ts';
import { apkChecksumSha1 } from '../../src/sbom/identifiers.ts';
import { spdxImageDocument } from '../../src/sbom/spdx.ts';
import type { EmbeddedSbom } from '../../src/sbom/types.ts';
import { goldenSbomDir, wolfiStyleInput } from '../helpers/sbom-inputs.ts';
import {
  type CdxDoc,
  checkCycloneDxIntegrity,
  checkSpdxIntegrity,
  purlOf,
  type SpdxDoc,
} from '../helpers/sbom-integrity.ts';
import { cyclonedxSchemaErrors, spdxSchemaErrors } from '../helpers/sbom-schemas.ts';

const input = wolfiStyleInput();
const spdxText = spdxImageDocument(input);
const spdx = JSON.parse(spdxText) as SpdxDoc;
const golden = JSON.parse(readFileSync(join(goldenSbomDir(), 'sbom-x86_64.spdx.json'), 'utf8')) as SpdxDoc;
const replayoutSbom = input.embeddedSboms.find((s) => s.owner === 'replayout')!;

/** The image document built with replayout's embedded SBOM replaced by `mutate(parsed original)`. */
function withMutatedSbom(mutate: (doc: SpdxDoc) => unknown, extra: EmbeddedSbom[] = []): SpdxDoc {
  const doc = mutate(JSON.parse(replayoutSbom.text) as SpdxDoc);
  const embeddedSboms = [
    ...input.embeddedSboms.filter((s) => s !== replayoutSbom),
    { ...replayoutSbom, text: JSON.stringify(doc) },
    ...extra,
  ];
  const text = spdxImageDocument({ ...input, embeddedSboms });
  assert.equal(spdxSchemaErrors(text), null);
  const out = JSON.parse(text) as SpdxDoc;
  checkSpdxIntegrity(out);
  return out;
}

describe('packages that ship their own SBOM', () => {
  it('reads the real embedded documents from the packages', () => {
    assert.deepEqual(input.embeddedSboms.map((s) => s.path).sort(), [
      '/var/lib/db/sbom/pretend-baselayout-1.0.0-r0.spdx.json',
      '/var/lib/db/sbom/replayout-1.0.0-r0.spdx.json',
    ]);
    // melange writes an invalid purpose ("OPERATING-SYSTEM"): the embedded document itself fails the schema
    assert.notEqual(spdxSchemaErrors(replayoutSbom.text), null);
  });

  it('produces schema-valid, consistent SPDX and CycloneDX', async () => {
    assert.equal(spdxSchemaErrors(spdxText), null);
    checkSpdxIntegrity(spdx);
    const cdxText = cyclonedxImageDocument(input);
    assert.equal(await cyclonedxSchemaErrors(cdxText), null);
    checkCycloneDxIntegrity(JSON.parse(cdxText) as CdxDoc);
  });

  it('lists each installed package once, with our checksums and distro purl', () => {
    const apk = spdx.packages.filter((p) => purlOf(p)?.startsWith('pkg:apk/'));
    assert.deepEqual(
      apk
        .map((p) => `${p.name} ${p.versionInfo} ${p.checksums?.map((c) => c.checksumValue).join(' ')}`)
        .sort(),
      input.packages.map((p) => `${p.name} ${p.version} ${apkChecksumSha1(p.checksum)} ${p.dataHash}`).sort(),
    );
    assert.equal(
      purlOf(apk.find((p) => p.name === 'replayout')!),
      'pkg:apk/replaces/replayout@1.0.0-r0?arch=x86_64&distro=replaces-1.0.0',
    );
    assert.ok(
      !spdxText.includes('pkg:apk/unknown/'),
      'the embedded purl without distro must not duplicate ours',
    );
  });

  it('keeps everything apko imports: the golden packages and relationships are all present', () => {
    const ours = new Map(spdx.packages.map((p) => [p.SPDXID, p]));
    for (const p of golden.packages.filter((g) => /^SPDXRef-Package-(apk|Melange)-/.test(g.SPDXID))) {
      assert.equal(ours.get(p.SPDXID)?.name, p.name, p.SPDXID);
    }
    const rels = new Set(
      spdx.relationships.map((r) => `${r.spdxElementId} ${r.relationshipType} ${r.relatedSpdxElement}`),
    );
    for (const r of golden.relationships.filter((g) => g.relationshipType === 'DESCRIBED_BY')) {
      assert.ok(
        rels.has(`${r.spdxElementId} ${r.relationshipType} ${r.relatedSpdxElement}`),
        JSON.stringify(r),
      );
    }
    // apko also lists the image layer, the OS and the image itself under the same ids
    for (const id of golden.packages.map((p) => p.SPDXID)) assert.ok(ours.has(id), id);
    // the embedded OS element is not reachable from the described package, so it is not imported
    assert.equal(spdx.packages.filter((p) => p.primaryPackagePurpose === 'OPERATING_SYSTEM').length, 1);
    assert.notEqual(spdx.documentNamespace, golden.documentNamespace);
  });

  it('merges identical imported packages and renames conflicting ones', () => {
    // the same melange config package described by two documents appears once
    const duplicate = withMutatedSbom(
      (d) => d,
      [{ ...replayoutSbom, path: '/var/lib/db/sbom/replayout.spdx.json' }],
    );
    assert.equal(duplicate.packages.filter((p) => p.name === 'replayout.melange.yaml').length, 1);
    // a different package under the same id gets its own id
    const conflicting = withMutatedSbom(
      (d) => d,
      [
        {
          ...replayoutSbom,
          path: '/var/lib/db/sbom/other.spdx.json',
          text: replayoutSbom.text.replace('"replayout.melange.yaml"', '"other.melange.yaml"'),
        },
      ],
    );
    const configs = conflicting.packages.filter((p) =>
      p.SPDXID.startsWith('SPDXRef-Package-Melange-replayout'),
    );
    assert.deepEqual(configs.map((p) => p.name).sort(), ['other.melange.yaml', 'replayout.melange.yaml']);
  });

  it('repairs what the schema would reject and keeps license texts, renaming clashes', () => {
    const out = withMutatedSbom(
      (d) => {
        const config = d.packages.find((p) => p.name === 'replayout.melange.yaml')!;
        Object.assign(config, {
          primaryPackagePurpose: 'OPERATING-SYSTEM',
          licenseDeclared: 'LicenseRef-melange AND GPL-2.0+',
          checksums: [{ algorithm: 'SHA-1', checksumValue: 'not hex' }],
          externalRefs: [
            {
              referenceCategory: 'PACKAGE_MANAGER',
              referenceType: 'purl',
              referenceLocator: 'pkg:generic/x@1',
            },
          ],
          supplier: 'Chainguard',
        });
        const replayout = d.packages.find((p) => p.name === 'replayout')!;
        replayout.externalRefs!.push({
          referenceCategory: 'SECURITY',
          referenceType: 'cpe23Type',
          referenceLocator: 'cpe:2.3:a:example:replayout:1.0.0:*:*:*:*:*:*:*',
        });
        return {
          ...d,
          hasExtractedLicensingInfos: [
            { licenseId: 'LicenseRef-melange', name: 'melange', extractedText: 'text A' },
          ],
        };
      },
      [
        {
          owner: 'pretend-baselayout',
          path: '/var/lib/db/sbom/clash.spdx.json',
          text: JSON.stringify({
            ...JSON.parse(replayoutSbom.text),
            documentDescribes: ['SPDXRef-Package-apk-clash'],
            packages: [
              {
                SPDXID: 'SPDXRef-Package-apk-clash',
                name: 'clash',
                licenseDeclared: 'LicenseRef-melange',
                downloadLocation: 'NOASSERTION',
              },
            ],
            relationships: [],
            hasExtractedLicensingInfos: [
              { licenseId: 'LicenseRef-melange', name: 'melange', extractedText: 'text B' },
            ],
          }),
        },
      ],
    );
    const config = out.packages.find((p) => p.name === 'replayout.melange.yaml')!;
    assert.equal(config.primaryPackagePurpose, 'OPERATING_SYSTEM');
    // documents are merged in owner order: pretend-baselayout's definition came first and keeps the id
    assert.equal(config.licenseDeclared, 'LicenseRef-melange-2 AND GPL-2.0-or-later');
    assert.equal(config.checksums, undefined);
    assert.equal(config.externalRefs?.[0]?.referenceCategory, 'PACKAGE-MANAGER');
    assert.equal(config.supplier, undefined);
    const clash = out.packages.find((p) => p.name === 'clash')!;
    assert.equal(clash.licenseDeclared, 'LicenseRef-melange');
    assert.deepEqual(
      out.hasExtractedLicensingInfos?.map((l) => [l.licenseId, l.extractedText]),
      [
        ['LicenseRef-melange', 'text B'],
        ['LicenseRef-melange-2', 'text A'],
      ],
    );
    // a described package that is not the owner is shipped inside it
    const owner = out.packages.find(
      (p) => p.name === 'pretend-baselayout' && purlOf(p)?.startsWith('pkg:apk/'),
    )!;
    assert.ok(
      out.relationships.some(
        (r) =>
          r.spdxElementId === owner.SPDXID &&
          r.relationshipType === 'CONTAINS' &&
          r.relatedSpdxElement === clash.SPDXID,
      ),
    );
    // the owner's own SBOM adds its CPE to our entry
    const replayout = out.packages.find((p) => p.name === 'replayout' && purlOf(p)?.startsWith('pkg:apk/'))!;
    assert.ok(replayout.externalRefs?.some((r) => r.referenceType === 'cpe23Type'));
  });

  it('puts the CPE of an embedded SBOM on the CycloneDX component', async () => {
    const text = replayoutSbom.text.replace(
      '"externalRefs": [',
      '"externalRefs": [{"referenceCategory": "SECURITY", "referenceType": "cpe23Type", "referenceLocator": "cpe:2.3:a:example:replayout:1.0.0:*:*:*:*:*:*:*"},',
    );
    const cdxText = cyclonedxImageDocument({
      ...input,
      embeddedSboms: input.embeddedSboms.map((s) => (s === replayoutSbom ? { ...s, text } : s)),
    });
    assert.equal(await cyclonedxSchemaErrors(cdxText), null);
    const cdx = JSON.parse(cdxText) as CdxDoc;
    assert.equal(
      cdx.components.find((c) => c.name === 'replayout')?.cpe,
      'cpe:2.3:a:example:replayout:1.0.0:*:*:*:*:*:*:*',
    );
  });

  it('stops with a LadingError naming the file for a broken embedded SBOM', () => {
    const broken = { ...replayoutSbom, text: '{"spdxVersion": "SPDX-2.3", "packages": [' };
    assert.throws(() => spdxImageDocument({ ...input, embeddedSboms: [broken] }), {
      code: 'SBOM_EMBEDDED_INVALID',
      file: '/var/lib/db/sbom/replayout-1.0.0-r0.spdx.json',
    });
    assert.throws(
      () =>
        spdxImageDocument({
          ...input,
          embeddedSboms: [{ ...replayoutSbom, text: '{"bomFormat": "CycloneDX"}' }],
        }),
      {
        code: 'SBOM_EMBEDDED_INVALID',
      },
    );
    assert.throws(
      () => spdxImageDocument({ ...input, embeddedSboms: [{ ...replayoutSbom, owner: 'not-installed' }] }),
      {
        code: 'SBOM_BAD_INPUT',
      },
    );
  });
});
