/**
 * The lock file: apko's `*.lock.json`, version `v1`, read and written byte for byte as apko writes it
 * (Go's `json.MarshalIndent(lock, "", "  ")` plus a newline), so a lock made by either tool is read by both.
 *
 * The types use the file's own field names. Reading is lenient where apko is (unknown fields ignored, missing
 * lists empty) and strict about what a build relies on (every string a string, a known version).
 */
import * as z from 'zod';
import { LadingError } from '../util/errors.ts';

export const LOCK_VERSION = 'v1';

/** A byte range of the `.apk` (`bytes=A-B`, both ends inclusive) and the SRI-style checksum of those bytes. */
export interface LockRange {
  range: string;
  checksum: string;
}

export interface LockPackage {
  name: string;
  /** `<repository>/<dir>/<name>-<version>.apk`: where the package was resolved from. */
  url: string;
  version: string;
  /** The apk architecture the package is locked for (`x86_64`). */
  architecture: string;
  /** The signature gzip member; both empty for an unsigned package. */
  signature: LockRange;
  /** The control gzip member (`sha1-`). */
  control: LockRange;
  /** The data gzip member(s) (`sha256-`). */
  data: LockRange;
  /** The index's `C:`: `Q1` + base64 SHA-1 of the control member (missing in locks of apko before 0.13). */
  checksum: string;
}

export interface LockRepository {
  /** `<repository without http(s)://>/<arch>` */
  name: string;
  /** `<repository>/<arch>/APKINDEX.tar.gz` */
  url: string;
  architecture: string;
}

export interface LockKey {
  /** The key's URL without `http(s)://`, or its path. */
  name: string;
  /** As configured. */
  url: string;
  /** The key itself (PEM), so a build still has it when the URL has gone. */
  content?: string;
}

export interface LockFile {
  version: string;
  config?: {
    /** The config path as given to `lock`. */
    name?: string;
    /** `sha256-<base64>` over the config and its includes (see LoadedConfig.checksum). */
    checksum?: string;
  };
  contents: {
    keyring: LockKey[];
    build_repositories: LockRepository[];
    runtime_repositories: LockRepository[];
    repositories: LockRepository[];
    /** Every architecture's packages, one architecture after another, each in install order. */
    packages: LockPackage[];
  };
}

const range = z.object({ range: z.string(), checksum: z.string() });
const noRange: LockRange = { range: '', checksum: '' };
const repository = z.object({ name: z.string(), url: z.string(), architecture: z.string() });
const list = <T extends z.ZodType>(item: T) => z.array(item).nullish();

const lockSchema = z.object({
  version: z.string(),
  config: z.object({ name: z.string().optional(), checksum: z.string().optional() }).nullish(),
  contents: z.object({
    keyring: list(z.object({ name: z.string(), url: z.string(), content: z.string().optional() })),
    build_repositories: list(repository),
    runtime_repositories: list(repository),
    repositories: list(repository),
    packages: list(
      z.object({
        name: z.string(),
        url: z.string(),
        version: z.string(),
        architecture: z.string(),
        signature: range.nullish(),
        control: range.nullish(),
        data: range.nullish(),
        checksum: z.string().optional(),
      }),
    ),
  }),
});

const REGENERATE = 'regenerate it with `lading lock CONFIG`';

