import type { Command } from 'commander';
import { action, type GlobalOptions, loggerFor } from '../run.ts';

interface CleanFlags extends GlobalOptions {
  cacheDir?: string;
  dryRun?: boolean;
  olderThan?: string;
  verify?: boolean;
}

const mib = (n: number) => `${(n / (1 << 20)).toFixed(1)} MiB`;
const files = (n: number) => (n === 1 ? '1 file' : `${n} files`);

/** `lading clean`: empty, prune or check the cache. */
export function registerClean(program: Command): void {
  program
    .command('clean')
    .summary('empty, prune or check the download and build cache')
    .description(
      'Remove everything lading keeps in its cache (downloaded indexes and packages, expanded packages, layers, ' +
        'build records), or with --older-than only what no build used for that many days. Safe while builds ' +
        'run: a running build keeps what it uses (hard links of its own, let go when it ends) and finishes; ' +
        'the space is freed then. Files left by interrupted writers are removed too.',
    )
    .option('--cache-dir <dir>', 'the cache (default: $XDG_CACHE_HOME/lading or ~/.cache/lading)')
    .option('--dry-run', 'only report how much would be removed')
    .option('--older-than <days>', 'remove only entries not used for this many days')
    .option(
      '--verify',
      'check every cached file against its digest and remove damaged ones and files left by interrupted writers, instead of cleaning',
    )
    .action(
      action(async (flags: CleanFlags, cmd: Command) => {
        const logger = loggerFor(cmd.optsWithGlobals() as GlobalOptions);
        const { defaultCacheDir } = await import('../../store/default-dir.ts');
        const m = await import('../../store/maintenance.ts');
        const dir = flags.cacheDir ?? defaultCacheDir();
        if (flags.verify) {
          const r = await m.verifyCache(dir, { repair: !flags.dryRun });
          logger.info(
            `checked ${r.blobs} blobs and ${r.refs} references in ${dir}: ${r.problems.length} problems` +
              (r.abandoned ? `; removed ${files(r.abandoned)} left by interrupted writers` : ''),
          );
          for (const p of r.problems) logger.warn(p);
          if (r.problems.length && flags.dryRun) return 1;
          return;
        }
        if (flags.olderThan !== undefined) {
          const days = Number(flags.olderThan);
          if (!Number.isFinite(days) || days < 0) {
            const { LadingError } = await import('../../util/errors.ts');
            throw new LadingError('USAGE', `--older-than ${flags.olderThan}: expected a number of days`);
          }
          if (flags.dryRun) {
            logger.info(
              `--dry-run: nothing removed; the whole cache uses ${mib((await m.cacheUsage(dir)).bytes)} (what --older-than would remove is not computed)`,
            );
            return;
          }
          const r = await m.pruneCache(dir, { olderThanMs: days * 86400_000 });
          logger.info(
            `removed ${mib(r.removed.bytes)} in ${files(r.removed.files)} from ${dir}; kept ${mib(r.kept.bytes)} in ${files(r.kept.files)}`,
          );
          return;
        }
        const usage = await m.cacheUsage(dir);
        if (flags.dryRun) {
          logger.info(`${dir}: ${mib(usage.bytes)} in ${files(usage.files)} would be removed`);
          return;
        }
        await m.cleanCache(dir);
        logger.info(`removed ${mib(usage.bytes)} in ${files(usage.files)} from ${dir}`);
      }),
    );
}
