import type { Command } from 'commander';
import { addResolveOptions, type ResolveFlags } from '../options.ts';
import { action } from '../run.ts';
import { resolveFromFlags } from './show-packages.ts';

/** `lading why CONFIG PACKAGE`: every chain from a world entry to a package. */
export function registerWhy(program: Command): void {
  const cmd = program
    .command('why')
    .summary('explain why a package is in the image: every chain from the world to it')
    .description(
      'Resolve the packages of CONFIG as `lading build` does and print every dependency chain from a world ' +
        'entry (contents.packages, -p) to PACKAGE, shortest first. PACKAGE may also be a name a package ' +
        'provides (cmd:sh, so:libcrypto.so.3, pc:zlib). One architecture is explained: the first of archs: ' +
        'in OCI-name order (amd64 before arm64), also among several --arch. Exits with status 1 when PACKAGE is ' +
        'not installed, saying whether the repositories have it at all.',
    );
  addResolveOptions(
    cmd,
    'the architecture to explain (OCI or apk name; default: the first of archs:, in OCI-name order)',
  );
  cmd
    .argument('<package>', 'the package (or provided name) to explain')
    .option('--limit <n>', 'show at most N chains (default 100)')
    .addHelpText(
      'after',
      `
Output:
  busybox-1.36.1-r15 is installed because of:
    world[alpine-base] → alpine-base-3.19.1-r0 [busybox] → busybox-1.36.1-r15
Each step shows the dependency as written; "install_if X" marks a package installed automatically.

Examples:
  lading why image.yaml libssl3
  lading why image.yaml cmd:sh --arch aarch64`,
    )
    .action(
      action(async (config: string, name: string, flags: ResolveFlags & { limit?: string }, c: Command) => {
        const { whyInArch } = await import('../../build/resolve-config.ts');
        const { formatWhy } = await import('../../solver/format.ts');
        const { LadingError } = await import('../../util/errors.ts');
        const limit = flags.limit === undefined ? undefined : Number(flags.limit);
        if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) {
          throw new LadingError(
            'USAGE',
            `--limit ${JSON.stringify(flags.limit)}: expected a positive integer`,
          );
        }
        const { archs } = await resolveFromFlags(config, flags, c, { firstArchOnly: true });
        process.stdout.write(formatWhy(await whyInArch(archs[0]!, name, limit)));
      }),
    );
}
