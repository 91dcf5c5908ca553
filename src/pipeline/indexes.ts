/**
 * Loads what resolution needs: the build keyring and every repository's index for one architecture,
 * signature-verified (unless --ignore-signatures). Indexes are handed to the resolver as APKINDEX text,
 * which it scans in place: parsing 23,000 records into objects only to format them back would cost more
 * than the whole solve.
 *
 * Two steps, so a caller can stop after the first: fetchRepositoryIndexes gets and verifies the bytes (cheap:
 * reading, hashing, one RSA check); readRepositoryTexts inflates them (all at once, on the thread pool). A
 * resolution cached under the indexes' digests (see resolve.ts) needs only the first.
 */
import { basename } from 'node:path';
import {
  type ApkIndexParts,
  readApkIndexTextAsync,
  requireTrusted,
  splitApkIndex,
  verifyApkIndex,
} from '../apk/apkindex.ts';
import { createKeyring, type Keyring } from '../apk/keyring.ts';
import type { ImageConfig } from '../config/types.ts';
import { type Arch, apkArch } from '../platform/arch.ts';
import { type FetchOptions, fetchIndex, fetchKey } from '../repo/fetch.ts';
import type { DiscoveredKey } from '../repo/key-discovery.ts';
import { parseKeySource, parseRepositoryRef, type RepositoryRef } from '../repo/ref.ts';
import { scannableAsLatin1 } from '../solver/index-scan.ts';
import type { SolverRepository } from '../solver/package-index.ts';
import { LadingError } from '../util/errors.ts';
import type { Logger } from '../util/log.ts';

export interface BuildKey {
  /** File name used for it in /etc/apk/keys (the key's own file name, as apk looks keys up by name). */
  name: string;
  content: Buffer;
}

export interface LoadedKeyring {
  keyring: Keyring;
  keys: BuildKey[];
  /** Every keyring entry as configured, with its key's bytes (what a lock embeds). */
  entries: { entry: string; content: Buffer }[];
}

/**
 * The build keyring: every entry fetched (concurrently), then the keys discovery found (`discovered`, see
 * repo/key-discovery.ts; a key of a name already there is left out). `embedded` (a lock's key contents by entry)
 * stands in for a key that cannot be fetched any more (a rotated URL), with a warning.
 */
export async function loadBuildKeyring(
  entries: readonly string[],
  fetch: FetchOptions,
  embedded?: ReadonlyMap<string, Buffer>,
  discovered: readonly DiscoveredKey[] = [],
): Promise<LoadedKeyring> {
  const sources = entries.map((entry) => parseKeySource(entry, { cwd: fetch.cwd }));
  const fetched = await allInOrder(
    sources.map(async (source, i) => {
      try {
        return (await fetchKey(source, fetch)).bytes;
      } catch (e) {
        const stored = embedded?.get(entries[i]!);
        if (stored === undefined || !(e instanceof LadingError)) throw e;
        fetch.logger?.warn(`${e.message}; using the key's content recorded in the lock file`);
        return stored;
      }
    }),
  );
  // the first entry of a name wins, as before
  const keys: BuildKey[] = [];
  const seen = new Set<string>();
  sources.forEach((source, i) => {
    const name = basename(source.kind === 'local' ? source.path : new URL(source.url).pathname);
    if (seen.has(name)) return;
    seen.add(name);
    keys.push({ name, content: fetched[i]! });
  });
  const all = entries.map((entry, i) => ({ entry, content: fetched[i]! }));
  for (const k of discovered) {
    if (seen.has(k.name) || entries.includes(k.url)) continue;
    seen.add(k.name);
    keys.push({ name: k.name, content: k.content });
    all.push({ entry: k.url, content: k.content });
  }
  const keyring = createKeyring(keys.map((k) => ({ name: k.name, pem: k.content })));
  return { keyring, keys, entries: all };
}

/** A repository whose index was fetched and verified, not yet inflated. */
export interface FetchedRepository {
  ref: RepositoryRef;
  /** As configured, without `@tag` (RepositoryPackage.repository of its packages). */
  repository: string;
  tag?: string;
  /** `sha256:<hex>` of the APKINDEX.tar.gz bytes: names everything derived from them. */
  indexDigest: string;
  /** Where the index was read from (path, or URL without credentials). */
  location: string;
  parts: ApkIndexParts;
}

export interface LoadedRepository extends SolverRepository {
  ref: RepositoryRef;
  /** sha256 of the index bytes (part of the build's identity). */
  indexDigest: string;
  /** The index's DESCRIPTION (e.g. `v3.19.1-643-gec825d20535`). */
  description: string;
  /** The APKINDEX text (always set here). */
  text: string;
}

export interface LoadRepositoriesOptions {
  fetch: FetchOptions;
  arch: string;
  keyring: Keyring;
  ignoreSignatures?: boolean;
  logger?: Logger;
}

/**
 * Fetches each repository's index and checks its signature, keeping the configured order. A local repository
 * without an index for the architecture is skipped with a warning, as apko does (a package needed from it then
 * fails to resolve, and `onSkipped` lets the caller say why); a remote one is an error.
 */
