/**
 * Config → resolved packages, per architecture: what `show-packages`, `dot` and `why` print. It walks the
 * same path as `lading build` (loadBuildConfig, loadBuildKeyring, the repositories' indexes, resolvePackages),
 * so show-packages lists exactly what build installs.
 *
 * Resolutions are memoised in the content cache: the key is the sha256 of every index's bytes (in configured
 * order, with tags), the world, the architecture and lading's version — everything the answer depends on —
 * so a warm run reads and hashes the index files, checks their signatures, and loads a small result instead of
 * inflating and scanning 23,000 records. Signatures are checked on every run, cached or not.
 */
import { createHash } from 'node:crypto';
import { announcedSize } from '../apk/apkindex.ts';
import { targetArchitectures } from '../config/overrides.ts';
import type { ImageConfig } from '../config/types.ts';
import { apkArch } from '../platform/arch.ts';
import { type WhyResult, whyChains, whyNotInstalled } from '../solver/format.ts';
import { decodeResolution, encodeResolution, resolutionKey } from '../solver/memo.ts';
import type { InstalledPackage, PackageIndex, SolverRepository } from '../solver/package-index.ts';
import { buildPackageIndexAsync, type Resolution, resolve } from '../solver/resolve.ts';
import type { ContentCache } from '../store/cache.ts';
import { RESOLUTIONS } from '../store/namespaces.ts';
import { LadingError } from '../util/errors.ts';
import { type Logger, silentLogger } from '../util/log.ts';
import { LADING_BUILD_ID } from '../util/version.ts';
import { type BuildBase, installedByArch, openBuildBase } from './base.ts';
import {
  type Availability,
  checkWorldAgreement,
  crossArchSalt,
  inconsistencyError,
  inconsistentNames,
  scanAvailability,
  unavailableFor,
  worldNames,
} from './cross-arch.ts';
import {
  type ArchIndexes,
  type FetchedRepository,
  fetchArchIndexes,
  inflateRepositories,
} from './indexes.ts';
import { type PinnedPackage, pinnedPackages } from './input-digest.ts';
import { embeddedKeys, lockedListing, lockedRequests, readLockFile } from './locked.ts';
import { configName, type OpenBuildOptions, type OpenedBuild, openBuild } from './open.ts';
import type { ResolvedArch } from './types.ts';

export interface ResolveConfigOptions extends OpenBuildOptions {
  logger?: Logger;
  /** Resolve only the first target architecture (as apko's `dot` does). */
  firstArchOnly?: boolean;
  /** Reuse and store resolutions in the cache (default true). */
  memo?: boolean;
  /** Part of every memo key: identifies the lading build (default: `lading <build id>`). */
  memoSalt?: string;
}

export type { ResolvedArch };

export interface ResolvedConfig {
  config: ImageConfig;
  archs: ResolvedArch[];
  /** What was opened on the way: checksums, cache, keyring (with every entry's bytes). */
  opened: OpenedBuild;
  /** The base image (`contents.baseimage`): its packages are in the resolutions, installed already. */
  base?: BuildBase;
}

export async function resolveConfig(options: ResolveConfigOptions): Promise<ResolvedConfig> {
  const logger = options.logger ?? silentLogger;
  const cwd = options.cwd ?? process.cwd();
  const lock = options.lockfile === undefined ? undefined : await readLockFile(options.lockfile, cwd);
  const opened = await openBuild({ ...options, cwd }, logger, lock && embeddedKeys(lock.lock));
  const { config, fetch, keyring } = opened;
  const archs = targetArchitectures(config);
  if (lock) {
    const requests = lockedRequests({
      opened: lock,
      config,
      configFile: configName(options.config),
      checksum: opened.checksum,
      rawChecksum: opened.rawChecksum,
      targets: options.firstArchOnly ? archs.slice(0, 1) : archs,
      archsChosen: (options.archs?.length ?? 0) > 0,
      cwd,
      logger,
    });
    return { config, archs: [...requests].map(([arch, r]) => lockedListing(arch, r)), opened };
  }
  const base = await openBuildBase(config, archs, {
    cwd,
    includePaths: options.includePaths,
    fetch,
    env: options.env,
    logger,
  });
  // the first architecture alone is drawn, but every one's indexes decide which versions it may have
  const only = options.firstArchOnly ? [apkArch(archs[0]!)] : undefined;
  const indexes = await fetchArchIndexes(config.contents, archs, {
    fetch,
    keyring: keyring.keyring,
    ignoreSignatures: options.ignoreSignatures,
    logger,
  });
  const resolved = await resolveArchitectures({
    world: config.contents.packages,
    indexes,
    ...(only ? { only } : {}),
    ...(options.memo === false ? {} : { cache: fetch.cache }),
    memoSalt: options.memoSalt,
    keepIndexes: true,
    ...(options.apk3InstallIf ? { apk3InstallIf: true } : {}),
    logger,
    ...(base ? { installed: await installedByArch(base, archs) } : {}),
  });
  return { config, archs: resolved, opened, ...(base ? { base } : {}) };
}

