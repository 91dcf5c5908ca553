import type { Command } from 'commander';
import { action, collect, type GlobalOptions, loggerFor } from '../run.ts';

interface ShowConfigOptions {
  repositoryAppend?: string[];
  buildRepositoryAppend?: string[];
  keyringAppend?: string[];
  packageAppend?: string[];
  arch?: string[];
  annotations?: string[];
  includePaths?: string[];
  json?: boolean;
}

/** Repeatable option that keeps commas (annotation values may contain them). */
const repeat = (value: string, previous: string[] = []): string[] => [...previous, value];

/** `lading show-config`: the config as the build will see it. */
export function registerShowConfig(program: Command): void {
  program
    .command('show-config')
    .summary('print the fully loaded config (includes merged, flags applied)')
    .description(
      'Load CONFIG the way `lading build` does (strict checks, include: merged, defaults filled in, the ' +
        'flags below applied) and print the result as apko YAML. Credentials in repository, keyring and ' +
        'vcs-url URLs are removed from the output. Problems are reported as FILE:LINE:COLUMN.',
    )
    .argument(
      '<config>',
      'the apko YAML config file (relative paths inside it start in the working directory)',
    )
    .option(
      '-r, --repository-append <repo>',
      'add a repository used to build and written into the image (repeatable, or comma-separated)',
      collect,
    )
    .option(
      '-b, --build-repository-append <repo>',
      'add a repository used only to build (repeatable, or comma-separated)',
      collect,
    )
    .option(
      '-k, --keyring-append <key>',
      'add a public key, by path or URL (repeatable, or comma-separated)',
      collect,
    )
    .option(
      '-p, --package-append <package>',
      'add a package to the world, e.g. busybox or "musl>=1.2" (repeatable, or comma-separated)',
      collect,
    )
    .option(
      '--arch <arch>',
      'build for these architectures instead of archs: (OCI or apk names, "host", "all"; repeatable)',
      collect,
    )
    .option(
      '--annotations <key:value>',
      'set an annotation, overriding the config (key of a-z, 0-9, "-", "."; repeatable)',
      repeat,
    )
    .option(
      '--include-paths <dir>',
      'also look for the config and its include: files in DIR (repeatable)',
      collect,
    )
    .option('--json', 'print JSON (apko field names) instead of YAML')
    .action(
      action(async (configPath: string, opts: ShowConfigOptions, cmd: Command) => {
        const { renderConfigYaml, toApkoDocument } = await import('../../config/render.ts');
        const { loadBuildConfig } = await import('../../pipeline/open.ts');
        const logger = loggerFor(cmd.optsWithGlobals() as GlobalOptions);
        const { config: result } = await loadBuildConfig(
          {
            config: configPath,
            includePaths: opts.includePaths,
            repositoryAppend: opts.repositoryAppend,
            buildRepositoryAppend: opts.buildRepositoryAppend,
            keyringAppend: opts.keyringAppend,
            packageAppend: opts.packageAppend,
            archs: opts.arch,
            annotations: opts.annotations,
          },
          logger,
        );
        process.stdout.write(
          opts.json ? `${JSON.stringify(toApkoDocument(result), null, 2)}\n` : renderConfigYaml(result),
        );
      }),
    );
}
