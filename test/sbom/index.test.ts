/** SBOMs of a multi-arch index (apko's golden index digests: amd64 + arm64 of the replayout image). */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { cyclonedxImageDocument, cyclonedxIndexDocument } from '../../src/sbom/cyclonedx.ts';
import { spdxImageDocument, spdxIndexDocument } from '../../src/sbom/spdx.ts';
import type { IndexSbomInput } from '../../src/sbom/types.ts';
import { wolfiStyleInput } from '../helpers/sbom-inputs.ts';
import {
  type CdxDoc,
  checkCycloneDxIntegrity,
  checkSpdxIntegrity,
  purlOf,
  type SpdxDoc,
} from '../helpers/sbom-integrity.ts';
import { cyclonedxSchemaErrors, spdxSchemaErrors } from '../helpers/sbom-schemas.ts';

const amd64 = wolfiStyleInput();
const arm64 = {
  ...amd64,
  arch: { apk: 'aarch64', oci: 'arm64' },
  manifestDigest: 'sha256:124c885f834cfaf1329987457a9651a68c4fb9733d4462ae6288b98011277858',
  packages: amd64.packages.map((p) => ({ ...p, arch: 'aarch64' })),
};
const images = [amd64, arm64].map((i) => ({
  arch: i.arch,
  manifestDigest: i.manifestDigest,
  osRelease: i.osRelease,
  spdxDocument: spdxImageDocument(i),
}));
const input: IndexSbomInput = {
  reference: 'golden:latest',
  indexDigest: 'sha256:b5f05e6fc882c97d61c1daee566954ae6fc09924f8e152293e2b97a06092069f',
  buildDate: 0,
  images,
  vcsUrl: 'https://github.com/Example/Repo@326e0ed687bdfeadac839dc9b25686e4442c9d04',
  toolVersion: '0.1.0',
};
const spdxText = spdxIndexDocument(input);
const spdx = JSON.parse(spdxText) as SpdxDoc;
const cdxText = cyclonedxIndexDocument(input);
const cdx = JSON.parse(cdxText) as CdxDoc;

describe('index SBOM', () => {
  it('validates (SPDX 2.3 and CycloneDX 1.6 schemas) and is consistent', async () => {
    assert.equal(spdxSchemaErrors(spdxText), null);
    checkSpdxIntegrity(spdx);
    assert.equal(await cyclonedxSchemaErrors(cdxText), null);
    checkCycloneDxIntegrity(cdx);
    for (const image of images) assert.equal(spdxSchemaErrors(image.spdxDocument), null);
  });

  it('describes the index, which contains each architecture image', () => {
    const root = spdx.packages.find((p) => p.SPDXID === spdx.documentDescribes[0])!;
    assert.equal(root.versionInfo, input.indexDigest);
    assert.equal(
      purlOf(root),
      'pkg:oci/golden@sha256:b5f05e6fc882c97d61c1daee566954ae6fc09924f8e152293e2b97a06092069f?mediaType=application%2Fvnd.oci.image.index.v1%2Bjson&tag=latest',
    );
    const contained = spdx.relationships.filter(
      (r) => r.spdxElementId === root.SPDXID && r.relationshipType === 'CONTAINS',
    );
    const byId = new Map(spdx.packages.map((p) => [p.SPDXID, p]));
    assert.deepEqual(
      contained.map((r) => byId.get(r.relatedSpdxElement)?.versionInfo).sort(),
      [amd64.manifestDigest, arm64.manifestDigest].sort(),
    );
    assert.deepEqual(
      contained
        .map((r) => /arch=([a-z0-9]+)/.exec(purlOf(byId.get(r.relatedSpdxElement)!) ?? '')?.[1])
        .sort(),
      ['amd64', 'arm64'],
    );
  });

  it('links each per-arch SPDX document by namespace and SHA-1, under the same image id', () => {
    assert.equal(spdx.externalDocumentRefs?.length, 2);
    for (const image of images) {
      const doc = JSON.parse(image.spdxDocument) as SpdxDoc;
      const refs: NonNullable<SpdxDoc['externalDocumentRefs']> = spdx.externalDocumentRefs ?? [];
      const ref = refs.find((d) => d.spdxDocument === doc.documentNamespace)!;
      assert.equal(ref.checksum.checksumValue, createHash('sha1').update(image.spdxDocument).digest('hex'));
      const imageId = doc.documentDescribes[0]!;
      assert.ok(
        spdx.packages.some((p) => p.SPDXID === imageId),
        'the index names the image as its own document does',
      );
      assert.ok(
        spdx.relationships.some(
          (r) =>
            r.spdxElementId === imageId &&
            r.relationshipType === 'DESCRIBED_BY' &&
            r.relatedSpdxElement === `${ref.externalDocumentId}:SPDXRef-DOCUMENT`,
        ),
      );
    }
    assert.notEqual(images[0]!.spdxDocument, images[1]!.spdxDocument);
  });

  it('names the OS vendor as supplier only when all images agree, never a hard-coded one', () => {
    const root = spdx.packages.find((p) => p.SPDXID === spdx.documentDescribes[0])!;
    assert.equal(root.supplier, 'Organization: Replaces');
    assert.ok(!spdxText.includes('Chainguard') && !cdxText.includes('Chainguard'));
    const mixed = JSON.parse(
      spdxIndexDocument({
        ...input,
        images: [images[0]!, { ...images[1]!, osRelease: { ID: 'wolfi', NAME: 'Wolfi' } }],
      }),
    ) as SpdxDoc;
    assert.equal(
      mixed.packages.find((p) => p.SPDXID === mixed.documentDescribes[0])!.supplier,
      'NOASSERTION',
    );
  });

  it('records the vcs-url as the source the index was generated from', () => {
    const source = spdx.packages.find((p) => p.primaryPackagePurpose === 'SOURCE')!;
    assert.equal(purlOf(source), 'pkg:github/example/repo@326e0ed687bdfeadac839dc9b25686e4442c9d04');
    assert.equal(
      source.downloadLocation,
      'git+https://github.com/Example/Repo@326e0ed687bdfeadac839dc9b25686e4442c9d04',
    );
    assert.ok(
      spdx.relationships.some(
        (r) => r.relationshipType === 'GENERATED_FROM' && r.relatedSpdxElement === source.SPDXID,
      ),
    );
    assert.ok(
      cdx.metadata.component.externalReferences?.some(
        (r) => r.type === 'vcs' && r.url === 'https://github.com/Example/Repo',
      ),
    );
  });

  it('links each per-arch CycloneDX document by BOM-Link, and is deterministic', () => {
    for (const [i, image] of [amd64, arm64].entries()) {
      const serial = (JSON.parse(cyclonedxImageDocument(image)) as CdxDoc).serialNumber;
      const link = cdx.components[i]!.externalReferences?.find((r) => r.type === 'bom')?.url;
      assert.equal(link, `${serial.replace('urn:uuid:', 'urn:cdx:')}/1`);
    }
    assert.deepEqual(
      cdx.dependencies.find((d) => d.ref === cdx.metadata.component['bom-ref'])?.dependsOn.length,
      2,
    );
    assert.equal(spdxIndexDocument(input), spdxText);
    assert.equal(cyclonedxIndexDocument(input), cdxText);
    const other = { ...input, indexDigest: `sha256:${'2'.repeat(64)}` };
    assert.notEqual(
      (JSON.parse(spdxIndexDocument(other)) as SpdxDoc).documentNamespace,
      spdx.documentNamespace,
    );
    assert.notEqual((JSON.parse(cyclonedxIndexDocument(other)) as CdxDoc).serialNumber, cdx.serialNumber);
  });
});
