/**
 * `lading build`: config → resolved packages → filesystem → layer → image → outputs (+ SBOMs).
 * Each stage is a function in its own module; this one only wires them and owns the outputs.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve as resolvePath } from 'node:path';
import { imageCmd, imageEntrypoint, imageEnv } from '../config/image.ts';
import { targetArchitectures } from '../config/overrides.ts';
import type { ImageConfig } from '../config/types.ts';
import { cachedLayer } from '../layers/cache.ts';
import { type LayerPlan, MAX_LAYERS, planLayers } from '../layers/plan.ts';
import { writeDockerArchive } from '../oci/docker-archive.ts';
import { buildImage, buildIndex } from '../oci/image.ts';
import { writeLayout } from '../oci/layout.ts';
import { imageAnnotations, imageHistory } from '../oci/metadata.ts';
import type { HistoryEntry, Image, ImageIndex, Layer } from '../oci/types.ts';
import { type Arch, apkArch, ociPlatform } from '../platform/arch.ts';
import { type PreparedPackage, preparePackages } from '../prepare/packages.ts';
import type { FetchOptions } from '../repo/fetch.ts';
import { indexLocation, packageLocation, parseKeySource, type RepositoryRef } from '../repo/ref.ts';
import { type BuiltFilesystem, buildFilesystem } from '../rootfs/filesystem.ts';
import { buildDateEpoch } from '../rootfs/steps/time.ts';
import type { Resolution } from '../solver/resolve.ts';
import { sha256Hex } from '../util/digest.ts';
import { LadingError } from '../util/errors.ts';
import { type Logger, silentLogger } from '../util/log.ts';
import { tempPath } from '../util/write-file.ts';
import { imageMemoKey, loadImageMemo, saveImageMemo } from './image-memo.ts';
import { type FetchedRepository, fetchRepositoryIndexes, type LoadedKeyring } from './indexes.ts';
import { openBuild } from './open.ts';
import { resolveArch } from './resolve.ts';
import { archSboms, indexSboms, type SbomFile, type SbomFormat } from './sbom.ts';
import type { BuildInputs, BuildSummary } from './types.ts';

export type BuildEvent =
  | {
      type: 'phase';
      arch?: string;
      phase: 'config' | 'resolve' | 'fetch' | 'install' | 'layer' | 'output' | 'sbom';
    }
  | { type: 'package'; arch: string; done: number; total: number; fromCache: boolean }
  | { type: 'bytes'; n: number };

export interface BuildOptions {
  /** The apko YAML config. */
  config: string;
  /** `NAME[:TAG]` recorded in the outputs. */
  tag: string;
  /**
   * An existing directory or a path ending in `/` → OCI image layout (created when missing); otherwise a
   * docker-archive tarball at this path (missing parent directories are created).
   */
  output: string;
  archs?: string[];
  /** `--build-date` (RFC 3339); SOURCE_DATE_EPOCH wins. */
  buildDate?: string;
  repositoryAppend?: string[];
  buildRepositoryAppend?: string[];
  keyringAppend?: string[];
  packageAppend?: string[];
  /** `key:value` strings. */
  annotations?: string[];
  includePaths?: string[];
  ignoreSignatures?: boolean;
  cacheDir?: string;
  offline?: boolean;
  /** Write SBOMs (default true) in these formats (default spdx) into sbomPath (default: beside the output). */
  sbom?: boolean;
  sbomFormats?: SbomFormat[];
  sbomPath?: string;
  /** gzip level of the layer. */
  compressionLevel?: number;
  /**
   * Reuse an image built before from exactly the same inputs (see image-memo.ts) instead of building it again.
   * The CLI sets it; library callers get the full build (with its filesystem and resolution) by default.
   */
  reuse?: boolean;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
  onEvent?: (e: BuildEvent) => void;
}

export interface BuiltArch {
  arch: Arch;
  apkArch: string;
  image: Image;
  buildDate: number;
  resolution: Resolution;
  packages: PreparedPackage[];
  filesystem: BuiltFilesystem;
  /** The repositories packages came from, by RepositoryPackage.repository. */
  repositories: ReadonlyMap<string, RepositoryRef>;
}

export type { BuildInputs, BuildSummary } from './types.ts';

