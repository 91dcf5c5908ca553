import type { Command } from 'commander';
import { addResolveOptions, type ResolveFlags } from '../options.ts';
import { action } from '../run.ts';
import { resolveFromFlags } from './show-packages.ts';

/** The chains `why` shows by default: the shortest few say why; dozens more bury them. */
const DEFAULT_CHAINS = 5;

type WhyFlags = ResolveFlags & { limit?: string; all?: boolean };

/** `lading why CONFIG PACKAGE`: the chains from a world entry to a package. */
export function registerWhy(program: Command): void {
  const cmd = program
    .command('why')
    .summary('explain why a package is in the image: the chains from the world to it')
    .description(
      'Resolve the packages of CONFIG as `lading build` does and print the dependency chains from a world ' +
        `entry (contents.packages, -p) to PACKAGE, shortest first: the ${DEFAULT_CHAINS} shortest and how many ` +
        'more there are (--all shows every one). PACKAGE may also be a name a package ' +
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
    .option('--limit <n>', `show at most N chains, the shortest (default ${DEFAULT_CHAINS})`)
    .option('--all', 'show every chain')
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
      action(async (config: string, name: string, flags: WhyFlags, c: Command) => {
        const { whyInArch } = await import('../../pipeline/resolve.ts');
        const { formatWhy } = await import('../../solver/format.ts');
        const { LadingError } = await import('../../util/errors.ts');
        const limit = flags.all ? Number.POSITIVE_INFINITY : Number(flags.limit ?? DEFAULT_CHAINS);
        if (!flags.all && !(Number.isInteger(limit) && limit > 0)) {
          throw new LadingError(
            'USAGE',
            `--limit ${JSON.stringify(flags.limit)}: expected a positive integer`,
          );
        }
        const { archs } = await resolveFromFlags(config, flags, c, { firstArchOnly: true });
        process.stdout.write(formatWhy(await whyInArch(archs[0]!, name, limit), '--all shows every chain'));
      }),
    );
}
