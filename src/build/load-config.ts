/** The config as build, show-packages, dot and why see it: loaded, validated, with command-line overrides. */
import { loadConfig } from '../config/load.ts';
import { applyOverrides } from '../config/overrides.ts';
import { formatProblem } from '../config/problems.ts';
import type { ImageConfig } from '../config/types.ts';
import type { Logger } from '../util/log.ts';

export interface ConfigFlags {
  /** The apko YAML config. */
  config: string;
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
}

/** Loads the config (warnings to the logger) and applies the command-line overrides. */
export async function loadBuildConfig(
  options: ConfigFlags,
  logger: Logger,
): Promise<{ config: ImageConfig; files: string[] }> {
  const loaded = await loadConfig(options.config, { cwd: options.cwd, includePaths: options.includePaths });
  for (const w of loaded.warnings) logger.warn(formatProblem(w));
  const config = applyOverrides(loaded.config, {
    repositories: options.repositoryAppend,
    buildRepositories: options.buildRepositoryAppend,
    keyring: options.keyringAppend,
    packages: options.packageAppend,
    archs: options.archs,
    annotations: options.annotations,
  });
  return { config, files: loaded.files };
}
