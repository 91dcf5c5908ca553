/**
 * `contents.baseimage`: the image to build on. `image` is a local OCI layout or an image archive (a docker
 * archive or OCI archive: anything src/oci/read.ts reads), found like apko finds it (relative to the working
 * directory, then each --include-paths directory); otherwise, when no such file exists, an image reference pulled
 * from its registry (pull.ts). Each architecture takes the image of its platform, variant included (apko takes the
 * first image of the architecture, so arm/v6 and arm/v7 are ambiguous there).
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { BaseImage as BaseImageConfig } from '../config/types.ts';
import { platformKey } from '../oci/image.ts';
import { readImageIndex } from '../oci/read.ts';
import type { Image } from '../oci/types.ts';
import { type Arch, archFromPlatform, ociPlatform } from '../platform/arch.ts';
import type { ContentCache } from '../store/cache.ts';
import { LadingError } from '../util/errors.ts';
import type { Logger } from '../util/log.ts';
import { pullImageIndex } from './pull.ts';

export interface BaseImage {
  /** The layout, archive or reference, for messages. */
  name: string;
  /** A local layout or archive (an input of the build), or undefined for a registry image. */
  path?: string;
  images: Image[];
  /** apko's `apkindex:` directory, absolute, when given. */
  apkindexDir?: string;
}

export interface OpenBaseOptions {
  cwd: string;
  includePaths?: readonly string[];
  cache: ContentCache;
  offline?: boolean;
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
}

function findLocal(entry: string, options: OpenBaseOptions): string | undefined {
  for (const dir of [options.cwd, ...(options.includePaths ?? []).map((d) => resolve(options.cwd, d))]) {
    const p = resolve(dir, entry);
    if (existsSync(p)) return p;
  }
  return undefined;
}

export async function openBaseImage(config: BaseImageConfig, options: OpenBaseOptions): Promise<BaseImage> {
  const apkindexDir = config.apkindex
    ? (findLocal(config.apkindex, options) ?? resolve(options.cwd, config.apkindex))
    : undefined;
  const path = findLocal(config.image, options);
  const base = (images: Image[], name: string, local?: string): BaseImage => ({
    name,
    images,
    ...(local ? { path: local } : {}),
    ...(apkindexDir ? { apkindexDir } : {}),
  });
  if (path !== undefined) return base(readImageIndex(path).images, config.image, path);
  const looksLocal =
    /^(\.{0,2}\/|~)/.test(config.image) || config.image.endsWith('/') || config.image.endsWith('.tar');
  if (looksLocal) {
    throw new LadingError(
      'BASE_NOT_FOUND',
      `contents.baseimage.image ${JSON.stringify(config.image)} does not exist`,
      {
        hint: `an OCI layout directory or an image archive, relative to ${options.cwd} (or --include-paths); or an image reference such as registry.example.com/team/base:1`,
      },
    );
  }
  const pulled = await pullImageIndex(config.image, options);
  return base(pulled.images, pulled.name);
}

/** arm64's variant is optional (`arm64/v8` and `arm64` are the same platform). */
function archOf(image: Image): Arch | undefined {
  const p = image.platform;
  if (p.os !== 'linux') return undefined;
  return archFromPlatform(p.architecture === 'arm64' && p.variant === 'v8' ? { architecture: 'arm64' } : p);
}

/** The base's image for an architecture; BASE_NO_ARCH (naming what it has) when there is none. */
export function baseImageFor(base: BaseImage, arch: Arch): Image {
  const found = base.images.filter((i) => archOf(i) === arch);
  if (found.length === 1) return found[0]!;
  const want = platformKey({ ...ociPlatform(arch), os: 'linux' });
  if (found.length > 1) {
    throw new LadingError(
      'BASE_AMBIGUOUS',
      `base image ${base.name} has ${found.length} linux/${want} images`,
      {
        hint: 'build on an image with one image per platform',
      },
    );
  }
  const has = base.images.map((i) => `${i.platform.os}/${platformKey(i.platform)}`).join(', ') || 'none';
  throw new LadingError(
    'BASE_NO_ARCH',
    `base image ${base.name} has no linux/${want} image (it has ${has})`,
    {
      hint: `build the base for ${want} too, or leave ${want} out of archs (--arch)`,
    },
  );
}
