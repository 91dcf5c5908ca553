/**
 * `lading build`: the phases in order, each a function with its own small input:
 *   open → fetch indexes (all architectures) → resolve (all architectures, in one place) →
 *   per architecture: prepare → rootfs → layers → image → index → SBOMs → destination.
 * This module only wires them, reports progress and remembers finished images (the image memo).
 */

import { resolve as resolvePath } from 'node:path';
import type { Keyring } from '../apk/keyring.ts';
import type { BaseArch } from '../base/layers.ts';
import { targetArchitectures } from '../config/overrides.ts';
import type { ImageConfig } from '../config/types.ts';
import type { LayerHints } from '../layers/cache.ts';
import type { ImageDestination } from '../oci/destination.ts';
import { imageAnnotations } from '../oci/metadata.ts';
import type { ImageIndex } from '../oci/types.ts';
import { type Arch, apkArch as apkArchName } from '../platform/arch.ts';
import type { LockedRequest } from '../prepare/packages.ts';
import type { FetchOptions } from '../repo/fetch.ts';
import { type BuildDateInputs, buildDateEpoch } from '../rootfs/steps/time.ts';
import type { PackageIndex } from '../solver/package-index.ts';
import { LadingError } from '../util/errors.ts';
import { type Logger, silentLogger } from '../util/log.ts';
import type { PreparedArch } from './arch.ts';
import type { BuildBase } from './base.ts';
import { type ImageMemo, imageMemoKey, loadImageMemo, saveImageMemo } from './image-memo.ts';
import { type ArchIndexes, type BuildKey, type FetchedRepository, fetchArchIndexes } from './indexes.ts';
import {
  INPUT_DIGEST_ANNOTATION,
  type InputDigestInput,
  inputDigest,
  type PinnedPackage,
} from './input-digest.ts';
import {
  addBaseInputs,
  addIndexInputs,
  addLockedInputs,
  addPackageInputs,
  addVcsInputs,
  openedInputs,
} from './inputs.ts';
import type { LockedArch, OpenedLock } from './locked.ts';
import { configName, type OpenBuildOptions, type OpenedBuild, openBuild } from './open.ts';
import { isLayoutOutput, type OutputOptions, refuseAnotherImagesSboms, writeOutputs } from './outputs.ts';
import type { ResolvedArch } from './resolve.ts';
import type { SbomFile, SbomFormat } from './sbom.ts';
import type { BuildInputs, BuildSummary, BuiltArch } from './types.ts';

export type BuildEvent =
  | {
      type: 'phase';
      arch?: string;
      phase: 'config' | 'resolve' | 'fetch' | 'install' | 'layer' | 'output' | 'sbom';
    }
  | { type: 'package'; arch: string; done: number; total: number; fromCache: boolean }
  | { type: 'bytes'; n: number };

export interface BuildOptions extends OpenBuildOptions {
  /** `NAME[:TAG]` recorded in the outputs. */
  tag: string;
  /**
   * Where the image goes. A path: an existing directory or a path ending in `/` → OCI image layout (created when
   * missing); otherwise a docker-archive tarball at this path (missing parent directories are created). Or any
   * ImageDestination (then SBOMs are written only with `sbomPath`; they are in the result either way).
   */
  output: string | ImageDestination;
  /** `--build-date` (RFC 3339); SOURCE_DATE_EPOCH wins. */
  buildDate?: string;
  /**
   * Write SBOMs (default true) in these formats (default spdx): beside the output, named after it
   * (`OUT.sbom-<arch>.spdx.json`), or with apko's names into sbomPath.
   */
  sbom?: boolean;
  sbomFormats?: SbomFormat[];
  sbomPath?: string;
  /** gzip (default) or zstd (`…tar+zstd` layers: containerd ≥ 1.5, Podman ≥ 3; not Docker's own store). */
  compression?: 'gzip' | 'zstd';
  /** Level of the layer's compression (gzip 1–9, zstd 1–19). */
  compressionLevel?: number;
  /**
   * Called with the image, its SBOMs and the summary right before they are written (publish starts sending the
   * SBOMs then, beside the image's blobs).
   */
  beforeOutput?: (index: ImageIndex, sboms: readonly SbomFile[], summary: readonly BuildSummary[]) => void;
  /** Layers held elsewhere by key (a registry's image built before): used without writing them (publish). */
  layerHints?: LayerHints;
  /** A plan's packages per architecture: resolved among only them, and exactly them (see resolve.ts). */
  pinned?: ReadonlyMap<string, readonly PinnedPackage[]>;
  /** Resolver indexes shared by the builds of one process (plan, publish-many). */
  packageIndexes?: Map<string, Promise<PackageIndex>>;
  /**
   * Reuse an image built before from exactly the same inputs (see image-memo.ts) instead of building it again.
   * The CLI sets it; library callers get the full build (with its filesystem and resolution) by default.
   */
  reuse?: boolean;
  logger?: Logger;
  onEvent?: (e: BuildEvent) => void;
}

