/**
 * Command-line changes to a loaded config, with apko's meaning: -r/-b/-k/-p append, --arch replaces archs,
 * --annotations key:value set annotations (winning over the config).
 */

import { type Arch, hostArchitecture, parseArchList } from '../platform/arch.ts';
import { LadingError } from '../util/errors.ts';
import { sortedRecord } from './text.ts';
import type { ImageConfig } from './types.ts';

export interface ConfigOverrides {
  /** `-r/--repository-append`: build and runtime repositories. */
  repositories?: readonly string[];
  /** `-b/--build-repository-append`: build-only repositories. */
  buildRepositories?: readonly string[];
  /** `-k/--keyring-append`: key paths or URLs. */
  keyring?: readonly string[];
  /** `-p/--package-append`: world entries. */
  packages?: readonly string[];
  /** `--arch`: OCI or apk names, `all`, `host`; replaces the config's archs. */
  archs?: readonly string[];
  /** `--annotations key:value`. */
  annotations?: readonly string[];
  /** Node-style arch of this machine for `--arch host` (default process.arch). */
  hostArch?: string;
}

const ANNOTATION_KEY = /^[a-z0-9-.]+$/;

function usage(message: string, hint?: string): LadingError {
  return new LadingError('USAGE', message, { hint });
}

function checkEntries(flag: string, values: readonly string[], what: string, pattern: RegExp): string[] {
  return values.map((v) => {
    const s = v.trim();
    if (!pattern.test(s)) throw usage(`${flag} ${JSON.stringify(v)}: not a valid ${what}`);
    return s;
  });
}

/** Parses `--annotations` values (`key:value`; key of [a-z0-9-.], value non-empty, no key twice). */
export function parseAnnotationFlags(values: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const a of values) {
    const i = a.indexOf(':');
    const key = i < 0 ? a : a.slice(0, i);
    const value = i < 0 ? '' : a.slice(i + 1);
    if (i < 0 || value === '') {
      throw usage(
        `--annotations ${JSON.stringify(a)}: expected key:value`,
        'e.g. --annotations org.opencontainers.image.title:web',
      );
    }
    if (!ANNOTATION_KEY.test(key)) {
      throw usage(`--annotations ${JSON.stringify(a)}: the key may hold only a-z, 0-9, "-" and "."`);
    }
    if (Object.hasOwn(out, key)) throw usage(`--annotations: key ${JSON.stringify(key)} is given twice`);
    out[key] = value;
  }
  return out;
}

/** A new config with the overrides applied; the input is not changed. */
export function applyOverrides(config: ImageConfig, overrides: ConfigOverrides): ImageConfig {
  const repo = /^(@\S+\s+)?\S+$/;
  const contents = {
    ...config.contents,
    repositories: [
      ...config.contents.repositories,
      ...checkEntries('-r', overrides.repositories ?? [], 'repository', repo).map(trimSlash),
    ],
    buildRepositories: [
      ...config.contents.buildRepositories,
      ...checkEntries('-b', overrides.buildRepositories ?? [], 'repository', repo).map(trimSlash),
    ],
    keyring: [
      ...config.contents.keyring,
      ...checkEntries('-k', overrides.keyring ?? [], 'key path or URL', /^.+$/),
    ],
    packages: [
      ...config.contents.packages,
      ...checkEntries('-p', overrides.packages ?? [], 'package', /^\S+$/),
    ],
  };
  const out: ImageConfig = { ...config, contents };
  if (overrides.archs !== undefined && overrides.archs.length > 0) {
    out.archs = parseArchList(overrides.archs, overrides.hostArch);
  }
  if (overrides.annotations !== undefined && overrides.annotations.length > 0) {
    out.annotations = sortedRecord({ ...config.annotations, ...parseAnnotationFlags(overrides.annotations) });
  }
  return out;
}

const trimSlash = (r: string): string => r.replace(/\/+$/, '') || r;

/**
 * The architectures to build: `--arch` (already applied by applyOverrides) or `archs:`, else this machine's
 * architecture. apko defaults to all nine, which fails with most repositories (they carry two or three).
 */
export function targetArchitectures(config: ImageConfig, hostArch: string = process.arch): Arch[] {
  return config.archs.length > 0 ? [...config.archs] : [hostArchitecture(hostArch)];
}
