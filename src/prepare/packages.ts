/**
 * Fetch, verify and expand the resolved packages, in parallel, through the cache. A package is used only
 * after its control checksum matched the (signature-verified) index's C: and its data matched the
 * .PKGINFO datahash; only then is its data inflated, as a stream straight into the cache, checked against
 * the package content rules as it goes and stopped at the limit its declared installed size allows. The
 * expanded form — the uncompressed data tar plus a small JSON index of its entries and control data — is
 * cached by the control checksum, so a warm build neither fetches nor inflates anything and the image
 * filesystem points straight into the cached tars.
 */

import { rm, writeFile } from 'node:fs/promises';
import { readApk, readApkData, verifyApk } from '../apk/apk-reader.ts';
import type { Keyring } from '../apk/keyring.ts';
import { checkPackageIdentity } from '../apk/rules.ts';
import type { PackageInfo, RepositoryPackage } from '../apk/types.ts';
import { type LockPackage, parseRange } from '../lock/format.ts';
import { apkRanges } from '../lock/make.ts';
import { fileSource, layerOf } from '../oci/blobs.ts';
import { MediaType } from '../oci/types.ts';
import { type FetchOptions, fetchPackage, forgetPackage } from '../repo/fetch.ts';
import { packageLocation, type RepositoryRef, repositoryFile } from '../repo/ref.ts';
import type { InstallablePackage } from '../rootfs/install.ts';
import type { BlobInfo, ContentCache } from '../store/cache.ts';
import { EXPANDED_PACKAGES } from '../store/namespaces.ts';
import type { TarEntry } from '../tar/reader.ts';
import { LadingError } from '../util/errors.ts';

/** Bump when the cached expanded form changes shape. */
const EXPANDED_FORMAT = 2;

type PackageRanges = Pick<LockPackage, 'signature' | 'control' | 'data'>;

/** A package a lock pins: exactly this file, from this place. */
export interface LockedRequest {
  /** The lock entry: name, version, checksum (Q1) and the byte ranges and checksums to verify. */
  entry: LockPackage;
  /** The repository of its URL (a configured one when the URL is in it, so its credentials apply). */
  repo: RepositoryRef;
  /** The URL's directory: an architecture or `noarch`. */
  dir: string;
  /** The lock file, for errors. */
  lockFile: string;
}

/** A resolved package with what the build learned about it. */
export interface PreparedPackage extends InstallablePackage {
  resolved: RepositoryPackage;
  /** Where the package was (or would be) downloaded from, without credentials. */
  location: string;
}

export interface PrepareOptions {
  fetch: FetchOptions;
  /** Verifies the signatures of packages without a datahash. */
  keyring: Keyring;
  ignoreSignatures?: boolean;
  arch: string;
  /** The configured repositories by their RepositoryPackage.repository string. */
  repositories: ReadonlyMap<string, RepositoryRef>;
  /** Called when a package is ready (progress display). */
  onReady?: (pkg: RepositoryPackage, fromCache: boolean) => void;
  /** Bytes allowed in memory at once while expanding (default 24 MiB). */
  memoryBudget?: number;
  /**
   * Keep each package's compressed data stream in the store (an attachment of its expanded form) and give
   * every package its `dataLayer`: for `layering: {strategy: package}`.
   */
  dataLayers?: boolean;
}

interface ExpandedMeta {
  format: number;
  datahash: string;
  replaces: string[];
  replacesPriority?: number;
  triggers: string[];
  scripts: { name: string; data: string; mtime: number }[];
  /** [name, type, mode, uid, gid, size, mtime, linkname, devmajor, devminor, dataOffset, sha1, xattrs(base64)] */
  entries: unknown[][];
  /** The .PKGINFO as an index record (with C: and S:): what a locked build installs without an index. */
  info?: PackageInfo;
  /** The package's gzip members as a lock records them (absent in entries cached by older versions). */
  ranges?: PackageRanges;
  /** What runtimes would unpack differently from the entries if the data stream were a layer as it is. */
  differences: string[];
}

/** The expanded form: meta, the uncompressed tar, and the compressed data stream when kept. */
interface Expanded {
  meta: ExpandedMeta;
  tar: BlobInfo & { path: string };
  stream?: BlobInfo & { path: string };
}

const TYPES: TarEntry['type'][] = ['file', 'directory', 'symlink', 'hardlink', 'chardev', 'blockdev', 'fifo'];