export interface BuildResult {
  index: ImageIndex;
  /** Everything built, per architecture (empty when the image was reused). */
  archs: BuiltArch[];
  summary: BuildSummary[];
  /** True when an image built before from the same inputs was written instead of building. */
  reused: boolean;
  /** What was written: the image output (a file or a layout directory), then SBOMs. */
  outputs: string[];
  /** Every file written (for a layout: its index.json, oci-layout and blobs), for the build record. */
  outputFiles: string[];
  /** The index digest (`sha256:…`). */
  digest: string;
  /** The files the build read (for the no-op build record); `remote` when the network was an input. */
  inputs: BuildInputs;
}

function parseBuildDate(value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  const ms = Date.parse(value);
  if (!Number.isFinite(ms) || !/^\d{4}-\d\d-\d\dT/.test(value)) {
    throw new LadingError('BAD_BUILD_DATE', `--build-date ${JSON.stringify(value)} is not an RFC 3339 time`, {
      hint: 'use e.g. 2024-01-31T12:00:00Z, or set SOURCE_DATE_EPOCH',
    });
  }
  return Math.floor(ms / 1000);
}

interface ArchContext {
  inputs: BuildInputs;
  config: ImageConfig;
  fetch: FetchOptions;
  keyring: LoadedKeyring;
  options: BuildOptions;
  logger: Logger;
  level?: number;
}

async function buildArch(arch: Arch, ctx: ArchContext, fetched: FetchedRepository[]): Promise<BuiltArch> {
  const { config, fetch, options } = ctx;
  const apk = apkArch(arch);
  const emit = options.onEvent ?? (() => {});
  const resolved = await resolveArch(config, arch, {
    fetch,
    keyring: ctx.keyring,
    ignoreSignatures: options.ignoreSignatures,
    logger: ctx.logger,
    repositories: fetched,
  });
  const { resolution, repositories: repos } = resolved;
  const byRepository = new Map<string, RepositoryRef>(repos.map((r) => [r.repository, r.ref]));
  for (const p of resolution.packages) {
    const ref = byRepository.get(p.repository);
    if (ref?.kind === 'local') ctx.inputs.statted.push(packageLocation(ref, apk, p));
  }

  emit({ type: 'phase', arch: apk, phase: 'fetch' });
  let done = 0;
  const total = resolution.packages.length;
  const packages = await preparePackages(resolution.packages, {
    fetch,
    keyring: ctx.keyring.keyring,
    ignoreSignatures: options.ignoreSignatures,
    arch: apk,
    repositories: byRepository,
    onReady: (_p, fromCache) => emit({ type: 'package', arch: apk, done: ++done, total, fromCache }),
  });

  emit({ type: 'phase', arch: apk, phase: 'install' });
  const buildDate = buildDateEpoch({
    sourceDateEpoch: (options.env ?? process.env).SOURCE_DATE_EPOCH,
    buildDate: parseBuildDate(options.buildDate),
    packageBuildTimes: packages.map((p) => p.info.buildTime),
  });
  const filesystem = buildFilesystem({
    config,
    arch: apk,
    packages,
    world: config.contents.packages,
    keys: ctx.keyring.keys,
    runtimeRepositories: [...config.contents.repositories, ...config.contents.runtimeRepositories],
    mtime: buildDate,
  });
  for (const w of filesystem.post.warnings) ctx.logger.warn(w);

  emit({ type: 'phase', arch: apk, phase: 'layer' });
  const plans = planLayers(filesystem, config.layering);
  if (config.layering && config.layering.budget > MAX_LAYERS - 1) {
    ctx.logger.warn(
      `layering budget ${config.layering.budget} is above ${MAX_LAYERS - 1}; using ${MAX_LAYERS - 1} package layers (runtimes refuse more than ${MAX_LAYERS} layers)`,
    );
  }
  const layers: Layer[] = [];
  for (const plan of plans) layers.push(await cachedLayer(() => plan.entries(), fetch.cache, ctx.level));
  const annotations = imageAnnotations({
    annotations: config.annotations,
    vcsUrl: config.vcsUrl,
    created: buildDate,
  });
  const platform = ociPlatform(arch);
  const image = buildImage(
    {
      platform: {
        architecture: platform.architecture,
        os: 'linux',
        ...(platform.variant ? { variant: platform.variant } : {}),
      },
      created: buildDate,
      author: 'github.com/lading',
      history: layerHistory(plans, buildDate, annotations),
      config: {
        Entrypoint: imageEntrypoint(config),
        Cmd: imageCmd(config),
        Env: imageEnv(config),
        User: filesystem.post.user,
        WorkingDir: config.workDir,
        StopSignal: config.stopSignal,
        Volumes: config.volumes.length ? [...new Set(config.volumes)].sort() : undefined,
        Labels: annotations,
      },
      annotations,
    },
    layers,
  );
  return {
    arch,
    apkArch: apk,
    image,
    buildDate,
    resolution,
    packages,
    filesystem,
    repositories: byRepository,
  };
}

