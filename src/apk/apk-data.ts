/**
 * The entries of a package's data tar, checked for safety: clean relative paths, hardlinks to earlier
 * files of the same package, no entry below one of the package's own symlinks, and (by default) no
 * relative symlink that climbs above the image root.
 */
import { createHash } from 'node:crypto';
import { entryData, readTar, type TarEntry } from '../tar/reader.ts';
import { LadingError, withFile } from '../util/errors.ts';
import { safeEntryPath, symlinkEscapes } from './paths.ts';

export interface ApkDataEntry extends TarEntry {
  /** The clean relative path (safeEntryPath of `name`). */
  path: string;
  /** For hardlinks, the clean path of the file linked to. */
  linkPath?: string;
  /** Hex SHA-1 from the `APK-TOOLS.checksum.SHA1` PAX record (hex or `Q1` base64 accepted). */
  sha1?: string;
}

export interface ListApkDataOptions {
  file?: string;
  /** Accept relative symlinks that climb above the root (default false: they are an error). */
  allowEscapingSymlinks?: boolean;
}

export const CHECKSUM_PAX_KEY = 'APK-TOOLS.checksum.SHA1';

function bad(message: string, file?: string): LadingError {
  return new LadingError('APK_BAD_DATA', message, {
    file,
    hint: 'the package is broken or malicious; do not install it',
  });
}

/** The hex SHA-1 of a checksum PAX value, or throws for a malformed one. */
export function parseChecksumValue(value: string, entry: string, file?: string): string {
  if (/^[0-9a-fA-F]{40}$/.test(value)) return value.toLowerCase();
  if (value.startsWith('Q1')) {
    const raw = Buffer.from(value.slice(2), 'base64');
    if (raw.length === 20 && raw.toString('base64') === value.slice(2)) return raw.toString('hex');
  }
  throw bad(`${entry}: malformed ${CHECKSUM_PAX_KEY} ${JSON.stringify(value.slice(0, 60))}`, file);
}

/**
 * Lists and checks the entries of a data tar, in archive order. Entries naming the root itself
 * (`./`) are dropped. Throws a LadingError for unsafe paths and broken links.
 */
export function listApkData(tar: Buffer, options: ListApkDataOptions = {}): ApkDataEntry[] {
  const file = options.file;
  try {
    return listUnchecked(tar, options);
  } catch (e) {
    throw file === undefined ? e : withFile(e, file);
  }
}

function listUnchecked(tar: Buffer, options: ListApkDataOptions): ApkDataEntry[] {
  const file = options.file;
  const out: ApkDataEntry[] = [];
  const types = new Map<string, TarEntry['type']>();
  const symlinks = new Set<string>();
  for (const e of readTar(tar)) {
    if (/^(\.\/?)+$/.test(e.name)) continue; // the root directory itself
    const path = safeEntryPath(e.name, file);
    if (symlinks.size > 0) {
      for (let i = path.indexOf('/'); i > 0; i = path.indexOf('/', i + 1)) {
        if (symlinks.has(path.slice(0, i))) {
          throw bad(`${path} lies below ${path.slice(0, i)}, a symlink of the same package`, file);
        }
      }
    }
    const entry = e as ApkDataEntry;
    entry.path = path;
    const sum = e.pax[CHECKSUM_PAX_KEY];
    if (sum !== undefined) entry.sha1 = parseChecksumValue(sum, path, file);
    if (e.type === 'hardlink') {
      const target = safeEntryPath(e.linkname, file);
      if (types.get(target) !== 'file') {
        throw bad(`hardlink ${path} points to ${target}, which is not an earlier file of the package`, file);
      }
      entry.linkPath = target;
    } else if (e.type === 'symlink') {
      if (e.linkname === '') throw bad(`symlink ${path} has an empty target`, file);
      if (!options.allowEscapingSymlinks && symlinkEscapes(path, e.linkname)) {
        throw bad(`symlink ${path} -> ${e.linkname} points outside the image root`, file);
      }
      symlinks.add(path);
    }
    types.set(path, e.type);
    out.push(entry);
  }
  return out;
}

/**
 * Checks every regular file's content (and symlink target) against its `APK-TOOLS.checksum.SHA1`.
 * Throws naming the first entry that does not match.
 */
export function checkDataChecksums(tar: Buffer, entries: readonly ApkDataEntry[], file?: string): void {
  for (const e of entries) {
    if (e.sha1 === undefined) continue;
    let actual: string;
    if (e.type === 'file') actual = createHash('sha1').update(entryData(tar, e)).digest('hex');
    else if (e.type === 'symlink') actual = createHash('sha1').update(e.linkname).digest('hex');
    else continue; // hardlinks carry their target's checksum (melange) or none (abuild)
    if (actual !== e.sha1) {
      throw new LadingError(
        'APK_FILE_CHECKSUM_MISMATCH',
        `${e.path}: content does not match its ${CHECKSUM_PAX_KEY}`,
        {
          file,
          hint: 'the package is damaged; download or rebuild it',
        },
      );
    }
  }
}