export interface ResolveInput {
  /** The world: the config's packages (with -p extras). */
  world: readonly string[];
  /** Every target architecture's repositories, fetched and verified (the fetch-indexes phase). */
  indexes: readonly ArchIndexes[];
  /**
   * Resolve only these architectures (apk names; default all). The others' indexes still decide which versions
   * are available to every architecture (dot and why draw one architecture of a multi-architecture image).
   */
  only?: readonly string[];
  /** Where resolutions are remembered; none: always resolve. */
  cache?: ContentCache;
  /**
   * A base image's installed packages, by apk architecture: they are installed already (apk's installed
   * database) and pinned (`name=version` joins the world), as apko pins them; resolutions list them too.
   */
  installed?: ReadonlyMap<string, readonly InstalledPackage[]>;
  /** Part of every memo key: identifies the lading build (default: `lading <build id>`). */
  memoSalt?: string;
  /**
   * Keep each architecture's resolver index for `ResolvedArch.index()` (why, dot). Off, an index is dropped once
   * its architecture is resolved (index() builds it again when asked): a build never holds several at once.
   */
  keepIndexes?: boolean;
  /**
   * A plan's packages per architecture (apk name): only they are candidates, and the resolution must come out
   * as exactly them (PLAN_STALE otherwise) — workers build what was planned, not what the indexes say now.
   */
  pinned?: ReadonlyMap<string, readonly PinnedPackage[]>;
  /** Resolver indexes built in this process, by what they are built from: many configs, one parse. */
  packageIndexes?: Map<string, Promise<PackageIndex>>;
  /** apk-tools 3's negated install_if (see ConfigFlags.apk3InstallIf); part of the memo key. */
  apk3InstallIf?: boolean;
  logger?: Logger;
}

/** What a multi-architecture resolve shares: the versions every architecture has (read once, when needed). */
interface CrossArch {
  salt: string;
  availability(): Promise<Availability>;
}

/**
 * The resolve phase: every architecture resolved, in one place. This is where all architectures' answers are
 * known together: where a lockfile is read and written, and where versions are made the same across them
 * (see cross-arch.ts).
 */
export async function resolveArchitectures(input: ResolveInput): Promise<ResolvedArch[]> {
  let cross: CrossArch | undefined;
  if (input.indexes.length > 1) {
    let scanned: Promise<Availability> | undefined;
    cross = {
      salt: crossArchSalt(input.indexes),
      availability: () => (scanned ??= scanAvailability(input.indexes)),
    };
  }
  const out: ResolvedArch[] = [];
  for (const indexes of input.indexes) {
    if (input.only && !input.only.includes(indexes.apkArch)) continue;
    try {
      out.push(await resolveArch(indexes, input, cross));
    } catch (e) {
      if (!(e instanceof LadingError) || e.code !== 'SOLVER_UNSATISFIABLE') throw e;
      const explained = (cross && (await explainAcrossArchs(input, cross))) || e;
      throw withSkippedHint(explained, indexes);
    }
  }
  if (cross && !input.only) {
    checkWorldAgreement(
      input.world,
      out.map((a) => ({ apkArch: a.apkArch, packages: a.resolution.packages })),
    );
  }
  return out;
}

/** An unsatisfiable world's error, saying which local repositories were skipped for having no index. */
function withSkippedHint(e: LadingError, indexes: ArchIndexes): LadingError {
  if (indexes.skipped.length === 0) return e;
  const skipped = `${indexes.skipped.join(', ')} ${indexes.skipped.length === 1 ? 'was' : 'were'} skipped: no ${indexes.apkArch} index there`;
  return new LadingError(e.code, e.message, {
    file: e.file,
    hint: e.hint ? `${e.hint}; ${skipped}` : skipped,
    cause: e.cause,
  });
}

