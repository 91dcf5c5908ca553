/**
 * Checks of the SBOMs a real `lading build` wrote against the image it wrote: the installed database and
 * files read from the layers, the digests read back from the OCI layout, and the .apk files of the repository.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PackageInfo } from '../../src/apk/types.ts';
import { cyclonedxSerialNumber } from '../../src/sbom/cyclonedx.ts';
import { apkChecksumSha1 } from '../../src/sbom/identifiers.ts';
import { entryData, readTar } from '../../src/tar/reader.ts';
import { layerTars } from './image-tree.ts';
import { apkFiles, pkginfoDatahash, resolveEdges } from './sbom-inputs.ts';
import {
  type CdxDoc,
  checkCycloneDxIntegrity,
  checkSpdxIntegrity,
  parseSpdxExpression,
  purlOf,
  type SpdxDoc,
  type SpdxPkg,
} from './sbom-integrity.ts';
import { cyclonedxSchemaErrors, spdxSchemaErrors } from './sbom-schemas.ts';

/** apk architecture → OCI platform architecture, for the archs built here. */
export const OCI_ARCH: Record<string, string> = { x86_64: 'amd64', aarch64: 'arm64' };

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const sha1 = (b: Buffer | string) => createHash('sha1').update(b).digest('hex');
export const readJson = <T>(path: string): T => JSON.parse(readFileSync(path, 'utf8')) as T;
const sbomFiles = (dir: string) => readdirSync(dir).filter((f) => f.startsWith('sbom-'));

/** One record of lib/apk/db/installed, read with a parser of our own (not lading's) so the check is independent. */
interface InstalledRecord {
  name: string;
  version: string;
  checksum: string;
  license?: string;
  maintainer?: string;
  origin?: string;
  depends: string[];
  provides: string[];
}

function parseInstalledDb(text: string): InstalledRecord[] {
  const out: InstalledRecord[] = [];
  for (const block of text.split(/\n\n+/)) {
    const field = (k: string) =>
      block
        .split('\n')
        .filter((l) => l.startsWith(`${k}:`))
        .map((l) => l.slice(2));
    const [name] = field('P');
    if (name === undefined) continue;
    const words = (k: string) => field(k).flatMap((v) => v.split(' ').filter(Boolean));
    out.push({
      name,
      version: field('V')[0]!,
      checksum: field('C')[0]!,
      license: field('L')[0],
      maintainer: field('m')[0],
      origin: field('o')[0],
      depends: words('D'),
      provides: words('p'),
    });
  }
  return out;
}

/** The regular files of an image's layers (later layers win), by path without a leading slash. */
export function layerFiles(layout: string, ociArch: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  for (const tar of layerTars(layout, ociArch)) {
    for (const e of readTar(tar)) if (e.type === 'file') files.set(e.name, entryData(tar, e));
  }
  return files;
}

function osRelease(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of text.matchAll(/^([A-Z_]+)=(?:"([^"]*)"|(.*))$/gm)) out[m[1]!] = m[2] ?? m[3]!;
  return out;
}

interface LayoutImage {
  digest: string;
  configDigest: string;
  layers: { digest: string; mediaType: string }[];
}

/**
 * What the layout really holds, by OCI arch: index.json lists the image index (its digest is returned), and
 * the images (several platforms: inside that index; one platform: also directly, tagged, for umoci).
 */
