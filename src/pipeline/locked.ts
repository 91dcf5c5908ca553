/**
 * The resolve phase from a lock file (`--lockfile`): no repository index is fetched. The lock is read and checked
 * against the config (stale-lock.ts says what changed), then for each target architecture its locked packages
 * are fetched from their locked URLs and checked against every checksum the lock records. The dependency graph
 * (for SBOMs, why, the install order check) comes from resolving the config's world over exactly those
 * packages: the lock must satisfy the world, with nothing left over.
 */
import { readFile } from 'node:fs/promises';
import { resolve as resolvePath } from 'node:path';
import { formatDependency, tryParseDependency } from '../apk/dependency.ts';
import type { Keyring } from '../apk/keyring.ts';
import { emptyPackage, type RepositoryPackage } from '../apk/types.ts';
import type { ImageConfig } from '../config/types.ts';
import { lockedByArch, splitPackageUrl } from '../lock/entries.ts';
import { type LockFile, type LockPackage, parseLock, parseRange } from '../lock/format.ts';
import { checkLockForConfig } from '../lock/stale.ts';
import { type Arch, apkArch } from '../platform/arch.ts';
import { type LockedRequest, type PreparedPackage, prepareLockedPackages } from '../prepare/packages.ts';
import type { FetchOptions } from '../repo/fetch.ts';
import { parseRepositoryRef, type RepositoryRef } from '../repo/ref.ts';
import type { InstalledPackage, PackageIndex } from '../solver/package-index.ts';
import { buildPackageIndex, type Resolution, resolve } from '../solver/resolve.ts';
import { sha256Hex } from '../util/digest.ts';
import { LadingError } from '../util/errors.ts';
import type { Logger } from '../util/log.ts';
import type { PreparedArch } from './arch.ts';
import type { ResolvedArch } from './types.ts';

export interface OpenedLock {
  /** As given. */
  file: string;
  /** Absolute. */
  path: string;
  lock: LockFile;
  /** sha256 (hex) of the file's bytes. */
  sha256: string;
}

/** Reads and parses a lock file; LOCK_NOT_FOUND, LOCK_INVALID, LOCK_VERSION. */
export async function readLockFile(file: string, cwd: string): Promise<OpenedLock> {
  const path = resolvePath(cwd, file);
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new LadingError(
      'LOCK_NOT_FOUND',
      `cannot read lock file ${file} (${code ?? (e as Error).message})`,
      {
        hint: 'write one with `lading lock CONFIG` (it writes CONFIG-without-extension.lock.json)',
      },
    );
  }
  return { file, path, lock: parseLock(bytes.toString('utf8'), file), sha256: sha256Hex(bytes) };
}

/** The lock's key contents by keyring entry: they stand in for keys whose URL has gone. */
export function embeddedKeys(lock: LockFile): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const k of lock.contents.keyring) if (k.content) out.set(k.url, Buffer.from(k.content, 'utf8'));
  return out;
}

export interface LockForConfig {
  opened: OpenedLock;
  config: ImageConfig;
  configFile: string;
  checksum: string;
  rawChecksum: string;
  targets: readonly Arch[];
  /** `--arch` chose the targets. */
  archsChosen: boolean;
  cwd: string;
  logger: Logger;
}

/**
 * The lock checked against the config (LOCK_STALE naming what changed, LOCK_ARCH_MISSING), and per target
 * architecture the locked packages with the repository and directory of each one's URL.
 */
export function lockedRequests(input: LockForConfig): Map<Arch, LockedRequest[]> {
  const { opened, config } = input;
  for (const note of checkLockForConfig(opened.lock, {
    lockFile: opened.file,
    configFile: input.configFile,
    config,
    checksum: input.checksum,
    rawChecksum: input.rawChecksum,
    targets: input.targets,
    archsChosen: input.archsChosen,
  })) {
    input.logger.info(note);
  }
  // a URL inside a configured repository uses that repository's entry (its credentials, its path)
  const configured = new Map<string, RepositoryRef>();
  const { contents } = config;
  for (const entry of [
    ...contents.repositories,
    ...contents.buildRepositories,
    ...contents.runtimeRepositories,
  ]) {
    const ref = parseRepositoryRef(entry, { cwd: input.cwd });
    if (!configured.has(ref.display)) configured.set(ref.display, ref);
  }
  const byArch = lockedByArch(opened.lock, opened.file);
  const out = new Map<Arch, LockedRequest[]>();
  for (const arch of input.targets) {
    const entries = byArch.get(arch) ?? [];
    if (entries.length === 0) {
      throw new LadingError('LOCK_ARCH_MISSING', `the lock has no packages for ${apkArch(arch)}`, {
        file: opened.file,
        hint: `regenerate it: lading lock ${input.configFile}`,
      });
    }
    out.set(
      arch,
      entries.map((entry) => {
        const { repository, dir } = splitPackageUrl(entry, opened.file);
        const repo = configured.get(repository) ?? parseRepositoryRef(repository, { cwd: input.cwd });
        return { entry, repo, dir, lockFile: opened.file };
      }),
    );
  }
  return out;
}

/** A ResolvedArch from a lock, with its packages already prepared. */
export interface LockedArch extends ResolvedArch {
  prepared: PreparedArch;
}

/**
 * One architecture from the lock: its packages fetched, verified and expanded (prepare), then the world resolved
 * over exactly them for the dependency graph. Packages stay in lock order (the install order they were locked in).
 */
