/**
 * What a package may contain: one set of rules, applied by `verify`, `index`, `package` and `build` alike, so
 * a package one of them accepts is never refused by another. A package that breaks one is broken or
 * malicious; nothing it contains is used.
 *
 * - entry names are clean relative paths (no absolute path, `..`, NUL or control character such as a newline),
 *   at most PATH_MAX bytes as an absolute path and NAME_MAX bytes per component, so any tar tool and kernel
 *   can unpack the image;
 * - no name is an OCI whiteout (`.wh.NAME`, `.wh..wh..opq`): in a layer it would delete another layer's files;
 * - owner ids are 0 … 2^32−2 ((uid_t)−1 means "no change" to chown, and tar tools refuse larger ones);
 * - every entry's parent directory comes earlier in the archive (so checking a path costs one look-up, however
 *   deep it is), and nothing lies below one of the package's own symlinks;
 * - hard links point to an earlier regular file of the package; symlink targets are not empty, hold no NUL and
 *   fit PATH_MAX (targets that climb above the root are allowed: they resolve inside the image, as under chroot);
 * - overlayfs xattrs (`trusted.overlay.*`, `user.overlay.*`) are dropped: they would steer an overlay mount;
 * - names and versions are single words that can be file names (`NAME-VERSION.apk`), with no `/`.
 */

import type { TarEntry } from '../tar/reader.ts';
import { LadingError } from '../util/errors.ts';

/** Linux PATH_MAX: an absolute path with its terminating NUL. */
export const PATH_MAX = 4096;
/** Linux NAME_MAX: one path component. */
export const NAME_MAX = 255;
/** The largest owner id: (uid_t)−1 means "no change" to chown. */
export const MAX_OWNER_ID = 4294967294;

const CONTROL = /[\x00-\x1f\x7f]/;
const WHITEOUT_PREFIX = '.wh.';
const OVERLAY_XATTR = /^(trusted|user)\.overlay\./;

function bad(message: string, file?: string, code = 'APK_BAD_DATA'): LadingError {
  return new LadingError(code, message, {
    file,
    hint: 'the package is broken or malicious; do not install it',
  });
}

function unsafe(message: string, file?: string): LadingError {
  return bad(message, file, 'APK_UNSAFE_PATH');
}

/** A name quoted for a message: JSON (control characters escaped), long ones cut. */
function quote(name: string): string {
  const q = JSON.stringify(name);
  return q.length > 200 ? `${q.slice(0, 120)}…" (${Buffer.byteLength(name)} bytes)` : q;
}

/**
 * A tar entry name as a clean relative path (`usr/bin/x`), or throws. `what` names it in messages
 * ("entry", "hard link target").
 */
export function cleanEntryPath(name: string, file?: string, what = 'entry'): string {
  if (name.includes('\0')) throw unsafe(`${what} ${quote(name)} contains a NUL byte`, file);
  if (CONTROL.test(name)) throw unsafe(`${what} ${quote(name)} contains a control character`, file);
  if (name.startsWith('/')) throw unsafe(`${what} ${quote(name)} is an absolute path`, file);
  const parts: string[] = [];
  for (const part of name.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') throw unsafe(`${what} ${quote(name)} contains a ".." component`, file);
    if (Buffer.byteLength(part) > NAME_MAX) {
      throw unsafe(`${what} ${quote(name)} has a component longer than ${NAME_MAX} bytes (NAME_MAX)`, file);
    }
    parts.push(part);
  }
  if (parts.length === 0) throw unsafe(`${what} ${quote(name)} is empty or names the root directory`, file);
  const path = parts.join('/');
  if (Buffer.byteLength(path) + 2 > PATH_MAX) {
    throw unsafe(
      `${what} ${quote(name)} is longer than PATH_MAX (${PATH_MAX} bytes with its leading / and NUL)`,
      file,
    );
  }
  return path;
}

/** True for tar names that stand for the root directory itself (`./`, `.`): skipped, never installed. */
export function isRootEntry(name: string): boolean {
  return /^(\.\/?)+$/.test(name);
}