export type { BuildInputs, BuildSummary, BuiltArch } from './types.ts';

export interface BuildResult {
  index: ImageIndex;
  /** Everything built, per architecture (empty when the image was reused). */
  archs: BuiltArch[];
  summary: BuildSummary[];
  /** True when an image built before from the same inputs was written instead of building. */
  reused: boolean;
  /** The SBOM documents, whether or not they were written to files. */
  sboms: SbomFile[];
  /** What was written: the image output (a file or a layout directory), then SBOMs. */
  outputs: string[];
  /** Every file written (for a layout: its index.json, oci-layout and blobs), for the build record. */
  outputFiles: string[];
  /** The index digest (`sha256:…`). */
  digest: string;
  /** What the index and manifests carry as `dev.lading.input-digest` (see input-digest.ts). */
  inputDigest: string;
  /** The files the build read (for the no-op build record); `remote` when the network was an input. */
  inputs: BuildInputs;
  /**
   * Lets go of the cached files the result's filesystems read from (pinned so a concurrent `lading clean`
   * cannot remove them; see store/cache.ts). Otherwise they are let go when the process exits.
   */
  release(): Promise<void>;
}

/** `--build-date` as unix seconds; BAD_BUILD_DATE unless RFC 3339. */
export function parseBuildDate(value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  const ms = Date.parse(value);
  if (!Number.isFinite(ms) || !/^\d{4}-\d\d-\d\dT/.test(value)) {
    throw new LadingError('BAD_BUILD_DATE', `--build-date ${JSON.stringify(value)} is not an RFC 3339 time`, {
      hint: 'use e.g. 2024-01-31T12:00:00Z, or set SOURCE_DATE_EPOCH',
    });
  }
  return Math.floor(ms / 1000);
}

/** Wraps the event callback: at debug level, logs how long each phase took and the memory in use. */
function timedEvents(options: Pick<BuildOptions, 'onEvent'>, logger: Logger): (e: BuildEvent) => void {
  const inner = options.onEvent ?? (() => {});
  if (logger.level !== 'debug') return inner;
  // what came before the first phase: starting Node and loading lading
  let last: { label: string; at: number; cpu: NodeJS.CpuUsage } | undefined = {
    label: 'start-up',
    at: 0,
    cpu: { user: 0, system: 0 },
  };
  const close = () => {
    if (!last) return;
    const rss = (process.memoryUsage.rss() / (1 << 20)).toFixed(0);
    // CPU time of every thread (the main thread and libuv's pool): above the wall time when both cores worked
    const cpu = process.cpuUsage(last.cpu);
    logger.debug(
      `${last.label}: ${(performance.now() - last.at).toFixed(0)} ms, cpu ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms (rss ${rss} MiB)`,
    );
  };
  process.once('beforeExit', close);
  return (e) => {
    if (e.type === 'phase') {
      close();
      last = {
        label: `${e.phase}${e.arch ? ` ${e.arch}` : ''}`,
        at: performance.now(),
        cpu: process.cpuUsage(),
      };
    }
    inner(e);
  };
}

/**
 * The front half of a build, up to the input digest: the config opened, the indexes fetched and every
 * architecture resolved (or the lock read), or the image memo found. Nothing is fetched or written yet, so a
 * caller can decide from the input digest whether to go on (publish --skip-unchanged) and call finishBuild,
 * or stop and call release.
 */