export function readLayout(layout: string): { indexDigest?: string; images: Map<string, LayoutImage> } {
  const blob = (d: string) => {
    const bytes = readFileSync(join(layout, 'blobs/sha256', d.slice('sha256:'.length)));
    assert.equal(`sha256:${sha256(bytes)}`, d, 'a blob does not match its digest');
    return JSON.parse(bytes.toString('utf8'));
  };
  type Descriptor = { mediaType: string; digest: string; platform?: { architecture: string } };
  const top = readJson<{ manifests: Descriptor[] }>(join(layout, 'index.json')).manifests;
  const indexes = top.filter((m) => m.mediaType === 'application/vnd.oci.image.index.v1+json');
  assert.ok(indexes.length <= 1, 'index.json lists at most one image index');
  const indexDigest = indexes[0]?.digest;
  const listed: Descriptor[] = indexDigest ? blob(indexDigest).manifests : top;
  const images = new Map<string, LayoutImage>();
  for (const m of listed) {
    const manifest = blob(m.digest);
    images.set(m.platform!.architecture, {
      digest: m.digest,
      configDigest: manifest.config.digest,
      layers: manifest.layers,
    });
  }
  return { indexDigest, images };
}

export const apkPackages = (doc: SpdxDoc) => doc.packages.filter((p) => purlOf(p)?.startsWith('pkg:apk/'));
const checksum = (p: SpdxPkg, alg: string) => p.checksums?.find((c) => c.algorithm === alg)?.checksumValue;

/**
 * Everything a per-arch document must say about the image it was built with: checked against the
 * installed database, os-release and digests read back from the layout, and the .apk files themselves.
 */
