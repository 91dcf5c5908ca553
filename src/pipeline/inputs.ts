/**
 * What a build read, for the no-op build record: small files by the hash of the bytes the build used, large
 * ones (packages of local repositories) by stat, and whether the network was an input at all.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { ProbedFiles } from '../config/vcs-probe.ts';
import { apkArch } from '../platform/arch.ts';
import type { LockedRequest } from '../prepare/packages.ts';
import { indexLocation, packageLocation, parseKeySource, repositoryFile } from '../repo/ref.ts';
import { sha256Hex } from '../util/digest.ts';
import type { BuildBase } from './base.ts';
import type { ArchIndexes, BuildKey } from './indexes.ts';
import type { BuildInputs, ResolvedArch } from './types.ts';

/** The config and its includes, and the keyring's local keys (as the build read them). */
export function openedInputs(
  files: readonly string[],
  keyring: { entries: readonly string[]; keys: readonly BuildKey[] },
  cwd: string,
): BuildInputs {
  const inputs: BuildInputs = {
    hashed: files.map((path) => ({ path, sha256: sha256Hex(readFileSync(path)) })),
    statted: [],
    remote: false,
  };
  for (const entry of keyring.entries) {
    const source = parseKeySource(entry, { cwd });
    if (source.kind === 'local') {
      const key = keyring.keys.find((k) => k.name === basename(source.path));
      inputs.hashed.push({ path: source.path, sha256: sha256Hex(key?.content ?? readFileSync(source.path)) });
    } else inputs.remote = true;
  }
  return inputs;
}

/** Local indexes by the digest of the bytes used; a remote one makes the network an input. */
export function addIndexInputs(inputs: BuildInputs, indexes: readonly ArchIndexes[]): void {
  for (const { apkArch, repositories, skipped } of indexes) {
    // a skipped repository's index may appear later, and a record cannot check a file that is not there
    if (skipped.length > 0) inputs.remote = true;
    for (const r of repositories) {
      if (r.ref.kind === 'local') {
        inputs.hashed.push({ path: indexLocation(r.ref, apkArch), sha256: r.indexDigest.slice(7) });
      } else inputs.remote = true;
    }
  }
}

/** The packages of local repositories, by stat. */
export function addPackageInputs(
  inputs: BuildInputs,
  resolved: Pick<ResolvedArch, 'apkArch' | 'resolution' | 'repositories'>,
): void {
  const byRepository = new Map(resolved.repositories.map((r) => [r.repository, r.ref]));
  for (const p of resolved.resolution.packages) {
    const ref = byRepository.get(p.repository);
    if (ref?.kind === 'local') inputs.statted.push(packageLocation(ref, resolved.apkArch, p));
  }
}

/** A lock's packages: local ones by stat; a remote one makes the network an input. */
export function addLockedInputs(inputs: BuildInputs, requests: readonly LockedRequest[]): void {
  for (const r of requests) {
    if (r.repo.kind === 'local')
      inputs.statted.push(repositoryFile(r.repo, r.dir, `${r.entry.name}-${r.entry.version}.apk`));
    else inputs.remote = true;
  }
}

/** The git files `--vcs` read (a new commit changes the revision); an answer resting on an absence is unrecordable. */
export function addVcsInputs(inputs: BuildInputs, vcs: ProbedFiles): void {
  for (const path of vcs.read) inputs.hashed.push({ path, sha256: sha256Hex(readFileSync(path)) });
  if (!vcs.recordable) inputs.remote = true;
}

/** A base image: a layout's index.json (its blobs are checked by digest when read), an archive by stat, apko's
 * apkindex files; a registry image makes the network an input. */
export function addBaseInputs(inputs: BuildInputs, base: BuildBase): void {
  const { path, apkindexDir } = base.image;
  if (path === undefined) inputs.remote = true;
  else if (statSync(path).isDirectory()) {
    const index = join(path, 'index.json');
    inputs.hashed.push({ path: index, sha256: sha256Hex(readFileSync(index)) });
  } else inputs.statted.push(path);
  if (apkindexDir !== undefined) {
    for (const arch of base.images.keys()) {
      const file = join(apkindexDir, apkArch(arch), 'APKINDEX');
      if (existsSync(file)) inputs.hashed.push({ path: file, sha256: sha256Hex(readFileSync(file)) });
    }
  }
}
