import type { Command } from 'commander';
import { action, type GlobalOptions, loggerFor } from '../run.ts';

/** `lading install-keys`: discover the keys of a root's repositories and install them there. */
export function registerInstallKeys(program: Command): void {
  program
    .command('install-keys')
    .description(
      "discover the keys of the repositories in ROOT/etc/apk/repositories (Alpine's release keys, " +
        'Chainguard-style apk-configuration) and write them to ROOT/etc/apk/keys',
    )
    .option('--root <dir>', 'the root whose /etc/apk is read and written', '/')
    .option(
      '--cache-dir <dir>',
      'download and build cache (default: $XDG_CACHE_HOME/lading or ~/.cache/lading)',
    )
    .option('--offline', 'use only what the cache holds from an earlier discovery')
    .action(
      action(async (opts: { root: string; cacheDir?: string; offline?: boolean }, cmd: Command) => {
        const logger = loggerFor(cmd.optsWithGlobals() as GlobalOptions);
        const { installKeys } = await import('../../pipeline/install-keys.ts');
        const written = await installKeys({ ...opts, logger });
        for (const file of written) process.stdout.write(`wrote ${file}\n`);
        if (written.length === 0) logger.info('discovery found no keys for these repositories');
      }),
    );
}
