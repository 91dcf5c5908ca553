/**
 * The content-addressed cache, shared by concurrent builds (several processes at once): immutable blobs named
 * by their SHA-256, and named references (in typed namespaces, see namespaces.ts) that point at them.
 * Where each file lives is decided in layout.ts.
 *
 * Safety without locks: every file is written under a unique name in tmp/ and renamed into place,
 * so a reader sees a complete file or none; two processes storing the same blob write identical
 * bytes, and the last rename wins. A process killed at any point leaves at most a file in tmp/,
 * which nothing reads; its name carries the writer's pid, so the next cache user removes it once that
 * writer is gone (or, for a writer it cannot see, once older than an hour). Interrupted writers remove
 * their own (util/cleanup.ts).
 *
 * Pins: a build calls startPinning(), and from then on every blob it opens or writes is also hard-linked into
 * a directory of its own, v1.pins/<writer>/ (outside v1/, which a full clean renames away), and it reads
 * through those links. A concurrent `lading clean` may then remove anything under v1/: the bytes the build
 * uses stay on disk until it releases its pins, and its temporary files (in the same directory) are never
 * moved from under it.
 *
 * Verification: a blob is never handed out unchecked. readBlob() hashes the bytes it returns (SHA-256
 * through OpenSSL runs at ~1.5 GB/s, cheap next to reading the file). openBlob(), for large blobs read by
 * offset, hashes once and then trusts a stat fingerprint (device, inode, size, mtime in ns) stored in
 * the reference: blobs are only ever replaced by rename (new inode) and any write changes mtime, so a
 * matching fingerprint means the verified bytes are still there. Truncation and replacement are caught
 * by the fingerprint; silent media corruption is caught only by a full check (verifyCache).
 * A blob that fails verification is deleted and reported as missing, so the caller fetches it again.
 *
 * Tiers (tiers.ts): when this cache lacks a reference or a blob, the read-only tiers are asked in order
 * (`--cache-from`, and the cache directory itself when this process cannot write it: then everything new goes to
 * a scratch cache in the temporary directory, removed at exit). A blob from a tier is hashed before use (a
 * directory tier's in place, once per process; an HTTP tier's as it is copied in); a reference from a tier
 * carries no trusted fingerprints, and openRef says it came from a tier so a caller can check more (layers:
 * their diff ID). References of shared namespaces are written through to the sink (`--cache-to`).
 */