/** Wraps the event callback: at debug level, logs how long each phase took and the memory in use. */
function timedEvents(options: BuildOptions, logger: Logger): (e: BuildEvent) => void {
  const inner = options.onEvent ?? (() => {});
  if (logger.level !== 'debug') return inner;
  // what came before the first phase: starting Node and loading lading
  let last: { label: string; at: number } | undefined = { label: 'start-up', at: 0 };
  const close = () => {
    if (!last) return;
    const rss = (process.memoryUsage.rss() / (1 << 20)).toFixed(0);
    logger.debug(`${last.label}: ${(performance.now() - last.at).toFixed(0)} ms (rss ${rss} MiB)`);
  };
  process.once('beforeExit', close);
  return (e) => {
    if (e.type === 'phase') {
      close();
      last = { label: `${e.phase}${e.arch ? ` ${e.arch}` : ''}`, at: performance.now() };
    }
    inner(e);
  };
}

/**
 * One history entry per layer. A single layer gets apko's comment; several get what each layer holds (apko
 * leaves them empty), unless title and vendor annotations are set, which apko puts on every entry.
 */
function layerHistory(
  plans: readonly LayerPlan[],
  created: number,
  annotations: Record<string, string>,
): HistoryEntry[] {
  const history = imageHistory({ layerCount: plans.length, created, annotations });
  if (plans.length === 1 || history[0]?.comment) return history;
  return history.map((h, i) => ({ ...h, comment: plans[i]!.comment }));
}

