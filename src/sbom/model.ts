/**
 * The SBOM content of an image as one neutral model, rendered by both the SPDX and the CycloneDX
 * writer so the two formats always describe the same packages, ids and graph. Elements are kept in
 * SPDX package shape (SPDX is the richer format here) plus the few things CycloneDX needs beyond it.
 */
import { LadingError } from '../util/errors.ts';
import { redactUrl } from '../util/redact.ts';
import type {
  Party,
  SbomElement,
  SbomModel,
  SpdxChecksum,
  SpdxPackage,
  SpdxRelationship,
} from './document.ts';
import { importEmbeddedSboms } from './embedded.ts';
import {
  apkChecksumSha1,
  apkPurl,
  byString,
  digestHex,
  IdAllocator,
  isoSeconds,
  isSha256Hex,
  ociPurl,
  parseReference,
  parseVcsUrl,
  spdxIdPart,
} from './identifiers.ts';
import { LicenseRegistry } from './license-refs.ts';
import type { ImageSbomInput, OsRelease, SbomPackage } from './types.ts';

export const MEDIA_TYPES = {
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  index: 'application/vnd.oci.image.index.v1+json',
  layer: 'application/vnd.oci.image.layer.v1.tar+gzip',
} as const;

export const NOASSERTION = 'NOASSERTION';

/** The distributor named by os-release (`NAME`, with `HOME_URL`). */
export function osSupplier(os: OsRelease | undefined): Party | undefined {
  const name = os?.NAME?.trim() || os?.ID?.trim();
  if (!name) return undefined;
  return { name, url: os?.HOME_URL || undefined };
}

export function spdxOrganization(party: Party | undefined): string {
  return party ? `Organization: ${party.name}` : NOASSERTION;
}

/** apk `m:` (`Name <email>`) → a person; "unknown" and empty maintainers are no one. */
export function parseMaintainer(maintainer: string | undefined): Party | undefined {
  const text = maintainer?.trim();
  if (!text || text.toLowerCase() === 'unknown') return undefined;
  const m = /^(.*?)\s*<([^<>]*)>\s*$/.exec(text);
  if (!m) return { name: text };
  const name = m[1]!.trim() || m[2]!.trim();
  return m[2]!.trim() ? { name, email: m[2]!.trim() } : { name };
}

function spdxPerson(party: Party): string {
  return `Person: ${party.name}${party.email ? ` (${party.email})` : ''}`;
}

