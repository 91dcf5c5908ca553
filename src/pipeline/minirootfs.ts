/**
 * `lading build-minirootfs CONFIG OUT`: one architecture's image filesystem as a tar file, as apko's
 * build-minirootfs writes it: the layer `lading build` writes for that architecture (the same uncompressed bytes,
 * the same diff ID), not locked, no SBOM. Unlike apko, which writes plain tar whatever the name, an OUT ending in
 * `.gz` or `.tgz` is gzip. The architecture is `buildArch` (default this machine's); the config's `archs:` are ignored with
 * a warning, as apko does, and so is `layering` (the rootfs is one tar).
 */
import { resolve as resolvePath } from 'node:path';
import { layerEntries } from '../layers/entries.ts';
import { writeLayer } from '../oci/layer.ts';
import { type Arch, apkArch, hostArchitecture, parseArch } from '../platform/arch.ts';
import { type BuildDateInputs, buildDateEpoch } from '../rootfs/steps/time.ts';
import { LadingError } from '../util/errors.ts';
import { type Logger, silentLogger } from '../util/log.ts';
import { archBuildDate, prepareArch, rootfsForArch } from './arch.ts';
import { parseBuildDate } from './build.ts';
import { fetchArchIndexes } from './indexes.ts';
import { configName, type OpenBuildOptions, type OpenedBuild, openBuild } from './open.ts';
import { resolveArchitectures } from './resolve.ts';

export interface MinirootfsOptions extends Omit<OpenBuildOptions, 'archs' | 'lockfile'> {
  /** The tar file to write; gzip when it ends in `.gz`. */
  output: string;
  /** OCI or apk name (default: this machine's architecture). */
  buildArch?: string;
  /** `--build-date` (RFC 3339); SOURCE_DATE_EPOCH wins. */
  buildDate?: string;
  compressionLevel?: number;
  logger?: Logger;
}

export interface MinirootfsResult {
  arch: Arch;
  /** The file written. */
  output: string;
  /** sha256 of the uncompressed tar: the diff ID of the same build's layer. */
  diffId: string;
  packages: number;
}

export async function buildMinirootfs(options: MinirootfsOptions): Promise<MinirootfsResult> {
  const logger = options.logger ?? silentLogger;
  const cwd = options.cwd ?? process.cwd();
  const arch = options.buildArch === undefined ? hostArchitecture() : parseArch(options.buildArch);
  const date = {
    sourceDateEpoch: (options.env ?? process.env).SOURCE_DATE_EPOCH,
    buildDate: parseBuildDate(options.buildDate),
  };
  buildDateEpoch(date);
  const opened = await openBuild({ ...options, cwd, archs: [arch] }, logger);
  const { fetch } = opened;
  // what the build reads from the store stays readable whatever a concurrent `lading clean` removes
  await fetch.cache.startPinning();
  try {
    return await minirootfsOf(opened, arch, date, { ...options, cwd }, logger);
  } finally {
    await fetch.cache.releasePins();
  }
}

async function minirootfsOf(
  opened: OpenedBuild,
  arch: Arch,
  date: BuildDateInputs,
  options: MinirootfsOptions & { cwd: string },
  logger: Logger,
): Promise<MinirootfsResult> {
  const { config, fetch, keyring } = opened;
  const file = configName(options.config);
  if (config.contents.baseimage !== undefined) {
    throw new LadingError('UNSUPPORTED', `${file}: build-minirootfs cannot build on contents.baseimage`, {
      hint: 'build the image with lading build instead',
    });
  }
  if (opened.configArchs.some((a) => a !== arch)) {
    logger.warn(`${file}: ignoring archs in the config, only building for ${apkArch(arch)}`);
  }
  if (config.layering) logger.warn(`${file}: ignoring layering: the rootfs is one tar`);

  const indexes = await fetchArchIndexes(config.contents, [arch], {
    fetch,
    keyring: keyring.keyring,
    ignoreSignatures: options.ignoreSignatures,
    logger,
  });
  const [resolved] = await resolveArchitectures({
    world: config.contents.packages,
    indexes,
    cache: fetch.cache,
    ...(options.apk3InstallIf ? { apk3InstallIf: true } : {}),
    logger,
  });
  const prepared = await prepareArch(resolved!, {
    fetch,
    keyring: keyring.keyring,
    ignoreSignatures: options.ignoreSignatures,
  });
  const filesystem = rootfsForArch({
    config,
    apkArch: apkArch(arch),
    packages: prepared.packages,
    keys: keyring.keys,
    buildDate: archBuildDate(prepared.packages, date),
  });
  for (const w of filesystem.post.warnings) logger.warn(w);
  const output = resolvePath(options.cwd, options.output);
  const written = await writeLayer(layerEntries(filesystem.fs), output, {
    compression: /\.(gz|tgz)$/.test(output) ? 'gzip' : 'none',
    ...(options.compressionLevel === undefined ? {} : { level: options.compressionLevel }),
  });
  return { arch, output, diffId: written.diffId, packages: prepared.packages.length };
}