export function checkImageDocuments(opts: {
  sbomDir: string;
  layout: string;
  apkArch: string;
  repoArchDir: string;
  reference: { name: string; tag: string; repositoryUrl?: string };
}): { spdx: SpdxDoc; cdx: CdxDoc; installed: InstalledRecord[] } {
  const { sbomDir, layout, apkArch, repoArchDir } = opts;
  const ociArch = OCI_ARCH[apkArch]!;
  const spdx = readJson<SpdxDoc>(join(sbomDir, `sbom-${apkArch}.spdx.json`));
  const cdx = readJson<CdxDoc>(join(sbomDir, `sbom-${apkArch}.cdx.json`));
  const files = layerFiles(layout, ociArch);
  const installed = parseInstalledDb(files.get('lib/apk/db/installed')!.toString('utf8'));
  assert.ok(installed.length > 0);

  // the package set is the installed database: names, versions, C: (as SHA-1), and the datahash (SHA-256)
  // of each .apk file, read from the repository
  const expected = installed
    .map((r) => {
      const datahash = pkginfoDatahash(apkFiles(join(repoArchDir, `${r.name}-${r.version}.apk`)));
      return `${r.name} ${r.version} ${apkChecksumSha1(r.checksum)} ${datahash}`;
    })
    .sort();
  const packages = apkPackages(spdx);
  assert.deepEqual(
    packages.map((p) => `${p.name} ${p.versionInfo} ${checksum(p, 'SHA1')} ${checksum(p, 'SHA256')}`).sort(),
    expected,
  );
  const components = cdx.components.filter((c) => c.purl?.startsWith('pkg:apk/'));
  const hash = (c: (typeof components)[0], alg: string) => c.hashes?.find((h) => h.alg === alg)?.content;
  assert.deepEqual(
    components.map((c) => `${c.name} ${c.version} ${hash(c, 'SHA-1')} ${hash(c, 'SHA-256')}`).sort(),
    expected,
  );

  // the operating system and the distro of every purl come from the image's own os-release
  const os = osRelease(files.get('etc/os-release')!.toString('utf8'));
  const osVersion = os.VERSION_ID ?? os.BUILD_ID;
  const osPkg = spdx.packages.filter((p) => p.primaryPackagePurpose === 'OPERATING_SYSTEM');
  assert.deepEqual(
    osPkg.map((p) => [p.name, p.versionInfo, p.supplier]),
    [[os.ID, osVersion, `Organization: ${os.NAME}`]],
  );
  const osComponent = cdx.components.filter((c) => c.type === 'operating-system');
  assert.deepEqual(
    osComponent.map((c) => [c.name, c.version, c.supplier?.name]),
    [[os.ID, osVersion, os.NAME]],
  );
  const byName = new Map(installed.map((r) => [r.name, r]));
  for (const p of packages) {
    const r = byName.get(p.name)!;
    // the origin, when it differs, as `upstream` (Grype matches Alpine's secdb by source package)
    const upstream = r.origin && r.origin !== r.name ? `&upstream=${r.origin}` : '';
    assert.equal(
      purlOf(p),
      `pkg:apk/${os.ID}/${p.name.replaceAll('+', '%2B')}@${p.versionInfo}?arch=${apkArch}&distro=${os.ID}-${osVersion}${upstream}`,
    );
    assert.equal(p.supplier, `Organization: ${os.NAME}`, p.name);
    // the maintainer is the originator (apk's `m:`; "unknown" is no one)
    const maintainer =
      r.maintainer === 'unknown'
        ? undefined
        : r.maintainer?.replace(/^(.*?)(?: <(.*)>)?$/, 'Person: $1 ($2)');
    assert.equal(p.originator, maintainer?.replace(' ()', ''), p.name);
    // a license that already is a valid SPDX expression is kept as apk declares it
    let valid = false;
    try {
      parseSpdxExpression(r.license ?? '');
      valid = true;
    } catch {}
    if (valid) assert.equal(p.licenseDeclared, r.license, p.name);
    assert.doesNotThrow(() => parseSpdxExpression(p.licenseDeclared!), `${p.name}: ${p.licenseDeclared}`);
  }

  // DEPENDS_ON is the installed `D:` graph (install_if triggers are not dependencies)
  const asInfo = (r: InstalledRecord): PackageInfo => ({
    name: r.name,
    version: r.version,
    depends: r.depends,
    provides: r.provides,
    installIf: [],
    replaces: [],
    extra: [],
  });
  const nameOf = new Map(packages.map((p) => [p.SPDXID, p.name]));
  assert.deepEqual(
    spdx.relationships
      .filter((r) => r.relationshipType === 'DEPENDS_ON')
      .map((r) => `${nameOf.get(r.spdxElementId)} -> ${nameOf.get(r.relatedSpdxElement)}`)
      .sort(),
    [...resolveEdges(installed.map(asInfo))]
      .flatMap(([from, tos]) => tos.map((to) => `${from} -> ${to}`))
      .sort(),
  );

  // the described root is the image actually written: manifest, config and layer digests of the layout
  const image = readLayout(layout).images.get(ociArch)!;
  const rootId = spdx.documentDescribes[0]!;
  const root = spdx.packages.find((p) => p.SPDXID === rootId)!;
  assert.equal(root.versionInfo, image.digest);
  assert.equal(rootId, `SPDXRef-Package-Image-sha256-${image.digest.slice(7)}`);
  assert.equal(checksum(root, 'SHA256'), image.digest.slice(7));
  assert.equal(root.supplier, `Organization: ${os.NAME}`);
  const { name, tag, repositoryUrl } = opts.reference;
  const repository = repositoryUrl ? `&repository_url=${encodeURIComponent(repositoryUrl)}` : '';
  assert.equal(
    purlOf(root),
    `pkg:oci/${name}@${image.digest}?arch=${ociArch}&mediaType=application%2Fvnd.oci.image.manifest.v1%2Bjson&os=linux${repository}&tag=${tag}`,
  );
  const layers = spdx.packages.filter((p) => p.SPDXID.startsWith('SPDXRef-Package-ImageLayer-'));
  assert.deepEqual(
    layers.map((l) => l.versionInfo),
    image.layers.map((l) => l.digest),
  );
  assert.equal(cdx.metadata.component.version, image.digest);
  assert.equal(cdx.metadata.component.purl, purlOf(root));
  assert.equal(cdx.serialNumber, cyclonedxSerialNumber(image.digest));
  const cdxProps = (cdx.metadata.component as { properties?: { name: string; value: string }[] }).properties;
  assert.equal(cdxProps?.find((p) => p.name === 'lading:oci:configDigest')?.value, image.configDigest);
  const contained = new Set(
    spdx.relationships
      .filter((r) => r.spdxElementId === rootId && r.relationshipType === 'CONTAINS')
      .map((r) => r.relatedSpdxElement),
  );
  for (const p of [...packages, ...osPkg, ...layers]) assert.ok(contained.has(p.SPDXID), p.SPDXID);
  return { spdx, cdx, installed };
}

