/**
 * The per-architecture phases of a build, each from its own small input: prepare (fetch, verify, expand the
 * resolved packages), rootfs (install them and run the post-install steps), layers (plan and write, through
 * the layer cache) and image (config and manifest).
 */
import type { Keyring } from '../apk/keyring.ts';
import { type BaseArch, changedNodes } from '../base/layers.ts';
import { imageCmd, imageEntrypoint, imageEnv } from '../config/image.ts';
import type { ImageConfig, Layering } from '../config/types.ts';
import { cachedLayer, type LayerHints } from '../layers/cache.ts';
import { nodeEntries, ownerNames } from '../layers/entries.ts';
import { MAX_LAYERS, planLayers } from '../layers/plan.ts';
import { type PlannedLayer, planPackageLayers, rebuiltPackages } from '../layers/streams.ts';
import { buildImage } from '../oci/image.ts';
import { imageAnnotations, imageHistory } from '../oci/metadata.ts';
import type { ContainerConfig, HistoryEntry, Image, Layer } from '../oci/types.ts';
import { type Arch, ociPlatform } from '../platform/arch.ts';
import { type PreparedPackage, preparePackages } from '../prepare/packages.ts';
import type { FetchOptions } from '../repo/fetch.ts';
import type { RepositoryRef } from '../repo/ref.ts';
import { type BuiltFilesystem, buildFilesystem } from '../rootfs/filesystem.ts';
import { type BuildDateInputs, buildDateEpoch } from '../rootfs/steps/time.ts';
import type { ContentCache } from '../store/cache.ts';
import type { Logger } from '../util/log.ts';
import type { BuildKey } from './indexes.ts';
import { INPUT_DIGEST_ANNOTATION } from './input-digest.ts';
import type { ResolvedArch } from './types.ts';

export interface PreparedArch {
  /** In the resolution's install order. */
  packages: PreparedPackage[];
  /** The repositories packages came from, by RepositoryPackage.repository. */
  repositories: ReadonlyMap<string, RepositoryRef>;
}

/** Prepare: every resolved package fetched (or read), verified and expanded into the store. */
export async function prepareArch(
  resolved: Pick<ResolvedArch, 'apkArch' | 'resolution' | 'repositories'>,
  options: {
    fetch: FetchOptions;
    keyring: Keyring;
    ignoreSignatures?: boolean;
    /** Keep the packages' compressed data streams as layers (`layering: {strategy: package}`). */
    dataLayers?: boolean;
    onReady?: (fromCache: boolean) => void;
  },
): Promise<PreparedArch> {
  const repositories = new Map<string, RepositoryRef>(
    resolved.repositories.map((r) => [r.repository, r.ref]),
  );
  const packages = await preparePackages(resolved.resolution.packages, {
    fetch: options.fetch,
    keyring: options.keyring,
    ignoreSignatures: options.ignoreSignatures,
    arch: resolved.apkArch,
    repositories,
    dataLayers: options.dataLayers,
    onReady: (_p, fromCache) => options.onReady?.(fromCache),
  });
  return { packages, repositories };
}

/** The build date of one architecture's image: SOURCE_DATE_EPOCH, else the newest of --build-date and its packages. */
export function archBuildDate(packages: readonly PreparedPackage[], date: BuildDateInputs): number {
  return buildDateEpoch({ ...date, packageBuildTimes: packages.map((p) => p.info.buildTime) });
}

/**
 * Rootfs: the packages installed and the config's post-install steps applied, in memory; with a base image, on
 * its filesystem (changed in place) with its packages taken over as installed.
 */
export function rootfsForArch(input: {
  config: ImageConfig;
  apkArch: string;
  packages: readonly PreparedPackage[];
  keys: readonly BuildKey[];
  buildDate: number;
  base?: BaseArch;
}): BuiltFilesystem {
  const { config, base } = input;
  return buildFilesystem({
    config,
    arch: input.apkArch,
    packages: input.packages,
    world: config.contents.packages,
    keys: input.keys,
    runtimeRepositories: [...config.contents.repositories, ...config.contents.runtimeRepositories],
    mtime: input.buildDate,
    ...(base
      ? { base: { fs: base.fs, packages: base.db.packages, world: base.db.world, dbDir: base.db.dbDir } }
      : {}),
  });
}

/**
 * Layers on a base image: the base's layers as they are (same blobs, same digests), then one layer with what
 * the build changed on the base's filesystem (see base/layers.ts changedNodes), through the layer cache.
 */
export async function baseLayersForArch(
  filesystem: BuiltFilesystem,
  base: BaseArch,
  options: { cache: ContentCache; compression?: 'gzip' | 'zstd'; compressionLevel?: number },
): Promise<ArchLayers> {
  const names = ownerNames(filesystem.fs);
  const entries = () => nodeEntries(changedNodes(filesystem.fs, base.snapshot), names);
  const top = await cachedLayer(entries, options.cache, {
    level: options.compressionLevel,
    ...(options.compression === undefined ? {} : { compression: options.compression }),
  });
  const plan: PlannedLayer = { kind: 'image', name: 'image', packages: [], comment: '', entries };
  return { plans: [plan], layers: [...base.image.layers, top] };
}

