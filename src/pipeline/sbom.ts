/** Assembles the SBOM inputs from what the build knows, and renders the requested documents. */

import type { PackageInfo } from '../apk/types.ts';
import type { ImageFS } from '../fs/tree.ts';
import type { Image, ImageIndex } from '../oci/types.ts';
import type { Arch } from '../platform/arch.ts';
import { apkArch, ociPlatform } from '../platform/arch.ts';
import type { PreparedPackage } from '../prepare/packages.ts';
import type { RepositoryRef } from '../repo/ref.ts';
import { packageLocation } from '../repo/ref.ts';
import type { Installer } from '../rootfs/install.ts';
import {
  cyclonedxImageDocument,
  cyclonedxIndexDocument,
  parseOsRelease,
  spdxImageDocument,
  spdxIndexDocument,
} from '../sbom/index.ts';
import type { EmbeddedSbom, OsRelease, SbomArch, SbomPackage } from '../sbom/types.ts';
import type { Resolution } from '../solver/resolve.ts';
import { LADING_VERSION } from '../util/version.ts';
import { type SbomFile, type SbomFormat, sbomFileName } from './sbom-files.ts';
import type { BuiltArch } from './types.ts';

export { type SbomFile, type SbomFormat, sbomFileName } from './sbom-files.ts';

export interface ArchSbomInput {
  arch: Arch;
  image: Image;
  reference: string;
  buildDate: number;
  fs: ImageFS;
  installer: Installer;
  packages: readonly PreparedPackage[];
  /** A base image's packages (listed first: they were there before `packages`). */
  basePackages?: readonly PackageInfo[];
  resolution: Resolution;
  repositories: ReadonlyMap<string, RepositoryRef>;
  vcsUrl?: string;
}

export function sbomArch(arch: Arch): SbomArch {
  const p = ociPlatform(arch);
  const out: SbomArch = { apk: apkArch(arch), oci: p.architecture };
  if (p.variant) out.variant = p.variant;
  return out;
}

export function osReleaseOf(fs: ImageFS): OsRelease | undefined {
  for (const p of ['etc/os-release', 'usr/lib/os-release']) {
    const node = fs.stat(p);
    if (node?.type === 'file') return parseOsRelease(fs.readFile(p).toString('utf8'));
  }
  return undefined;
}

function embeddedSboms(fs: ImageFS, installer: Installer): EmbeddedSbom[] {
  const out: EmbeddedSbom[] = [];
  for (const name of fs.list('var/lib/db/sbom')) {
    if (!name.endsWith('.spdx.json')) continue;
    const path = `var/lib/db/sbom/${name}`;
    const owner = installer.ownerOf(path);
    if (owner === undefined || fs.stat(path)?.type !== 'file') continue;
    out.push({ owner: owner.name, path: `/${path}`, text: fs.readFile(path).toString('utf8') });
  }
  return out;
}