/**
 * Why no consistent choice exists: each architecture resolved on its own (memoised like any resolution), and the
 * world's packages and every package those resolutions chose checked for a version all architectures have.
 * Undefined when that finds nothing to blame (the solver's own explanation is then the best there is).
 */
async function explainAcrossArchs(input: ResolveInput, cross: CrossArch): Promise<LadingError | undefined> {
  const av = await cross.availability();
  const names = worldNames(input.world);
  for (const indexes of input.indexes) {
    try {
      const alone = await resolveArch(indexes, { ...input, keepIndexes: false }, undefined);
      names.push(...alone.resolution.packages.map((p) => p.name));
    } catch (e) {
      if (!(e instanceof LadingError)) throw e;
    }
  }
  const problems = inconsistentNames(av, names);
  return problems.length > 0 ? inconsistencyError(problems) : undefined;
}

/** One architecture: its repositories (build repositories included) and the world, resolved. */
async function resolveArch(
  indexes: ArchIndexes,
  input: ResolveInput,
  cross: CrossArch | undefined,
): Promise<ResolvedArch> {
  const { arch, apkArch: apk, repositories } = indexes;
  const started = performance.now();
  const installed = input.installed?.get(apk) ?? [];
  const world = [...input.world, ...installed.map((p) => `${p.info.name}=${p.info.version}`)];
  const pinned = input.pinned?.get(apk);
  const allowed = pinned && new Set(pinned.map((p) => `${p.name}\0${p.version}`));
  const pinnedSalt =
    pinned &&
    ` pinned ${createHash('sha256')
      .update(JSON.stringify(pinnedPackages(pinned)))
      .digest('hex')}`;
  const restrict = (unavailable?: (name: string, version: string) => boolean) =>
    allowed
      ? (name: string, version: string) =>
          !allowed.has(`${name}\0${version}`) || (unavailable?.(name, version) ?? false)
      : unavailable;
  // an index over a base image's installed packages is not the same index
  const installedSalt = installed.length
    ? ` installed ${createHash('sha256')
        .update(installed.map((p) => `${p.info.name}=${p.info.version} ${p.info.checksum ?? ''}`).join('\n'))
        .digest('hex')}`
    : '';
  const shareKey = `${apk}\0${repositories.map((r) => `${r.tag ?? ''} ${r.repository} ${r.indexDigest}`).join('\0')}\0${cross?.salt ?? ''}${pinnedSalt ?? ''}${installedSalt}`;
  let index: Promise<PackageIndex> | undefined = input.packageIndexes?.get(shareKey);
  const makeIndex = () => {
    if (index === undefined) {
      const loaded = inflateRepositories(repositories);
      const build = (unavailable?: (name: string, version: string) => boolean) =>
        buildPackageIndexAsync({
          repositories: repositories.map(solverRepository),
          texts: loaded,
          arch: apk,
          installed,
          // capped: the trailer is only a hint (a lie costs memory, not correctness)
          expectedChars: Math.min(
            repositories.reduce((n, r) => n + announcedSize(r.parts), 0),
            32 * 1024 * 1024,
          ),
          ...(unavailable ? { unavailable } : {}),
        });
      index = cross
        ? cross.availability().then((av) => build(restrict(unavailableFor(av, apk))))
        : build(restrict());
      input.packageIndexes?.set(shareKey, index);
    }
    return index;
  };
  const salt = `${input.memoSalt ?? `lading ${LADING_BUILD_ID}`}${pinnedSalt ?? ''}`;
  const { resolution, cached } = await resolveMemoized({
    repositories,
    world,
    installed,
    arch: apk,
    cache: input.cache,
    index: makeIndex,
    logger: input.logger,
    salt: cross ? `${salt} ${cross.salt}` : salt,
    ...(input.apk3InstallIf ? { apk3InstallIf: true } : {}),
  });
  if (!input.keepIndexes) index = undefined;
  if (pinned) checkPinned(resolution, pinned, apk);
  input.logger?.debug(
    `${apk}: ${resolution.packages.length} packages, ${cached ? 'resolution from the cache' : 'resolved'} ` +
      `in ${(performance.now() - started).toFixed(0)} ms`,
  );
  return { arch, apkArch: apk, resolution, repositories, cached, index: makeIndex };
}

