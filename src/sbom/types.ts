/** What a build hands to the SBOM writers: everything is data the build already has; nothing is read here. */
import type { PackageInfo } from '../apk/types.ts';

/** `/etc/os-release` as key → value (see parseOsRelease): ID, VERSION_ID, NAME, PRETTY_NAME, HOME_URL, BUG_REPORT_URL, BUILD_ID… */
export type OsRelease = Readonly<Record<string, string>>;

/** The architecture of one image under both naming schemes. */
export interface SbomArch {
  /** apk name: `x86_64`, `aarch64`, `armv7` … (names the SBOM file and the document) */
  apk: string;
  /** OCI platform architecture: `amd64`, `arm64`, `arm` … */
  oci: string;
  /** OCI platform variant (`v7`), when there is one */
  variant?: string;
}

/** One installed package: its metadata (index record / .PKGINFO) plus what only the fetch knows. */
export interface SbomPackage extends PackageInfo {
  /** Hex SHA-256 of the data member (`.PKGINFO` `datahash`). */
  dataHash?: string;
  /** The repository it came from (URL or local path). Credentials are stripped again here, defensively. */
  repository?: string;
  /** The URL of the `.apk` file itself. */
  downloadUrl?: string;
}

/** An SPDX document shipped inside a package (`var/lib/db/sbom/*.spdx.json`). */
export interface EmbeddedSbom {
  /** Name of the installed package that owns the file. */
  owner: string;
  /** Path of the file in the image (for messages and provenance). */
  path: string;
  /** The file's JSON text. */
  text: string;
}

export interface SbomLayer {
  /** `sha256:<hex>` of the compressed blob */
  digest: string;
  /** `sha256:<hex>` of the uncompressed tar */
  diffId: string;
  /** default `application/vnd.oci.image.layer.v1.tar+gzip` */
  mediaType?: string;
}

/** Everything about one architecture's image. */
export interface ImageSbomInput {
  /** The first tag, e.g. `alpine-base:latest` or `registry.example.com/team/alpine-base:1.2`; absent → `image`. */
  reference?: string;
  arch: SbomArch;
  /** `sha256:<hex>` of the image manifest: the image's identity. */
  manifestDigest: string;
  /** default `application/vnd.oci.image.manifest.v1+json` */
  manifestMediaType?: string;
  /** `sha256:<hex>` of the image config. */
  configDigest: string;
  layers: readonly SbomLayer[];
  /** Build date in seconds since the epoch (the image's `created`). */
  buildDate: number;
  /** Parsed `/etc/os-release` of the image, absent when the image has none. */
  osRelease?: OsRelease;
  /** Installed packages in install order. */
  packages: readonly SbomPackage[];
  /** Resolved dependency edges: package name → names of the installed packages it depends on. */
  dependencies?: ReadonlyMap<string, readonly string[]>;
  embeddedSboms?: readonly EmbeddedSbom[];
  /** The config's `vcs-url` (e.g. `https://github.com/org/repo@<commit>`). */
  vcsUrl?: string;
  /** lading's version, for `creators` / `metadata.tools`. */
  toolVersion: string;
}

/** One per-architecture image inside an index. */
export interface IndexImage {
  arch: SbomArch;
  manifestDigest: string;
  manifestMediaType?: string;
  osRelease?: OsRelease;
  /** The image's SPDX document text (as spdxImageDocument returned it); when given, the index document links to it. */
  spdxDocument?: string;
}

export interface IndexSbomInput {
  reference?: string;
  /** `sha256:<hex>` of the image index. */
  indexDigest: string;
  /** default `application/vnd.oci.image.index.v1+json` */
  indexMediaType?: string;
  buildDate: number;
  images: readonly IndexImage[];
  vcsUrl?: string;
  toolVersion: string;
}