/**
 * The index documents name the index `lading build` printed and wrote to the layout (when it stores one), each
 * image in it, and link each image's documents.
 */
export function checkIndexDocuments(
  sbomDir: string,
  layout: string,
  apkArchs: string[],
  name: string,
  printedDigest: string,
): void {
  const written = readLayout(layout);
  const { images } = written;
  assert.equal(written.indexDigest, printedDigest, 'the index the SBOM describes is stored in the output');
  const indexDigest = printedDigest;
  const spdx = readJson<SpdxDoc>(join(sbomDir, 'sbom-index.spdx.json'));
  const cdx = readJson<CdxDoc>(join(sbomDir, 'sbom-index.cdx.json'));
  const root = spdx.packages.find((p) => p.SPDXID === spdx.documentDescribes[0])!;
  assert.equal(root.versionInfo, indexDigest);
  assert.equal(checksum(root, 'SHA256'), indexDigest.slice(7));
  assert.match(
    purlOf(root)!,
    new RegExp(
      `^pkg:oci/${name}@${indexDigest}\\?mediaType=application%2Fvnd\\.oci\\.image\\.index\\.v1%2Bjson`,
    ),
  );
  assert.equal(cdx.metadata.component.version, indexDigest);
  assert.equal(cdx.serialNumber, cyclonedxSerialNumber(indexDigest));

  const contained = spdx.relationships
    .filter((r) => r.spdxElementId === root.SPDXID && r.relationshipType === 'CONTAINS')
    .map((r) => spdx.packages.find((p) => p.SPDXID === r.relatedSpdxElement)!);
  assert.deepEqual(
    contained.map((p) => `${p.versionInfo} ${/arch=([a-z0-9]+)/.exec(purlOf(p)!)?.[1]}`).sort(),
    [...images].map(([arch, image]) => `${image.digest} ${arch}`).sort(),
  );
  assert.deepEqual(apkArchs.map((a) => OCI_ARCH[a]).sort(), [...images.keys()].sort());

  for (const apkArch of apkArchs) {
    const digest = images.get(OCI_ARCH[apkArch]!)!.digest;
    const text = readFileSync(join(sbomDir, `sbom-${apkArch}.spdx.json`));
    const imageDoc = JSON.parse(text.toString('utf8')) as SpdxDoc;
    // SPDX: DESCRIBED_BY the per-arch document, referenced by its namespace and the SHA-1 of its bytes
    const ref = spdx.externalDocumentRefs!.find((r) => r.spdxDocument === imageDoc.documentNamespace)!;
    assert.ok(ref, `no externalDocumentRef for ${apkArch}`);
    assert.equal(ref.checksum.checksumValue, sha1(text));
    assert.match(ref.externalDocumentId, /^DocumentRef-image-[a-z0-9-]+$/);
    const element = contained.find((p) => p.versionInfo === digest)!;
    assert.ok(
      spdx.relationships.some(
        (r) =>
          r.spdxElementId === element.SPDXID &&
          r.relationshipType === 'DESCRIBED_BY' &&
          r.relatedSpdxElement === `${ref.externalDocumentId}:SPDXRef-DOCUMENT`,
      ),
    );
    // CycloneDX: a BOM-Link to the per-arch document's serial number
    const imageCdx = readJson<CdxDoc>(join(sbomDir, `sbom-${apkArch}.cdx.json`));
    const component = cdx.components.find((c) => c.version === digest)!;
    assert.deepEqual(
      component.externalReferences?.filter((r) => r.type === 'bom').map((r) => r.url),
      [`${imageCdx.serialNumber.replace('urn:uuid:', 'urn:cdx:')}/1`],
    );
  }
}