export interface StartedBuild {
  /** The input digest (see input-digest.ts): what the index and manifests will carry. */
  readonly inputDigest: string;
  /** True when an image built before from the same inputs will be written (the image memo). */
  readonly remembered: boolean;
  /** The config, its includes and local keys, with the SHA-256 (hex) of the bytes read: what a plan pins. */
  readonly sources: readonly { path: string; sha256: string }[];
  /** The packages per architecture (resolved, or the lock's; empty when remembered). */
  readonly archs: readonly { apkArch: string; packages: readonly RepositoryPackageLike[] }[];
  /** Lets go of the cache pins (see BuildResult.release), for a caller that does not finish the build. */
  release(): Promise<void>;
}

interface StartedState extends StartedBuild {
  options: BuildOptions;
  logger: Logger;
  emit: (e: BuildEvent) => void;
  opened: OpenedBuild;
  date: BuildDateInputs;
  inputs: BuildInputs;
  sbomFormats: SbomFormat[] | false;
  output: OutputOptions;
  lock: OpenedLock | undefined;
  locked: Map<Arch, LockedRequest[]> | undefined;
  resolved: ResolvedArch[];
  base: BuildBase | undefined;
  memoKey: string | undefined;
  memo: ImageMemo | undefined;
}

/** What a started build knows of each package: enough for the input digest, a plan's cost and its graph. */
export interface RepositoryPackageLike {
  name: string;
  version: string;
  checksum?: string;
  /** Installed size in bytes, when the index gives it. */
  installedSize?: number;
}

