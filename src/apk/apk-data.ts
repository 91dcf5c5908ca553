/**
 * A package's data part: inflated as a stream, never into one buffer, under a size limit; every entry checked
 * with the package content rules (rules.ts) and, when asked, every file against its APK-TOOLS.checksum.SHA1.
 * The inflated tar goes to a sink chunk by chunk (the build streams it into the cache), so memory stays
 * flat whatever the package inflates to, and a decompression bomb ends at its limit with a clear error.
 */
import { createHash, type Hash } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, gunzip } from 'node:zlib';
import type { TarEntry } from '../tar/reader.ts';
import { TarStreamParser } from '../tar/stream.ts';
import { LadingError, withFile } from '../util/errors.ts';
import { zlibError } from './gzip-members.ts';
import { type CheckedEntry, PackageContentRules } from './rules.ts';

export interface ApkDataEntry extends TarEntry {
  /** The clean relative path. */
  path: string;
  /** For hardlinks, the clean path of the file linked to. */
  linkPath?: string;
  /** Hex SHA-1 from the `APK-TOOLS.checksum.SHA1` PAX record (hex or `Q1` base64 accepted). */
  sha1?: string;
}

export const CHECKSUM_PAX_KEY = 'APK-TOOLS.checksum.SHA1';

/** The most a data part may inflate to, whatever its package declares (the largest real packages are a few GiB). */
export const MAX_DATA_SIZE = 16 * 1024 ** 3;
/** Room above the declared installed size for tar headers and padding (and packages that declare too little). */
export const DATA_SIZE_SLACK = 64 * 1024 ** 2;
/** The most entries one package may hold (the largest real packages have some tens of thousands). */
export const MAX_ENTRIES = 500_000;

/**
 * The most bytes a package's data may inflate to: twice its declared installed size (the .PKGINFO `size`),
 * at least the declared size plus DATA_SIZE_SLACK, never more than MAX_DATA_SIZE.
 */
export function dataSizeLimit(installedSize: number | undefined): number {
  const declared = installedSize ?? 0;
  return Math.min(MAX_DATA_SIZE, declared + Math.max(declared, DATA_SIZE_SLACK));
}

export interface CheckApkDataOptions {
  file?: string;
  /** Check every file's content (and symlink target) against its APK-TOOLS.checksum.SHA1 (verify, index). */
  checkChecksums?: boolean;
  /** Keep the entries and return them (default true); verify and index only check. */
  keepEntries?: boolean;
}

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
 * Checks a data tar fed in chunks, in archive order: tar structure, the package content rules, and (when asked)
 * file checksums. Entries naming the root itself (`./`) are dropped.
 */
export class ApkDataChecker {
  readonly entries: ApkDataEntry[] = [];
  /** Overlay xattrs removed, as `path: name` (the build says so). */
  readonly dropped: string[] = [];
  /**
   * What runtimes would read differently from this checker in the data tar as it is (see
   * TarStreamParser.differences): then the package's data stream cannot be an image layer unchanged.
   */
  readonly differences: Set<string>;
  readonly #parser: TarStreamParser;
  /** Regular files seen so far, for comparing hard-link headers with their files. */
  readonly #files = new Map<string, TarEntry>();
  readonly #options: CheckApkDataOptions;
  readonly #rules: PackageContentRules;
  #count = 0;
  #hash: Hash | undefined;