export function archSboms(
  input: ArchSbomInput,
  formats: readonly SbomFormat[],
): { files: SbomFile[]; spdx?: string; osRelease?: OsRelease } {
  const apk = apkArch(input.arch);
  const packages: SbomPackage[] = (input.basePackages ?? []).map((p) => ({ ...p }));
  for (const p of input.packages) packages.push(sbomPackage(p));
  function sbomPackage(p: PreparedPackage): SbomPackage {
    const ref = input.repositories.get(p.resolved.repository);
    const pkg: SbomPackage = { ...p.info, dataHash: p.datahash, repository: p.resolved.repository };
    if (ref?.kind === 'http') pkg.downloadUrl = packageLocation(ref, apk, p.info);
    return pkg;
  }
  const dependencies = new Map<string, string[]>();
  const names = input.resolution.packages.map((p) => p.name);
  for (const e of input.resolution.edges) {
    // only `D:` edges: a world edge has no source package, and an install_if edge (busybox + libssl3 →
    // ssl_client) means "pulled in by", not "depends on" — busybox does not depend on ssl_client
    if (e.kind !== 'depends' || e.from < 0) continue;
    const from = names[e.from]!;
    const list = dependencies.get(from) ?? [];
    const to = names[e.to]!;
    if (!list.includes(to) && to !== from) list.push(to);
    dependencies.set(from, list);
  }
  const osRelease = osReleaseOf(input.fs);
  const doc = {
    reference: input.reference,
    arch: sbomArch(input.arch),
    manifestDigest: input.image.manifest.digest,
    configDigest: input.image.config.digest,
    layers: input.image.layers.map((l) => ({ digest: l.digest, diffId: l.diffId, mediaType: l.mediaType })),
    buildDate: input.buildDate,
    osRelease,
    packages,
    dependencies,
    embeddedSboms: embeddedSboms(input.fs, input.installer),
    vcsUrl: input.vcsUrl,
    toolVersion: LADING_VERSION,
  };
  const files: SbomFile[] = [];
  let spdx: string | undefined;
  if (formats.includes('spdx')) {
    spdx = spdxImageDocument(doc);
    files.push({ name: sbomFileName(apk, 'spdx'), text: spdx });
  }
  if (formats.includes('cyclonedx'))
    files.push({ name: sbomFileName(apk, 'cyclonedx'), text: cyclonedxImageDocument(doc) });
  return { files, spdx, osRelease };
}

export function indexSboms(
  input: {
    reference: string;
    indexDigest: string;
    buildDate: number;
    images: { arch: Arch; image: Image; osRelease?: OsRelease; spdx?: string }[];
    vcsUrl?: string;
  },
  formats: readonly SbomFormat[],
): SbomFile[] {
  const doc = {
    reference: input.reference,
    indexDigest: input.indexDigest,
    buildDate: input.buildDate,
    images: input.images.map((i) => ({
      arch: sbomArch(i.arch),
      manifestDigest: i.image.manifest.digest,
      osRelease: i.osRelease,
      spdxDocument: i.spdx,
    })),
    vcsUrl: input.vcsUrl,
    toolVersion: LADING_VERSION,
  };
  const files: SbomFile[] = [];
  if (formats.includes('spdx'))
    files.push({ name: sbomFileName('index', 'spdx'), text: spdxIndexDocument(doc) });
  if (formats.includes('cyclonedx'))
    files.push({ name: sbomFileName('index', 'cyclonedx'), text: cyclonedxIndexDocument(doc) });
  return files;
}

export interface SbomOptions {
  formats: readonly SbomFormat[];
  /** The image reference the documents name (the tag). */
  reference: string;
  vcsUrl?: string;
}

/**
 * The SBOM phase: one document per architecture and one for the index, in each format. Computed before
 * anything is written, so a failure leaves no output behind.
 */
export function buildSboms(archs: readonly BuiltArch[], index: ImageIndex, options: SbomOptions): SbomFile[] {
  const files: SbomFile[] = [];
  const images = archs.map((a) => {
    const r = archSboms(
      {
        arch: a.arch,
        image: a.image,
        reference: options.reference,
        buildDate: a.buildDate,
        fs: a.filesystem.fs,
        installer: a.filesystem.installer,
        packages: a.packages,
        ...(a.basePackages ? { basePackages: a.basePackages } : {}),
        resolution: a.resolution,
        repositories: a.repositories,
        vcsUrl: options.vcsUrl,
      },
      options.formats,
    );
    files.push(...r.files);
    return { arch: a.arch, image: a.image, osRelease: r.osRelease, spdx: r.spdx };
  });
  const created = Math.max(...archs.map((a) => a.buildDate));
  files.push(
    ...indexSboms(
      {
        reference: options.reference,
        indexDigest: index.index.digest,
        buildDate: created,
        images,
        vcsUrl: options.vcsUrl,
      },
      options.formats,
    ),
  );
  return files;
}