export async function fetchRepositoryIndexes(
  entries: readonly string[],
  options: LoadRepositoriesOptions & { onSkipped?: (repository: string) => void },
): Promise<FetchedRepository[]> {
  const refs = dedupe(entries.map((e) => parseRepositoryRef(e, { cwd: options.fetch.cwd })));
  const snapshot = options.fetch.snapshot as Map<string, Promise<FetchedIndex>> | undefined;
  const fetched = await allInOrder(
    refs.map(async (ref): Promise<FetchedRepository | undefined> => {
      let got: Promise<FetchedIndex>;
      if (!snapshot) got = fetchSplit(ref, options);
      else {
        // one snapshot per process: every config sees the first fetch of this repository and architecture (its
        // signature is still checked against each config's own keyring)
        const key = `${ref.tag ?? ''} ${ref.display}\0${options.arch}`;
        const known = snapshot.get(key);
        got = known ?? fetchSplit(ref, options);
        if (!known) snapshot.set(key, got);
      }
      let fetched: FetchedIndex['fetched'];
      let parts: ApkIndexParts;
      try {
        ({ fetched, parts } = await got);
      } catch (e) {
        if (ref.kind !== 'local' || !(e instanceof LadingError) || e.code !== 'REPO_NOT_FOUND') throw e;
        options.logger?.warn(`${e.message}; the repository is skipped for ${options.arch}`);
        options.onSkipped?.(ref.display);
        return undefined;
      }
      if (!options.ignoreSignatures) requireTrusted(verifyApkIndex(parts, options.keyring), fetched.location);
      const repo: FetchedRepository = {
        ref,
        repository: ref.display,
        indexDigest: fetched.digest,
        location: fetched.location,
        parts,
      };
      if (ref.tag !== undefined) repo.tag = ref.tag;
      return repo;
    }),
  );
  return fetched.filter((r) => r !== undefined);
}

interface FetchedIndex {
  fetched: Awaited<ReturnType<typeof fetchIndex>>;
  parts: ApkIndexParts;
}

async function fetchSplit(ref: RepositoryRef, options: LoadRepositoriesOptions): Promise<FetchedIndex> {
  const fetched = await fetchIndex(ref, options.arch, options.fetch);
  return { fetched, parts: splitApkIndex(fetched.bytes, { file: fetched.location }) };
}

/** One architecture's repositories (build repositories last), fetched and signature-checked. */
export interface ArchIndexes {
  arch: Arch;
  /** The apk spelling (`x86_64`): the repository sub-directory. */
  apkArch: string;
  repositories: FetchedRepository[];
  /** Local repositories without an index for this architecture, skipped (as configured, for messages). */
  skipped: string[];
}

/**
 * The fetch-indexes phase: every target architecture's indexes, fetched and signature-checked before anything
 * is resolved (their digests are part of the image's identity). In target order; `onArch` is told each start.
 */
export async function fetchArchIndexes(
  contents: Pick<ImageConfig['contents'], 'repositories' | 'buildRepositories'>,
  archs: readonly Arch[],
  options: Omit<LoadRepositoriesOptions, 'arch'> & { onArch?: (apkArch: string) => void },
): Promise<ArchIndexes[]> {
  const out: ArchIndexes[] = [];
  for (const arch of archs) {
    const apk = apkArch(arch);
    options.onArch?.(apk);
    const skipped: string[] = [];
    const repositories = await fetchRepositoryIndexes(
      [...contents.repositories, ...contents.buildRepositories],
      { ...options, arch: apk, onSkipped: (r) => skipped.push(r) },
    );
    out.push({ arch, apkArch: apk, repositories, skipped });
  }
  return out;
}

/**
 * Starts inflating every fetched index at once (on the thread pool): one promise per repository, in order,
 * so a caller can use each as soon as it is ready.
 */
export function inflateRepositories(repos: readonly FetchedRepository[]): Promise<LoadedRepository>[] {
  return repos.map(async (r) => {
    const read = await readApkIndexTextAsync(r.parts, { file: r.location, latin1: true });
    let { text, latin1 } = read;
    // non-ASCII in a name, version or dependency (never seen in Alpine): decode it all as UTF-8 after all
    if (latin1 && !scannableAsLatin1(text)) {
      text = Buffer.from(text, 'latin1').toString('utf8');
      latin1 = false;
    }
    const repo: LoadedRepository = {
      ref: r.ref,
      repository: r.repository,
      text,
      file: r.location,
      indexDigest: r.indexDigest,
      description: read.description,
    };
    if (latin1) repo.latin1 = true;
    if (r.tag !== undefined) repo.tag = r.tag;
    return repo;
  });
}

/** Inflates fetched indexes (concurrently, off the main thread) into the resolver's repositories. */
export async function readRepositoryTexts(repos: readonly FetchedRepository[]): Promise<LoadedRepository[]> {
  return allInOrder(inflateRepositories(repos));
}

/** Fetches, verifies and inflates each repository's index, keeping the configured order. */
export async function loadRepositories(
  entries: readonly string[],
  options: LoadRepositoriesOptions,
): Promise<LoadedRepository[]> {
  return readRepositoryTexts(await fetchRepositoryIndexes(entries, options));
}

/** Promise.all that, when several fail, reports the first in configured order (not the first to finish). */
async function allInOrder<T>(promises: Promise<T>[]): Promise<T[]> {
  const settled = await Promise.allSettled(promises);
  const failed = settled.find((s) => s.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((s) => (s as PromiseFulfilledResult<T>).value);
}

/** apk ignores a repository listed twice (the first position counts). */
function dedupe(refs: RepositoryRef[]): RepositoryRef[] {
  const seen = new Set<string>();
  return refs.filter((r) => {
    const k = `${r.tag ?? ''} ${r.display}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
