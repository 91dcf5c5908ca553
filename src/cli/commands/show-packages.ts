import type { Command } from 'commander';
import type { ResolveConfigOptions, ResolvedConfig } from '../../build/resolve-config.ts';
import { invocation } from '../invocation.ts';
import { action, collect, type GlobalOptions, loggerFor } from '../run.ts';

/** The flags show-packages, dot and why share (apko's meaning), as parsed by commander. */
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

/** Adds the config argument and the flags that decide what gets resolved. */
export function addResolveOptions(cmd: Command, archHelp: string): Command {
  return cmd
    .argument('<config>', 'the apko YAML config file')
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
    .option('--ignore-signatures', 'do not check repository signatures (e.g. unsigned test indexes)')
    .option(
      '--cache-dir <dir>',
      'download and resolution cache (default: $XDG_CACHE_HOME/lading or ~/.cache/lading)',
    )
    .option('--offline', 'use only local repositories and the cache; fail if something is not there');
}

/** Resolves CONFIG for the parsed flags: the shared first half of show-packages, dot and why. */
export async function resolveFromFlags(
  config: string,
  flags: ResolveFlags,
  cmd: Command,
  extra: Partial<ResolveConfigOptions> = {},
): Promise<ResolvedConfig> {
  const { resolveConfig } = await import('../../build/resolve-config.ts');
  const { LADING_VERSION } = await import('../../util/version.ts');
  return resolveConfig({
    config,
    archs: flags.arch,
    repositoryAppend: flags.repositoryAppend,
    buildRepositoryAppend: flags.buildRepositoryAppend,
    keyringAppend: flags.keyringAppend,
    packageAppend: flags.packageAppend,
    includePaths: flags.includePaths,
    ignoreSignatures: flags.ignoreSignatures,
    cacheDir: flags.cacheDir,
    offline: flags.offline,
    logger: loggerFor(cmd.optsWithGlobals() as GlobalOptions),
    // a new build of lading may resolve differently: it does not reuse another build's resolutions
    memoSalt: `lading ${LADING_VERSION} ${invocation.buildId}`,
    ...extra,
  });
}

/** `lading show-packages CONFIG`: the packages a build would install, per architecture. */
export function registerShowPackages(program: Command): void {
  const cmd = program
    .command('show-packages')
    .summary('print the packages and versions a build of CONFIG would install')
    .description(
      'Resolve the packages of CONFIG exactly as `lading build` does (same repositories, keys, world and ' +
        'architectures) and print them in install order, dependencies first. Nothing is downloaded but the ' +
        'repository indexes; resolutions are cached under the exact index contents, so a repeated query is fast.',
    );
  addResolveOptions(
    cmd,
    'architectures to resolve for, instead of archs: (OCI or apk names, "host", "all"; repeatable)',
  )
    .option(
      '--format <format>',
      'name-version (default), name-version-source, name=version, name=version-source, name-(version), ' +
        'name-(version)-source, packagelock, packagelock-source, json, or a template',
      'name-version',
    )
    .addHelpText(
      'after',
      `
Formats (as apko's; a template may use {{.Name}} {{.Version}} {{.Source}} {{.Arch}} {{.Origin}}
{{.Repository}} {{.Checksum}} {{.License}} {{.Description}} {{.Maintainer}}):
  name-version            NAME VERSION
  name-version-source     NAME VERSION SOURCE      (SOURCE: REPOSITORY/ARCH/NAME-VERSION.apk)
  name=version            NAME=VERSION
  name=version-source     NAME=VERSION SOURCE
  name-(version)          NAME (VERSION)
  name-(version)-source   NAME (VERSION) SOURCE
  packagelock             - NAME=VERSION           (paste into contents.packages to pin them)
  packagelock-source      - NAME=VERSION # SOURCE
  json                    an array of {name, version, arch, origin, repository, checksum, size,
                          installedSize, license}; for several architectures an object of such
                          arrays keyed by apk architecture
With several architectures the text formats print one list after another (in OCI-name order: amd64,
arm64, …), as apko does; each is announced on stderr ("x86_64: 175 packages").
When no package set satisfies the world, the reason is printed as apk's "unable to select packages" tree
and the exit status is 1.

Examples:
  lading show-packages image.yaml
  lading show-packages image.yaml --arch aarch64 --format packagelock
  lading show-packages image.yaml -p curl --format json`,
    )
    .action(
      action(async (config: string, flags: ResolveFlags & { format: string }, c: Command) => {
        const { formatPackageList, packageJson } = await import('../../solver/format.ts');
        formatPackageList([], flags.format, ''); // a bad --format fails before any work
        const logger = loggerFor(c.optsWithGlobals() as GlobalOptions);
        const { archs } = await resolveFromFlags(config, flags, c, { logger });
        if (flags.format === 'json' && archs.length > 1) {
          const byArch = Object.fromEntries(
            archs.map((a) => [a.apkArch, a.resolution.packages.map((p) => packageJson(p, a.apkArch))]),
          );
          process.stdout.write(`${JSON.stringify(byArch, null, 2)}\n`);
          return;
        }
        for (const a of archs) {
          if (archs.length > 1) logger.info(`${a.apkArch}: ${a.resolution.packages.length} packages`);
          process.stdout.write(formatPackageList(a.resolution.packages, flags.format, a.apkArch));
        }
      }),
    );
}
