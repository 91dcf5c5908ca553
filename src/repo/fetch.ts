/**
 * What the build calls to get bytes: repository indexes, packages and keys, through the cache.
 *
 * - Local repositories and key files are read in place and not copied into the cache: they are already
 *   on this disk, and a copy could go stale when the directory changes.
 * - Indexes and keys from http(s) are cached under their URL with ETag/Last-Modified. Within a freshness
 *   window (default 60 s, so a batch of builds asks once) the cached copy is used without a request;
 *   after it, one conditional GET (usually a 304). If the server cannot be reached, a cached copy is
 *   used with a warning.
 * - Packages are cached under name-version and their control checksum (Q1…) when known, else their URL:
 *   a package version never changes, so a cached package is used without any request. The caller's
 *   `verify` (control checksum against the index) runs on cached and downloaded bytes alike; a cached
 *   copy that fails it is forgotten and downloaded again, a download that fails it is not stored.
 * - `offline` never touches the network: everything comes from the cache or fails naming what is missing.
 */
import { readFile } from 'node:fs/promises';
import { basename, isAbsolute } from 'node:path';
import { type BasicCredentials, parseHttpAuth } from '../net/auth.ts';
import { createHttpClient, type HttpClient, type HttpClientOptions } from '../net/http.ts';
import { createSingleFlight } from '../net/limit.ts';
import {
  type BlobWriter,
  type ContentCache,
  openCache,
  type RefInput,
  type RefMeta,
  type RefNamespace,
} from '../store/cache.ts';
import { defaultCacheDir } from '../store/default-dir.ts';
import { INDEXES, KEYS, PACKAGES, type PackageKey } from '../store/namespaces.ts';
import { digestOf } from '../util/digest.ts';
import { LadingError } from '../util/errors.ts';
import { type Logger, silentLogger } from '../util/log.ts';
import { indexLocation, type KeySource, packageLocation, parseKeySource, type RepositoryRef } from './ref.ts';

export interface FetchOptions {
  cache: ContentCache;
  /** Required unless offline. */
  http?: HttpClient;
  offline?: boolean;
  logger?: Logger;
  /** Seconds a cached index or key is used without asking the server (default 60; 0 = always ask). */
  maxAgeSeconds?: number;
  /** Called with the size of each downloaded chunk (progress display). */
  onBytes?: (n: number) => void;
  /** Directory relative key paths resolve from (default: the process's working directory). */
  cwd?: string;
  /** Clock for freshness decisions (tests). */
  now?: () => number;
  /**
   * Indexes already fetched and verified in this process, by repository entry and architecture: many configs
   * resolved in one process (`lading plan`, publish-many) all see one snapshot of each index.
   */
  snapshot?: Map<string, Promise<unknown>>;
}

export type FetchSource =
  /** read from a local repository or key file */
  | 'local'
  /** from the cache, no request made */
  | 'cache'
  /** from the cache after the server answered 304 Not Modified */
  | 'revalidated'
  /** from the cache because the server could not be reached */
  | 'stale'
  /** downloaded now */
  | 'network';

export interface Fetched {
  bytes: Buffer;
  /** `sha256:<hex>` of bytes: a stable key for anything derived from them (a parsed index, say). */
  digest: string;
  source: FetchSource;
  /** Where the bytes come from, safe to print (path, or URL without credentials). */
  location: string;
}

export interface PackageRequest {
  name: string;
  version: string;
  /** The index's `C:` (Q1 + base64 SHA-1 of the control member), when known. */
  checksum?: string;
}

export interface FetchPackageOptions extends FetchOptions {
  /** Checks the bytes (control checksum against the index); throw to reject them. */
  verify?: (bytes: Buffer) => void | Promise<void>;
  /** Ignore a cached copy and download again. */
  refresh?: boolean;
  /**
   * Another directory of the repository to look in when the package is not in `<repo>/<arch>/` (or, for a
   * lock's URL, its own directory): apk-tools 2 fetches a package whose A: is noarch from `<repo>/noarch/`,
   * apko and lading from `<repo>/<arch>/`, and repositories are laid out for either.
   */
  fallbackDir?: string;
}