/**
 * Each SBOM shipped in a package (read from the image) is merged: every package reachable from what it
 * describes is in our documents (same name and version), and so is each relationship between them.
 */
export function checkEmbeddedMerged(
  files: Map<string, Buffer>,
  paths: string[],
  spdx: SpdxDoc,
  cdx: CdxDoc,
): void {
  const key = (p: { name: string; versionInfo?: string }) => `${p.name}@${p.versionInfo}`;
  // the first element of a name and version: the installed package, not its source package of the same name
  const ours = new Map<string, SpdxPkg>();
  for (const p of spdx.packages) if (!ours.has(key(p))) ours.set(key(p), p);
  for (const path of paths) {
    const doc = JSON.parse(files.get(path)!.toString('utf8')) as SpdxDoc;
    const theirs = new Map(doc.packages.map((p) => [p.SPDXID, p]));
    const reachable = new Set(doc.documentDescribes);
    for (let grew = true; grew; ) {
      grew = false;
      for (const r of doc.relationships) {
        for (const [a, b] of [
          [r.spdxElementId, r.relatedSpdxElement],
          [r.relatedSpdxElement, r.spdxElementId],
        ] as const) {
          if (reachable.has(a) && theirs.has(b) && !reachable.has(b)) {
            reachable.add(b);
            grew = true;
          }
        }
      }
    }
    assert.ok(reachable.size > 1, `${path} describes more than its own package`);
    for (const id of reachable) {
      const p = theirs.get(id)!;
      assert.ok(ours.has(key(p)), `${path}: ${key(p)} dropped`);
      if (!purlOf(p)?.startsWith('pkg:apk/')) {
        assert.ok(
          cdx.components.some((c) => c.name === p.name && c.version === p.versionInfo),
          `${path}: ${key(p)} missing in CycloneDX`,
        );
      }
    }
    for (const r of doc.relationships) {
      if (!reachable.has(r.spdxElementId) || !reachable.has(r.relatedSpdxElement)) continue;
      const from = ours.get(key(theirs.get(r.spdxElementId)!))!.SPDXID;
      const to = ours.get(key(theirs.get(r.relatedSpdxElement)!))!.SPDXID;
      assert.ok(
        spdx.relationships.some(
          (x) =>
            x.spdxElementId === from &&
            x.relationshipType === r.relationshipType &&
            x.relatedSpdxElement === to,
        ),
        `${path}: ${from} ${r.relationshipType} ${to} dropped`,
      );
    }
  }
}

/** Every SBOM in a directory validates against its official schema and is internally consistent. */
export async function validateAll(dir: string, expected: string[]): Promise<void> {
  assert.deepEqual(sbomFiles(dir).sort(), [...expected].sort());
  for (const f of expected) {
    const text = readFileSync(join(dir, f), 'utf8');
    if (f.endsWith('.spdx.json')) {
      assert.equal(spdxSchemaErrors(text), null, f);
      checkSpdxIntegrity(JSON.parse(text) as SpdxDoc);
    } else {
      assert.equal(await cyclonedxSchemaErrors(text), null, f);
      checkCycloneDxIntegrity(JSON.parse(text) as CdxDoc);
    }
  }
}

export const sbomNames = (archs: string[]) =>
  [...archs, 'index'].flatMap((a) => [`sbom-${a}.spdx.json`, `sbom-${a}.cdx.json`]);

export function assertSameBytes(dirA: string, dirB: string, names: string[], what: string): void {
  for (const f of names) {
    assert.ok(readFileSync(join(dirA, f)).equals(readFileSync(join(dirB, f))), `${f} differs (${what})`);
  }
}