  constructor(options: CheckApkDataOptions = {}) {
    this.#options = options;
    this.#rules = new PackageContentRules(options.file);
    this.#parser = new TarStreamParser({
      entry: (e) => this.#entry(e),
      data: (_e, chunk) => this.#hash?.update(chunk),
      entryEnd: (e) => this.#entryEnd(e as ApkDataEntry),
    });
    this.differences = this.#parser.differences;
  }

  push(chunk: Buffer): void {
    this.#wrap(() => this.#parser.push(chunk));
  }

  /** The tar ended; returns the entries (empty unless kept). */
  end(): ApkDataEntry[] {
    this.#wrap(() => this.#parser.end());
    return this.entries;
  }

  #wrap(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      throw this.#options.file === undefined ? e : withFile(e, this.#options.file);
    }
  }

  #entry(e: TarEntry): void {
    const file = this.#options.file;
    const checked = this.#rules.check(e);
    this.#noteDifferences(e, checked);
    if (checked === undefined) return;
    if (++this.#count > MAX_ENTRIES) {
      throw bad(`the package holds more than ${MAX_ENTRIES} entries; refusing it`, file);
    }
    const entry = e as ApkDataEntry;
    entry.path = checked.path;
    if (checked.linkPath !== undefined) entry.linkPath = checked.linkPath;
    for (const x of checked.dropped ?? []) this.dropped.push(`${checked.path}: ${x}`);
    const sum = e.pax[CHECKSUM_PAX_KEY];
    if (sum !== undefined) entry.sha1 = parseChecksumValue(sum, checked.path, file);
    if (this.#options.checkChecksums && entry.sha1 !== undefined) {
      if (e.type === 'file') this.#hash = createHash('sha1');
      // hardlinks carry their target's checksum (melange) or none (abuild)
      else if (e.type === 'symlink')
        this.#checkSum(entry, createHash('sha1').update(e.linkname).digest('hex'));
    }
    if (this.#options.keepEntries !== false) this.entries.push(entry);
  }

  /** Notes what an unpacking runtime would make of this entry differently from the installer. */
  #noteDifferences(e: TarEntry, checked: CheckedEntry | undefined): void {
    const d = this.differences;
    if (checked === undefined) d.add('an entry for the root directory');
    // runtimes keep the fraction; the installer (as apk) whole seconds
    if (/\.\d*[1-9]/.test(e.pax.mtime ?? '')) d.add('a sub-second modification time');
    if (Object.keys(e.pax).some((k) => k.startsWith('GNU.sparse.'))) d.add('a sparse file');
    // removed by the installer; they would steer the runtime's overlay mount
    if (checked?.dropped !== undefined) d.add('overlayfs xattrs');
    if (checked === undefined) return;
    if (e.type === 'file') this.#files.set(checked.path, e);
    else if (e.type === 'hardlink') {
      // the installer gives a hard link its file's attributes; runtimes apply the link's header to the file
      const f = this.#files.get(checked.linkPath ?? '');
      if (
        f === undefined ||
        f.mode !== e.mode ||
        f.uid !== e.uid ||
        f.gid !== e.gid ||
        f.mtime !== e.mtime ||
        !sameXattrs(f.xattrs, e.xattrs)
      )
        d.add('a hard link whose header differs from its file');
    }
  }

  #entryEnd(e: ApkDataEntry): void {
    if (this.#hash === undefined) return;
    const actual = this.#hash.digest('hex');
    this.#hash = undefined;
    this.#checkSum(e, actual);
  }

  #checkSum(e: ApkDataEntry, actual: string): void {
    if (actual !== e.sha1) {
      throw new LadingError(
        'APK_FILE_CHECKSUM_MISMATCH',
        `${e.path}: content does not match its ${CHECKSUM_PAX_KEY}`,
        {
          file: this.#options.file,
          hint: 'the package is damaged; download or rebuild it',
        },
      );
    }
  }
}

function sameXattrs(a: Record<string, Buffer>, b: Record<string, Buffer>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => b[k] !== undefined && a[k]!.equals(b[k]!));
}

/** Lists and checks the entries of a data tar held in memory (a small package, a test). */
export function listApkData(tar: Buffer, options: CheckApkDataOptions = {}): ApkDataEntry[] {
  const checker = new ApkDataChecker(options);
  checker.push(tar);
  return checker.end();
}

export interface InflateApkDataOptions extends CheckApkDataOptions {
  /** The most bytes the data may inflate to (dataSizeLimit of the declared size). */
  maxSize: number;
  /**
   * Inflate in one piece on zlib's thread pool when the data will fit in this many bytes (and in pieces as
   * it goes when it turns out larger): one round trip instead of one per 128 KiB, and the sink gets one
   * buffer. 0 (the default) always streams.
   */
  inOnePiece?: number;
  /** Receives the inflated tar in order; awaited before more is inflated. */
  sink?: (chunk: Buffer) => Promise<void>;
}