export interface RepoSettings {
  /** Default: $XDG_CACHE_HOME/lading or ~/.cache/lading. */
  cacheDir?: string;
  offline?: boolean;
  /**
   * Environment to read HTTP_AUTH, XDG_CACHE_HOME, LADING_HTTP_DEADLINE and LADING_HTTP_MIN_RATE from
   * (default process.env).
   */
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
  maxAgeSeconds?: number;
  cwd?: string;
  /** HTTP tuning: attempts, timeouts, size limit, concurrency, user agent. */
  http?: Omit<HttpClientOptions, 'auth' | 'logger'>;
  /** fsync cache blobs before renaming them into place. */
  fsync?: boolean;
  /** Shared caches read when the local one misses (directories or Bazel-protocol URLs; see store/tiers.ts). */
  cacheFrom?: readonly string[];
  /** A shared cache written through. */
  cacheTo?: string;
}

/** Opens the cache, reads HTTP_AUTH and creates the HTTP client: everything the fetch functions need. */
export async function createFetchOptions(settings: RepoSettings = {}): Promise<FetchOptions> {
  const env = settings.env ?? process.env;
  const logger = settings.logger ?? silentLogger;
  const auth = parseHttpAuth(env.HTTP_AUTH);
  for (const w of auth.warnings) logger.warn(w);
  const cache = await openCache(settings.cacheDir ?? defaultCacheDir(env), {
    logger,
    fsync: settings.fsync,
    ...(settings.cacheFrom?.length ? { from: settings.cacheFrom } : {}),
    ...(settings.cacheTo === undefined ? {} : { to: settings.cacheTo }),
    ...(settings.cwd === undefined ? {} : { cwd: settings.cwd }),
  });
  const options: FetchOptions = { cache, logger, offline: settings.offline ?? false };
  if (!options.offline) {
    options.http = createHttpClient({ ...httpLimits(env), ...settings.http, auth: auth.entries, logger });
  }
  if (settings.maxAgeSeconds !== undefined) options.maxAgeSeconds = settings.maxAgeSeconds;
  if (settings.cwd !== undefined) options.cwd = settings.cwd;
  return options;
}

/** How long one download may take in all (attempts and waits included), unless LADING_HTTP_DEADLINE says. */
export const DEFAULT_HTTP_DEADLINE_S = 30 * 60;
/** The slowest download accepted (bytes/s over 30 s), unless LADING_HTTP_MIN_RATE says; 0 turns it off. */
export const DEFAULT_HTTP_MIN_RATE = 1024;

/**
 * The overall deadline and minimum rate of repository downloads: without them a server sending a byte a second
 * (never idle long enough to time out) holds a build forever.
 */
export function httpLimits(
  env: NodeJS.ProcessEnv,
): Pick<HttpClientOptions, 'deadlineMs' | 'minBytesPerSecond'> {
  const number = (name: string, fallback: number, what: string, min: number): number => {
    const text = env[name];
    if (text === undefined || text.trim() === '') return fallback;
    const n = Number(text);
    if (!Number.isFinite(n) || n < min) {
      throw new LadingError('USAGE', `${name}=${JSON.stringify(text)} is not ${what}`, {
        hint: `set ${name} to ${what}, or unset it for the default (${fallback})`,
      });
    }
    return n;
  };
  return {
    deadlineMs:
      number('LADING_HTTP_DEADLINE', DEFAULT_HTTP_DEADLINE_S, 'a number of seconds above 0', 0.001) * 1000,
    minBytesPerSecond: number(
      'LADING_HTTP_MIN_RATE',
      DEFAULT_HTTP_MIN_RATE,
      'a number of bytes per second (0 for none)',
      0,
    ),
  };
}

