/**
 * The config as build, show-packages, dot and why see it: loaded, validated, with command-line overrides;
 * and what they all need next: the cache and the build keyring.
 */
import { dirname } from 'node:path';
import { loadConfig, loadConfigObject } from '../config/load.ts';
import { applyOverrides, targetArchitectures } from '../config/overrides.ts';
import { formatProblem } from '../config/problems.ts';
import type { ApkoConfig } from '../config/schema.ts';
import type { ImageConfig } from '../config/types.ts';
import { type ProbedFiles, probeVcsUrl } from '../config/vcs-probe.ts';
import { type Arch, apkArch } from '../platform/arch.ts';
import { createFetchOptions, type FetchOptions } from '../repo/fetch.ts';
import { type DiscoveredKey, discoverKeys, keyFileName } from '../repo/key-discovery.ts';
import { parseRepositoryRef } from '../repo/ref.ts';
import { LadingError } from '../util/errors.ts';
import type { Logger } from '../util/log.ts';
import { type LoadedKeyring, loadBuildKeyring } from './indexes.ts';

export interface ConfigFlags {
  /** The apko config: a YAML file's path, or the document as an object. */
  config: string | ApkoConfig;
  cwd?: string;
  includePaths?: string[];
  /** `--arch`: replaces the config's archs. */
  archs?: string[];
  repositoryAppend?: string[];
  buildRepositoryAppend?: string[];
  keyringAppend?: string[];
  packageAppend?: string[];
  /** `key:value` strings. */
  annotations?: string[];
  /**
   * `--vcs`: without a `vcs-url` in the config, take it from the git checkout the config file is in (its
   * `origin` and HEAD, as apko; see config/vcs-probe.ts). Default false here; build and publish default to true.
   */
  vcs?: boolean;
  /**
   * `--apk3-install-if`: resolve with apk-tools 3's negated install_if (`i:A !B` installs the package when A is
   * installed and B is not). Off, lading installs what apk-tools 2.14.4 installs, which never installs such a
   * package (on Alpine v3.19: alsa-plugins-pulse, libcanberra-alsa).
   */
  apk3InstallIf?: boolean;
}

/** What messages call the config: its path, or `config` for an object. */
export function configName(config: string | ApkoConfig): string {
  return typeof config === 'string' ? config : 'config';
}

/** Loads the config (warnings to the logger) and applies the command-line overrides. */
export async function loadBuildConfig(
  options: ConfigFlags,
  logger: Logger,
): Promise<{
  config: ImageConfig;
  files: string[];
  checksum: string;
  rawChecksum: string;
  /** What `vcs` read of the git checkout (absent without `vcs`). */
  vcs?: ProbedFiles;
  /** The config's own `archs:`, before `--arch` replaced them. */
  configArchs: Arch[];
}> {
  const where = { cwd: options.cwd, includePaths: options.includePaths };
  const loaded =
    typeof options.config === 'string'
      ? await loadConfig(options.config, where)
      : await loadConfigObject(options.config, where);
  for (const w of loaded.warnings) logger.warn(`${formatProblem(w)}${w.hint ? `\n  hint: ${w.hint}` : ''}`);
  const config = applyOverrides(loaded.config, {
    repositories: options.repositoryAppend,
    buildRepositories: options.buildRepositoryAppend,
    keyring: options.keyringAppend,
    packages: options.packageAppend,
    archs: options.archs,
    annotations: options.annotations,
  });
  const out = {
    config,
    files: loaded.files,
    checksum: loaded.checksum,
    rawChecksum: loaded.rawChecksum,
    configArchs: loaded.config.archs,
  };
  if (!options.vcs || typeof options.config !== 'string' || config.vcsUrl !== undefined) return out;
  const probed = probeVcsUrl(dirname(loaded.files[0]!), options.cwd ?? process.cwd());
  if (probed.vcsUrl !== undefined) {
    logger.debug(`vcs-url from the config's git checkout: ${probed.vcsUrl}`);
    config.vcsUrl = probed.vcsUrl;
  }
  return { ...out, vcs: probed.files };
}

