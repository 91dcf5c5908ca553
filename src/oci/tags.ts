/**
 * Image references as tags: validation (Docker's reference grammar, so `docker load` accepts them) and the
 * per-architecture tags of a multi-platform output.
 *
 * Policy, in a docker archive's manifest.json: one platform → the tag exactly as given. Several platforms →
 * every image gets `TAG-<arch>` (`<tag part>-amd64`, `-arm64`, `-armv7`, …; unlike apko, arm/v6 and arm/v7 do
 * not collide), and `TAG` itself names the default platform's image (the host's, else the first). In an OCI
 * layout (and the archive's index.json) `TAG` names the image index alone (blobs.ts says why).
 */
import { hostArchitecture } from '../platform/arch.ts';
import { LadingError } from '../util/errors.ts';
import { platformKey } from './image.ts';
import type { Image, Platform } from './types.ts';

const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = `${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*(?::[0-9]+)?`;
const PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const NAME = `(?:${DOMAIN}/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*`;
const REFERENCE = new RegExp(`^(${NAME})(?::([\\w][\\w.-]{0,127}))?$`);

export interface ParsedTag {
  /** Repository name, e.g. `example.com/app`. */
  name: string;
  /** The tag part; `latest` when none was given. */
  tag: string;
}

export function parseTag(reference: string): ParsedTag {
  const m = REFERENCE.exec(reference);
  if (!m || m[1]!.length > 255) {
    throw new LadingError('OCI_TAG', `${JSON.stringify(reference)} is not a valid image tag`, {
      hint: 'use NAME[:TAG] with a lower-case name, e.g. example.com/app:1.0 (digests are not tags)',
    });
  }
  return { name: m[1]!, tag: m[2] ?? 'latest' };
}

/** The architecture suffix: `amd64`, `arm64`, `armv7` (architecture + variant). */
export function archSuffix(p: Platform): string {
  return `${p.architecture}${p.variant ?? ''}`;
}

/** `name:tag-<arch>` for one platform of a multi-platform image. */
export function archTag(reference: string, p: Platform): string {
  const { name, tag } = parseTag(reference);
  return `${name}:${tag}-${archSuffix(p)}`;
}

/** This machine's platform key (`amd64`, `arm64`, …), the default for a docker archive's plain tag. */
export function hostPlatformKey(): string {
  // lading's architecture names are the platform keys (amd64, arm/v7, …)
  try {
    return hostArchitecture();
  } catch {
    return process.arch;
  }
}

/**
 * The tags each image gets in a docker archive: one image → `[TAG]`; several → `TAG-<arch>` each, and the
 * image of `defaultPlatform` (a platform key; default: the host's, else the first image) also `TAG`.
 */
export function dockerTags(images: Image[], reference: string, defaultPlatform?: string): string[][] {
  parseTag(reference);
  if (images.length === 1) return [[reference]];
  const want = defaultPlatform ?? hostPlatformKey();
  let primary = images.findIndex((i) => platformKey(i.platform) === want);
  if (primary < 0) {
    if (defaultPlatform !== undefined) {
      throw new LadingError(
        'OCI_TAG_PLATFORM',
        `the image has no platform ${JSON.stringify(defaultPlatform)}`,
        {
          hint: `choose one of ${images.map((i) => platformKey(i.platform)).join(', ')}`,
        },
      );
    }
    primary = 0;
  }
  return images.map((img, i) => {
    const own = archTag(reference, img.platform);
    return i === primary ? [reference, own] : [own];
  });
}