export async function build(options: BuildOptions): Promise<BuildResult> {
  const logger = options.logger ?? silentLogger;
  const emit = timedEvents(options, logger);
  options = { ...options, onEvent: emit };
  const cwd = options.cwd ?? process.cwd();
  // a malformed SOURCE_DATE_EPOCH or --build-date fails now, not after every package was downloaded
  buildDateEpoch({
    sourceDateEpoch: (options.env ?? process.env).SOURCE_DATE_EPOCH,
    buildDate: parseBuildDate(options.buildDate),
  });
  // so is an OUT/ that names a file
  isLayoutOutput(options.output, resolvePath(cwd, options.output));
  emit({ type: 'phase', phase: 'config' });
  const { config, files, fetch, keyring } = await openBuild({ ...options, cwd }, logger);
  refuseUnsupported(config, options.config);
  fetch.onBytes = (n) => emit({ type: 'bytes', n });
  const inputs: BuildInputs = {
    hashed: files.map((path) => ({ path, sha256: sha256Hex(readFileSync(path)) })),
    statted: [],
    remote: false,
  };
  for (const k of config.contents.keyring) {
    const source = parseKeySource(k, { cwd });
    if (source.kind === 'local') {
      const key = keyring.keys.find((k) => k.name === basename(source.path));
      inputs.hashed.push({ path: source.path, sha256: sha256Hex(key?.content ?? readFileSync(source.path)) });
    } else inputs.remote = true;
  }
  const ctx: ArchContext = {
    inputs,
    config,
    fetch,
    keyring,
    options,
    logger,
    level: options.compressionLevel,
  };

  // every architecture's indexes, fetched and signature-checked first: they are part of the image's identity
  const targets = targetArchitectures(config);
  const fetched: FetchedRepository[][] = [];
  for (const arch of targets) {
    emit({ type: 'phase', arch: apkArch(arch), phase: 'resolve' });
    const repos = await fetchRepositoryIndexes(
      [...config.contents.repositories, ...config.contents.buildRepositories],
      {
        fetch,
        arch: apkArch(arch),
        keyring: keyring.keyring,
        ignoreSignatures: options.ignoreSignatures,
        logger,
      },
    );
    for (const r of repos) {
      if (r.ref.kind === 'local')
        inputs.hashed.push({ path: indexLocation(r.ref, apkArch(arch)), sha256: r.indexDigest.slice(7) });
      else inputs.remote = true;
    }
    fetched.push(repos);
  }
  const memoKey = options.reuse
    ? imageMemoKey({
        config,
        archs: targets.map((a, i) => ({
          apkArch: apkArch(a),
          indexes: fetched[i]!.map((r) => ({ repository: r.repository, tag: r.tag, digest: r.indexDigest })),
        })),
        keys: keyring.keys,
        outputOptions: {
          tag: options.tag,
          sbom: options.sbom !== false ? (options.sbomFormats ?? ['spdx']) : false,
          level: options.compressionLevel ?? null,
          buildDate: options.buildDate ?? null,
          sourceDateEpoch: (options.env ?? process.env).SOURCE_DATE_EPOCH ?? null,
        },
      })
    : undefined;
  const memo = memoKey === undefined ? undefined : await loadImageMemo(fetch.cache, memoKey);
  if (memo) {
    logger.debug('the same inputs were built before: writing that image');
    inputs.statted.push(...memo.inputs.statted);
    const written = await writeOutputs(memo.index, memo.sbomFiles, options, cwd, emit, logger);
    return {
      index: memo.index,
      archs: [],
      summary: memo.summary,
      reused: true,
      ...written,
      digest: memo.index.index.digest,
      inputs,
    };
  }

  const archs: BuiltArch[] = [];
  for (const [i, arch] of targets.entries()) archs.push(await buildArch(arch, ctx, fetched[i]!));

  const created = Math.max(...archs.map((a) => a.buildDate));
  const index = buildIndex(
    archs.map((a) => a.image),
    { annotations: imageAnnotations({ annotations: config.annotations, vcsUrl: config.vcsUrl, created }) },
  );

  // SBOM texts are computed before anything is written, so a failure leaves no output behind.
  const sbomFiles: SbomFile[] = [];
  if (options.sbom !== false) {
    emit({ type: 'phase', phase: 'sbom' });
    const formats = options.sbomFormats?.length ? options.sbomFormats : (['spdx'] as SbomFormat[]);
    const perArch = archs.map((a) => {
      const r = archSboms(
        {
          arch: a.arch,
          image: a.image,
          reference: options.tag,
          buildDate: a.buildDate,
          fs: a.filesystem.fs,
          installer: a.filesystem.installer,
          packages: a.packages,
          resolution: a.resolution,
          repositories: a.repositories,
          vcsUrl: config.vcsUrl,
        },
        formats,
      );
      sbomFiles.push(...r.files);
      return { arch: a.arch, image: a.image, osRelease: r.osRelease, spdx: r.spdx };
    });
    sbomFiles.push(
      ...indexSboms(
        {
          reference: options.tag,
          indexDigest: index.index.digest,
          buildDate: created,
          images: perArch,
          vcsUrl: config.vcsUrl,
        },
        formats,
      ),
    );
  }

  const written = await writeOutputs(index, sbomFiles, options, cwd, emit, logger);
  const summary = archs.map((a) => ({
    apkArch: a.apkArch,
    packages: a.packages.length,
    manifestDigest: a.image.manifest.digest,
  }));
  if (memoKey !== undefined) {
    await saveImageMemo(fetch.cache, memoKey, { index, sbomFiles, summary, inputs }).catch((e: unknown) => {
      // remembering the image is an optimisation: a full cache must not fail a finished build
      if (!(e instanceof LadingError)) throw e;
      logger.warn(`${e.message}; the image is not remembered for reuse`);
    });
  }
  return { index, archs, summary, reused: false, ...written, digest: index.index.digest, inputs };
}

/**
 * Config features lading reads but cannot build yet: refused rather than built into an image that would not
 * work (a service bundle without its /sv tree, an image without its base).
 */
function refuseUnsupported(config: ImageConfig, file: string): void {
  const e = config.entrypoint;
  if (e.type === 'service-bundle' || Object.keys(e.services).length > 0) {
    throw new LadingError(
      'UNSUPPORTED',
      `${file}: entrypoint services (s6 service bundles) are not supported by lading build yet`,
      {
        hint: 'run one process with entrypoint.command, or build the image with apko for now',
      },
    );
  }
  if (config.contents.baseimage !== undefined) {
    throw new LadingError(
      'UNSUPPORTED',
      `${file}: contents.baseimage (building on a base image) is not supported by lading build yet`,
      {
        hint: 'list every package of the image in contents.packages instead',
      },
    );
  }
}