export async function resolveLockedArch(
  arch: Arch,
  requests: readonly LockedRequest[],
  options: {
    world: readonly string[];
    fetch: FetchOptions;
    keyring: Keyring;
    ignoreSignatures?: boolean;
    /** Keep the packages' compressed data streams as layers (`layering: {strategy: package}`). */
    dataLayers?: boolean;
    lockFile: string;
    onReady?: (fromCache: boolean) => void;
    /** A base image's installed packages: pinned, and listed first in the resolution (a lock leaves them out). */
    installed?: readonly InstalledPackage[];
    /** The lock was made with apk-tools 3's negated install_if (see ConfigFlags.apk3InstallIf). */
    apk3InstallIf?: boolean;
  },
): Promise<LockedArch> {
  const apk = apkArch(arch);
  const packages = await prepareLockedPackages(requests, {
    fetch: options.fetch,
    keyring: options.keyring,
    ignoreSignatures: options.ignoreSignatures,
    arch: apk,
    dataLayers: options.dataLayers,
    onReady: (_p, fromCache) => options.onReady?.(fromCache),
  });
  const repositories = new Map<string, RepositoryRef>();
  for (const r of requests) if (!repositories.has(r.repo.display)) repositories.set(r.repo.display, r.repo);
  const installed = options.installed ?? [];
  const index = buildPackageIndex({
    repositories: [{ repository: 'lock', packages: packages.map((p) => p.resolved) }],
    arch: apk,
    installed,
  });
  const world = [...options.world, ...installed.map((p) => `${p.info.name}=${p.info.version}`)];
  const resolution = lockedResolution(index, packages, installed, world, apk, options);
  return {
    arch,
    apkArch: apk,
    resolution,
    repositories: [],
    cached: false,
    index: async () => index,
    prepared: { packages, repositories },
  };
}

/** The world resolved over the locked packages; the lock's order, with the solver's graph mapped onto it. */
function lockedResolution(
  index: PackageIndex,
  packages: readonly PreparedPackage[],
  installed: readonly InstalledPackage[],
  world: readonly string[],
  apk: string,
  { lockFile, apk3InstallIf }: { lockFile: string; apk3InstallIf?: boolean },
): Resolution {
  let solved: Resolution;
  try {
    // `name@tag` chose the tagged repository when the lock was made; the lock has one repository
    solved = resolve(index, world.map(untagged), apk3InstallIf ? { apk3InstallIf } : {});
  } catch (e) {
    if (!(e instanceof LadingError) || e.code !== 'SOLVER_UNSATISFIABLE') throw e;
    throw new LadingError(
      'LOCK_STALE',
      `the packages locked for ${apk} do not satisfy the world:\n${e.message}`,
      {
        file: lockFile,
        hint: 'the world changed (-p?) since the lock was written; regenerate it with `lading lock CONFIG`',
      },
    );
  }
  const key = (p: { name: string; version: string }) => `${p.name}-${p.version}`;
  // the base's packages first (installed already), then the lock's in its order
  const all: RepositoryPackage[] = [
    ...installed.map((p) => ({ ...p.info, repository: '', repositoryIndex: -1 })),
    ...packages.map((p) => p.resolved),
  ];
  const position = new Map(all.map((p, i) => [key(p), i]));
  const used = new Set(solved.packages.map(key));
  const unused = packages.filter((p) => !used.has(key(p.resolved))).map((p) => key(p.resolved));
  if (unused.length > 0) {
    throw new LadingError(
      'LOCK_STALE',
      `nothing in the world needs these packages locked for ${apk}: ${unused.join(', ')}`,
      {
        file: lockFile,
        hint:
          'the world changed since the lock was written; regenerate it with `lading lock CONFIG`' +
          (apk3InstallIf ? '' : ' (or, if it was made with --apk3-install-if, build with that flag too)'),
      },
    );
  }
  const at = (i: number) => (i < 0 ? i : position.get(key(solved.packages[i]!))!);
  return {
    packages: all,
    world: solved.world,
    edges: solved.edges.map((e) => ({ ...e, from: at(e.from), to: at(e.to) })),
    changes: solved.changes,
  };
}

function untagged(entry: string): string {
  const dep = tryParseDependency(entry);
  if (typeof dep === 'string' || dep.tag === undefined) return entry;
  const { tag: _tag, ...rest } = dep;
  return formatDependency(rest);
}

/**
 * What `show-packages --lockfile` prints: the locked packages themselves (nothing fetched), as resolution entries
 * with what the lock knows of them.
 */
export function lockedListing(arch: Arch, requests: readonly LockedRequest[]): ResolvedArch {
  const apk = apkArch(arch);
  const packages: RepositoryPackage[] = requests.map((r, i) => {
    const p: RepositoryPackage = {
      ...emptyPackage(r.entry.name, r.entry.version),
      arch: r.entry.architecture === 'noarch' ? 'noarch' : apk,
      checksum: r.entry.checksum,
      repository: r.repo.display,
      repositoryIndex: i,
    };
    // the file's size: where its last member ends
    const end = parseRange(r.entry.data.range)?.[1];
    if (end !== undefined) p.size = end + 1;
    return p;
  });
  return {
    arch,
    apkArch: apk,
    resolution: { packages, world: [], edges: [], changes: [] },
    repositories: [],
    cached: false,
    index: async () => buildPackageIndex({ repositories: [{ repository: 'lock', packages }], arch: apk }),
  };
}

export type { LockPackage };
