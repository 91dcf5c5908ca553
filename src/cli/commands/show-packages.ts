import type { Command } from 'commander';
import type { ResolveConfigOptions, ResolvedConfig } from '../../pipeline/resolve.ts';
import { addResolveOptions, type ResolveFlags, resolveFlagOptions } from '../options.ts';
import { action, type GlobalOptions, loggerFor } from '../run.ts';

/** Resolves CONFIG for the parsed flags: the shared first half of show-packages, dot and why. */
export async function resolveFromFlags(
  config: string,
  flags: ResolveFlags,
  cmd: Command,
  extra: Partial<ResolveConfigOptions> = {},
): Promise<ResolvedConfig> {
  const { resolveConfig } = await import('../../pipeline/resolve.ts');
  return resolveConfig({
    config,
    ...resolveFlagOptions(flags),
    logger: loggerFor(cmd.optsWithGlobals() as GlobalOptions),
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
    .option(
      '--lockfile <file>',
      'list the packages of this lock file (from `lading lock`), checked against CONFIG, instead of resolving; no index is fetched',
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
      action(
        async (config: string, flags: ResolveFlags & { format: string; lockfile?: string }, c: Command) => {
          const { formatPackageList, packageJson } = await import('../../solver/format.ts');
          formatPackageList([], flags.format, ''); // a bad --format fails before any work
          const logger = loggerFor(c.optsWithGlobals() as GlobalOptions);
          const { archs } = await resolveFromFlags(config, flags, c, { logger, lockfile: flags.lockfile });
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
        },
      ),
    );
}
