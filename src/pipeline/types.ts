/** What a build makes and reports: shared by the phases, the build and the image memo that replays it. */
import type { PackageInfo } from '../apk/types.ts';
import type { Image } from '../oci/types.ts';
import type { Arch } from '../platform/arch.ts';
import type { PreparedPackage } from '../prepare/packages.ts';
import type { RepositoryRef } from '../repo/ref.ts';
import type { BuiltFilesystem } from '../rootfs/filesystem.ts';
import type { PackageIndex } from '../solver/package-index.ts';
import type { Resolution } from '../solver/resolve.ts';
import type { FetchedRepository } from './indexes.ts';

/** Everything built for one architecture. */
export interface BuiltArch {
  arch: Arch;
  apkArch: string;
  image: Image;
  buildDate: number;
  resolution: Resolution;
  packages: PreparedPackage[];
  filesystem: BuiltFilesystem;
  /** The repositories packages came from, by RepositoryPackage.repository. */
  repositories: ReadonlyMap<string, RepositoryRef>;
  /** A base image's packages (installed before `packages`, not by this build). */
  basePackages?: PackageInfo[];
}

/** One line per architecture, as the CLI reports it. */
export interface BuildSummary {
  apkArch: string;
  packages: number;
  manifestDigest: string;
}

export interface BuildInputs {
  /** Small files, with the SHA-256 (hex) of the bytes the build used: config, includes, indexes, keys. */
  hashed: { path: string; sha256: string }[];
  /** Large files, recorded by stat: packages of local repositories. */
  statted: string[];
  remote: boolean;
}

/** One architecture resolved: what show-packages, dot and why print, and what a build installs. */
export interface ResolvedArch {
  arch: Arch;
  /** The apk spelling (`x86_64`). */
  apkArch: string;
  resolution: Resolution;
  /** The repositories resolved against, in configured order (build repositories last). */
  repositories: FetchedRepository[];
  /** True when the resolution was read from the cache. */
  cached: boolean;
  /** The resolver's index over the same repositories, built on first call (for what a resolution cannot answer). */
  index(): Promise<PackageIndex>;
}