/** The raw APKINDEX.tar.gz of one repository and architecture. */
export async function fetchIndex(repo: RepositoryRef, arch: string, options: FetchOptions): Promise<Fetched> {
  const location = indexLocation(repo, arch);
  const what = `the index of repository ${repo.display} (${arch})`;
  // the index itself is missing: a wrong URL, or a repository without this architecture (never a stale index)
  const hint = `check the repository URL, and that the repository has ${arch} packages (${arch}/APKINDEX.tar.gz)`;
  if (repo.kind === 'local') return readLocal(location, what, hint);
  return fetchRevalidated(INDEXES, location, repo.credentials, what, options, hint);
}

/**
 * The raw .apk of one package, from `<repo>/<arch>/` (`arch` is the directory), else from
 * `<repo>/<fallbackDir>/`. `location` says where it was found.
 */
export async function fetchPackage(
  repo: RepositoryRef,
  arch: string,
  pkg: PackageRequest,
  options: FetchPackageOptions,
): Promise<Fetched> {
  const fallback = options.fallbackDir;
  if (fallback === undefined || fallback === arch) return fetchPackageIn(repo, arch, pkg, options);
  try {
    return await fetchPackageIn(repo, arch, pkg, options);
  } catch (first) {
    if (!missing(first)) throw first;
    try {
      return await fetchPackageIn(repo, fallback, pkg, options);
    } catch (second) {
      if (!missing(second)) throw second;
      const e = first as LadingError;
      throw new LadingError(e.code, `${e.message}, nor at ${packageLocation(repo, fallback, pkg)}`, {
        hint: e.hint,
        cause: e.cause,
      });
    }
  }
}

/** Not there (or, offline, not cached): worth looking in the other directory. */
function missing(e: unknown): boolean {
  return (
    e instanceof LadingError &&
    (e.code === 'REPO_NOT_FOUND' || e.code === 'NET_NOT_FOUND' || e.code === 'REPO_OFFLINE')
  );
}

async function fetchPackageIn(
  repo: RepositoryRef,
  arch: string,
  pkg: PackageRequest,
  options: FetchPackageOptions,
): Promise<Fetched> {
  const location = packageLocation(repo, arch, pkg);
  const what = `package ${pkg.name}-${pkg.version}`;
  if (repo.kind === 'local') {
    const local = await readLocal(
      location,
      what,
      `the index of ${repo.display} lists it; is the directory complete?`,
    );
    await options.verify?.(local.bytes);
    return local;
  }
  const key: PackageKey = { ...pkg, url: location };
  const { cache } = options;
  const logger = options.logger ?? silentLogger;
  return singleFlight(cache)(`package ${PACKAGES.keyText(key)}`, async () => {
    if (!options.refresh) {
      const cached = await cache.readRef(PACKAGES, key);
      if (cached) {
        try {
          await options.verify?.(cached.bytes);
          return { bytes: cached.bytes, digest: cached.ref.blob.digest, source: 'cache', location };
        } catch (e) {
          logger.warn(`cached ${what} was rejected (${(e as Error).message}); fetching it again`);
          await cache.deleteRef(PACKAGES, key);
        }
      }
    }
    const http = network(options, what);
    const res = await http.get(location, {
      credentials: repo.credentials,
      sink: () => writer(options),
      what,
      notFoundHint: `the index of ${repo.display} lists it but the repository does not have it: the index is stale (the mirror is updating, or the cache holds an old index); build again later, or use another mirror`,
    });
    if (res.status !== 200) throw new LadingError('NET_HTTP', `unexpected 304 for ${what} from ${location}`);
    const bytes = res.sink.bytes();
    try {
      await options.verify?.(bytes);
    } catch (e) {
      await res.sink.discard();
      throw e;
    }
    const digest = await store(options, res.sink, bytes, PACKAGES, key, (blob) => ({
      blob,
      meta: { name: pkg.name, version: pkg.version, url: location },
    }));
    return { bytes, digest, source: 'network', location };
  });
}