export interface ResolveMemoizedInput {
  repositories: readonly FetchedRepository[];
  world: readonly string[];
  /** Packages installed already (a base image's), part of the key. */
  installed?: readonly InstalledPackage[];
  arch: string;
  /** Where resolutions are kept; none: always resolve. */
  cache?: ContentCache;
  /** The resolver's index over `repositories` (called only when the cache has no answer). */
  index: () => Promise<PackageIndex>;
  logger?: Logger;
  /** Part of the key: identifies the lading build (default: `lading <build id>`). */
  salt?: string;
  /** apk-tools 3's negated install_if (see ConfigFlags.apk3InstallIf); part of the key. */
  apk3InstallIf?: boolean;
}

/**
 * Resolves the world, or reads the resolution stored for exactly these index bytes, world and architecture.
 * Throws the resolver's LadingError (SOLVER_UNSATISFIABLE with apk's tree) when there is no solution; failures
 * are not stored.
 */
export async function resolveMemoized(
  input: ResolveMemoizedInput,
): Promise<{ resolution: Resolution; cached: boolean }> {
  const logger = input.logger ?? silentLogger;
  const solveOptions = input.apk3InstallIf ? { apk3InstallIf: true } : {};
  const key = resolutionKey({
    repositories: input.repositories.map((r) => ({
      repository: r.repository,
      digest: r.indexDigest,
      ...(r.tag === undefined ? {} : { tag: r.tag }),
    })),
    world: input.world,
    ...(input.installed?.length ? { installed: input.installed } : {}),
    arch: input.arch,
    salt: input.salt ?? `lading ${LADING_BUILD_ID}`,
    options: solveOptions,
  });
  const cache = input.cache;
  if (cache) {
    // an unreadable cache only means resolving again
    const hit = await cache.readRef(RESOLUTIONS, key).catch((e: unknown) => {
      if (e instanceof LadingError) return undefined;
      throw e;
    });
    if (hit) {
      try {
        return { resolution: decodeResolution(hit.bytes.toString('utf8')), cached: true };
      } catch (e) {
        logger.warn(`${(e as Error).message}; resolving again`);
        await cache.deleteRef(RESOLUTIONS, key);
      }
    }
  }
  const resolution = resolve(await input.index(), input.world, solveOptions);
  if (cache) {
    try {
      const blob = await cache.putBytes(Buffer.from(encodeResolution(resolution), 'utf8'));
      await cache.setRef(RESOLUTIONS, key, { blob, meta: { arch: input.arch } });
    } catch (e) {
      // a full or read-only cache costs the next run time, not this one its answer
      if (!(e instanceof LadingError)) throw e;
      logger.warn(`${e.message}; continuing without caching the resolution`);
    }
  }
  return { resolution, cached: false };
}

/**
 * `why` for one architecture: every chain from the world to `name` (a package name or a name a resolved
 * package provides). Throws WHY_NOT_INSTALLED (the repositories have it, nothing needs it) or
 * WHY_NO_SUCH_PACKAGE (with near names) when it is not in the resolution.
 */
export async function whyInArch(resolved: ResolvedArch, name: string, limit?: number): Promise<WhyResult> {
  try {
    return whyChains(resolved.resolution, name, limit);
  } catch (e) {
    if (!(e instanceof LadingError) || e.code !== 'WHY_NOT_INSTALLED') throw e;
    throw whyNotInstalled(await resolved.index(), name, resolved.apkArch);
  }
}

/** The resolution is exactly the planned packages, or PLAN_STALE says what differs. */
function checkPinned(resolution: Resolution, pinned: readonly PinnedPackage[], apk: string): void {
  const want = new Map(pinnedPackages(pinned).map((p) => [`${p.name}-${p.version}`, p.checksum]));
  const got = new Map(pinnedPackages(resolution.packages).map((p) => [`${p.name}-${p.version}`, p.checksum]));
  const missing = [...want].filter(([k, c]) => got.get(k) !== c).map(([k]) => k);
  const extra = [...got.keys()].filter((k) => !want.has(k));
  if (missing.length === 0 && extra.length === 0) return;
  throw new LadingError(
    'PLAN_STALE',
    `${apk}: the repositories no longer give the planned packages` +
      (missing.length ? `; gone or changed: ${missing.slice(0, 8).join(', ')}` : '') +
      (extra.length ? `; also needed now: ${extra.slice(0, 8).join(', ')}` : ''),
    { hint: 'the repositories changed since the plan was made: run lading plan again' },
  );
}

/** What the resolver needs of a repository (its text comes separately). */
function solverRepository(r: FetchedRepository): SolverRepository {
  const out: SolverRepository = { repository: r.repository, file: r.location };
  if (r.tag !== undefined) out.tag = r.tag;
  return out;
}