/** Parses a lock file's text; `file` names it in errors. Throws LOCK_INVALID or LOCK_VERSION. */
export function parseLock(text: string, file: string): LockFile {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new LadingError('LOCK_INVALID', `not a lock file: ${(e as Error).message}`, {
      file,
      hint: REGENERATE,
    });
  }
  const version = (json as { version?: unknown } | null)?.version;
  if (typeof version === 'string' && version !== LOCK_VERSION) {
    throw new LadingError(
      'LOCK_VERSION',
      `a lock of version ${JSON.stringify(version)}; this lading reads version "${LOCK_VERSION}"`,
      { file, hint: REGENERATE },
    );
  }
  const parsed = lockSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const where = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
    throw new LadingError(
      'LOCK_INVALID',
      `not a valid lock file: ${where.replace(/^\./, '') || 'the file'}: ${issue.message}`,
      { file, hint: REGENERATE },
    );
  }
  const v = parsed.data;
  const lock: LockFile = {
    version: v.version,
    contents: {
      keyring: (v.contents.keyring ?? []).map((k) =>
        k.content === undefined || k.content === ''
          ? { name: k.name, url: k.url }
          : { name: k.name, url: k.url, content: k.content },
      ),
      build_repositories: v.contents.build_repositories ?? [],
      runtime_repositories: v.contents.runtime_repositories ?? [],
      repositories: v.contents.repositories ?? [],
      packages: (v.contents.packages ?? []).map((p) => ({
        name: p.name,
        url: p.url,
        version: p.version,
        architecture: p.architecture,
        signature: p.signature ?? noRange,
        control: p.control ?? noRange,
        data: p.data ?? noRange,
        checksum: p.checksum ?? '',
      })),
    },
  };
  if (v.config) {
    lock.config = {};
    if (v.config.name) lock.config.name = v.config.name;
    if (v.config.checksum) lock.config.checksum = v.config.checksum;
  }
  return lock;
}

/**
 * The file's text exactly as apko writes it: fields in apko's order, two-space indent, a final newline, and
 * `<`, `>`, `&`, U+2028 and U+2029 escaped as Go's encoder escapes them (JSON.stringify escapes the rest alike).
 */
export function formatLock(lock: LockFile): string {
  const rangeOf = (r: LockRange): LockRange => ({ range: r.range, checksum: r.checksum });
  const repo = (r: LockRepository): LockRepository => ({
    name: r.name,
    url: r.url,
    architecture: r.architecture,
  });
  const ordered = {
    version: lock.version,
    ...(lock.config === undefined
      ? {}
      : {
          config: {
            ...(lock.config.name ? { name: lock.config.name } : {}),
            ...(lock.config.checksum ? { checksum: lock.config.checksum } : {}),
          },
        }),
    contents: {
      keyring: lock.contents.keyring.map((k) => ({
        name: k.name,
        url: k.url,
        ...(k.content ? { content: k.content } : {}),
      })),
      build_repositories: lock.contents.build_repositories.map(repo),
      runtime_repositories: lock.contents.runtime_repositories.map(repo),
      repositories: lock.contents.repositories.map(repo),
      packages: lock.contents.packages.map((p) => ({
        name: p.name,
        url: p.url,
        version: p.version,
        architecture: p.architecture,
        signature: rangeOf(p.signature),
        control: rangeOf(p.control),
        data: rangeOf(p.data),
        checksum: p.checksum,
      })),
    },
  };
  return `${JSON.stringify(ordered, null, 2).replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  )}\n`;
}

/** `bytes=A-B` → [A, B] (inclusive), or undefined when it is not one. */
export function parseRange(text: string): [number, number] | undefined {
  const m = /^bytes=(\d+)-(\d+)$/.exec(text);
  if (!m) return undefined;
  const a = Number(m[1]);
  const b = Number(m[2]);
  return Number.isSafeInteger(a) && Number.isSafeInteger(b) && a <= b ? [a, b] : undefined;
}

/** The ranges and checksums of a package's gzip members, as a lock records them. */
export function packageRanges(segments: {
  signature?: { length: number; sha1: Buffer };
  control: { length: number; sha1: Buffer };
  data: { length: number; sha256: Buffer };
}): Pick<LockPackage, 'signature' | 'control' | 'data'> {
  const sig = segments.signature?.length ?? 0;
  const ctl = segments.control.length;
  const data = segments.data.length;
  return {
    signature: segments.signature
      ? { range: `bytes=0-${sig - 1}`, checksum: `sha1-${segments.signature.sha1.toString('base64')}` }
      : { ...noRange },
    control: {
      range: `bytes=${sig}-${sig + ctl - 1}`,
      checksum: `sha1-${segments.control.sha1.toString('base64')}`,
    },
    data: {
      range: `bytes=${sig + ctl}-${sig + ctl + data - 1}`,
      checksum: `sha256-${segments.data.sha256.toString('base64')}`,
    },
  };
}