export interface ArchLayers {
  plans: PlannedLayer[];
  layers: Layer[];
}

/** Layers: the layering plan, each layer taken from the layer cache or written into it. */
export async function layersForArch(
  filesystem: BuiltFilesystem,
  options: {
    layering: Layering | undefined;
    cache: ContentCache;
    /** gzip (default) or zstd, for the layers lading writes (a package's own stream stays gzip). */
    compression?: 'gzip' | 'zstd';
    compressionLevel?: number;
    /** Layers a registry already holds, by key (publish). */
    hints?: LayerHints;
    logger: Logger;
  },
): Promise<ArchLayers> {
  const { layering } = options;
  const plans: PlannedLayer[] =
    layering?.strategy === 'package'
      ? planPackageLayers(filesystem, layering.budget)
      : planLayers(filesystem, layering);
  for (const why of rebuiltPackages(plans)) options.logger.info(why);
  if (layering && layering.budget > MAX_LAYERS - 1) {
    options.logger.warn(
      `layering budget ${layering.budget} is above ${MAX_LAYERS - 1}; using ${MAX_LAYERS - 1} package layers (runtimes refuse more than ${MAX_LAYERS} layers)`,
    );
  }
  const layers: Layer[] = [];
  for (const plan of plans) {
    layers.push(
      plan.kind === 'stream'
        ? plan.layer
        : await cachedLayer(() => plan.entries(), options.cache, {
            level: options.compressionLevel,
            ...(options.compression === undefined ? {} : { compression: options.compression }),
            hints: options.hints,
            logger: options.logger,
          }),
    );
  }
  return { plans, layers };
}

/** Image: the image config (from the config and the filesystem's user) and manifest over the layers. */
export function imageForArch(input: {
  config: ImageConfig;
  arch: Arch;
  /** The OCI `User`, resolved against the image's /etc/passwd. */
  user: string | undefined;
  buildDate: number;
  layers: ArchLayers;
  /** Recorded on the manifest (not in the config: the config's bytes stay a function of the image). */
  inputDigest?: string;
  /** A base image: its history goes first, and its runtime settings are inherited (see inheritedConfig). */
  base?: Image;
}): Image {
  const { config, buildDate } = input;
  const annotations = imageAnnotations({
    annotations: config.annotations,
    vcsUrl: config.vcsUrl,
    created: buildDate,
  });
  const platform = ociPlatform(input.arch);
  const base = input.base && baseConfig(input.base);
  return buildImage(
    {
      platform: {
        architecture: platform.architecture,
        os: 'linux',
        ...(platform.variant ? { variant: platform.variant } : {}),
      },
      created: buildDate,
      author: 'github.com/lading',
      history: [...(base?.history ?? []), ...layerHistory(input.layers.plans, buildDate, annotations)],
      config: base
        ? { ...base.config, Env: imageEnv(config), Labels: annotations }
        : {
            Entrypoint: imageEntrypoint(config),
            Cmd: imageCmd(config),
            Env: imageEnv(config),
            User: input.user,
            WorkingDir: config.workDir,
            StopSignal: config.stopSignal,
            Volumes: config.volumes.length ? [...new Set(config.volumes)].sort() : undefined,
            Labels: annotations,
          },
      annotations:
        input.inputDigest === undefined
          ? annotations
          : { ...annotations, [INPUT_DIGEST_ANNOTATION]: input.inputDigest },
    },
    input.layers.layers,
  );
}

/**
 * What an image on a base keeps of the base's config, as apko's mutate.Append does: its history, and its
 * Entrypoint, Cmd, User, WorkingDir, StopSignal, Volumes and ExposedPorts (the config may set none of them with
 * a base); Env and Labels are the build's own (apko replaces them too).
 */
function baseConfig(image: Image): { history: HistoryEntry[]; config: ContainerConfig } {
  const doc = JSON.parse(image.config.bytes.toString('utf8')) as {
    history?: HistoryEntry[];
    config?: Record<string, unknown>;
  };
  const c = doc.config ?? {};
  const list = (v: unknown) => (Array.isArray(v) ? v.map(String) : undefined);
  const set = (v: unknown) => (v && typeof v === 'object' ? Object.keys(v).sort() : undefined);
  const text = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  return {
    history: doc.history ?? [],
    config: {
      Entrypoint: list(c.Entrypoint),
      Cmd: list(c.Cmd),
      User: text(c.User),
      WorkingDir: text(c.WorkingDir),
      StopSignal: text(c.StopSignal),
      Volumes: set(c.Volumes),
      ExposedPorts: set(c.ExposedPorts),
    },
  };
}

/**
 * One history entry per layer. A single layer gets apko's comment; several get what each layer holds (apko
 * leaves them empty), unless title and vendor annotations are set, which apko puts on every entry.
 */
function layerHistory(
  plans: readonly PlannedLayer[],
  created: number,
  annotations: Record<string, string>,
): HistoryEntry[] {
  const history = imageHistory({ layerCount: plans.length, created, annotations });
  if (plans.length === 1 || history[0]?.comment) return history;
  return history.map((h, i) => ({ ...h, comment: plans[i]!.comment }));
}
