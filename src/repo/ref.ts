/**
 * Repository references: one configured repository entry (`@tag https://…`, `file:///…` or a local
 * directory) parsed into where its index and packages live. Credentials from URL userinfo are kept
 * in a BasicCredentials object that prints as "<redacted>", never in a string field.
 */

import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BasicCredentials } from '../net/auth.ts';
import { LadingError } from '../util/errors.ts';
import { redactUrl, splitUserinfo } from '../util/redact.ts';

export type RepositoryKind = 'http' | 'local';

export interface RepositoryRef {
  /** The repository for people and for files written into images: credentials removed, no trailing `/`, no tag. */
  display: string;
  /** Set when the entry was `@tag REPOSITORY`. */
  tag?: string;
  kind: RepositoryKind;
  /** http: the normalised URL without userinfo and trailing `/`; local: the absolute directory path. */
  base: string;
  /** Basic-auth credentials from the URL's userinfo (http only). */
  credentials?: BasicCredentials;
}

/** Tags appear in dependency names (`pkg@tag`), so they must not contain operators or spaces. */
const TAG = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;
const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):/;

/**
 * Parses one repository entry. Local paths resolve against `cwd` (default: the process's working
 * directory). An entry starting with `@` always carries a tag: write `./@dir` for such a directory.
 */
export function parseRepositoryRef(
  entry: string,
  options: { cwd?: string; file?: string } = {},
): RepositoryRef {
  const fail = (message: string, hint?: string): never => {
    throw new LadingError('REPO_INVALID_REF', message, { file: options.file, hint });
  };
  let rest = entry.trim();
  if (rest === '') fail('empty repository entry', 'write a URL (https://…), file:///… or a directory path');
  let tag: string | undefined;
  if (rest.startsWith('@')) {
    const m = /^@(\S*)\s+(\S.*)$/s.exec(rest);
    if (!m) {
      fail(
        `repository entry ${JSON.stringify(redactUrl(rest))} starts with @ but is not "@TAG REPOSITORY"`,
        'write "@tag https://example.com/repo", or "./@dir" for a directory whose name starts with @',
      );
    }
    tag = m![1]!;
    if (!TAG.test(tag)) {
      fail(
        `invalid repository tag ${JSON.stringify(tag)}`,
        'tags start with a letter or digit and contain only letters, digits and . _ + -',
      );
    }
    rest = m![2]!.trim();
  }
  if (/\s/.test(rest)) {
    fail(
      `repository entry ${JSON.stringify(redactUrl(rest))} contains whitespace`,
      'one repository per entry',
    );
  }
  const scheme = SCHEME.exec(rest)?.[1]?.toLowerCase();
  // A one-letter "scheme" would be a Windows drive letter; treat it as a path (and let it fail to exist).
  if (scheme !== undefined && scheme.length > 1 && rest.includes('://')) {
    if (scheme === 'http' || scheme === 'https') return parseHttp(rest, tag, fail);
    if (scheme === 'file') return parseFileUrl(rest, tag, fail);
    fail(
      `unsupported repository scheme "${scheme}:" in ${JSON.stringify(redactUrl(rest))}`,
      'use http://, https://, file:// or a directory path',
    );
  }
  const display = trimSlashes(rest);
  const base = resolve(options.cwd ?? process.cwd(), rest);
  return withTag({ display, kind: 'local', base }, tag);
}

function parseHttp(
  text: string,
  tag: string | undefined,
  fail: (m: string, h?: string) => never,
): RepositoryRef {
  // the userinfo is split off first: a password may hold `/`, `?` or `#`, which `new URL` takes for the path
  const { userinfo, rest } = splitUserinfo(text);
  let url: URL;
  try {
    url = new URL(rest);
  } catch {
    return fail(`invalid repository URL ${JSON.stringify(redactUrl(text))}`);
  }
  if (url.search !== '' || url.hash !== '' || rest.includes('?') || rest.includes('#')) {
    fail(
      `repository URL ${JSON.stringify(redactUrl(text))} has a query or fragment`,
      'the index and packages are found by appending /ARCH/FILE to the URL, so it must end with a path',
    );
  }
  let credentials: BasicCredentials | undefined;
  if (userinfo !== undefined && userinfo !== '' && userinfo !== ':') {
    const colon = userinfo.indexOf(':');
    const user = colon < 0 ? userinfo : userinfo.slice(0, colon);
    const password = colon < 0 ? '' : userinfo.slice(colon + 1);
    try {
      credentials = new BasicCredentials(decodeURIComponent(user), decodeURIComponent(password));
    } catch {
      fail(
        'repository URL has badly percent-encoded credentials',
        'write a % in a user name or password as %25',
      );
    }
  }
  const base = `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}`;
  return withTag({ display: base, kind: 'http', base, credentials }, tag);
}