/** Checks a package's name and version (from .PKGINFO or an index record) can name its file and its index line. */
export function checkPackageIdentity(pkg: { name: string; version: string }, file?: string): void {
  for (const [what, value] of [
    ['name', pkg.name],
    ['version', pkg.version],
  ] as const) {
    if (value === '' || value === '.' || value === '..' || /[\s/\\=<>~]/.test(value) || CONTROL.test(value)) {
      throw new LadingError('APK_BAD_IDENTITY', `package ${what} ${quote(value)} is not valid`, {
        file,
        hint: `a package ${what} is one word that can be part of a file name: no spaces, control characters or / \\ = < > ~`,
      });
    }
  }
}

export interface CheckedEntry {
  /** The clean relative path. */
  path: string;
  /** For hard links, the clean path of the file linked to. */
  linkPath?: string;
  /** Overlay xattrs removed from the entry. */
  dropped?: string[];
}

/**
 * Checks a package's data-tar entries in archive order. Keeps one map entry per path, so checking stays linear
 * in the archive's size whatever its depth.
 */
export class PackageContentRules {
  readonly #file: string | undefined;
  /** Path → type of the entries seen so far ('' is the root). */
  readonly #types = new Map<string, TarEntry['type']>([['', 'directory']]);

  constructor(file?: string) {
    this.#file = file;
  }

  /**
   * Checks one entry; removes overlay xattrs from it. Returns undefined for the root directory entry (which
   * installs nothing), else its clean path.
   */
  check(entry: TarEntry): CheckedEntry | undefined {
    const file = this.#file;
    if (isRootEntry(entry.name)) return undefined;
    const path = cleanEntryPath(entry.name, file);
    const slash = path.lastIndexOf('/');
    const base = path.slice(slash + 1);
    if (base.startsWith(WHITEOUT_PREFIX)) {
      throw bad(
        `${quote(path)} is an OCI whiteout name (.wh.*): in an image layer it would delete files`,
        file,
      );
    }
    for (const [what, id] of [
      ['uid', entry.uid],
      ['gid', entry.gid],
    ] as const) {
      if (!Number.isSafeInteger(id) || id < 0 || id > MAX_OWNER_ID) {
        throw bad(`${path}: ${what} ${id} is out of range (0 to ${MAX_OWNER_ID})`, file);
      }
    }
    const parent = slash < 0 ? '' : path.slice(0, slash);
    const parentType = this.#types.get(parent);
    if (parentType === 'symlink')
      throw bad(`${path} lies below ${parent}, a symlink of the same package`, file);
    if (parentType !== 'directory') {
      throw bad(
        parentType === undefined
          ? `${path}: its directory ${parent} is not earlier in the archive`
          : `${path}: ${parent} is a ${parentType}, not a directory`,
        file,
      );
    }
    const out: CheckedEntry = { path };
    if (entry.type === 'hardlink') {
      const target = cleanEntryPath(entry.linkname, file, `hard link ${path} target`);
      if (this.#types.get(target) !== 'file') {
        throw bad(`hard link ${path} points to ${target}, which is not an earlier file of the package`, file);
      }
      out.linkPath = target;
    } else if (entry.type === 'symlink') {
      const target = entry.linkname;
      if (target === '') throw bad(`symlink ${path} has an empty target`, file);
      if (target.includes('\0')) throw bad(`symlink ${path} has a target with a NUL byte`, file);
      if (Buffer.byteLength(target) >= PATH_MAX) {
        throw bad(`symlink ${path} has a target longer than ${PATH_MAX - 1} bytes (PATH_MAX)`, file);
      }
    }
    const dropped = Object.keys(entry.xattrs).filter((k) => OVERLAY_XATTR.test(k));
    if (dropped.length > 0) {
      for (const k of dropped) delete entry.xattrs[k];
      out.dropped = dropped;
    }
    this.#types.set(path, entry.type);
    return out;
  }
}