export interface OpenBuildOptions extends ConfigFlags {
  ignoreSignatures?: boolean;
  cacheDir?: string;
  /** Shared caches read when the local one misses: directories or http(s) URLs of Bazel-protocol caches. */
  cacheFrom?: string[];
  /** A shared cache written through (a directory or an http(s) URL). */
  cacheTo?: string;
  offline?: boolean;
  env?: NodeJS.ProcessEnv;
  /**
   * A lock file (apko's `*.lock.json`, from `lading lock`): install exactly its packages from its URLs, each
   * checked against it, without fetching any repository index.
   */
  lockfile?: string;
  /**
   * The store, HTTP client and index snapshot to use instead of opening new ones: many configs in one process
   * (plan, publish-many) share one.
   */
  fetch?: FetchOptions;
}

export interface OpenedBuild {
  config: ImageConfig;
  /** The config file and its includes, absolute. */
  files: string[];
  /** What `vcs` read of the config's git checkout. */
  vcs?: ProbedFiles;
  /** The config's own `archs:`, before `--arch` replaced them. */
  configArchs: Arch[];
  /** LoadedConfig.checksum and rawChecksum: what a lock records and is checked against. */
  checksum: string;
  rawChecksum: string;
  fetch: FetchOptions;
  keyring: LoadedKeyring;
}

/**
 * Config, cache and keyring: the common start of every command that resolves a config. `embeddedKeys` (a lock's
 * key contents by keyring entry) stand in for keys that cannot be fetched.
 */
export async function openBuild(
  options: OpenBuildOptions,
  logger: Logger,
  embeddedKeys?: ReadonlyMap<string, Buffer>,
): Promise<OpenedBuild> {
  const cwd = options.cwd ?? process.cwd();
  const { config, files, checksum, rawChecksum, vcs, configArchs } = await loadBuildConfig(
    { ...options, cwd },
    logger,
  );
  if (config.contents.packages.length === 0) {
    throw new LadingError(
      'CONFIG_NO_PACKAGES',
      `${configName(options.config)}: contents.packages is empty: nothing to install`,
      {
        hint: 'list the packages of the image under contents.packages (or pass -p NAME)',
      },
    );
  }
  if (options.ignoreSignatures) logger.warn('--ignore-signatures: repository signatures are NOT checked');
  const fetch = options.fetch ?? (await openStore(options, logger, cwd));
  const discovered = embeddedKeys
    ? lockedDiscoveredKeys(config, embeddedKeys)
    : await discoverKeys(
        [...config.contents.repositories, ...config.contents.buildRepositories].map((r) =>
          parseRepositoryRef(r, { cwd }),
        ),
        targetArchitectures(config).map((a) => apkArch(a)),
        { ...fetch, env: options.env ?? process.env },
      );
  const keyring = await loadBuildKeyring(config.contents.keyring, fetch, embeddedKeys, discovered);
  return { config, files, checksum, rawChecksum, configArchs, fetch, keyring, ...(vcs ? { vcs } : {}) };
}

/** The store (with its shared tiers), the HTTP client and the offline setting the options ask for. */
export function openStore(
  options: Pick<OpenBuildOptions, 'cacheDir' | 'cacheFrom' | 'cacheTo' | 'offline' | 'env'>,
  logger: Logger,
  cwd: string,
): Promise<FetchOptions> {
  return createFetchOptions({
    cacheDir: options.cacheDir,
    cacheFrom: options.cacheFrom,
    cacheTo: options.cacheTo,
    offline: options.offline,
    logger,
    cwd,
    env: options.env,
  });
}

/**
 * With a lock, the keys discovery found when it was made are its keys the config does not list: a locked build
 * asks no discovery document (the lock names every package and key).
 */
function lockedDiscoveredKeys(config: ImageConfig, embedded: ReadonlyMap<string, Buffer>): DiscoveredKey[] {
  const configured = new Set(config.contents.keyring);
  return [...embedded]
    .filter(([url]) => !configured.has(url) && /^https?:\/\//.test(url))
    .map(([url, content]) => ({ name: keyFileName(url), url, content }));
}
