/** SBOMs of a real Alpine image (the 25 packages of the 3.19.1 ISO repository: alpine-base and its closure). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cyclonedxImageDocument, cyclonedxSerialNumber } from '../../src/sbom/cyclonedx.ts';
import { apkChecksumSha1 } from '../../src/sbom/identifiers.ts';
import { spdxImageDocument } from '../../src/sbom/spdx.ts';
import { alpineBaseInput } from '../helpers/sbom-inputs.ts';
import {
  type CdxDoc,
  checkCycloneDxIntegrity,
  checkSpdxIntegrity,
  purlOf,
  type SpdxDoc,
} from '../helpers/sbom-integrity.ts';
import { cyclonedxSchemaErrors, spdxSchemaErrors } from '../helpers/sbom-schemas.ts';

const input = alpineBaseInput();
const spdxText = spdxImageDocument(input);
const cdxText = cyclonedxImageDocument(input);
const spdx = JSON.parse(spdxText) as SpdxDoc;
const cdx = JSON.parse(cdxText) as CdxDoc;
const apkPackages = spdx.packages.filter((p) => purlOf(p)?.startsWith('pkg:apk/'));
const byName = new Map(apkPackages.map((p) => [p.name, p]));

describe('image SBOM of alpine-base (real packages)', () => {
  it('uses 25 real packages with datahash and os-release from the .apk files', () => {
    assert.equal(input.packages.length, 25);
    assert.equal(input.osRelease.ID, 'alpine');
    assert.equal(input.osRelease.VERSION_ID, '3.19.1');
  });

  it('SPDX validates against the official SPDX 2.3 schema and is internally consistent', () => {
    assert.equal(spdxSchemaErrors(spdxText), null);
    checkSpdxIntegrity(spdx);
  });

  it('CycloneDX validates against the 1.6 schema and is internally consistent', async () => {
    assert.equal(await cyclonedxSchemaErrors(cdxText), null);
    // the validator is not vacuous
    assert.notEqual(
      await cyclonedxSchemaErrors(cdxText.replace('"specVersion": "1.6"', '"specVersion": 1.6')),
      null,
    );
    assert.notEqual(
      spdxSchemaErrors(spdxText.replace('"relationshipType": "DEPENDS_ON"', '"relationshipType": "NEEDS"')),
      null,
    );
    checkCycloneDxIntegrity(cdx);
  });

  it('lists exactly the installed packages: names, versions, SHA-1 of C: and SHA-256 datahash', () => {
    const expected = input.packages
      .map((p) => `${p.name} ${p.version} ${apkChecksumSha1(p.checksum)} ${p.dataHash}`)
      .sort();
    const spdxSet = apkPackages
      .map((p) => {
        const sum = (alg: string) => p.checksums?.find((c) => c.algorithm === alg)?.checksumValue;
        return `${p.name} ${p.versionInfo} ${sum('SHA1')} ${sum('SHA256')}`;
      })
      .sort();
    assert.deepEqual(spdxSet, expected);
    const cdxSet = cdx.components
      .filter((c) => c.purl?.startsWith('pkg:apk/'))
      .map((c) => {
        const sum = (alg: string) => c.hashes?.find((h) => h.alg === alg)?.content;
        return `${c.name} ${c.version} ${sum('SHA-1')} ${sum('SHA-256')}`;
      })
      .sort();
    assert.deepEqual(cdxSet, expected);
  });

  it('writes Syft-style purls scanners match (distro qualifier, upstream = origin)', () => {
    assert.equal(
      purlOf(byName.get('busybox')!),
      'pkg:apk/alpine/busybox@1.36.1-r15?arch=x86_64&distro=alpine-3.19.1',
    );
    assert.equal(
      purlOf(byName.get('busybox-binsh')!),
      'pkg:apk/alpine/busybox-binsh@1.36.1-r15?arch=x86_64&distro=alpine-3.19.1&upstream=busybox',
    );
    assert.equal(
      purlOf(byName.get('libcrypto3')!),
      'pkg:apk/alpine/libcrypto3@3.1.4-r5?arch=x86_64&distro=alpine-3.19.1&upstream=openssl',
    );
    assert.equal(
      purlOf(byName.get('musl')!),
      'pkg:apk/alpine/musl@1.2.4_git20230717-r4?arch=x86_64&distro=alpine-3.19.1',
    );
  });

  it('names supplier (the OS), originator (the maintainer), license and download location', () => {
    const busybox = byName.get('busybox')!;
    assert.equal(busybox.supplier, 'Organization: Alpine Linux');
    assert.equal(busybox.originator, 'Person: Sören Tempel (soeren+alpine@soeren-tempel.net)');
    assert.equal(busybox.licenseDeclared, 'GPL-2.0-only');
    assert.equal(
      busybox.downloadLocation,
      'https://mirror.example.com/alpine/v3.19/main/x86_64/busybox-1.36.1-r15.apk',
    );
    // the source package the way Trivy (sourceInfo, properties) and Grype (purl upstream) read it
    const binsh = byName.get('busybox-binsh') as { sourceInfo?: string };
    assert.equal(binsh.sourceInfo, 'built package from: busybox 1.36.1-r15');
    const binshCdx = cdx.components.find((c) => c.name === 'busybox-binsh') as {
      properties?: { name: string; value: string }[];
    };
    assert.deepEqual(
      binshCdx.properties?.filter((p) => p.name.startsWith('aquasecurity:trivy:')).map((p) => p.value),
      ['busybox', '1.36.1-r15'],
    );
    assert.ok(
      !spdxText.includes('s3cret') && !cdxText.includes('s3cret'),
      'credentials leaked into the SBOM',
    );
    assert.ok(!spdxText.includes('Chainguard') && !cdxText.includes('Chainguard'));
  });

  it('has the dependency graph, origins as GENERATED_FROM sources, and the image as the root', () => {
    const idOf = new Map(apkPackages.map((p) => [p.SPDXID, p.name]));
    const depends = spdx.relationships
      .filter((r) => r.relationshipType === 'DEPENDS_ON')
      .map((r) => `${idOf.get(r.spdxElementId)} -> ${idOf.get(r.relatedSpdxElement)}`)
      .sort();
    const expected = [...input.dependencies!]
      .flatMap(([from, tos]) => tos.map((to) => `${from} -> ${to}`))
      .sort();
    assert.ok(expected.length > 20);
    assert.deepEqual(depends, expected);

    const sources = new Map(
      spdx.packages.filter((p) => p.primaryPackagePurpose === 'SOURCE').map((p) => [p.SPDXID, p]),
    );
    for (const pkg of input.packages) {
      const id = byName.get(pkg.name)!.SPDXID;
      const from = spdx.relationships.filter(
        (r) => r.spdxElementId === id && r.relationshipType === 'GENERATED_FROM',
      );
      assert.equal(from.length, 1, pkg.name);
      assert.equal(sources.get(from[0]!.relatedSpdxElement)?.name, pkg.origin);
    }

    const root = spdx.documentDescribes[0]!;
    const contained = new Set(
      spdx.relationships
        .filter((r) => r.spdxElementId === root && r.relationshipType === 'CONTAINS')
        .map((r) => r.relatedSpdxElement),
    );
    for (const p of apkPackages) assert.ok(contained.has(p.SPDXID), p.name);
    const rootPkg = spdx.packages.find((p) => p.SPDXID === root)!;
    assert.equal(rootPkg.primaryPackagePurpose, 'CONTAINER');
    assert.equal(
      purlOf(rootPkg),
      `pkg:oci/alpine-base@${input.manifestDigest}?arch=amd64&mediaType=application%2Fvnd.oci.image.manifest.v1%2Bjson&os=linux&tag=latest`,
    );
    const os = spdx.packages.find((p) => p.primaryPackagePurpose === 'OPERATING_SYSTEM')!;
    assert.deepEqual(
      [os.name, os.versionInfo, os.SPDXID],
      ['alpine', '3.19.1', 'SPDXRef-OperatingSystem-alpine'],
    );
    assert.ok(contained.has(os.SPDXID));

    // CycloneDX: the same graph as dependencies
    const cdxDeps = new Map(cdx.dependencies.map((d) => [d.ref, d.dependsOn]));
    const refOf = new Map(cdx.components.map((c) => [c.name, c['bom-ref']]));
    for (const [from, tos] of input.dependencies!) {
      assert.deepEqual(cdxDeps.get(refOf.get(from)!), tos.map((t) => refOf.get(t)!).sort(), from);
    }
    assert.equal(cdx.metadata.component.type, 'container');
    assert.equal(cdx.components.find((c) => c.type === 'operating-system')?.version, '3.19.1');
  });

  it('is deterministic: same bytes for the same image, whatever the install order', () => {
    assert.equal(spdxImageDocument(input), spdxText);
    assert.equal(cyclonedxImageDocument(input), cdxText);
    const shuffled = {
      ...input,
      packages: [...input.packages].reverse(),
      dependencies: new Map([...input.dependencies!].reverse()),
    };
    assert.equal(spdxImageDocument(shuffled), spdxText);
    assert.equal(cyclonedxImageDocument(shuffled), cdxText);
    assert.ok(spdxText.endsWith('}\n') && spdxText.startsWith('{\n  "SPDXID"'));
    assert.equal(spdx.creationInfo.created, '2024-01-26T17:51:45Z');
    assert.equal(cdx.metadata.timestamp, '2024-01-26T17:51:45Z');
  });

  it('derives a unique namespace and serial number from the image digest', () => {
    assert.match(
      spdx.documentNamespace,
      /^https:\/\/spdx\.org\/spdxdocs\/lading\/alpine-base-x86_64-[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    assert.equal(cdx.serialNumber, cyclonedxSerialNumber(input.manifestDigest));
    const other = { ...input, manifestDigest: `sha256:${'1'.repeat(64)}` };
    const otherSpdx = JSON.parse(spdxImageDocument(other)) as SpdxDoc;
    const otherCdx = JSON.parse(cyclonedxImageDocument(other)) as CdxDoc;
    assert.notEqual(otherSpdx.documentNamespace, spdx.documentNamespace);
    assert.notEqual(otherCdx.serialNumber, cdx.serialNumber);
  });

  it('refuses inconsistent input with a LadingError', () => {
    assert.throws(() => spdxImageDocument({ ...input, manifestDigest: 'sha256:xyz' }), {
      code: 'SBOM_BAD_INPUT',
    });
    assert.throws(() => spdxImageDocument({ ...input, dependencies: new Map([['busybox', ['nope']]]) }), {
      code: 'SBOM_BAD_INPUT',
    });
    assert.throws(() => spdxImageDocument({ ...input, buildDate: -1 }), { code: 'SBOM_BAD_INPUT' });
  });

  it('without os-release: no OS package, no supplier, purls in the `unknown` namespace', () => {
    const text = spdxImageDocument({ ...input, osRelease: undefined });
    assert.equal(spdxSchemaErrors(text), null);
    const doc = JSON.parse(text) as SpdxDoc;
    checkSpdxIntegrity(doc);
    assert.ok(!doc.packages.some((p) => p.primaryPackagePurpose === 'OPERATING_SYSTEM'));
    const busybox = doc.packages.find((p) => p.name === 'busybox' && purlOf(p))!;
    assert.equal(busybox.supplier, 'NOASSERTION');
    assert.equal(purlOf(busybox), 'pkg:apk/unknown/busybox@1.36.1-r15?arch=x86_64');
  });
});