/** A tar entry as a compact JSON array (the expanded-package index; base layers reuse it). */
export function packEntry(e: TarEntry): unknown[] {
  const x = Object.keys(e.xattrs).length
    ? Object.fromEntries(Object.entries(e.xattrs).map(([k, v]) => [k, v.toString('base64')]))
    : 0;
  return [
    e.name,
    TYPES.indexOf(e.type),
    e.mode,
    e.uid,
    e.gid,
    e.size,
    e.mtime,
    e.linkname,
    e.devmajor,
    e.devminor,
    e.dataOffset,
    e.pax['APK-TOOLS.checksum.SHA1'] ?? 0,
    x,
  ];
}

/** packEntry's array back to the entry. */
export function unpackEntry(a: unknown[]): TarEntry {
  const [name, type, mode, uid, gid, size, mtime, linkname, devmajor, devminor, dataOffset, sha1, x] = a as [
    string,
    number,
    number,
    number,
    number,
    number,
    number,
    string,
    number,
    number,
    number,
    string | 0,
    Record<string, string> | 0,
  ];
  return {
    name,
    type: TYPES[type]!,
    mode,
    uid,
    gid,
    uname: '',
    gname: '',
    size,
    mtime,
    linkname,
    devmajor,
    devminor,
    pax: sha1 ? { 'APK-TOOLS.checksum.SHA1': sha1 } : {},
    xattrs: x ? Object.fromEntries(Object.entries(x).map(([k, v]) => [k, Buffer.from(v, 'base64')])) : {},
    headerOffset: 0,
    dataOffset,
  };
}

/** What prepare fetches: a package, where from, and what its bytes must match besides its checksum. */
interface Want {
  name: string;
  version: string;
  checksum: string;
  repo: RepositoryRef;
  dir: string;
  fallbackDir?: string;
  locked?: LockedRequest;
  /** Inflate in one piece when the package declares a small installed size (its weight allowed for it). */
  onePiece?: boolean;
}

function installable(resolved: RepositoryPackage, expanded: Expanded, location: string): PreparedPackage {
  const { meta, tar, stream } = expanded;
  const info = { ...resolved, replaces: meta.replaces };
  if (meta.replacesPriority) info.replacesPriority = meta.replacesPriority;
  const prepared: PreparedPackage = {
    resolved,
    location,
    info,
    checksum: resolved.checksum!,
    triggers: meta.triggers,
    scripts: meta.scripts.map((s) => ({ name: s.name, data: Buffer.from(s.data, 'base64'), mtime: s.mtime })),
    entries: meta.entries.map(unpackEntry),
    data: { kind: 'file', path: tar.path },
    datahash: meta.datahash,
  };
  if (stream !== undefined) {
    // the package's own compressed bytes: its digest is the datahash, its diff ID the uncompressed tar's
    const layer = layerOf(
      {
        mediaType: MediaType.layerTarGzip,
        digest: stream.digest,
        size: stream.size,
        diffId: tar.digest,
        uncompressedSize: tar.size,
      },
      fileSource(stream.path),
    );
    prepared.dataLayer = { layer, differences: meta.differences };
  }
  return prepared;
}

/** The expanded form from the store (with the data stream when `withStream`), or undefined to expand again. */
async function fromCache(
  cache: ContentCache,
  checksum: string,
  withStream: boolean | undefined,
): Promise<Expanded | undefined> {
  const hit = await cache.openRef(EXPANDED_PACKAGES, checksum);
  if (!hit) return undefined;
  const tar = { ...hit.ref.blob, path: hit.file.path };
  await hit.file.close();
  const raw = await cache.readAttachment(hit.ref, 'meta');
  if (!raw) return undefined;
  let meta: ExpandedMeta;
  try {
    meta = JSON.parse(raw.toString('utf8')) as ExpandedMeta;
  } catch {
    return undefined;
  }
  if (meta.format !== EXPANDED_FORMAT) return undefined;
  if (!withStream || meta.entries.length === 0) return { meta, tar };
  // expanded before without its stream (for another layering): expanded again, once
  const streamInfo = hit.ref.attachments?.stream;
  if (streamInfo === undefined) return undefined;
  const known = hit.ref.verified?.[streamInfo.digest];
  const opened = await cache.openBlob(streamInfo, known === undefined ? {} : { fingerprint: known });
  if (!opened) return undefined;
  await opened.file.close();
  return { meta, tar, stream: { ...streamInfo, path: opened.file.path } };
}

