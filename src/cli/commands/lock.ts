import type { Command } from 'commander';
import { addResolveOptions, type ResolveFlags, resolveFlagOptions } from '../options.ts';
import { action, type GlobalOptions, loggerFor } from '../run.ts';

type LockFlags = ResolveFlags & { output?: string; check?: boolean };

/** `lading lock CONFIG [-o FILE] [--check]`. */
export function registerLock(program: Command): void {
  const cmd = program
    .command('lock')
    .summary('pin the packages of CONFIG, every architecture, in a lock file')
    .description(
      'Resolve CONFIG exactly as `lading build` does (every architecture together, so all get the same versions) ' +
        "and write a lock file in apko's format (apko.lock.json): the config's checksum, the keys with their " +
        'content, the repositories, and per architecture every package with its URL, version, and the byte ranges ' +
        'and checksums of its signature, control and data. `build`, `publish` and `show-packages` take it with ' +
        '--lockfile and then install exactly those packages, fetching no index. When a lock is already there, ' +
        'what changes is printed per architecture; --check only compares (for CI): exit status 1 when a fresh ' +
        'lock would differ.',
    );
  addResolveOptions(
    cmd,
    'architectures to lock (OCI or apk names, "host", "all"; repeatable); overrides archs:',
  )
    .option('-o, --output <file>', 'the lock file (default: CONFIG without its extension + .lock.json)')
    .option('--check', 'compare with the lock file instead of writing it; exit 1 if it is out of date')
    .addHelpText(
      'after',
      `
Examples:
  lading lock image.yaml                       (writes image.lock.json)
  lading build image.yaml app:1 out/ --lockfile image.lock.json
  lading lock --check image.yaml               (in CI: fails when the lock is out of date)`,
    )
    .action(
      action(async (config: string, flags: LockFlags, c: Command) => {
        const logger = loggerFor(c.optsWithGlobals() as GlobalOptions);
        const { lockConfig } = await import('../../pipeline/lock.ts');
        const { formatLockDiff } = await import('../../lock/diff.ts');
        const { LadingError } = await import('../../util/errors.ts');
        const result = await lockConfig({
          config,
          output: flags.output,
          check: flags.check,
          ...resolveFlagOptions(flags),
          logger,
        });
        const counts = countByArch(result.lock);
        const changes = result.diff && !result.diff.same ? formatLockDiff(result.diff) : [];
        if (flags.check) {
          if (changes.length === 0) {
            logger.info(`${result.output} is up to date (${counts})`);
            return;
          }
          throw new LadingError(
            'LOCK_OUTDATED',
            `${result.output} is out of date; a fresh lock would change:\n${indent(changes)}`,
            { hint: `update it: lading lock ${config}${flags.output ? ` -o ${flags.output}` : ''}` },
          );
        }
        if (!result.written) logger.info(`${result.output} is up to date (${counts})`);
        else if (changes.length > 0) logger.info(`updated ${result.output} (${counts}):\n${indent(changes)}`);
        else logger.info(`wrote ${result.output} (${counts})`);
      }),
    );
}

function indent(lines: readonly string[]): string {
  return lines.map((l) => `  ${l}`).join('\n');
}

function countByArch(lock: { contents: { packages: { architecture: string }[] } }): string {
  const counts = new Map<string, number>();
  for (const p of lock.contents.packages) counts.set(p.architecture, (counts.get(p.architecture) ?? 0) + 1);
  return [...counts].map(([arch, n]) => `${arch}: ${n} packages`).join(', ');
}
