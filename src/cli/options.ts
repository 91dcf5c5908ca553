/**
 * The flags that decide what gets resolved, shared by build, show-packages, dot and why (apko's meaning).
 */
import type { Command } from 'commander';
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
  offline?: boolean;
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
    .option('--offline', 'use only local repositories and the cache; fail if something is not there');
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