/** The compressed data stream into the store under its known digest (the datahash readApk computed). */
async function storeStream(cache: ContentCache, data: Buffer, hexDigest: string) {
  const tmp = await cache.tempFilePath();
  try {
    await writeFile(tmp, data, { mode: 0o444 });
  } catch (e) {
    await rm(tmp, { force: true });
    throw new LadingError('STORE_IO', `cannot write to the cache (${(e as Error).message}) in ${cache.dir}`, {
      hint: 'check the free space and the permissions of the cache directory',
    });
  }
  const blob = await cache.adoptFile(tmp, `sha256:${hexDigest}`, data.length);
  return { ...blob, path: blob.path ?? cache.blobPath(blob.digest) };
}

/** Downloads (or reads), verifies and expands one package into the cache. */
async function expand(want: Want, options: Omit<PrepareOptions, 'repositories'>): Promise<Expanded> {
  const pkg = { name: want.name, version: want.version };
  const repo = want.repo;
  const request = { name: want.name, version: want.version, checksum: want.checksum };
  let apk: ReturnType<typeof readApk> | undefined;
  const fetched = await fetchPackage(repo, want.dir, request, {
    ...options.fetch,
    ...(want.fallbackDir === undefined ? {} : { fallbackDir: want.fallbackDir }),
    verify: (bytes) => {
      apk = readApk(bytes, { file: `${pkg.name}-${pkg.version}.apk`, verifyDataHash: false });
      if (want.locked) checkLocked(want.locked, apk.checksum, apkRanges(apk));
      else if (apk.checksum !== want.checksum) {
        throw new LadingError(
          'PACKAGE_CHECKSUM_MISMATCH',
          `package ${pkg.name}-${pkg.version} from ${repo.display} does not match its index entry ` +
            `(control checksum ${apk.checksum}, index says ${want.checksum})`,
          { hint: 'the repository is inconsistent or the package was tampered with; refresh the repository' },
        );
      }
    },
  });
  const parsed = apk!;
  const file = fetched.location;
  const expected = parsed.pkginfo.datahash;
  if (expected === undefined && !options.ignoreSignatures) {
    // C: covers only the control part; without a datahash only the package's own signature (over control and
    // data, as old abuild wrote it) vouches for the data
    const v = verifyApk(parsed, options.keyring);
    if (v.status !== 'OK') {
      throw new LadingError(
        'PACKAGE_DATA_UNVERIFIED',
        `package ${pkg.name}-${pkg.version} has no datahash and its own signature is ${v.status}: its data cannot be verified (${v.message})`,
        {
          file,
          hint: 'add the key that signed the package to the keyring, or rebuild the package with a datahash',
        },
      );
    }
  }
  if (expected !== undefined && expected !== parsed.dataHash) {
    await forgetPackage(repo, want.dir, request, options.fetch);
    throw new LadingError(
      'PACKAGE_DATAHASH_MISMATCH',
      `package ${pkg.name}-${pkg.version}: its data does not match the datahash in its .PKGINFO`,
      { file, hint: 'the package is damaged or was tampered with; it was not used' },
    );
  }
  checkPackageIdentity(parsed.info, file);
  const cache = options.fetch.cache;
  // the compressed stream is stored while the data is inflated: its write is off the inflate's path
  const keepStream = options.dataLayers === true && parsed.data.length > 0;
  const streamWrite = keepStream ? storeStream(cache, parsed.data, parsed.dataHash) : undefined;
  streamWrite?.catch(() => {}); // awaited below; a failed inflate must not leave it unobserved
  const writer = await cache.createWriter();
  let inflated: Awaited<ReturnType<typeof readApkData>>;
  try {
    inflated = await readApkData(parsed, {
      sink: (chunk) => writer.write(chunk),
      inOnePiece: want.onePiece ? onePieceSize(parsed.pkginfo.package.installedSize) : 0,
    });
  } catch (e) {
    await writer.discard();
    throw e;
  }
  const blob = await writer.commit();
  const stream = await streamWrite;
  const { entries } = inflated;
  if (inflated.dropped.length > 0) {
    options.fetch.logger?.warn(
      `package ${pkg.name}-${pkg.version}: dropped overlayfs xattrs, which would steer an overlay mount: ${inflated.dropped.slice(0, 5).join(', ')}${inflated.dropped.length > 5 ? ', …' : ''}`,
    );
  }
  const meta: ExpandedMeta = {
    format: EXPANDED_FORMAT,
    datahash: parsed.dataHash,
    replaces: parsed.info.replaces,
    triggers: parsed.triggers,
    scripts: parsed.scripts.map((s) => ({ name: s.name, data: s.data.toString('base64'), mtime: s.mtime })),
    entries: entries.map(packEntry),
    info: parsed.info,
    ranges: apkRanges(parsed),
    differences: inflated.differences,
  };
  if (parsed.info.replacesPriority) meta.replacesPriority = parsed.info.replacesPriority;
  const metaBlob = await cache.putBytes(Buffer.from(JSON.stringify(meta)));
  const attachments: Record<string, BlobInfo> = { meta: metaBlob };
  if (stream) attachments.stream = stream;
  await cache.setRef(EXPANDED_PACKAGES, want.checksum, { blob, attachments });
  const tar = { ...blob, path: blob.path ?? cache.blobPath(blob.digest) };
  return stream && entries.length > 0 ? { meta, tar, stream } : { meta, tar };
}