/** Forgets the cached copy of a package (e.g. its data hash turned out wrong), so the next fetch downloads it. */
export async function forgetPackage(
  repo: RepositoryRef,
  arch: string,
  pkg: PackageRequest,
  options: FetchOptions,
): Promise<void> {
  if (repo.kind === 'local') return;
  await options.cache.deleteRef(PACKAGES, { ...pkg, url: packageLocation(repo, arch, pkg) });
}

/** A public key from a path (relative to cwd), a file:// URL or an http(s) URL. */
export async function fetchKey(source: string | KeySource, options: FetchOptions): Promise<Fetched> {
  const key = typeof source === 'string' ? parseKeySource(source, { cwd: options.cwd }) : source;
  if (key.kind === 'local') {
    const relative = !isAbsolute(key.display) && !key.display.includes('://');
    const hint = relative
      ? `relative keyring paths start in the working directory (${options.cwd ?? process.cwd()}), not in the config's; run lading from the directory the path is relative to, or pass --workdir DIR`
      : 'check the keyring entry (contents.keyring, or --keyring-append)';
    return readLocal(key.path, `key ${key.display}`, hint);
  }
  // the message shows the URL once (`… not found at URL`): name the key by its file here
  const what = `key ${basename(new URL(key.url).pathname)}`;
  const hint = 'check the key URL in contents.keyring (or --keyring-append)';
  return fetchRevalidated(KEYS, key.url, key.credentials, what, options, hint);
}

const flights = new WeakMap<ContentCache, ReturnType<typeof createSingleFlight>>();
function singleFlight(cache: ContentCache): ReturnType<typeof createSingleFlight> {
  let f = flights.get(cache);
  if (!f) flights.set(cache, (f = createSingleFlight()));
  return f;
}

async function readLocal(path: string, what: string, hint: string): Promise<Fetched> {
  try {
    const bytes = await readFile(path);
    let digest: string | undefined;
    // computed on first use: a build reads local packages only to verify them by their own checksums
    return {
      bytes,
      get digest() {
        digest ??= digestOf(bytes);
        return digest;
      },
      source: 'local',
      location: path,
    };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new LadingError('REPO_NOT_FOUND', `${what} not found at ${path}`, { hint });
    }
    throw new LadingError('REPO_IO', `cannot read ${what} at ${path} (${code ?? (e as Error).message})`, {
      hint,
      cause: e,
    });
  }
}

function network(options: FetchOptions, what: string): HttpClient {
  if (options.offline) {
    throw new LadingError('REPO_OFFLINE', `--offline: ${what} is not in the cache`, {
      hint: `run once without --offline to fill the cache (${options.cache.dir})`,
    });
  }
  if (!options.http) throw new Error('bug: FetchOptions.http is required when not offline');
  return options.http;
}

async function writer(options: FetchOptions): Promise<BlobWriter> {
  const w = await options.cache.createWriter({ keepBytes: true });
  const onBytes = options.onBytes;
  if (!onBytes) return w;
  return {
    ...w,
    write: async (chunk) => {
      await w.write(chunk);
      onBytes(chunk.byteLength);
    },
  };
}

/**
 * Commits a downloaded blob and its reference. If the cache cannot take it (disk full, cleaned meanwhile),
 * the build still has the bytes: warn and go on.
 */
async function store<K, M extends RefMeta>(
  options: FetchOptions,
  sink: BlobWriter,
  bytes: Buffer,
  namespace: RefNamespace<K, M>,
  key: K,
  ref: (blob: Awaited<ReturnType<BlobWriter['commit']>>) => RefInput<M>,
): Promise<string> {
  try {
    const blob = await sink.commit();
    await options.cache.setRef(namespace, key, ref(blob));
    return blob.digest;
  } catch (e) {
    if (!(e instanceof LadingError)) throw e;
    await sink.discard();
    (options.logger ?? silentLogger).warn(`${e.message}; continuing without caching it`);
    return digestOf(bytes);
  }
}

/**
 * A key discovery document (Alpine's releases data, a repository's `apk-configuration`, a JWKS), cached and
 * revalidated like a key. Undefined when the server has none (404): remembered like a document, so a repository
 * without discovery is not asked again within the freshness window, nor at all `--offline`.
 */
