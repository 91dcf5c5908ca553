/**
 * Building on `contents.baseimage`: the base opened once per build (every target architecture must have an
 * image in it: checked before anything is fetched), each architecture's filesystem and apk database loaded when
 * needed, its installed packages handed to the resolve phase, and its identity (the images' manifest digests)
 * made part of the build's identity (image memo, input digest).
 */

import type { RepositoryPackage } from '../apk/types.ts';
import { type BaseArch, loadBaseArch } from '../base/layers.ts';
import { type BaseImage, baseImageFor, openBaseImage } from '../base/open.ts';
import type { ImageConfig } from '../config/types.ts';
import type { Image } from '../oci/types.ts';
import { type Arch, apkArch } from '../platform/arch.ts';
import type { FetchOptions } from '../repo/fetch.ts';
import type { InstalledPackage } from '../solver/package-index.ts';
import type { Logger } from '../util/log.ts';

export interface BuildBase {
  image: BaseImage;
  /** Per target architecture, its image in the base. */
  images: ReadonlyMap<Arch, Image>;
  /** Each architecture's filesystem and database (loaded once; the filesystem is built on in place). */
  load(arch: Arch): Promise<BaseArch>;
  /** An architecture's packages as the solver's installed packages. */
  installed(arch: Arch): Promise<InstalledPackage[]>;
  /**
   * The target architectures' manifest digests: what the build's identity adds for the base (the same image from
   * a layout, an archive or a registry is the same input).
   */
  identity: string;
}

export async function openBuildBase(
  config: ImageConfig,
  targets: readonly Arch[],
  options: {
    cwd: string;
    includePaths?: readonly string[];
    fetch: FetchOptions;
    env?: NodeJS.ProcessEnv;
    logger: Logger;
  },
): Promise<BuildBase | undefined> {
  const entry = config.contents.baseimage;
  if (entry === undefined) return undefined;
  const image = await openBaseImage(entry, {
    cwd: options.cwd,
    includePaths: options.includePaths,
    cache: options.fetch.cache,
    offline: options.fetch.offline,
    env: options.env,
    logger: options.logger,
  });
  const images = new Map(targets.map((a) => [a, baseImageFor(image, a)] as const));
  const loaded = new Map<Arch, Promise<BaseArch>>();
  const base: BuildBase = {
    image,
    images,
    identity: [...images.values()].map((i) => i.manifest.digest).join(','),
    load: (arch) => {
      let p = loaded.get(arch);
      if (p === undefined) {
        p = loadBaseArch(images.get(arch)!, {
          cache: options.fetch.cache,
          where: `base image ${image.name} (${apkArch(arch)})`,
          apkArch: apkArch(arch),
          ...(image.apkindexDir ? { apkindexDir: image.apkindexDir } : {}),
        });
        loaded.set(arch, p);
      }
      return p;
    },
    installed: async (arch) => installedOf(await base.load(arch)),
  };
  return base;
}

/** The base's packages as the solver's installed packages. */
export function installedOf(base: BaseArch): InstalledPackage[] {
  return base.db.packages.map((p) => (p.tag === undefined ? { info: p.info } : { info: p.info, tag: p.tag }));
}

/** Installed packages of every target architecture, by apk name (for the resolve phase). */
export async function installedByArch(
  base: BuildBase,
  targets: readonly Arch[],
): Promise<Map<string, InstalledPackage[]>> {
  const out = new Map<string, InstalledPackage[]>();
  for (const arch of targets) out.set(apkArch(arch), await base.installed(arch));
  return out;
}

/** A resolution's packages the base does not have: what the build installs. */
export function newPackages(
  packages: readonly RepositoryPackage[],
  base: BaseArch | undefined,
): RepositoryPackage[] {
  if (base === undefined) return [...packages];
  const have = new Set(base.db.packages.map((p) => `${p.info.name}-${p.info.version}`));
  return packages.filter((p) => !have.has(`${p.name}-${p.version}`));
}

/** The config the build's identity is computed from: the base named by its images' digests, not by its path. */
export function identityConfig(config: ImageConfig, base: BuildBase | undefined): ImageConfig {
  if (base === undefined) return config;
  return {
    ...config,
    contents: { ...config.contents, baseimage: { ...config.contents.baseimage, image: base.identity } },
  };
}
