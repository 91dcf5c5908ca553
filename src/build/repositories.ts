/**
 * Loads what resolution needs: the build keyring and every repository's index for one architecture,
 * signature-verified (unless --ignore-signatures) and parsed.
 */
import { basename } from 'node:path';
import { readApkIndexAsync, requireTrusted, verifyApkIndex } from '../apk/apkindex.ts';
import { createKeyring, type Keyring } from '../apk/keyring.ts';
import type { PackageInfo } from '../apk/types.ts';
import { type FetchOptions, fetchIndex, fetchKey } from '../repo/fetch.ts';
import { parseKeySource, parseRepositoryRef, type RepositoryRef } from '../repo/ref.ts';
import type { SolverRepository } from '../solver/package-index.ts';
import type { Logger } from '../util/log.ts';

export interface BuildKey {
  /** File name used for it in /etc/apk/keys (the key's own file name, as apk looks keys up by name). */
  name: string;
  content: Buffer;
}

export interface LoadedKeyring {
  keyring: Keyring;
  keys: BuildKey[];
}

export async function loadBuildKeyring(
  entries: readonly string[],
  fetch: FetchOptions,
): Promise<LoadedKeyring> {
  const keys: BuildKey[] = [];
  const seen = new Set<string>();
  for (const entry of entries) {
    const source = parseKeySource(entry, { cwd: fetch.cwd });
    const fetched = await fetchKey(source, fetch);
    const name = basename(source.kind === 'local' ? source.path : new URL(source.url).pathname);
    if (seen.has(name)) continue;
    seen.add(name);
    keys.push({ name, content: fetched.bytes });
  }
  const keyring = createKeyring(keys.map((k) => ({ name: k.name, pem: k.content })));
  return { keyring, keys };
}

export interface LoadedRepository extends SolverRepository {
  ref: RepositoryRef;
  /** sha256 of the index bytes (part of the build's identity). */
  indexDigest: string;
}

export interface LoadRepositoriesOptions {
  fetch: FetchOptions;
  arch: string;
  keyring: Keyring;
  ignoreSignatures?: boolean;
  logger?: Logger;
}

/** Fetches, verifies and parses each repository's index, keeping the configured order. */
export async function loadRepositories(
  entries: readonly string[],
  options: LoadRepositoriesOptions,
): Promise<LoadedRepository[]> {
  const refs = dedupe(entries.map((e) => parseRepositoryRef(e, { cwd: options.fetch.cwd })));
  return Promise.all(
    refs.map(async (ref) => {
      const fetched = await fetchIndex(ref, options.arch, options.fetch);
      const index = await readApkIndexAsync(fetched.bytes, { file: fetched.location });
      if (!options.ignoreSignatures) requireTrusted(verifyApkIndex(index, options.keyring), fetched.location);
      const packages: PackageInfo[] = index.packages;
      const repo: LoadedRepository = { ref, repository: ref.display, packages, indexDigest: fetched.digest };
      if (ref.tag !== undefined) repo.tag = ref.tag;
      return repo;
    }),
  );
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
