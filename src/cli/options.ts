/**
 * The flags that decide what gets resolved, shared by build, show-packages, dot and why (apko's meaning).
 */
import type { Command } from 'commander';
import { LadingError } from '../util/errors.ts';
import { collect, type GlobalOptions } from './run.ts';

export interface ResolveFlags extends GlobalOptions {
  arch?: string[];
  repositoryAppend?: string[];
  buildRepositoryAppend?: string[];
  keyringAppend?: string[];
  packageAppend?: string[];
  includePaths?: string[];
  ignoreSignatures?: boolean;
  cacheDir?: string;
  cacheFrom?: string[];
  cacheTo?: string;
  offline?: boolean;
  apk3InstallIf?: boolean;
}

/** The library options the resolution flags give (show-packages, dot, why, lock). */
export function resolveFlagOptions(flags: ResolveFlags) {
  return {
    archs: flags.arch,
    repositoryAppend: flags.repositoryAppend,
    buildRepositoryAppend: flags.buildRepositoryAppend,
    keyringAppend: flags.keyringAppend,
    packageAppend: flags.packageAppend,
    includePaths: flags.includePaths,
    ignoreSignatures: flags.ignoreSignatures,
    cacheDir: flags.cacheDir,
    cacheFrom: flags.cacheFrom,
    cacheTo: flags.cacheTo,
    offline: flags.offline,
    apk3InstallIf: flags.apk3InstallIf,
  };
}

/** Adds the resolution flags to a command (after its arguments). */
export function resolutionOptions(cmd: Command, archHelp: string): Command {
  return cmd
    .option('--arch <arch>', archHelp, collect)
    .option(
      '-r, --repository-append <repo>',
      'add a repository ([@tag ]path or URL) used to build and written into the image (repeatable)',
      collect,
    )
    .option(
      '-b, --build-repository-append <repo>',
      'add a repository used only to build (repeatable)',
      collect,
    )
    .option(
      '-k, --keyring-append <key>',
      'add a public key to verify repositories, by path or URL (repeatable)',
      collect,
    )
    .option(
      '-p, --package-append <package>',
      'add a package to the world, e.g. curl or "musl>=1.2" (repeatable)',
      collect,
    )
    .option('--include-paths <dir>', 'more directories to search for include: files (repeatable)', collect)
    .option(
      '--ignore-signatures',
      'do not check repository signatures (checksums and data hashes are still checked)',
    )
    .option(
      '--cache-dir <dir>',
      'download and build cache (default: $XDG_CACHE_HOME/lading or ~/.cache/lading)',
    )
    .option(
      '--cache-from <dir-or-url>',
      'a shared cache read when --cache-dir lacks something: a directory, or an http(s) URL speaking the Bazel remote cache protocol (/cas/, /ac/); everything read is checked by its hash (repeatable)',
      collect,
    )
    .option(
      '--cache-to <dir-or-url>',
      'a shared cache (directory or Bazel-protocol URL) to write what is cached through to',
    )
    .option('--offline', 'use only local repositories and the cache; fail if something is not there')
    .option(
      '--apk3-install-if',
      'install_if with a negation (i:A !B) as apk-tools 3: install the package when A is installed and B is not (apk-tools 2.14.4, and lading by default, never install it); with --lockfile, give it if the lock was made with it',
    );
}

/** The config argument plus the resolution flags (show-packages, dot, why). */
export function addResolveOptions(cmd: Command, archHelp: string): Command {
  return resolutionOptions(cmd.argument('<config>', 'the apko YAML config file'), archHelp);
}

/** The signing flags of `lading package` and `lading index`. */
export function signingOptions(cmd: Command): Command {
  return cmd
    .option(
      '--key <file>',
      'RSA private key to sign with (NAME.rsa from `lading keygen`); unsigned without it',
    )
    .option('--key-name <name>', 'key name written into the signature (default: the key file name + .pub)')
    .option(
      '--sha1',
      'sign with SHA-1 (.SIGN.RSA.) for apk-tools older than 2.12; default SHA-256 (.SIGN.RSA256.)',
    );
}

/** The flags of an image build besides resolution (build and publish). */
export interface ImageFlags extends ResolveFlags {
  buildDate?: string;
  annotations?: string[];
  sbom?: boolean | string;
  sbomPath?: string;
  sbomFormats?: string[];
  compression?: string;
  compressionLevel?: string;
  lockfile?: string;
  vcs?: boolean | string;
}

const repeat = (value: string, previous: string[] = []): string[] => [...previous, value];

/** Adds the resolution flags and the image flags (build and publish); `sbomPathHelp` says where SBOMs go. */
export function imageOptions(cmd: Command, sbomPathHelp: string): Command {
  return resolutionOptions(
    cmd,
    'architectures to build (OCI or apk names, "host", "all"; repeatable); overrides archs:',
  )
    .option(
      '--build-date <time>',
      "RFC 3339 date for the image and generated files; as in apko the date used is the newest of this and the packages' build dates, and SOURCE_DATE_EPOCH overrides both",
    )
    .option(
      '--annotations <key:value>',
      'set an annotation (manifest, index and config label); repeatable',
      repeat,
    )
    .option('--sbom [enabled]', 'write SBOMs (default true; --sbom=false or --no-sbom to skip)')
    .option('--no-sbom', 'do not write SBOMs')
    .option('--sbom-path <dir>', sbomPathHelp)
    .option(
      '--sbom-formats <formats>',
      'spdx and/or cyclonedx (comma-separated or repeated; default spdx)',
      collect,
    )
    .option(
      '--compression <codec>',
      'gzip (default) or zstd: faster and smaller; containerd ≥ 1.5 and Podman ≥ 3 read it, Docker only with its containerd image store',
    )
    .option(
      '--compression-level <n>',
      'level of the layer compression: gzip 1 (fastest) to 9 (smallest), default 5; zstd 1 to 19, default 3',
    )
    .option(
      '--vcs [enabled]',
      "without vcs-url in the config, label the image with the origin and commit of the config's git checkout (default true; --vcs=false or --no-vcs to skip)",
    )
    .option('--no-vcs', 'do not look for the git checkout')
    .option(
      '--lockfile <file>',
      'install exactly the packages of this lock file (from `lading lock`), checking each against it; no repository index is fetched',
    );
}

/** The build options the image flags give (the checked ones through parseBuildFlags). */
export function imageBuildOptions(flags: ImageFlags) {
  return {
    ...resolveFlagOptions(flags),
    buildDate: flags.buildDate,
    annotations: flags.annotations,
    lockfile: flags.lockfile,
    vcs: flagEnabled(flags.vcs, '--vcs'),
  };
}

/** A `--flag [enabled]` value: absent or true → true; `false`/`0` → false. */
export function flagEnabled(value: boolean | string | undefined, flag: string): boolean {
  if (value === undefined || value === true || value === 'true' || value === '1') return true;
  if (value === false || value === 'false' || value === '0') return false;
  throw new LadingError('USAGE', `${flag} ${JSON.stringify(value)}: expected true or false`);
}