function parseFileUrl(
  text: string,
  tag: string | undefined,
  fail: (m: string, h?: string) => never,
): RepositoryRef {
  let path: string;
  try {
    const url = new URL(text);
    if (url.search !== '' || url.hash !== '') throw new Error('query');
    path = fileURLToPath(url);
  } catch {
    return fail(
      `invalid file URL ${JSON.stringify(redactUrl(text))}`,
      'write file:///absolute/path (no host, query or fragment)',
    );
  }
  return withTag({ display: trimSlashes(text), kind: 'local', base: trimSlashes(path) || '/' }, tag);
}

function withTag(ref: RepositoryRef, tag: string | undefined): RepositoryRef {
  if (ref.credentials === undefined) delete ref.credentials;
  if (tag !== undefined) ref.tag = tag;
  return ref;
}

function trimSlashes(s: string): string {
  const t = s.replace(/\/+$/, '');
  return t === '' && s.startsWith('/') ? '/' : t;
}

/** The entry as written to `/etc/apk/repositories` or printed: `@tag display` (never credentials). */
export function formatRepositoryEntry(ref: RepositoryRef): string {
  return ref.tag === undefined ? ref.display : `@${ref.tag} ${ref.display}`;
}

/** Checks one path component that comes from an index (untrusted): no separators, not `.`/`..`, no NUL. */
export function assertSafeComponent(what: string, value: string): void {
  if (value === '' || value === '.' || value === '..' || /[/\\\0]/.test(value)) {
    throw new LadingError(
      'REPO_INVALID_NAME',
      `invalid ${what} ${JSON.stringify(value)}: not a safe file name`,
      {
        hint: 'the repository index lists a name that cannot be a file name; the index may be corrupt or malicious',
      },
    );
  }
}

/**
 * Encodes one URL path segment the way apk-tools sends it: characters allowed in a path segment stay
 * as they are (notably `+`, which some static hosts do not decode from %2B), everything else is escaped.
 */
export function encodePathSegment(s: string): string {
  return s.replace(/[^A-Za-z0-9\-._~!$&'()*+,;=:@]/gu, (c) => encodeURIComponent(c));
}

/** Where a repository file lives: an absolute path (local) or a URL without credentials (http). */
export function repositoryFile(ref: RepositoryRef, arch: string, file: string): string {
  assertSafeComponent('architecture', arch);
  assertSafeComponent('file name', file);
  if (ref.kind === 'local') return join(ref.base, arch, file);
  return `${ref.base}/${encodePathSegment(arch)}/${encodePathSegment(file)}`;
}

/** `<repo>/<arch>/APKINDEX.tar.gz` */
export function indexLocation(ref: RepositoryRef, arch: string): string {
  return repositoryFile(ref, arch, 'APKINDEX.tar.gz');
}

/** `<repo>/<arch>/<name>-<version>.apk` */
export function packageLocation(
  ref: RepositoryRef,
  arch: string,
  pkg: { name: string; version: string },
): string {
  assertSafeComponent('package name', pkg.name);
  assertSafeComponent('package version', pkg.version);
  return repositoryFile(ref, arch, `${pkg.name}-${pkg.version}.apk`);
}

/** A key given as a local path (relative to cwd), a file:// URL or an http(s) URL. */
export type KeySource =
  | { kind: 'local'; path: string; display: string }
  | { kind: 'http'; url: string; display: string; credentials?: BasicCredentials };

export function parseKeySource(text: string, options: { cwd?: string; file?: string } = {}): KeySource {
  const t = text.trim();
  if (t === '') {
    throw new LadingError('REPO_INVALID_REF', 'empty keyring entry', {
      file: options.file,
      hint: 'write a path to a .rsa.pub file or an https:// URL',
    });
  }
  const scheme = SCHEME.exec(t)?.[1]?.toLowerCase();
  if (scheme !== undefined && scheme.length > 1 && t.includes('://')) {
    if (scheme === 'http' || scheme === 'https' || scheme === 'file') {
      // A key URL is parsed like a repository URL; keys are files, so a trailing `/` is not trimmed meaningfully.
      const ref = parseRepositoryRef(t, options);
      if (ref.kind === 'local') return { kind: 'local', path: ref.base, display: ref.display };
      const source: KeySource = { kind: 'http', url: ref.base, display: ref.display };
      if (ref.credentials) source.credentials = ref.credentials;
      return source;
    }
    throw new LadingError('REPO_INVALID_REF', `unsupported key URL scheme "${scheme}:"`, {
      file: options.file,
      hint: 'use a path, file://, http:// or https://',
    });
  }
  const path = isAbsolute(t) ? t : resolve(options.cwd ?? process.cwd(), t);
  return { kind: 'local', path, display: t };
}