/** What one streaming inflate holds besides its input: zlib's window and output chunks, the tar parser's block. */
const STREAM_BUFFERS = 512 * 1024;
/** Packages declaring up to this installed size are inflated in one piece (see inflateApkData). */
const ONE_PIECE_MAX = 8 << 20;

/** The most bytes a package is inflated to in one piece (0: streamed): its declared size, with room for headers. */
function onePieceSize(installedSize: number | undefined): number {
  const declared = installedSize ?? 0;
  return declared > ONE_PIECE_MAX ? 0 : declared + (declared >> 2) + (256 << 10);
}

/** A limiter on the sum of a weight (bytes) in flight; a single item heavier than the budget runs alone. */
function byteBudget(budget: number) {
  let used = 0;
  const waiting: (() => void)[] = [];
  return async <T>(weight: number, task: () => Promise<T>): Promise<T> => {
    const w = Math.min(weight, budget);
    while (used > 0 && used + w > budget) await new Promise<void>((r) => waiting.push(r));
    used += w;
    try {
      return await task();
    } finally {
      used -= w;
      for (const r of waiting.splice(0)) r();
    }
  };
}

/**
 * Prepares every resolved package (in parallel, memory-bounded), returning them in the resolution's
 * install order.
 */
export async function preparePackages(
  packages: readonly RepositoryPackage[],
  options: PrepareOptions,
): Promise<PreparedPackage[]> {
  const limit = byteBudget(options.memoryBudget ?? 24 << 20);
  return Promise.all(
    packages.map(async (pkg) => {
      const repo = options.repositories.get(pkg.repository);
      if (repo === undefined)
        throw new Error(`bug: package ${pkg.name} from unknown repository ${pkg.repository}`);
      if (!pkg.checksum) {
        throw new LadingError(
          'INDEX_NO_CHECKSUM',
          `the index of ${repo.display} lists ${pkg.name}-${pkg.version} without a C: checksum, so it cannot be verified`,
          { hint: 'rebuild the index (lading index) so every package has its checksum' },
        );
      }
      // where it comes from, the same whether it was in the cache or not (credentials never in it)
      const location = packageLocation(repo, options.arch, pkg);
      const cached = await fromCache(options.fetch.cache, pkg.checksum, options.dataLayers);
      if (cached) {
        options.onReady?.(pkg, true);
        return installable(pkg, cached, location);
      }
      const want: Want = {
        name: pkg.name,
        version: pkg.version,
        checksum: pkg.checksum,
        repo,
        dir: options.arch,
        onePiece: true,
      };
      if (pkg.arch === 'noarch') want.fallbackDir = 'noarch';
      // held while expanding: the downloaded package and the streaming inflate's buffers (not its output)
      const weight = (pkg.size ?? 0) + Math.max(STREAM_BUFFERS, onePieceSize(pkg.installedSize));
      const done = await limit(weight, () => expand(want, options));
      options.onReady?.(pkg, false);
      return installable(pkg, done, location);
    }),
  );
}

/**
 * Prepares the packages a lock pins, with no index: each from its locked URL (or the other directory of a
 * noarch layout), its control checksum and every member's range and checksum compared with the lock, its data
 * with its .PKGINFO datahash; what the index would say about it comes from its .PKGINFO (its architecture from
 * the lock). In lock order.
 */