/**
 * Writes the image (a layout into an existing directory, else a docker archive) and the SBOMs. The SBOMs are
 * written first under temporary names, so a bad --sbom-path fails before anything else is written; they get
 * their names only after the image is in place.
 */
async function writeOutputs(
  index: ImageIndex,
  sbomFiles: readonly SbomFile[],
  options: BuildOptions,
  cwd: string,
  emit: (e: BuildEvent) => void,
  logger: Logger,
): Promise<{ outputs: string[]; outputFiles: string[] }> {
  emit({ type: 'phase', phase: 'output' });
  const output = resolvePath(cwd, options.output);
  const sbomDir = resolvePath(cwd, options.sbomPath ?? dirname(output));
  const staged: { tmp: string; path: string }[] = [];
  const outputs = [output];
  const outputFiles: string[] = [];
  try {
    if (sbomFiles.length) {
      try {
        mkdirSync(sbomDir, { recursive: true });
        for (const f of sbomFiles) {
          const path = join(sbomDir, f.name);
          const tmp = tempPath(path);
          staged.push({ tmp, path });
          writeFileSync(tmp, f.text);
        }
      } catch (e) {
        throw new LadingError(
          'OUTPUT_FAILED',
          `cannot write the SBOMs to ${sbomDir}: ${(e as Error).message}`,
          {
            hint: 'choose a writable directory with --sbom-path, or --sbom=false',
            cause: e,
          },
        );
      }
    }
    // after the SBOMs: an OUT that --sbom-path just created is a directory, so it gets a layout
    if (prepareOutputPath(options.output, output, logger)) {
      await writeLayout(output, index, { tag: options.tag });
      outputFiles.push(join(output, 'index.json'), join(output, 'oci-layout'));
      for (const d of layoutBlobDigests(index)) outputFiles.push(join(output, 'blobs', 'sha256', d.slice(7)));
    } else {
      await writeDockerArchive(output, index, { tag: options.tag });
      outputFiles.push(output);
    }
    for (const s of staged) {
      renameSync(s.tmp, s.path);
      outputs.push(s.path);
      outputFiles.push(s.path);
    }
  } catch (e) {
    for (const s of staged) rmSync(s.tmp, { force: true });
    throw e;
  }
  return { outputs, outputFiles };
}

/**
 * Whether `given` asks for an OCI layout: an existing directory, or a path ending in `/` (created when missing);
 * anything else is a tarball. A path ending in `/` that names a file is refused.
 */
function isLayoutOutput(given: string, output: string): boolean {
  const existing = statSync(output, { throwIfNoEntry: false });
  if (existing?.isDirectory()) return true;
  if (!/[\\/]$/.test(given)) return false;
  if (existing) {
    throw new LadingError('OUTPUT_NOT_DIRECTORY', `${given} ends in / but ${output} is not a directory`, {
      hint: 'name a directory for an OCI layout, or drop the / to write a tarball',
    });
  }
  return true;
}

/**
 * Makes the output's place: a missing layout directory, or a tarball's missing parent directories. Each
 * creation is said, so a mistyped path does not go unnoticed. Returns whether the output is a layout.
 */
function prepareOutputPath(given: string, output: string, logger: Logger): boolean {
  const layout = isLayoutOutput(given, output);
  const dir = layout ? output : dirname(output);
  if (existsSync(dir)) return layout;
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new LadingError('OUTPUT_FAILED', `cannot create ${dir} for the output: ${(e as Error).message}`, {
      hint: 'choose a writable location for OUT',
      cause: e,
    });
  }
  logger.info(layout ? `created ${dir}/ for the OCI layout` : `created ${dir}/ for ${basename(output)}`);
  return layout;
}

/** Every blob a layout of this index holds. */
function layoutBlobDigests(index: ImageIndex): string[] {
  const out = new Set<string>([index.index.digest]);
  for (const img of index.images) {
    out.add(img.manifest.digest);
    out.add(img.config.digest);
    for (const l of img.layers) out.add(l.digest);
  }
  return [...out];
}