import { createHash, randomBytes } from 'node:crypto';
import { constants, createReadStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import {
  access,
  type FileHandle,
  link,
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  unlink,
  utimes,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { removeOnExit, writerGone, writerPrefix } from '../util/cleanup.ts';
import { digestOf } from '../util/digest.ts';
import { LadingError } from '../util/errors.ts';
import { type Logger, silentLogger } from '../util/log.ts';
import { blobFile, layoutPaths, refFile, TRASH_PREFIX } from './layout.ts';
import {
  type CacheTier,
  type DirectoryTier,
  directoryBlobPath,
  directoryRefText,
  type HttpTier,
  parseTier,
} from './tiers.ts';
/** Temporary files older than this are left over from killed processes (active writers touch theirs). */
export const STALE_TEMP_MS = 60 * 60 * 1000;
/** Pin directories of builds this process cannot see (another pid namespace) are kept this long. */
export const STALE_PINS_MS = 24 * 60 * 60 * 1000;

export interface BlobInfo {
  /** `sha256:<64 hex>` */
  digest: string;
  size: number;
  /** Stat fingerprint of the file right after it was written and hashed (from commit/putBytes). */
  fingerprint?: string;
  /** Where to read the bytes: the build's pin when pinning, else the blob's own file (from commit/adoptFile). */
  path?: string;
}

/** What a namespace's references may carry beside their blobs (JSON values). */
export type RefMeta = Record<string, string | number | boolean>;

/**
 * A kind of named reference: its directory under `refs/`, how a typed key becomes the key text stored in the
 * reference (and hashed into its file name), and (as a type only) what its `meta` holds.
 */
export interface RefNamespace<K, M extends RefMeta = RefMeta> {
  readonly name: string;
  keyText(key: K): string;
  /** The key names the content completely (a checksum, a hash of inputs): shared over HTTP tiers and sinks. */
  readonly shared?: boolean;
  /** Never set: carries the meta type. */
  readonly meta?: M;
}

export function refNamespace<K, M extends RefMeta = RefMeta>(
  name: string,
  keyText: (key: K) => string,
  options: { shared?: boolean } = {},
): RefNamespace<K, M> {
  return options.shared ? { name, keyText, shared: true } : { name, keyText };
}

export interface CacheRef<M extends RefMeta = RefMeta> {
  key: string;
  /** The main content. */
  blob: BlobInfo;
  /** Further blobs that belong to this reference (e.g. an entry index beside an expanded tar); kept alive with it. */
  attachments?: Record<string, BlobInfo>;
  etag?: string;
  lastModified?: string;
  /** When the origin last confirmed this content (ms since the epoch), for freshness windows. */
  checkedAt?: number;
  meta?: M;
  /** Stat fingerprints of blobs verified by hashing, by digest. */
  verified?: Record<string, string>;
}

export type RefInput<M extends RefMeta = RefMeta> = Omit<CacheRef<M>, 'key'>;

/** A verified cached blob opened for random access; close it when done. */
export interface CachedFile {
  readonly path: string;
  readonly digest: string;
  readonly size: number;
  /** The open handle: keeps the bytes readable even if another process prunes the blob meanwhile. */
  readonly handle: FileHandle;
  read(position: number, length: number): Promise<Buffer>;
  /** Streams bytes [start, end) without loading them; the handle stays open for further reads. */
  stream(start: number, end: number): Readable;
  close(): Promise<void>;
}

/** A blob being written; write() chunks in order, then commit() or discard(). */
export interface BlobWriter {
  write(chunk: Uint8Array): Promise<void>;
  commit(): Promise<BlobInfo>;
  discard(): Promise<void>;
  /** Everything written so far, when created with keepBytes. */
  bytes(): Buffer;
}

export interface CacheOptions {
  logger?: Logger;
  /** fsync blobs before renaming them (off by default: verification catches what a crash could damage). */
  fsync?: boolean;
  /** Read-only tiers asked when this cache misses (`--cache-from`): directories or http(s) URLs (tiers.ts). */
  from?: readonly string[];
  /** Where references of shared namespaces and their blobs are written through (`--cache-to`). */
  to?: string;
  /** Where relative tier directories resolve from (default: the working directory). */
  cwd?: string;
}

/** Where a reference was found: this cache, or a tier (then nothing about it was checked yet). */
const ORIGIN = Symbol('origin');
type Found<M extends RefMeta> = CacheRef<M> & { [ORIGIN]?: CacheTier };

const DIGEST = /^sha256:([0-9a-f]{64})$/;
let tempCounter = 0;
function tempName(tmpDir: string): string {
  // Unique across processes (pid namespace and pid), within one (counter) and across pid reuse (random).
  return join(tmpDir, `${writerPrefix()}${++tempCounter}-${randomBytes(4).toString('hex')}`);
}

function errno(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code;
}

async function fingerprintOf(handleOrPath: FileHandle | string): Promise<string> {
  const st =
    typeof handleOrPath === 'string'
      ? await stat(handleOrPath, { bigint: true })
      : await handleOrPath.stat({ bigint: true });
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}`;
}

export async function openCache(dir: string, options: CacheOptions = {}): Promise<ContentCache> {
  const cache = new ContentCache(dir, options);
  await cache.init();
  return cache;
}

export class ContentCache {
  /** The directory written to: the one asked for, or a scratch cache when that one is read-only. */
  #dir: string;
  /** The directory asked for. */
  readonly requestedDir: string;
  readonly logger: Logger;
  #paths: ReturnType<typeof layoutPaths>;
  readonly #fsync: boolean;
  readonly #madeDirs = new Set<string>();
  /** This cache user's pin directory, while pinning. */
  #pins: string | undefined;
  readonly #tiers: CacheTier[] = [];
  #sink: { kind: 'directory'; cache: ContentCache; location: string } | HttpTier | undefined;
  readonly #pending = new Set<Promise<void>>();
  /** Tiers and the sink that failed: not asked again in this process. */
  readonly #failed = new Set<object>();
  /** Blobs of directory tiers hashed in this process, by path: their stat fingerprint then. */
  readonly #tierVerified = new Map<string, string>();
  readonly #options: CacheOptions;
  #readOnly = false;

  constructor(dir: string, options: CacheOptions = {}) {
    this.#dir = dir;
    this.requestedDir = dir;
    this.logger = options.logger ?? silentLogger;
    this.#paths = layoutPaths(dir);
    this.#fsync = options.fsync ?? false;
    this.#options = options;
  }

  get dir(): string {
    return this.#dir;
  }

  /** True when the directory asked for cannot be written: it is read as a tier, new things go to scratch. */
  get readOnly(): boolean {
    return this.#readOnly;
  }

  /** Creates the layout and removes temporary files left by killed processes; sets up the tiers. */
  async init(): Promise<void> {
    const { root, tmp } = this.#paths;
    try {
      await this.#mkdir(tmp);
      await access(tmp, constants.W_OK);
      await this.#writeIfMissing(
        join(root, 'CACHEDIR.TAG'),
        'Signature: 8a477f597d28d172789f06886806bc55\n# This directory is the lading download cache; see https://bford.info/cachedir/\n',
      );
    } catch (e) {
      const code = errno(e);
      if (code !== 'EACCES' && code !== 'EROFS' && code !== 'EPERM')
        throw this.#ioError('cannot create the cache', e);
      this.#useScratch();
    }
    if (!this.#readOnly) await sweepTemporaryFiles(this.dir, STALE_TEMP_MS);
    const cwd = this.#options.cwd ?? process.cwd();
    const tierOptions = { logger: this.logger, resolveDir: (d: string) => resolve(cwd, d) };
    for (const from of this.#options.from ?? []) this.#tiers.push(parseTier(from, tierOptions));
    if (this.#options.to !== undefined) {
      const to = parseTier(this.#options.to, tierOptions);
      this.#sink =
        to.kind === 'http'
          ? to
          : {
              kind: 'directory',
              cache: await openCache(to.dir, { logger: this.logger }),
              location: to.location,
            };
    }
  }

  /**
   * The directory asked for cannot be written (a read-only volume, another user's cache): it becomes the first
   * tier, and what this process writes goes to a scratch cache removed at exit.
   */
  #useScratch(): void {
    let scratch: string;
    try {
      scratch = mkdtempSync(join(tmpdir(), 'lading-scratch-'));
    } catch (e) {
      throw new LadingError(
        'STORE_SCRATCH',
        `the cache ${this.requestedDir} cannot be written, and no temporary cache can be made in ${tmpdir()} either (${(e as NodeJS.ErrnoException).code ?? e})`,
        { hint: 'give --cache-dir a directory this user can write, or set TMPDIR to one' },
      );
    }
    removeOnExit(scratch);
    this.logger.warn(
      `the cache ${this.requestedDir} cannot be written: reading it, and keeping what this run adds in a temporary cache`,
    );
    this.#tiers.unshift({ kind: 'directory', dir: this.requestedDir, location: this.requestedDir });
    this.#readOnly = true;
    this.#dir = scratch;
    this.#paths = layoutPaths(scratch);
    this.#madeDirs.clear();
  }

  /**
   * Another user of the same cache, tiers and sink, with pins of its own: builds that run at once in one process
   * (publish-many --jobs) each take one, so one letting go of its pins never drops another's.
   */
  fork(): ContentCache {
    const other = new ContentCache(this.requestedDir, this.#options);
    other.#dir = this.#dir;
    other.#paths = this.#paths;
    other.#readOnly = this.#readOnly;
    other.#tiers.push(...this.#tiers);
    other.#sink = this.#sink;
    return other;
  }

  /** Waits for the writes through to the sink (`--cache-to`); their failures were warnings. */
  async flush(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all([...this.#pending]);
  }

  /** A tier or the sink failed: said once, then left alone. */
  #tierFailed(tier: { location: string }, e: unknown): void {
    if (this.#failed.has(tier)) return;
    this.#failed.add(tier);
    const why = e instanceof LadingError ? e.message : String((e as Error)?.message ?? e);
    this.logger.warn(`shared cache ${tier.location} failed (${why}); going on without it`);
  }

  blobPath(digest: string): string {
    return blobFile(this.dir, digest);
  }

  /** From now on, blobs opened or written are pinned (see the top of this file) until releasePins(). */
  async startPinning(): Promise<void> {
    if (this.#pins !== undefined) return;
    const dir = join(this.#paths.pins, `${writerPrefix()}${randomBytes(4).toString('hex')}`);
    removeOnExit(dir);
    try {
      await mkdir(dir, { recursive: true });
    } catch (e) {
      throw this.#ioError('cannot create the cache', e);
    }
    this.#pins = dir;
  }

  /** Lets go of the pins: what a clean removed meanwhile is freed now. */
  async releasePins(): Promise<void> {
    const dir = this.#pins;
    if (dir === undefined) return;
    this.#pins = undefined;
    await rm(dir, { recursive: true, force: true });
  }

  /**
   * Hard-links the blob file into the pin directory; the pinned path, or undefined when the blob is gone (a
   * clean removed it after it was opened: the caller treats that as a miss).
   */
  async #pin(digest: string, path: string): Promise<string | undefined> {
    const pins = this.#pins;
    if (pins === undefined) return path;
    const pinned = join(pins, digest.slice('sha256:'.length));
    try {
      await link(path, pinned);
    } catch (e) {
      if (errno(e) === 'EEXIST') return pinned;
      if (errno(e) === 'ENOENT') {
        // the blob went, or the pin directory did (a clean of dead writers' pins cannot see ours, but be sure)
        if (!(await stat(pins).catch(() => undefined)))
          await mkdir(pins, { recursive: true }).catch(() => {});
        return link(path, pinned).then(
          () => pinned,
          (again) => (errno(again) === 'EEXIST' ? pinned : undefined),
        );
      }
      throw this.#ioError(`cannot pin ${path}`, e);
    }
    return pinned;
  }

  async createWriter(options: { keepBytes?: boolean } = {}): Promise<BlobWriter> {
    const { tmp, fh } = await this.#createTemp(0o444);
    const hash = createHash('sha256');
    const kept: Buffer[] = [];
    let size = 0;
    let closed = false;
    const close = async () => {
      if (closed) return;
      closed = true;
      await fh.close();
    };
    return {
      write: async (chunk) => {
        const buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
        try {
          for (let off = 0; off < buf.length; ) {
            off += (await fh.write(buf, off, buf.length - off)).bytesWritten;
          }
        } catch (e) {
          throw this.#ioError('cannot write to the cache', e);
        }
        hash.update(buf);
        size += buf.length;
        if (options.keepBytes) kept.push(buf);
      },
      commit: async () => {
        try {
          if (this.#fsync) await fh.sync();
          await close();
        } catch (e) {
          throw this.#ioError('cannot write to the cache', e);
        }
        const digest = `sha256:${hash.digest('hex')}`;
        return this.#store(tmp, digest, size);
      },
      discard: async () => {
        await close().catch(() => {});
        await unlink(tmp).catch(() => {});
      },
      bytes: () => (kept.length === 1 ? kept[0]! : Buffer.concat(kept)),
    };
  }

  /**
   * A fresh temporary path (in tmp/, or the pin directory when pinning), for a writer that produces a whole
   * file (then call adoptFile). Removed if the process ends before that.
   */
  async tempFilePath(): Promise<string> {
    const dir = this.#tempDir();
    await this.#mkdir(dir);
    const tmp = tempName(dir);
    removeOnExit(tmp);
    return tmp;
  }

  #tempDir(): string {
    return this.#pins ?? this.#paths.tmp;
  }

  /**
   * Moves a finished file (from tempFilePath) into the cache as the blob `digest`. The caller computed the
   * digest while writing it (the layer writer hashes in one pass), so it is trusted here and recorded with
   * its fingerprint; readers still verify size and fingerprint.
   */
  async adoptFile(path: string, digest: string, size: number): Promise<BlobInfo> {
    return this.#store(path, digest, size);
  }

  /**
   * A finished temporary file becomes the blob `digest`: renamed into place, or when pinning linked into place
   * with the temporary file kept as the pin (so nothing a clean does can take it from this build).
   */
  async #store(tmp: string, digest: string, size: number): Promise<BlobInfo> {
    const dest = this.blobPath(digest);
    if (this.#pins === undefined || dirname(tmp) !== this.#pins) {
      await this.#place(tmp, dest);
      const fingerprint = await fingerprintOf(dest).catch(() => undefined);
      return fingerprint === undefined
        ? { digest, size, path: dest }
        : { digest, size, fingerprint, path: dest };
    }
    await this.#place(tmp, dest, 'link');
    const fingerprint = await fingerprintOf(tmp).catch(() => undefined);
    return fingerprint === undefined ? { digest, size, path: tmp } : { digest, size, fingerprint, path: tmp };
  }

  async putBytes(bytes: Uint8Array): Promise<BlobInfo> {
    // small blobs (metadata) are written in one synchronous call: no thread-pool round trips per file
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    for (let tries = 0; ; tries++) {
      const tmp = await this.tempFilePath();
      try {
        writeFileSync(tmp, bytes, { mode: 0o444, flag: 'wx' });
      } catch (e) {
        rmSync(tmp, { force: true });
        // its directory removed by a concurrent clean: made again
        if (errno(e) === 'ENOENT' && tries < 2) {
          this.#madeDirs.clear();
          continue;
        }
        throw this.#ioError('cannot write to the cache', e);
      }
      return this.#store(tmp, digest, bytes.length);
    }
  }

  /** The blob's bytes, verified (size and SHA-256); undefined when missing or corrupt (then deleted). */
  async readBlob(info: BlobInfo): Promise<Buffer | undefined> {
    const path = this.blobPath(info.digest);
    let bytes: Buffer;
    try {
      bytes = await readFile(path);
    } catch (e) {
      if (errno(e) === 'ENOENT') return this.#readFromTiers(info);
      throw this.#ioError(`cannot read ${path}`, e);
    }
    if (bytes.length !== info.size || digestOf(bytes) !== info.digest) {
      await this.#discardCorrupt(path, info.digest, `${bytes.length} bytes, expected ${info.size}`);
      return undefined;
    }
    return bytes;
  }

  /**
   * A blob's stat fingerprint as it is now, for a caller that verified the blob moments ago (wrote and hashed
   * it, or opened it with openBlob) to remember; undefined when it is gone.
   */
  async blobFingerprint(digest: string): Promise<string | undefined> {
    return fingerprintOf(this.blobPath(digest)).catch(() => undefined);
  }

  /**
   * Opens a blob for random access. Hashes it unless `fingerprint` (from an earlier verification)
   * still matches the file; returns the current fingerprint to remember.
   */
  async openBlob(
    info: BlobInfo,
    options: { fingerprint?: string } = {},
  ): Promise<{ file: CachedFile; fingerprint: string } | undefined> {
    const path = this.blobPath(info.digest);
    let fh: FileHandle;
    try {
      fh = await open(path, 'r');
    } catch (e) {
      if (errno(e) === 'ENOENT') return this.#openFromTiers(info);
      throw this.#ioError(`cannot read ${path}`, e);
    }
    try {
      const fingerprint = await fingerprintOf(fh);
      const size = Number(fingerprint.split(':')[2]);
      let good = size === info.size;
      if (good && fingerprint !== options.fingerprint) good = (await hashHandle(fh, size)) === info.digest;
      if (!good) {
        await fh.close();
        await this.#discardCorrupt(path, info.digest, `${size} bytes, expected ${info.size}`);
        return undefined;
      }
      const pinned = await this.#pin(info.digest, path);
      if (pinned === undefined) {
        await fh.close();
        return undefined;
      }
      const file = cachedFile(fh, pinned, info.digest, size);
      return { file, fingerprint };
    } catch (e) {
      await fh.close().catch(() => {});
      throw this.#ioError(`cannot read ${path}`, e);
    }
  }

  async hasBlob(digest: string): Promise<boolean> {
    return stat(this.blobPath(digest)).then(
      () => true,
      () => false,
    );
  }

  async removeBlob(digest: string): Promise<void> {
    await unlink(this.blobPath(digest)).catch(() => {});
  }

  refPath<K>(namespace: RefNamespace<K, RefMeta>, key: K): string {
    return refFile(this.dir, namespace.name, namespace.keyText(key));
  }

  /** The reference, or undefined. Marks it used (its mtime is the last use, for pruning). */
  async getRef<K, M extends RefMeta>(
    namespace: RefNamespace<K, M>,
    key: K,
  ): Promise<CacheRef<M> | undefined> {
    const text = namespace.keyText(key);
    const path = this.refPath(namespace, key);
    let json: string;
    try {
      json = await readFile(path, 'utf8');
    } catch (e) {
      if (errno(e) === 'ENOENT') return this.#refFromTiers(namespace, text);
      throw this.#ioError(`cannot read ${path}`, e);
    }
    const ref = parseRef(json) as CacheRef<M> | undefined;
    if (ref === undefined || ref.key !== text) {
      this.logger.warn(`cache: ignoring damaged reference ${path}`);
      await unlink(path).catch(() => {});
      return undefined;
    }
    const now = new Date();
    await utimes(path, now, now).catch(() => {});
    return ref;
  }

  /** Stores a reference atomically (last writer wins). Fingerprints from commit() are recorded as verified. */
  async setRef<K, M extends RefMeta>(
    namespace: RefNamespace<K, M>,
    key: K,
    input: RefInput<M>,
  ): Promise<CacheRef<M>> {
    const verified: Record<string, string> = { ...input.verified };
    const strip = (b: BlobInfo): BlobInfo => {
      if (b.fingerprint !== undefined) verified[b.digest] = b.fingerprint;
      return { digest: b.digest, size: b.size };
    };
    const ref: CacheRef<M> = { key: namespace.keyText(key), ...input, blob: strip(input.blob) };
    if (input.attachments) {
      ref.attachments = Object.fromEntries(
        Object.keys(input.attachments)
          .sort()
          .map((k) => [k, strip(input.attachments![k]!)]),
      );
    }
    delete ref.verified;
    if (Object.keys(verified).length > 0) ref.verified = verified;
    await this.#writeRef(this.refPath(namespace, key), ref);
    if (namespace.shared && this.#sink) this.#writeThrough(namespace, ref);
    return ref;
  }

  async #writeRef(dest: string, ref: CacheRef<RefMeta>): Promise<void> {
    const { tmp, fh } = await this.#createTemp(0o644);
    try {
      await fh.writeFile(`${JSON.stringify(ref, null, 1)}\n`);
      await fh.close();
      await this.#place(tmp, dest);
    } catch (e) {
      await fh.close().catch(() => {});
      await unlink(tmp).catch(() => {});
      throw e instanceof LadingError ? e : this.#ioError('cannot write to the cache', e);
    }
  }

  /** The reference and its blobs, to the sink, in the background (flush waits); blobs first, then the reference. */
  #writeThrough<K>(namespace: RefNamespace<K, RefMeta>, ref: CacheRef<RefMeta>): void {
    const sink = this.#sink!;
    if (this.#failed.has(sink)) return;
    const blobs = [ref.blob, ...Object.values(ref.attachments ?? {})];
    const { verified: _verified, ...shared } = ref;
    const work = (async () => {
      try {
        if (sink.kind === 'http') {
          for (const b of blobs) {
            await sink.putBlob(b.digest, b.size, () => createReadStream(this.blobPath(b.digest)));
          }
          await sink.putRef(namespace.name, ref.key, JSON.stringify(shared));
        } else {
          for (const b of blobs) {
            if (await sink.cache.hasBlob(b.digest)) continue;
            const w = await sink.cache.createWriter();
            try {
              for await (const chunk of createReadStream(this.blobPath(b.digest)))
                await w.write(chunk as Buffer);
              const stored = await w.commit();
              if (stored.digest !== b.digest) throw new Error(`${b.digest} changed while it was copied`);
            } catch (e) {
              await w.discard();
              throw e;
            }
          }
          await sink.cache.#writeRef(sink.cache.#refFile(namespace.name, ref.key), shared);
        }
      } catch (e) {
        this.#tierFailed(sink, e);
      }
    })();
    this.#pending.add(work);
    void work.finally(() => this.#pending.delete(work));
  }

  #refFile(namespace: string, keyText: string): string {
    return refFile(this.dir, namespace, keyText);
  }

  /** The first tier's reference for the key (HTTP tiers only for shared namespaces), marked with its origin. */
  async #refFromTiers<M extends RefMeta>(
    namespace: RefNamespace<unknown, M>,
    keyText: string,
  ): Promise<Found<M> | undefined> {
    for (const tier of this.#tiers) {
      if (this.#failed.has(tier) || (tier.kind === 'http' && !namespace.shared)) continue;
      let text: string | undefined;
      try {
        text =
          tier.kind === 'http'
            ? await tier.refText(namespace.name, keyText)
            : await directoryRefText(tier, namespace.name, keyText);
      } catch (e) {
        this.#tierFailed(tier, e);
        continue;
      }
      const ref = text === undefined ? undefined : (parseRef(text) as Found<M> | undefined);
      if (ref === undefined || ref.key !== keyText) continue;
      // fingerprints say what another machine checked, about its own files
      delete ref.verified;
      Object.defineProperty(ref, ORIGIN, { value: tier, enumerable: false });
      return ref;
    }
    return undefined;
  }

  /** A blob from the first tier that has it with the right bytes (see the top of this file). */
  async #openFromTiers(info: BlobInfo): Promise<{ file: CachedFile; fingerprint: string } | undefined> {
    for (const tier of this.#tiers) {
      if (this.#failed.has(tier)) continue;
      if (tier.kind === 'http') {
        if (await this.#copyFromHttp(tier, info)) return this.openBlob(info);
        continue;
      }
      const opened = await this.#openInDirectory(tier, info);
      if (opened) return opened;
    }
    return undefined;
  }

  async #readFromTiers(info: BlobInfo): Promise<Buffer | undefined> {
    for (const tier of this.#tiers) {
      if (this.#failed.has(tier)) continue;
      if (tier.kind === 'http') {
        if (await this.#copyFromHttp(tier, info)) return this.readBlob(info);
        continue;
      }
      const bytes = await readFile(directoryBlobPath(tier, info.digest)).catch(() => undefined);
      if (bytes === undefined) continue;
      if (bytes.length === info.size && digestOf(bytes) === info.digest) return bytes;
      this.#poisoned(tier, info.digest);
    }
    return undefined;
  }

  /** A directory tier's blob, opened in place and hashed (once per process while its fingerprint holds). */
  async #openInDirectory(
    tier: DirectoryTier,
    info: BlobInfo,
  ): Promise<{ file: CachedFile; fingerprint: string } | undefined> {
    const path = directoryBlobPath(tier, info.digest);
    let fh: FileHandle;
    try {
      fh = await open(path, 'r');
    } catch {
      return undefined;
    }
    try {
      const fingerprint = await fingerprintOf(fh);
      const size = Number(fingerprint.split(':')[2]);
      let good = size === info.size;
      if (good && this.#tierVerified.get(path) !== fingerprint)
        good = (await hashHandle(fh, size)) === info.digest;
      if (!good) {
        await fh.close();
        this.#poisoned(tier, info.digest);
        return undefined;
      }
      this.#tierVerified.set(path, fingerprint);
      return { file: cachedFile(fh, path, info.digest, size), fingerprint };
    } catch (e) {
      await fh.close().catch(() => {});
      this.#tierFailed(tier, e);
      return undefined;
    }
  }

  /** An HTTP tier's blob copied into this cache; its hash is checked as it is committed. */
  async #copyFromHttp(tier: HttpTier, info: BlobInfo): Promise<boolean> {
    const w = await this.createWriter();
    try {
      if (!(await tier.fetchBlob(info.digest, (chunk) => w.write(chunk)))) {
        await w.discard();
        return false;
      }
    } catch (e) {
      await w.discard();
      this.#tierFailed(tier, e);
      return false;
    }
    const stored = await w.commit();
    if (stored.digest === info.digest && stored.size === info.size) return true;
    // not kept: a blob is only ever named by its own hash
    await this.removeBlob(stored.digest);
    this.#poisoned(tier, info.digest);
    return false;
  }

  #poisoned(tier: CacheTier, digest: string): void {
    this.logger.warn(
      `shared cache ${tier.location}: the bytes under ${digest} do not hash to it; ignored (the entry is damaged or poisoned)`,
    );
  }

  /** A reference found in a tier, not here: its blobs are fetched and checked like any tier blob. */
  static fromTier(ref: CacheRef<RefMeta>): boolean {
    return (ref as Found<RefMeta>)[ORIGIN] !== undefined;
  }

  /** Copies a reference an HTTP tier gave, whose blobs are now here, into this cache (best effort). */
  async #keepLocally(ref: Found<RefMeta>, path: string): Promise<void> {
    if (ref[ORIGIN]?.kind !== 'http') return;
    await this.#writeRef(path, ref).catch(() => {});
  }

  async deleteRef<K>(namespace: RefNamespace<K, RefMeta>, key: K): Promise<void> {
    await unlink(this.refPath(namespace, key)).catch(() => {});
  }

  /** A reference with its main blob's verified bytes; undefined when either is missing or the blob is corrupt. */
  async readRef<K, M extends RefMeta>(
    namespace: RefNamespace<K, M>,
    key: K,
  ): Promise<{ ref: CacheRef<M>; bytes: Buffer } | undefined> {
    const ref = await this.getRef(namespace, key);
    if (!ref) return undefined;
    const bytes = await this.readBlob(ref.blob);
    if (bytes) await this.#keepLocally(ref, this.refPath(namespace, key));
    return bytes ? { ref, bytes } : undefined;
  }

  /** A reference with its main blob opened for random access (stat-fingerprint verification, see above). */
  async openRef<K, M extends RefMeta>(
    namespace: RefNamespace<K, M>,
    key: K,
  ): Promise<{ ref: CacheRef<M>; file: CachedFile; fromTier: boolean } | undefined> {
    const ref = await this.getRef(namespace, key);
    if (!ref) return undefined;
    const known = ref.verified?.[ref.blob.digest];
    const opened = await this.openBlob(ref.blob, known === undefined ? {} : { fingerprint: known });
    if (!opened) return undefined;
    if (ContentCache.fromTier(ref)) {
      // attachments come along (and are checked) before anything relies on the reference
      for (const a of Object.values(ref.attachments ?? {})) {
        if (!(await this.readBlob(a))) {
          await opened.file.close();
          return undefined;
        }
      }
      await this.#keepLocally(ref, this.refPath(namespace, key));
      return { ref, file: opened.file, fromTier: true };
    }
    if (opened.fingerprint !== known) {
      const { key: _key, ...rest } = ref;
      await this.setRef(namespace, key, {
        ...rest,
        verified: { ...ref.verified, [ref.blob.digest]: opened.fingerprint },
      }).catch(() => {});
    }
    return { ref, file: opened.file, fromTier: false };
  }

  /** An attachment's verified bytes. */
  async readAttachment(ref: CacheRef<RefMeta>, name: string): Promise<Buffer | undefined> {
    const info = ref.attachments?.[name];
    return info ? this.readBlob(info) : undefined;
  }

  /** A new temporary file (see tempFilePath), recreating its directory if a concurrent clean removed it. */
  async #createTemp(mode: number): Promise<{ tmp: string; fh: FileHandle }> {
    for (let tries = 0; ; tries++) {
      const dir = this.#tempDir();
      const tmp = tempName(dir);
      try {
        await this.#mkdir(dir);
        removeOnExit(tmp);
        return { tmp, fh: await open(tmp, 'wx', mode) };
      } catch (e) {
        if (errno(e) === 'ENOENT' && tries < 2) {
          this.#madeDirs.clear();
          continue;
        }
        throw this.#ioError('cannot write to the cache', e);
      }
    }
  }

  /**
   * Renames (or links) a finished temporary file into place, recreating directories a concurrent clean removed.
   * A blob that is already there has the same bytes (its name is their digest): linking to it is not needed.
   */
  async #place(tmp: string, dest: string, how: 'rename' | 'link' = 'rename'): Promise<void> {
    for (let tries = 0; ; tries++) {
      try {
        await this.#mkdir(dirname(dest));
        if (how === 'rename') await rename(tmp, dest);
        else await link(tmp, dest);
        return;
      } catch (e) {
        if (how === 'link' && errno(e) === 'EEXIST') return;
        if (errno(e) === 'ENOENT' && tries < 2) {
          this.#madeDirs.clear();
          continue;
        }
        if (how === 'rename') await unlink(tmp).catch(() => {});
        throw this.#ioError(`cannot store ${dest}`, e);
      }
    }
  }

  async #mkdir(dir: string): Promise<void> {
    if (this.#madeDirs.has(dir)) return;
    await mkdir(dir, { recursive: true });
    this.#madeDirs.add(dir);
  }

  async #writeIfMissing(path: string, text: string): Promise<void> {
    try {
      await writeNew(path, text);
    } catch (e) {
      if (errno(e) !== 'EEXIST') throw e;
    }
  }

  async #discardCorrupt(path: string, digest: string, detail: string): Promise<void> {
    this.logger.warn(
      `cache: ${digest} is corrupt (${detail} or wrong hash); removed, it will be fetched again`,
    );
    await unlink(path).catch(() => {});
  }

  #ioError(what: string, e: unknown): LadingError {
    const code = errno(e);
    return new LadingError('STORE_IO', `${what} (${code ?? (e as Error).message}) in ${this.dir}`, {
      hint:
        code === 'ENOSPC'
          ? 'the disk is full: free space or prune the cache (lading clean)'
          : 'check the permissions of the cache directory, or choose another with --cache-dir',
      cause: e,
    });
  }
}

/** An open blob file as a CachedFile. */
function cachedFile(fh: FileHandle, path: string, digest: string, size: number): CachedFile {
  return {
    path,
    digest,
    size,
    handle: fh,
    read: async (position, length) => {
      const buf = Buffer.allocUnsafe(length);
      let done = 0;
      while (done < length) {
        const { bytesRead } = await fh.read(buf, done, length - done, position + done);
        if (bytesRead === 0) break;
        done += bytesRead;
      }
      return done === length ? buf : buf.subarray(0, done);
    },
    stream: (start, end) =>
      end <= start ? Readable.from([]) : fh.createReadStream({ start, end: end - 1, autoClose: false }),
    close: () => fh.close(),
  };
}

async function writeNew(path: string, text: string): Promise<void> {
  const fh = await open(path, 'wx', 0o644);
  try {
    await fh.writeFile(text);
  } finally {
    await fh.close();
  }
}

async function hashHandle(fh: FileHandle, size: number): Promise<string> {
  const hash = createHash('sha256');
  const buf = Buffer.allocUnsafe(Math.min(1 << 20, Math.max(size, 1)));
  for (let pos = 0; pos < size; ) {
    const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, size - pos), pos);
    if (bytesRead === 0) break;
    hash.update(buf.subarray(0, bytesRead));
    pos += bytesRead;
  }
  return `sha256:${hash.digest('hex')}`;
}

function isBlobInfo(v: unknown): v is BlobInfo {
  const b = v as BlobInfo;
  return (
    typeof b === 'object' &&
    b !== null &&
    typeof b.digest === 'string' &&
    DIGEST.test(b.digest) &&
    Number.isSafeInteger(b.size) &&
    b.size >= 0
  );
}

/** Parses a reference file; undefined when it is not one (hand-edited, foreign). */
export function parseRef(text: string): CacheRef | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  const r = v as CacheRef;
  if (typeof r !== 'object' || r === null || typeof r.key !== 'string' || !isBlobInfo(r.blob))
    return undefined;
  if (r.attachments !== undefined && !Object.values(r.attachments).every(isBlobInfo)) return undefined;
  return r;
}

/**
 * Removes what killed writers left: files in tmp/ and pin directories whose writer is gone (same pid namespace,
 * no such process) or, for writers this process cannot see, older than `olderThanMs` (pins: STALE_PINS_MS), and
 * trash left by an interrupted clean. Returns the count.
 */
export async function sweepTemporaryFiles(
  dir: string,
  olderThanMs: number,
  now = Date.now(),
): Promise<number> {
  const { tmp, pins } = layoutPaths(dir);
  const list = async (d: string) => (await readdir(d).catch(() => [] as string[])).map((n) => join(d, n));
  const candidates: [string, number][] = [
    ...(await list(tmp)).map((p): [string, number] => [p, olderThanMs]),
    ...(await list(pins)).map((p): [string, number] => [p, Math.max(olderThanMs, STALE_PINS_MS)]),
    ...(await list(dir))
      .filter((p) => basename(p).startsWith(TRASH_PREFIX))
      .map((p): [string, number] => [p, olderThanMs]),
  ];
  let removed = 0;
  for (const [path, maxAge] of candidates) {
    const st = await stat(path).catch(() => undefined);
    if (st && (writerGone(basename(path)) || now - st.mtimeMs >= maxAge)) {
      await rm(path, { recursive: true, force: true }).catch(() => {});
      removed++;
    }
  }
  return removed;
}