export async function startBuild(options: BuildOptions): Promise<StartedBuild> {
  const logger = options.logger ?? silentLogger;
  const emit = timedEvents(options, logger);
  const cwd = options.cwd ?? process.cwd();
  // a malformed SOURCE_DATE_EPOCH or --build-date fails now, not after every package was downloaded
  const date: BuildDateInputs = {
    sourceDateEpoch: (options.env ?? process.env).SOURCE_DATE_EPOCH,
    buildDate: parseBuildDate(options.buildDate),
  };
  buildDateEpoch(date);
  // so is an OUT/ that names a file
  if (typeof options.output === 'string') isLayoutOutput(options.output, resolvePath(cwd, options.output));

  // open: the config, the store and the build keyring (and the lock file, whose keys stand in for gone ones)
  emit({ type: 'phase', phase: 'config' });
  // modules only some builds need are loaded when they are needed: a warm build the image memo answers
  // never loads the lock, the solver, the installer, the layer writer or the SBOM builders
  const locking = options.lockfile === undefined ? undefined : await import('./locked.ts');
  const lock = locking && (await locking.readLockFile(options.lockfile!, cwd));
  const opened = await openBuild(
    { ...options, cwd, vcs: options.vcs ?? true },
    logger,
    lock && locking!.embeddedKeys(lock.lock),
  );
  const { config, files, fetch, keyring, vcs } = opened;
  // what the build reads from the store stays readable whatever a concurrent `lading clean` removes
  await fetch.cache.startPinning();
  const release = () => fetch.cache.releasePins();
  fetch.onBytes = (n) => emit({ type: 'bytes', n });
  const inputs = openedInputs(files, { entries: config.contents.keyring, keys: keyring.keys }, cwd);
  const sources = [...inputs.hashed];
  if (vcs) addVcsInputs(inputs, vcs);

  const sbomFormats: SbomFormat[] | false =
    options.sbom === false ? false : options.sbomFormats?.length ? options.sbomFormats : ['spdx'];
  const output = { output: options.output, tag: options.tag, sbomPath: options.sbomPath, cwd };
  const targets = targetArchitectures(config);
  refuseAnotherImagesSboms(
    output,
    sbomFormats,
    targets.map((a) => apkArchName(a)),
  );
  // a base image: every target architecture must be in it, before anything is fetched
  const basing = config.contents.baseimage === undefined ? undefined : await import('./base.ts');
  const base =
    basing &&
    (await basing.openBuildBase(config, targets, {
      cwd,
      includePaths: options.includePaths,
      fetch,
      env: options.env,
      logger,
    }));
  if (base) addBaseInputs(inputs, base);

  // a lock: checked against the config, its packages are the resolution (no index is fetched)
  const locked =
    lock &&
    locking!.lockedRequests({
      opened: lock,
      config,
      configFile: configName(options.config),
      checksum: opened.checksum,
      rawChecksum: opened.rawChecksum,
      targets,
      archsChosen: (options.archs?.length ?? 0) > 0,
      cwd,
      logger,
    });
  // fetch indexes: every architecture's, signature-checked; they are part of the image's identity
  const indexes = locked
    ? []
    : await fetchArchIndexes(config.contents, targets, {
        fetch,
        keyring: keyring.keyring,
        ignoreSignatures: options.ignoreSignatures,
        logger,
        onArch: (arch) => emit({ type: 'phase', arch, phase: 'resolve' }),
      });
  addIndexInputs(inputs, indexes);
  if (lock) inputs.hashed.push({ path: lock.path, sha256: lock.sha256 });

  // the base is part of what the image is made of: by its images' digests
  const identity = basing ? basing.identityConfig(config, base) : config;
  const memoKey = options.reuse
    ? memoKeyOf(identity, lock ? lockIdentity(lock, targets) : indexes, keyring.keys, options)
    : undefined;
  const memo = memoKey === undefined ? undefined : await loadImageMemo(fetch.cache, memoKey);
  const state = {
    options,
    logger,
    emit,
    opened,
    date,
    inputs,
    sbomFormats,
    output,
    lock,
    locked,
    resolved: [] as ResolvedArch[],
    base,
    memoKey,
    memo,
    remembered: memo !== undefined,
    inputDigest: '',
    sources,
    archs: [] as { apkArch: string; packages: RepositoryPackageLike[] }[],
    release,
  };
  const digestOf = (archs: InputDigestInput['archs']) =>
    inputDigest({
      config: identity,
      archs,
      keys: keyring.keys,
      options: {
        sourceDateEpoch: date.sourceDateEpoch,
        buildDate: date.buildDate,
        compressionLevel: options.compressionLevel,
        ...(options.compression === 'zstd' ? { compression: 'zstd' } : {}),
      },
    });
  if (memo) {
    state.inputDigest = memo.index.annotations[INPUT_DIGEST_ANNOTATION] ?? '';
  } else if (locked) {
    // from the lock, before anything is fetched: its entries are the packages
    state.archs = [...locked].map(([arch, requests]) => ({
      apkArch: apkArchName(arch),
      packages: requests.map((r) => r.entry),
    }));
    state.inputDigest = digestOf(state.archs);
  } else {
    // resolve: every architecture, in one place
    const { resolveArchitectures } = await import('./resolve.ts');
    state.resolved = await resolveArchitectures({
      world: config.contents.packages,
      indexes,
      cache: fetch.cache,
      ...(options.pinned ? { pinned: options.pinned } : {}),
      ...(options.packageIndexes ? { packageIndexes: options.packageIndexes } : {}),
      ...(base ? { installed: await basing!.installedByArch(base, targets) } : {}),
      ...(options.apk3InstallIf ? { apk3InstallIf: true } : {}),
      logger,
    });
    // the packages the build installs (a base's are in the identity by its digests), as a lock lists them
    for (const r of state.resolved) {
      const installs = basing
        ? basing.newPackages(r.resolution.packages, base && (await base.load(r.arch)))
        : r.resolution.packages;
      state.archs.push({ apkArch: r.apkArch, packages: installs });
    }
    state.inputDigest = digestOf(state.archs);
  }
  return state;
}

export async function build(options: BuildOptions): Promise<BuildResult> {
  return finishBuild(await startBuild(options));
}

