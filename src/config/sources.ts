/**
 * Repository and key locations as written in a config: `@tag ` prefixes, URLs versus local paths, and
 * credential redaction. Relative local paths are relative to the working directory, as in apko.
 */
import { isAbsolute, resolve } from 'node:path';
import { redactUrl } from '../util/log.ts';

export interface RepositoryRef {
  /** The tag without `@` (`edge` for `@edge https://…`), when tagged. */
  tag?: string;
  /** URL or local path, trailing `/` removed. */
  location: string;
}

/** Splits `@tag location` (apko/apk-tools syntax for tagged repositories). */
export function parseRepository(entry: string): RepositoryRef {
  const m = /^@(\S+)\s+(\S+)$/.exec(entry.trim());
  const location = (m ? m[2]! : entry.trim()).replace(/\/+$/, '') || '/';
  return m ? { tag: m[1]!, location } : { location };
}

export function formatRepository(ref: RepositoryRef): string {
  return ref.tag === undefined ? ref.location : `@${ref.tag} ${ref.location}`;
}

/** Whether a location is fetched over the network (`http://`, `https://`, or any `scheme://`). */
export function isUrl(location: string): boolean {
  return /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//.test(location);
}

/** An absolute path for a local location (relative to `cwd`); URLs are returned unchanged. */
export function resolveLocation(location: string, cwd: string = process.cwd()): string {
  const path = location.startsWith('file://') ? location.slice('file://'.length) : location;
  if (path === location && isUrl(location)) return location;
  return isAbsolute(path) ? path : resolve(cwd, path);
}

/** A repository entry with any `user:password@` removed from its URL (tag kept). */
export function redactRepository(entry: string): string {
  const m = /^(@\S+\s+)(\S+)$/.exec(entry);
  return m ? `${m[1]}${redactUrl(m[2]!)}` : redactUrl(entry);
}