export async function prepareLockedPackages(
  locked: readonly LockedRequest[],
  options: Omit<PrepareOptions, 'repositories'>,
): Promise<PreparedPackage[]> {
  const limit = byteBudget(options.memoryBudget ?? 24 << 20);
  return Promise.all(
    locked.map(async (request, i) => {
      const { entry, repo, dir } = request;
      const label = `${entry.name}-${entry.version}`;
      if (!entry.checksum) {
        throw new LadingError(
          'LOCK_OLD',
          `locked package ${label} has no checksum: the lock was written by apko before 0.13`,
          { file: request.lockFile, hint: 'regenerate it with `lading lock CONFIG`' },
        );
      }
      const location = repositoryFile(repo, dir, `${label}.apk`);
      // the architecture the index gave (the lock keeps it): Alpine's indexes list noarch packages under the
      // architecture they were indexed for, their .PKGINFO says noarch; the installed database writes the index's
      const resolvedOf = (meta: ExpandedMeta): RepositoryPackage => ({
        ...meta.info!,
        ...(entry.architecture ? { arch: entry.architecture } : {}),
        repository: repo.display,
        repositoryIndex: i,
      });
      const cached = await fromCache(options.fetch.cache, entry.checksum, options.dataLayers);
      // entries cached before the .PKGINFO and ranges were kept are expanded again
      if (cached?.meta.info && cached.meta.ranges) {
        checkLocked(request, entry.checksum, cached.meta.ranges);
        const resolved = resolvedOf(cached.meta);
        options.onReady?.(resolved, true);
        return installable(resolved, cached, location);
      }
      const want: Want = {
        name: entry.name,
        version: entry.version,
        checksum: entry.checksum,
        repo,
        dir,
        fallbackDir: dir === 'noarch' ? options.arch : 'noarch',
        locked: request,
      };
      const done = await limit(lockedSize(entry) + STREAM_BUFFERS, () => expand(want, options)).catch(
        (e: unknown) => {
          throw gone(e, request) ?? e;
        },
      );
      const resolved = resolvedOf(done.meta);
      options.onReady?.(resolved, false);
      return installable(resolved, done, location);
    }),
  );
}

/** A locked package the repository no longer has: LOCK_PACKAGE_GONE, saying where it was looked for. */
function gone(e: unknown, request: LockedRequest): LadingError | undefined {
  if (!(e instanceof LadingError) || (e.code !== 'REPO_NOT_FOUND' && e.code !== 'NET_NOT_FOUND'))
    return undefined;
  const { entry } = request;
  return new LadingError(
    'LOCK_PACKAGE_GONE',
    `locked package ${entry.name}-${entry.version} (${entry.architecture}) is gone from ${request.repo.display}: ${e.message}`,
    {
      file: request.lockFile,
      hint: 'the repository dropped it since the lock was written; regenerate the lock with `lading lock CONFIG` to pin what it has now',
      cause: e,
    },
  );
}

/** The package's size from the lock's last range (0 when the lock has none). */
function lockedSize(entry: LockPackage): number {
  const end = parseRange(entry.data.range)?.[1];
  return end === undefined ? 0 : end + 1;
}

/** The package's bytes (their checksum and member ranges) against the lock: LOCK_MISMATCH naming what differs. */
function checkLocked(request: LockedRequest, checksum: string, ranges: PackageRanges): void {
  const { entry } = request;
  const differs: string[] = [];
  if (checksum !== entry.checksum) differs.push(`checksum ${checksum}, the lock says ${entry.checksum}`);
  for (const member of ['signature', 'control', 'data'] as const) {
    const have = ranges[member];
    const want = entry[member];
    // a lock may leave a range out (a hand-made or old lock); what it records must match
    if (want.range === '' && want.checksum === '') continue;
    if (have.range !== want.range || have.checksum !== want.checksum) {
      differs.push(`${member} ${have.range} ${have.checksum}, the lock says ${want.range} ${want.checksum}`);
    }
  }
  if (differs.length === 0) return;
  throw new LadingError(
    'LOCK_MISMATCH',
    `locked package ${entry.name}-${entry.version} (${entry.architecture}) from ${entry.url} does not match the lock: ${differs.join('; ')}`,
    {
      file: request.lockFile,
      hint: 'the package changed in the repository since the lock was written, or the lock was edited; regenerate the lock with `lading lock CONFIG` if the new package is trusted',
    },
  );
}