/** The back half of a build: the image written from what startBuild found. */
export async function finishBuild(started: StartedBuild): Promise<BuildResult> {
  const s = started as StartedState;
  const { options, logger, emit, opened, inputs, output, memo, release } = s;
  const { config, fetch, keyring } = opened;
  if (memo) {
    logger.debug('the same inputs were built before: writing that image');
    inputs.statted.push(...memo.inputs.statted);
    emit({ type: 'phase', phase: 'output' });
    options.beforeOutput?.(memo.index, memo.sbomFiles, memo.summary);
    const written = await writeOutputs(memo.index, memo.sbomFiles, output, logger);
    const { index, summary } = memo;
    return {
      index,
      archs: [],
      summary,
      reused: true,
      sboms: memo.sbomFiles,
      ...written,
      digest: index.index.digest,
      inputDigest: s.inputDigest,
      inputs,
      release,
    };
  }

  const [{ buildImageIndex }, { buildSboms }] = await Promise.all([
    import('../oci/image.ts'),
    import('./sbom.ts'),
  ]);
  // from a lock: its packages, fetched and checked against it
  const resolved: (ResolvedArch | LockedArch)[] = [...s.resolved];
  if (s.locked) {
    const { resolveLockedArch } = await import('./locked.ts');
    for (const [arch, requests] of s.locked) {
      const apk = apkArchName(arch);
      emit({ type: 'phase', arch: apk, phase: 'fetch' });
      let done = 0;
      resolved.push(
        await resolveLockedArch(arch, requests, {
          world: config.contents.packages,
          fetch,
          keyring: keyring.keyring,
          ignoreSignatures: options.ignoreSignatures,
          dataLayers: config.layering?.strategy === 'package',
          lockFile: s.lock!.file,
          ...(s.base ? { installed: await s.base.installed(arch) } : {}),
          ...(options.apk3InstallIf ? { apk3InstallIf: true } : {}),
          onReady: (fromCache) =>
            emit({ type: 'package', arch: apk, done: ++done, total: requests.length, fromCache }),
        }),
      );
      addLockedInputs(inputs, requests);
    }
  }

  const archs: BuiltArch[] = [];
  for (const r of resolved) {
    if (!('prepared' in r)) addPackageInputs(inputs, r);
    archs.push(
      await buildArch(
        r,
        {
          config,
          fetch,
          keys: keyring.keys,
          keyring: keyring.keyring,
          date: s.date,
          inputDigest: s.inputDigest,
          base: s.base && (await s.base.load(r.arch)),
        },
        options,
        emit,
        logger,
      ),
    );
  }

  // index: every architecture's image, annotated with the newest build date and the input digest
  const created = Math.max(...archs.map((a) => a.buildDate));
  const index = buildImageIndex(
    archs.map((a) => a.image),
    {
      annotations: {
        ...imageAnnotations({ annotations: config.annotations, vcsUrl: config.vcsUrl, created }),
        [INPUT_DIGEST_ANNOTATION]: s.inputDigest,
      },
    },
  );

  // SBOMs, before anything is written: a failure leaves no output behind
  let sbomFiles: SbomFile[] = [];
  if (s.sbomFormats) {
    emit({ type: 'phase', phase: 'sbom' });
    sbomFiles = buildSboms(archs, index, {
      formats: s.sbomFormats,
      reference: options.tag,
      vcsUrl: config.vcsUrl,
    });
  }

  // destination
  emit({ type: 'phase', phase: 'output' });
  const summary = archs.map((a) => ({
    apkArch: a.apkArch,
    packages: a.packages.length,
    manifestDigest: a.image.manifest.digest,
  }));
  options.beforeOutput?.(index, sbomFiles, summary);
  const written = await writeOutputs(index, sbomFiles, output, logger);
  await fetch.cache.flush();
  if (s.memoKey !== undefined) {
    await saveImageMemo(fetch.cache, s.memoKey, { index, sbomFiles, summary, inputs }).catch((e: unknown) => {
      // remembering the image is an optimisation: a full cache must not fail a finished build
      if (!(e instanceof LadingError)) throw e;
      logger.warn(`${e.message}; the image is not remembered for reuse`);
    });
  }
  return {
    index,
    archs,
    summary,
    reused: false,
    sboms: sbomFiles,
    ...written,
    digest: index.index.digest,
    inputDigest: s.inputDigest,
    inputs,
    release,
  };
}

