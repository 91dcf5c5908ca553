/** The OCI image-config values derived from a loaded config (what `config.config` of the image holds). */
import { LadingError } from '../util/errors.ts';
import { redactUrl } from '../util/redact.ts';
import { ShellSplitError, splitWords } from './shlex.ts';
import { compareBytes } from './text.ts';
import type { ImageConfig } from './types.ts';

/** apko's defaults, added when the config's environment does not set them. */
export const DEFAULT_ENV: Readonly<Record<string, string>> = {
  PATH: '/usr/local/sbin:/usr/local/bin:/usr/bin:/usr/sbin:/sbin:/bin',
  SSL_CERT_FILE: '/etc/ssl/certs/ca-certificates.crt',
};

function split(value: string, field: string): string[] {
  try {
    return splitWords(value).words;
  } catch (e) {
    if (e instanceof ShellSplitError) {
      throw new LadingError('CONFIG_INVALID', `${field} ${e.message}: ${JSON.stringify(value)}`);
    }
    throw e;
  }
}

/**
 * OCI Entrypoint: `["/bin/sh", "-c", fragment]` for shell-fragment, else the words of command (for
 * service-bundle `/bin/s6-svscan /sv`); undefined when neither is set (the runtime default applies).
 */
export function imageEntrypoint(config: ImageConfig): string[] | undefined {
  const e = config.entrypoint;
  if (e.shellFragment) return ['/bin/sh', '-c', e.shellFragment];
  if (e.command) return split(e.command, 'entrypoint.command');
  return undefined;
}

/** OCI Cmd: the words of `cmd` (not wrapped in a shell, as apko), or undefined. */
export function imageCmd(config: ImageConfig): string[] | undefined {
  return config.cmd ? split(config.cmd, 'cmd') : undefined;
}

/** OCI Env: the environment plus PATH and SSL_CERT_FILE defaults, as `K=V` sorted bytewise (as apko). */
export function imageEnv(config: ImageConfig): string[] {
  const env: Record<string, string> = { ...DEFAULT_ENV, ...config.environment };
  return Object.entries(env)
    .map(([k, v]) => `${k}=${v}`)
    .sort(compareBytes);
}

/** The runtime part of an OCI image config (Go field names), with unset fields left out. */
export interface OciRuntimeConfig {
  Entrypoint?: string[];
  Cmd?: string[];
  Env: string[];
  /** run-as as written; the build replaces a user name with its uid from the image's /etc/passwd. */
  User?: string;
  WorkingDir?: string;
  StopSignal?: string;
  Volumes?: Record<string, Record<string, never>>;
  /** The config's annotations; the build adds created/source/revision. */
  Labels?: Record<string, string>;
}

export function ociRuntimeConfig(config: ImageConfig): OciRuntimeConfig {
  const out: OciRuntimeConfig = { Env: imageEnv(config) };
  const entrypoint = imageEntrypoint(config);
  if (entrypoint) out.Entrypoint = entrypoint;
  const cmd = imageCmd(config);
  if (cmd) out.Cmd = cmd;
  if (config.accounts.runAs) out.User = config.accounts.runAs;
  if (config.workDir) out.WorkingDir = config.workDir;
  if (config.stopSignal) out.StopSignal = config.stopSignal;
  if (config.volumes.length > 0) {
    out.Volumes = {};
    for (const v of [...new Set(config.volumes)].sort(compareBytes)) out.Volumes[v] = {};
  }
  if (Object.keys(config.annotations).length > 0) {
    out.Labels = Object.fromEntries(Object.entries(config.annotations).map(([k, v]) => [k, redactUrl(v)]));
  }
  return out;
}
