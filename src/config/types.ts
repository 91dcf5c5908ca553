/**
 * The loaded, merged and normalised image configuration the build works from. Names are camelCase; the
 * apko spelling of each field is noted. Lists keep config order (includes first); maps are sorted by key.
 */
import type { Arch } from '../platform/arch.ts';
import type { ConfigWarning } from './problems.ts';

export interface ImageConfig {
  contents: ImageContents;
  entrypoint: ImageEntrypoint;
  /** `cmd`: OCI Cmd before splitting (see imageCmd). */
  cmd?: string;
  /** `stop-signal` */
  stopSignal?: string;
  /** `work-dir` */
  workDir?: string;
  accounts: ImageAccounts;
  /** `archs`: canonical OCI names, deduplicated and sorted; empty when the config sets none. */
  archs: Arch[];
  /** `environment`, keys sorted. Defaults (PATH, SSL_CERT_FILE) are added by imageEnv, not here. */
  environment: Record<string, string>;
  /** `paths`, in the order they are applied. */
  paths: PathMutation[];
  /** `vcs-url` (only from the top config file, as apko). */
  vcsUrl?: string;
  /** `annotations`, keys sorted. */
  annotations: Record<string, string>;
  volumes: string[];
  certificates: ImageCertificates;
  /** Absent for a single layer (also for `layering: {}`). */
  layering?: Layering;
  /** Always "tar": erofs is refused at load time. */
  format: 'tar';
}

export interface ImageContents {
  /** Build and runtime repositories, as written (`@tag ` prefix kept, trailing `/` removed); read by repo/ref.ts parseRepositoryRef. */
  repositories: string[];
  /** `build_repositories`: used to build only. */
  buildRepositories: string[];
  /** `runtime_repositories`: written into the image only. */
  runtimeRepositories: string[];
  /** Key paths or URLs, as written (relative paths are relative to the working directory). */
  keyring: string[];
  /** `runtime_keyring`: keys written to /etc/apk/keys/<name>; checked to be one RSA PEM public key each. */
  runtimeKeyring: NamedPem[];
  /** World entries; for `entrypoint.type: service-bundle` includes `s6`. */
  packages: string[];
  baseimage?: BaseImage;
}

export interface BaseImage {
  /** An OCI layout directory or image archive, or an image reference in a registry. */
  image: string;
  /** Directory holding `<apk arch>/APKINDEX` (installed-db format); absent: read from the image. */
  apkindex?: string;
}

export interface NamedPem {
  name: string;
  content: string;
}

export interface ImageEntrypoint {
  type?: 'service-bundle';
  /** For service-bundle: always `/bin/s6-svscan /sv`. */
  command?: string;
  /** `shell-fragment`: wins over command. */
  shellFragment?: string;
  /** s6 services by name (sorted), written to /sv/<name>/run (rootfs/steps/s6.ts). */
  services: Record<string, string>;
}

export interface ImageAccounts {
  /** `run-as`: the OCI User as written; the build replaces a user name with its uid. */
  runAs?: string;
  users: User[];
  groups: Group[];
}

export interface User {
  username: string;
  uid: number;
  /** Defaults to the uid. */
  gid: number;
  /** Defaults to /bin/sh. */
  shell: string;
  /** Defaults to /home/<username>. */
  homedir: string;
}

export interface Group {
  groupname: string;
  gid: number;
  members: string[];
}

/** The `paths[].type` values (the schema, the loader and the paths step all read this list). */
export const PATH_TYPES = ['directory', 'empty-file', 'hardlink', 'symlink', 'permissions'] as const;
export type PathType = (typeof PATH_TYPES)[number];

export interface PathMutation {
  /** Absolute and clean (`/a/b`), never outside the image. */
  path: string;
  type: PathType;
  /** Owner: both set or both absent (apko: when only one is given the other is 0). Absent = leave as is. */
  uid?: number;
  gid?: number;
  /** Mode bits (0..0o7777). Absent = not given: creations use 0755/0644, existing entries keep their mode. */
  permissions?: number;
  /** Link target: symlink text as written; hardlink target as an absolute clean path. */
  source?: string;
  recursive: boolean;
}

export interface ImageCertificates {
  additional: NamedPem[];
  providers: string[];
}

export interface Layering {
  /**
   * `origin`: one layer per origin group (apko's); `package`: each package's own compressed data stream as a
   * layer (lading's; see src/layers/streams.ts).
   */
  strategy: 'origin' | 'package';
  /** The most package layers (a top layer comes on top); `package` defaults to the most runtimes take. */
  budget: number;
}

export interface LoadedConfig {
  config: ImageConfig;
  /** The config path as given (for lock files and messages). */
  path: string;
  /** Absolute paths of the config and every included file, in checksum order (config first). */
  files: string[];
  /**
   * `sha256-<base64>` over the bytes of `files` in order, with CRLF read as LF (apko hashes raw bytes, so a
   * CRLF checkout changes its checksum; for LF files the two agree).
   */
  checksum: string;
  /** apko's `config.checksum`: the same over the bytes as read (differs from `checksum` only for CRLF files). */
  rawChecksum: string;
  /** Things that are allowed but probably not meant, with their locations. */
  warnings: ConfigWarning[];
}
