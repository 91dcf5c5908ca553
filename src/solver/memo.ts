/**
 * Memoising resolutions. Resolving is a pure function of the indexes, the world, the architecture, the
 * installed database and the options, so a build whose inputs did not change can reuse the last result
 * instead of scanning 23,000 index records again. The caller stores the encoded resolution under the key
 * (in its cache directory); these helpers only make the key and the encoding.
 */
import { createHash } from 'node:crypto';
import { formatIndexRecord } from '../apk/apkindex-text.ts';
import type { PackageInfo } from '../apk/types.ts';
import { LadingError } from '../util/errors.ts';
import type { Resolution } from './resolve.ts';
import type { SolveOptions } from './state.ts';

/** Bump when the resolver can answer differently for the same inputs. */
export const RESOLVER_VERSION = 3;

export interface ResolutionKeyParts {
  /** In configured order; `digest` identifies the index content (e.g. sha256 of APKINDEX.tar.gz). */
  repositories: readonly { repository: string; tag?: string; digest: string; available?: boolean }[];
  world: readonly string[];
  arch: string;
  installed?: readonly { info: PackageInfo; tag?: string }[];
  options?: SolveOptions;
  /** Anything else that must change the key (e.g. lading's own version). */
  salt?: string;
}

/** A hex sha256 naming the resolution of these inputs. */
export function resolutionKey(parts: ResolutionKeyParts): string {
  const h = createHash('sha256');
  h.update(
    JSON.stringify({
      v: RESOLVER_VERSION,
      salt: parts.salt ?? '',
      arch: parts.arch,
      repositories: parts.repositories.map((r) => [
        r.repository,
        r.tag ?? '',
        r.digest,
        r.available !== false,
      ]),
      world: parts.world,
      options: {
        flags: parts.options?.flags ?? 0,
        nameFlags: parts.options?.nameFlags ?? [],
        forceBrokenWorld: parts.options?.forceBrokenWorld ?? false,
        selfUpgrade: parts.options?.selfUpgrade ?? false,
        apk3InstallIf: parts.options?.apk3InstallIf ?? false,
      },
    }),
  );
  for (const p of parts.installed ?? [])
    h.update(`\n${p.tag ?? ''}\n${formatIndexRecord(p.info, { installed: true })}\n`);
  return h.digest('hex');
}

/** The resolution as JSON text (stable for equal resolutions). */
export function encodeResolution(r: Resolution): string {
  return JSON.stringify({ v: RESOLVER_VERSION, ...r });
}

/** Reads what encodeResolution wrote; throws LadingError('RESOLUTION_CACHE_CORRUPT') on anything else. */
export function decodeResolution(text: string, file?: string): Resolution {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw corrupt(file, 'not JSON', e);
  }
  const r = data as Partial<Resolution> & { v?: unknown };
  if (
    r === null ||
    typeof r !== 'object' ||
    r.v !== RESOLVER_VERSION ||
    !Array.isArray(r.packages) ||
    !Array.isArray(r.world) ||
    !Array.isArray(r.edges) ||
    !Array.isArray(r.changes) ||
    !r.packages.every(
      (p) => p && typeof p.name === 'string' && typeof p.version === 'string' && Array.isArray(p.depends),
    )
  ) {
    throw corrupt(file, 'not a resolution of this lading version');
  }
  return { packages: r.packages, world: r.world, edges: r.edges, changes: r.changes };
}

function corrupt(file: string | undefined, why: string, cause?: unknown): LadingError {
  return new LadingError('RESOLUTION_CACHE_CORRUPT', `cached resolution is unusable: ${why}`, {
    file,
    cause,
    hint: 'delete it; the next run resolves again',
  });
}