/** One architecture's phases after resolution: prepare → rootfs → layers → image. */
async function buildArch(
  resolved: ResolvedArch | LockedArch,
  opened: {
    config: ImageConfig;
    fetch: FetchOptions;
    keyring: Keyring;
    keys: readonly BuildKey[];
    date: BuildDateInputs;
    inputDigest: string;
    base: BaseArch | undefined;
  },
  options: Pick<BuildOptions, 'ignoreSignatures' | 'compression' | 'compressionLevel' | 'layerHints'>,
  emit: (e: BuildEvent) => void,
  logger: Logger,
): Promise<BuiltArch> {
  const { archBuildDate, baseLayersForArch, imageForArch, layersForArch, prepareArch, rootfsForArch } =
    await import('./arch.ts');
  const { base } = opened;
  const { config, fetch } = opened;
  const { arch, apkArch, resolution } = resolved;

  let prepared: PreparedArch;
  if ('prepared' in resolved) prepared = resolved.prepared;
  else {
    emit({ type: 'phase', arch: apkArch, phase: 'fetch' });
    let done = 0;
    // what a base image has is not installed again
    const install = base
      ? (await import('./base.ts')).newPackages(resolution.packages, base)
      : resolution.packages;
    const total = install.length;
    prepared = await prepareArch(
      { ...resolved, resolution: { ...resolution, packages: install } },
      {
        fetch,
        keyring: opened.keyring,
        ignoreSignatures: options.ignoreSignatures,
        dataLayers: config.layering?.strategy === 'package',
        onReady: (fromCache) => emit({ type: 'package', arch: apkArch, done: ++done, total, fromCache }),
      },
    );
  }
  const { packages, repositories } = prepared;

  emit({ type: 'phase', arch: apkArch, phase: 'install' });
  const buildDate = archBuildDate(packages, opened.date);
  const filesystem = rootfsForArch({ config, apkArch, packages, keys: opened.keys, buildDate, base });
  for (const w of filesystem.post.warnings) logger.warn(w);

  emit({ type: 'phase', arch: apkArch, phase: 'layer' });
  const compression = options.compression === undefined ? {} : { compression: options.compression };
  const layers = base
    ? await baseLayersForArch(filesystem, base, {
        cache: fetch.cache,
        compressionLevel: options.compressionLevel,
        ...compression,
      })
    : await layersForArch(filesystem, {
        layering: config.layering,
        cache: fetch.cache,
        compressionLevel: options.compressionLevel,
        ...compression,
        hints: options.layerHints,
        logger,
      });
  const image = imageForArch({
    config,
    arch,
    user: filesystem.post.user,
    buildDate,
    layers,
    inputDigest: opened.inputDigest,
    ...(base ? { base: base.image } : {}),
  });
  return {
    arch,
    apkArch,
    image,
    buildDate,
    resolution,
    packages,
    filesystem,
    repositories,
    ...(base ? { basePackages: base.db.packages.map((p) => p.info) } : {}),
  };
}

/** A lock in the place of the indexes in the memo key: its bytes pin every package. */
function lockIdentity(
  lock: OpenedLock,
  targets: readonly Arch[],
): Pick<ArchIndexes, 'apkArch' | 'repositories'>[] {
  return targets.map((arch) => ({
    apkArch: apkArchName(arch),
    repositories: [
      { repository: `lockfile ${lock.file}`, indexDigest: `sha256:${lock.sha256}` } as FetchedRepository,
    ],
  }));
}

/** The image memo's key: everything the image's bytes depend on (see image-memo.ts). */
function memoKeyOf(
  config: ImageConfig,
  indexes: readonly Pick<ArchIndexes, 'apkArch' | 'repositories'>[],
  keys: readonly BuildKey[],
  options: BuildOptions,
): string {
  return imageMemoKey({
    config,
    archs: indexes.map((a) => ({
      apkArch: a.apkArch,
      indexes: a.repositories.map((r) => ({ repository: r.repository, tag: r.tag, digest: r.indexDigest })),
    })),
    keys,
    outputOptions: {
      tag: options.tag,
      sbom: options.sbom !== false ? (options.sbomFormats ?? ['spdx']) : false,
      level: options.compressionLevel ?? null,
      ...(options.compression === 'zstd' ? { compression: 'zstd' } : {}),
      buildDate: options.buildDate ?? null,
      sourceDateEpoch: (options.env ?? process.env).SOURCE_DATE_EPOCH ?? null,
      apk3InstallIf: options.apk3InstallIf ?? false,
    },
  });
}