export interface InflatedApkData {
  entries: ApkDataEntry[];
  /** Overlay xattrs removed (`path: name`). */
  dropped: string[];
  /** Bytes of the inflated tar. */
  size: number;
  /** What runtimes would unpack differently from the entries, if the compressed data were an image layer as it is. */
  differences: string[];
}

const INPUT_SLICE = 256 * 1024;

class SinkFailure extends Error {
  constructor(cause: unknown) {
    super('sink failed', { cause });
  }
}

/**
 * Inflates a package's data part (every gzip member of it) as a stream, checking the tar as it goes and
 * stopping with GZIP_TOO_LARGE past `maxSize`. Holds a few chunks at a time, whatever the size.
 */
export async function inflateApkData(data: Buffer, options: InflateApkDataOptions): Promise<InflatedApkData> {
  if (data.length === 0)
    return { entries: new ApkDataChecker(options).end(), dropped: [], size: 0, differences: [] };
  const limit = Math.min(options.inOnePiece ?? 0, options.maxSize);
  if (limit > 0) {
    const whole = await gunzipWhole(data, limit);
    if (whole !== undefined) {
      const checker = new ApkDataChecker(options);
      checker.push(whole.buffer);
      const entries = checker.end();
      // the sink's own failure (a full disk) is passed on as it is, as when streaming
      if (options.sink) await options.sink(whole.buffer);
      if (whole.consumed !== data.length) checker.differences.add('bytes after the last gzip member');
      return {
        entries,
        dropped: checker.dropped,
        size: whole.buffer.length,
        differences: [...checker.differences],
      };
    }
  }
  const checker = new ApkDataChecker(options);
  const what = { what: 'data part', file: options.file };
  let size = 0;
  const gunzip = createGunzip({ chunkSize: 128 * 1024 });
  try {
    await pipeline(
      Readable.from(slices(data), { objectMode: false }),
      gunzip,
      async (inflated: AsyncIterable<Buffer>) => {
        for await (const chunk of inflated) {
          size += chunk.length;
          if (size > options.maxSize) {
            throw new LadingError(
              'GZIP_TOO_LARGE',
              `data part inflates to more than ${options.maxSize} bytes, the most its declared installed size allows; refusing it (a decompression bomb?)`,
              { file: options.file, hint: 'the package is broken or malicious; do not install it' },
            );
          }
          checker.push(chunk);
          if (options.sink)
            await options.sink(chunk).catch((e: unknown) => Promise.reject(new SinkFailure(e)));
        }
      },
    );
  } catch (e) {
    // the sink's own failure (a full disk) is not the package's fault: passed on as it is
    if (e instanceof SinkFailure) throw e.cause;
    if (e instanceof LadingError) throw e;
    throw zlibError(e, what, options.maxSize);
  }
  const entries = checker.end();
  // zlib ignores zero bytes after the last member; Go's gzip reader fails on them
  if (gunzip.bytesWritten !== data.length) checker.differences.add('bytes after the last gzip member');
  return { entries, dropped: checker.dropped, size, differences: [...checker.differences] };
}

/**
 * The data inflated in one piece on the thread pool, with the input bytes zlib used; undefined when it
 * inflates to more than `limit` or fails (then it is streamed instead, which says why it fails).
 */
function gunzipWhole(data: Buffer, limit: number): Promise<{ buffer: Buffer; consumed: number } | undefined> {
  return new Promise((resolve) => {
    gunzip(data, { maxOutputLength: limit, info: true }, (err, result) => {
      if (err !== null) return resolve(undefined);
      const { buffer, engine } = result as unknown as { buffer: Buffer; engine: { bytesWritten: number } };
      resolve({ buffer, consumed: engine.bytesWritten });
    });
  });
}

function* slices(data: Buffer): Generator<Buffer> {
  for (let off = 0; off < data.length; off += INPUT_SLICE) yield data.subarray(off, off + INPUT_SLICE);
}
