/**
 * apk dependency strings, as in APKINDEX `D:`/`p:`/`i:`, `.PKGINFO` `depend`, `etc/apk/world` and the
 * config's package list: `[!]name[@tag][op version]` (apk-tools' apk_blob_pull_dep).
 *
 * - `name` may contain `:` and `/` (`so:libc.musl-x86_64.so.1`, `cmd:sh`, `pc:zlib`, `/bin/sh`).
 * - `op` is any run of `<`, `>`, `=`, `~` as apk accepts it (`=`, `<`, `>`, `<=`, `>=`, `~`, `=~`, `<~`, `>~`,
 *   also `==`, `=<`, `=>`); `><` and `<>` mean "the package with this checksum" (`name><Q1…`).
 * - the tag comes before the operator (`a@testing>=3`); `a>=3@testing` is not a dependency.
 * The operator is kept as written so that formatting gives back the exact text.
 */
import { LadingError } from '../util/errors.ts';
import {
  DEFAULT_VERSION_RULES,
  DEPMASK_ANY,
  DEPMASK_CHECKSUM,
  isValidVersion,
  type VersionRules,
  versionMatches,
  versionOpMask,
} from './version.ts';

export interface Dependency {
  name: string;
  /** `!name…`: no package matching the rest may be installed. */
  conflict: boolean;
  /** Repository tag from `name@tag`. */
  tag?: string;
  /** The operator as written (`''` when there is no version). */
  op: string;
  /** VERSION_* bits of the operator; DEPMASK_ANY without a version, DEPMASK_CHECKSUM for `><`. */
  mask: number;
  /** The version (or, for `><`, the package checksum); absent when there is no operator. */
  version?: string;
}

export interface ParseDependencyOptions {
  rules?: VersionRules;
  /** Where the text came from, for the error (a config file, an index). */
  file?: string;
  line?: number;
  column?: number;
  /** What the text is, for the error message: "world entry", "dependency of foo-1.0-r0". */
  what?: string;
}

const isOpChar = (c: number): boolean => c === 60 || c === 61 || c === 62 || c === 126; // < = > ~

/** A name/tag character: printable ASCII other than space and the characters with a meaning here. */
function badNameChar(s: string): number {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c <= 32 || c >= 127 || c === 64 /* @ */ || isOpChar(c)) return i;
  }
  return -1;
}

function fail(text: string, reason: string, options: ParseDependencyOptions): never {
  const what = options.what ?? 'dependency';
  throw new LadingError('DEPENDENCY_INVALID', `invalid ${what} ${JSON.stringify(text)}: ${reason}`, {
    file: options.file,
    line: options.line,
    column: options.column,
    hint: 'the format is [!]name[@tag][op version] with op one of = < > <= >= ~ (e.g. busybox, so:libc.musl-x86_64.so.1, python3~3.11, curl@edge>=8)',
  });
}

/** Parses one dependency; throws LadingError('DEPENDENCY_INVALID') naming the text and the problem. */
export function parseDependency(text: string, options: ParseDependencyOptions = {}): Dependency {
  const dep = tryParseDependency(text, options.rules);
  if (typeof dep !== 'string') return dep;
  return fail(text, dep, options);
}

/** Like parseDependency, but returns the reason as a string instead of throwing (for hot paths). */
export function tryParseDependency(
  text: string,
  rules: VersionRules = DEFAULT_VERSION_RULES,
): Dependency | string {
  if (typeof text !== 'string') return 'not a string';
  let start = 0;
  const conflict = text.charCodeAt(0) === 33; /* ! */
  if (conflict) start = 1;
  let opStart = start;
  while (opStart < text.length && !isOpChar(text.charCodeAt(opStart))) opStart++;
  let opEnd = opStart;
  while (opEnd < text.length && isOpChar(text.charCodeAt(opEnd))) opEnd++;
  const nameAndTag = text.slice(start, opStart);
  const at = nameAndTag.indexOf('@');
  const name = at === -1 ? nameAndTag : nameAndTag.slice(0, at);
  const tag = at === -1 ? undefined : nameAndTag.slice(at + 1);
  if (name.length === 0) return 'the package name is empty';
  const badName = badNameChar(name);
  if (badName !== -1) return `character ${JSON.stringify(name[badName])} is not allowed in a package name`;
  if (name.charCodeAt(0) === 33) return 'a name cannot start with "!" (use one "!" for a conflict)';
  if (tag !== undefined) {
    if (tag.length === 0) return 'the repository tag after "@" is empty';
    const badTag = badNameChar(tag);
    if (badTag !== -1) return `character ${JSON.stringify(tag[badTag])} is not allowed in a repository tag`;
  }
  if (opStart === text.length) {
    const dep: Dependency = { name, conflict, op: '', mask: DEPMASK_ANY };
    if (tag !== undefined) dep.tag = tag;
    return dep;
  }
  const op = text.slice(opStart, opEnd);
  const version = text.slice(opEnd);
  const mask = versionOpMask(op);
  if (version.length === 0) return `no version after "${op}"`;
  if ((mask & DEPMASK_ANY) === DEPMASK_ANY)
    return `"${op}" allows every version; write just the name to accept any version`;
  if (mask === DEPMASK_CHECKSUM) {
    if (!/^[A-Za-z0-9+/]+=*$/.test(version)) return `"${version}" is not a package checksum`;
  } else if (!isValidVersion(version, rules)) {
    if (version.includes('@')) return 'the repository tag goes before the version (name@tag=version)';
    return `"${version}" is not a valid apk version`;
  }
  const dep: Dependency = { name, conflict, op, mask, version };
  if (tag !== undefined) dep.tag = tag;
  return dep;
}

/** The dependency as text; gives back exactly what parseDependency read. */
export function formatDependency(dep: Dependency): string {
  return `${dep.conflict ? '!' : ''}${dep.name}${dep.tag !== undefined ? `@${dep.tag}` : ''}${dep.op}${dep.version ?? ''}`;
}

/** Splits a space-separated list (an index `D:` line, a world file) and parses each entry. */
export function parseDependencyList(text: string, options: ParseDependencyOptions = {}): Dependency[] {
  const out: Dependency[] = [];
  for (const word of text.split(/[ \t\n]+/)) if (word.length > 0) out.push(parseDependency(word, options));
  return out;
}

/**
 * apk_dep_is_provided: whether a package providing `dep.name` satisfies `dep`.
 * `providedVersion` is the version it provides the name at (`null` for an unversioned, virtual provide);
 * `checksum` is the package's `C:` for `><` dependencies. A conflict is satisfied when the provider
 * does *not* match. Pass `provider: null` to ask whether "nothing installed" satisfies it.
 */
export function dependencySatisfiedBy(
  dep: Dependency,
  provider: { version: string | null; checksum?: string } | null,
  rules: VersionRules = DEFAULT_VERSION_RULES,
): boolean {
  if (provider === null) return dep.conflict;
  if (dep.mask === DEPMASK_ANY) return !dep.conflict;
  if (dep.mask === DEPMASK_CHECKSUM) return (provider.checksum === dep.version) !== dep.conflict;
  if (provider.version === null || dep.version === undefined) return dep.conflict;
  return versionMatches(provider.version, dep.mask, dep.version, rules) !== dep.conflict;
}
