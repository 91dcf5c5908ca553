/**
 * A lock's packages by architecture, and where each one's file is. Architecture names are compared in one
 * spelling (lading's canonical one): apko once compared two spellings and built an empty world (apko PR #1731).
 */
import { type Arch, tryParseArch } from '../platform/arch.ts';
import { LadingError } from '../util/errors.ts';
import type { LockFile, LockPackage } from './format.ts';

/** The architecture a lock entry belongs to; `noarch` entries (apko writes the package's own A:) by their URL. */
function entryArch(p: LockPackage, previous: Arch | undefined, file: string): Arch {
  const own = tryParseArch(p.architecture);
  if (own !== undefined) return own;
  if (p.architecture === 'noarch') {
    const dir = p.url.split('/').at(-2) ?? '';
    const fromUrl = tryParseArch(dir);
    if (fromUrl !== undefined) return fromUrl;
    if (previous !== undefined) return previous;
  }
  throw new LadingError(
    'LOCK_INVALID',
    `package ${p.name}-${p.version} is locked for an unknown architecture ${JSON.stringify(p.architecture)}`,
    { file, hint: 'regenerate the lock with `lading lock CONFIG`' },
  );
}

/** The lock's packages per architecture, architectures in the order the lock lists them, packages in lock order. */
export function lockedByArch(lock: LockFile, file: string): Map<Arch, LockPackage[]> {
  const out = new Map<Arch, LockPackage[]>();
  let previous: Arch | undefined;
  for (const p of lock.contents.packages) {
    const arch = entryArch(p, previous, file);
    previous = arch;
    let list = out.get(arch);
    if (list === undefined) out.set(arch, (list = []));
    list.push(p);
  }
  return out;
}

/**
 * Splits a locked package URL, `<repository>/<dir>/<name>-<version>.apk`, into the repository and the
 * directory (an architecture, or `noarch`); throws LOCK_INVALID when the file name is not the package's.
 */
export function splitPackageUrl(p: LockPackage, file: string): { repository: string; dir: string } {
  const parts = p.url.split('/');
  const base = parts.pop() ?? '';
  const dir = parts.pop() ?? '';
  const expected = `${p.name}-${p.version}.apk`;
  let name = base;
  try {
    if (/^https?:/i.test(p.url)) name = decodeURIComponent(base);
  } catch {}
  if (name !== expected || dir === '' || parts.length === 0) {
    throw new LadingError(
      'LOCK_INVALID',
      `the url of locked package ${p.name}-${p.version} is ${JSON.stringify(p.url)}, not REPOSITORY/ARCH/${expected}`,
      { file, hint: 'the lock was edited or is damaged; regenerate it with `lading lock CONFIG`' },
    );
  }
  return { repository: parts.join('/'), dir };
}

/** A repository entry without `@tag ` and without http(s)://, as apko names it in a lock. */
export function lockRepositoryName(entry: string): string {
  return stripScheme(withoutTag(entry));
}

/** `@tag repo` → `repo` (apko's RemoveLabel). */
export function withoutTag(entry: string): string {
  let s = entry.trim();
  while (s.startsWith('@')) {
    const space = s.search(/\s/);
    if (space < 0) break;
    s = s.slice(space).trim();
  }
  return s;
}

export function stripScheme(url: string): string {
  return url.replace(/^https:\/\//, '').replace(/^http:\/\//, '');
}