/** Web URLs are download locations; local paths and other schemes are not. */
function downloadLocation(pkg: SbomPackage): string {
  for (const candidate of [pkg.downloadUrl, pkg.repository]) {
    if (candidate && /^(https?|ftp):\/\//i.test(candidate)) return redactUrl(candidate);
  }
  return NOASSERTION;
}

function webUrl(text: string | undefined): string | undefined {
  return text && /^https?:\/\/\S+$/i.test(text.trim()) ? redactUrl(text.trim()) : undefined;
}

export function imageElementId(digestHex: string): string {
  return `SPDXRef-Package-Image-sha256-${digestHex}`;
}

export function apkElementId(name: string, version: string): string {
  return `SPDXRef-Package-apk-${spdxIdPart(`${name}-${version}`)}`;
}

/**
 * The config's vcs-url as a SOURCE package the root is GENERATED_FROM (as apko does), and as the
 * root's `vcs` reference in CycloneDX. Shared by the image and index models.
 */
export function attachVcs(
  vcsUrl: string,
  root: SbomElement,
  supplier: Party | undefined,
  ids: IdAllocator,
  elements: SbomElement[],
  relationships: SpdxRelationship[],
): void {
  const vcs = parseVcsUrl(redactUrl(vcsUrl));
  const bare = vcs.url.replace(/^[a-z+]+:\/\//i, '');
  const spdx: SpdxPackage = {
    SPDXID: ids.take(`SPDXRef-Source-vcs-${spdxIdPart(bare)}`),
    name: bare,
    versionInfo: vcs.commit,
    supplier: spdxOrganization(supplier),
    downloadLocation: /^https?:\/\//.test(vcs.url)
      ? `git+${vcs.url}${vcs.commit ? `@${vcs.commit}` : ''}`
      : NOASSERTION,
    filesAnalyzed: false,
    primaryPackagePurpose: 'SOURCE',
  };
  if (vcs.purl)
    spdx.externalRefs = [
      { referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: vcs.purl },
    ];
  elements.push({ spdx, externalReferences: [], properties: [] });
  relationships.push({
    spdxElementId: root.spdx.SPDXID,
    relationshipType: 'GENERATED_FROM',
    relatedSpdxElement: spdx.SPDXID,
  });
  root.externalReferences.push({ type: 'vcs', url: vcs.url });
}

export function sortRelationships(rels: SpdxRelationship[]): SpdxRelationship[] {
  const seen = new Set<string>();
  const out: SpdxRelationship[] = [];
  for (const r of rels) {
    const key = `${r.spdxElementId}\0${r.relationshipType}\0${r.relatedSpdxElement}`;
    if (seen.has(key) || r.spdxElementId === r.relatedSpdxElement) continue;
    seen.add(key);
    out.push(r);
  }
  return out.sort(
    (a, b) =>
      byString(a.spdxElementId, b.spdxElementId) ||
      byString(a.relationshipType, b.relationshipType) ||
      byString(a.relatedSpdxElement, b.relatedSpdxElement),
  );
}

/** Builds the model of one architecture's image. */
export function buildImageModel(input: ImageSbomInput): SbomModel {
  const ids = new IdAllocator();
  const licenses = new LicenseRegistry();
  const os = input.osRelease;
  const supplier = osSupplier(os);
  const ref = parseReference(input.reference);
  const manifestHex = digestHex(input.manifestDigest, 'manifest digest');
  const configHex = digestHex(input.configDigest, 'config digest');
  const relationships: SpdxRelationship[] = [];
  const rel = (from: string, type: string, to: string) =>
    relationships.push({ spdxElementId: from, relationshipType: type, relatedSpdxElement: to });

  // the image
  const rootId = ids.take(imageElementId(manifestHex));
  const manifestType = input.manifestMediaType ?? MEDIA_TYPES.manifest;
  const layerProps: [string, string][] = [];
  for (const [i, layer] of input.layers.entries()) {
    digestHex(layer.digest, `layer ${i} digest`);
    digestHex(layer.diffId, `layer ${i} diff_id`);
    layerProps.push(
      [`lading:oci:layer:${i}:digest`, layer.digest],
      [`lading:oci:layer:${i}:diffID`, layer.diffId],
    );
  }
  const root: SbomElement = {
    spdx: {
      SPDXID: rootId,
      name: ref.repository,
      versionInfo: input.manifestDigest,
      supplier: spdxOrganization(supplier),
      downloadLocation: NOASSERTION,
      filesAnalyzed: false,
      checksums: [{ algorithm: 'SHA256', checksumValue: manifestHex }],
      description: `Container image ${input.reference ?? ref.repository} for ${input.arch.apk}`,
      comment: `config ${input.configDigest}; layers (digest / diff_id): ${input.layers.map((l) => `${l.digest} / ${l.diffId}`).join(', ')}`,
      externalRefs: [
        {
          referenceCategory: 'PACKAGE-MANAGER',
          referenceType: 'purl',
          referenceLocator: ociPurl(ref, input.manifestDigest, {
            arch: input.arch.oci,
            variant: input.arch.variant,
            mediaType: manifestType,
            os: 'linux',
          }),
        },
      ],
      primaryPackagePurpose: 'CONTAINER',
      builtDate: isoSeconds(input.buildDate),
    },
    cdxType: 'container',
    supplier,
    externalReferences: [],
    properties: [['lading:oci:configDigest', `sha256:${configHex}`], ...layerProps],
  };

  const elements: SbomElement[] = [];
  // layers, in layer order
  for (const layer of input.layers) {
    const hex = layer.digest.slice('sha256:'.length);
    const id = ids.take(`SPDXRef-Package-ImageLayer-sha256-${hex}`);
    elements.push({
      spdx: {
        SPDXID: id,
        name: layer.digest,
        versionInfo: layer.digest,
        supplier: spdxOrganization(supplier),
        downloadLocation: NOASSERTION,
        filesAnalyzed: false,
        checksums: [{ algorithm: 'SHA256', checksumValue: hex }],
        description: `Image layer (diff_id ${layer.diffId})`,
        externalRefs: [
          {
            referenceCategory: 'PACKAGE-MANAGER',
            referenceType: 'purl',
            referenceLocator: ociPurl(ref, layer.digest, {
              arch: input.arch.oci,
              variant: input.arch.variant,
              mediaType: layer.mediaType ?? MEDIA_TYPES.layer,
              os: 'linux',
              withTag: false,
            }),
          },
        ],
        primaryPackagePurpose: 'CONTAINER',
      },
      externalReferences: [],
      properties: [],
    });
    rel(rootId, 'CONTAINS', id);
  }

  // the operating system
  if (os?.ID) {
    const id = ids.take(`SPDXRef-OperatingSystem-${spdxIdPart(os.ID)}`);
    const externalReferences: { type: string; url: string }[] = [];
    const home = webUrl(os.HOME_URL);
    const bugs = webUrl(os.BUG_REPORT_URL);
    if (home) externalReferences.push({ type: 'website', url: home });
    if (bugs) externalReferences.push({ type: 'issue-tracker', url: bugs });
    elements.push({
      spdx: {
        SPDXID: id,
        name: os.ID,
        versionInfo: os.VERSION_ID || os.BUILD_ID || undefined,
        supplier: spdxOrganization(supplier),
        downloadLocation: NOASSERTION,
        filesAnalyzed: false,
        homepage: home,
        description: os.PRETTY_NAME || os.NAME || 'Operating System',
        primaryPackagePurpose: 'OPERATING_SYSTEM',
      },
      cdxType: 'operating-system',
      supplier,
      externalReferences,
      properties: [],
    });
    rel(rootId, 'CONTAINS', id);
  }

  // installed packages, by name (install order is the build's business; the SBOM should diff cleanly)
  const packages = [...input.packages].sort((a, b) => byString(a.name, b.name));
  const byName = new Map<string, SbomElement>();
  const sources = new Map<string, SbomElement>();
  const sourceEdges: [string, string][] = [];
  for (const pkg of packages) {
    if (byName.has(pkg.name)) {
      throw new LadingError(
        'SBOM_BAD_INPUT',
        `package ${pkg.name} is listed twice in the installed packages`,
      );
    }
    const element = apkElement(pkg, os, supplier, ids, licenses);
    byName.set(pkg.name, element);
    rel(rootId, 'CONTAINS', element.spdx.SPDXID);
    if (pkg.origin) {
      const key = `${pkg.origin}\0${pkg.version}`;
      let source = sources.get(key);
      if (source === undefined) {
        source = sourceElement(pkg, supplier, ids);
        sources.set(key, source);
      }
      sourceEdges.push([element.spdx.SPDXID, source.spdx.SPDXID]);
    }
  }
  elements.push(...byName.values());

  for (const [from, targets] of input.dependencies ?? []) {
    const a = byName.get(from);
    if (a === undefined)
      throw new LadingError('SBOM_BAD_INPUT', `dependency edge from ${from}, which is not installed`);
    for (const to of targets) {
      const b = byName.get(to);
      if (b === undefined)
        throw new LadingError('SBOM_BAD_INPUT', `dependency edge ${from} → ${to}, which is not installed`);
      rel(a.spdx.SPDXID, 'DEPENDS_ON', b.spdx.SPDXID);
    }
  }
  // binary package GENERATED_FROM its origin: SPDX's relationship for "built from this source"
  for (const [binary, source] of sourceEdges) rel(binary, 'GENERATED_FROM', source);
  elements.push(...[...sources.values()].sort((a, b) => byString(a.spdx.SPDXID, b.spdx.SPDXID)));

  if (input.embeddedSboms?.length) {
    const imported = importEmbeddedSboms(input.embeddedSboms, { installed: byName, ids, licenses });
    elements.push(...imported.elements);
    relationships.push(...imported.relationships);
  }

  if (input.vcsUrl) attachVcs(input.vcsUrl, root, supplier, ids, elements, relationships);

  const rewrite = licenses.finish();
  for (const e of [root, ...elements]) {
    if (e.spdx.licenseDeclared) e.spdx.licenseDeclared = rewrite(e.spdx.licenseDeclared);
    if (e.spdx.licenseConcluded) e.spdx.licenseConcluded = rewrite(e.spdx.licenseConcluded);
  }
  return {
    root,
    elements,
    relationships: sortRelationships(relationships),
    extractedLicenses: licenses.extracted(),
  };
}

function apkElement(
  pkg: SbomPackage,
  os: OsRelease | undefined,
  supplier: Party | undefined,
  ids: IdAllocator,
  licenses: LicenseRegistry,
): SbomElement {
  const maintainer = parseMaintainer(pkg.maintainer);
  const checksums: SpdxChecksum[] = [];
  const sha1 = apkChecksumSha1(pkg.checksum);
  if (sha1) checksums.push({ algorithm: 'SHA1', checksumValue: sha1 });
  if (isSha256Hex(pkg.dataHash)) checksums.push({ algorithm: 'SHA256', checksumValue: pkg.dataHash });
  const homepage = webUrl(pkg.url);
  const download = downloadLocation(pkg);
  const license = licenses.normalize(pkg.license);
  const properties: [string, string][] = [];
  if (pkg.origin) {
    // Trivy reads the source package of a CycloneDX component from its own property names
    properties.push(
      ['lading:apk:origin', pkg.origin],
      ['aquasecurity:trivy:SrcName', pkg.origin],
      ['aquasecurity:trivy:SrcVersion', pkg.version],
    );
  }
  if (pkg.commit) properties.push(['lading:apk:commit', pkg.commit]);
  if (pkg.installedSize !== undefined)
    properties.push(['lading:apk:installedSize', String(pkg.installedSize)]);
  const externalReferences: { type: string; url: string }[] = [];
  if (homepage) externalReferences.push({ type: 'website', url: homepage });
  if (download !== NOASSERTION) externalReferences.push({ type: 'distribution', url: download });
  return {
    spdx: {
      SPDXID: ids.take(apkElementId(pkg.name, pkg.version)),
      name: pkg.name,
      versionInfo: pkg.version,
      packageFileName: `${pkg.name}-${pkg.version}.apk`,
      supplier: spdxOrganization(supplier),
      originator: maintainer ? spdxPerson(maintainer) : undefined,
      downloadLocation: download,
      filesAnalyzed: false,
      checksums: checksums.length ? checksums : undefined,
      homepage,
      // Trivy's wording, which it parses back into the source package (Alpine's secdb is keyed by origin)
      sourceInfo: pkg.origin ? `built package from: ${pkg.origin} ${pkg.version}` : undefined,
      licenseConcluded: NOASSERTION,
      licenseDeclared: license ?? NOASSERTION,
      licenseComments:
        license !== undefined && pkg.license !== license ? `apk declares: ${pkg.license}` : undefined,
      copyrightText: NOASSERTION,
      description: pkg.description || undefined,
      externalRefs: [
        { referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: apkPurl(pkg, os) },
      ],
      primaryPackagePurpose: 'APPLICATION',
      builtDate:
        pkg.buildTime !== undefined && pkg.buildTime > 0
          ? isoSeconds(pkg.buildTime, `build time of ${pkg.name}`)
          : undefined,
    },
    cdxType: 'library',
    supplier,
    authors: maintainer ? [maintainer] : undefined,
    externalReferences,
    properties,
  };
}

function sourceElement(pkg: SbomPackage, supplier: Party | undefined, ids: IdAllocator): SbomElement {
  const origin = pkg.origin!;
  return {
    spdx: {
      SPDXID: ids.take(`SPDXRef-Source-apk-${spdxIdPart(`${origin}-${pkg.version}`)}`),
      name: origin,
      versionInfo: pkg.version,
      supplier: spdxOrganization(supplier),
      downloadLocation: NOASSERTION,
      filesAnalyzed: false,
      sourceInfo: pkg.commit ? `commit ${pkg.commit}` : undefined,
      description: `Source package (apk origin) of ${origin}`,
      primaryPackagePurpose: 'SOURCE',
    },
    externalReferences: [],
    properties: [],
  };
}