export async function fetchDiscoveryDocument(
  url: string,
  credentials: BasicCredentials | undefined,
  what: string,
  options: FetchOptions,
): Promise<Fetched | undefined> {
  return fetchRevalidated(KEYS, url, credentials, what, options, 'check the repository URL', true);
}

/**
 * Indexes and keys: cached by URL, revalidated with a conditional GET once the freshness window has passed. With
 * `absentIsAnswer`, a 404 is remembered too and answered as undefined (otherwise it throws).
 */
async function fetchRevalidated<Absent extends boolean = false>(
  namespace: typeof INDEXES | typeof KEYS,
  url: string,
  credentials: BasicCredentials | undefined,
  what: string,
  options: FetchOptions,
  notFoundHint: string,
  absentIsAnswer?: Absent,
): Promise<Absent extends true ? Fetched | undefined : Fetched> {
  type Answer = Absent extends true ? Fetched | undefined : Fetched;
  const { cache } = options;
  const logger = options.logger ?? silentLogger;
  const now = options.now ?? Date.now;
  return singleFlight(cache)(`${namespace.name} ${url}`, async (): Promise<Answer> => {
    const cached = await cache.readRef(namespace, url);
    // only an absent-is-answer fetch remembers an absence
    const hit = (source: FetchSource): Answer =>
      (cached!.ref.meta?.absent === true
        ? undefined
        : { bytes: cached!.bytes, digest: cached!.ref.blob.digest, source, location: url }) as Answer;
    if (cached) {
      const age = now() - (cached.ref.checkedAt ?? Number.NEGATIVE_INFINITY);
      const maxAgeMs = (options.maxAgeSeconds ?? 60) * 1000;
      if (options.offline || (age >= 0 && age < maxAgeMs)) return hit('cache');
    }
    const http = network(options, what);
    const conditional: Record<string, string> = {};
    if (cached?.ref.etag) conditional['if-none-match'] = cached.ref.etag;
    if (cached?.ref.lastModified) conditional['if-modified-since'] = cached.ref.lastModified;
    let res: Awaited<ReturnType<HttpClient['get']>>;
    try {
      res = await http.get(url, {
        credentials,
        headers: conditional,
        sink: () => writer(options),
        what,
        notFoundHint,
      });
    } catch (e) {
      // Unreachable is not wrong: keep building from the copy we have. Refusals (401, 404) still fail.
      if (cached && e instanceof LadingError && e.code === 'NET_NETWORK') {
        logger.warn(`${e.message}; using the cached copy`);
        return hit('stale');
      }
      if (absentIsAnswer && e instanceof LadingError && e.code === 'NET_NOT_FOUND') {
        // remembered as an empty blob marked absent (an unwritable cache only means asking again)
        const blob = await cache.putBytes(Buffer.alloc(0)).catch(() => undefined);
        if (blob)
          await cache
            .setRef(namespace, url, { blob, checkedAt: now(), meta: { absent: true } })
            .catch(() => {});
        return undefined as Answer;
      }
      throw e;
    }
    if (res.status === 304) {
      if (!cached) throw new LadingError('NET_HTTP', `unexpected 304 Not Modified for ${what} from ${url}`);
      const { key: _key, ...rest } = cached.ref;
      await cache.setRef(namespace, url, { ...rest, checkedAt: now() }).catch(() => {});
      return hit('revalidated');
    }
    const sink = res.sink as BlobWriter;
    const bytes = sink.bytes();
    const etag = res.headers.get('etag') ?? undefined;
    const lastModified = res.headers.get('last-modified') ?? undefined;
    const digest = await store(options, sink, bytes, namespace, url, (blob) => ({
      blob,
      checkedAt: now(),
      ...(etag ? { etag } : {}),
      ...(lastModified ? { lastModified } : {}),
    }));
    return { bytes, digest, source: 'network', location: url } as Answer;
  });
}
