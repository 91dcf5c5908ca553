import type { Command } from 'commander';
import { type ResolveFlags, resolutionOptions, resolveFlagOptions } from '../options.ts';
import { action, type GlobalOptions, loggerFor } from '../run.ts';

type MinirootfsFlags = ResolveFlags & { buildArch?: string; buildDate?: string; compressionLevel?: string };

/** `lading build-minirootfs CONFIG OUT`: one architecture's filesystem as a tar. */
export function registerBuildMinirootfs(program: Command): void {
  const cmd = program
    .command('build-minirootfs')
    .summary("write one architecture's image filesystem as a tar (a minirootfs)")
    .description(
      "Build CONFIG's filesystem for one architecture (--build-arch, default this machine's; the config's archs " +
        'are ignored) and write it to OUT as a tar, gzip when OUT ends in .gz: the same bytes as the layer ' +
        '`lading build` writes for that architecture, for `docker import`, a chroot or a Dockerfile ADD. ' +
        'No lock, no SBOM.',
    )
    .argument('<config>', 'the apko YAML config file')
    .argument('<out>', 'the tar file to write (OUT.tar.gz or OUT.tgz: gzip)');
  resolutionOptions(cmd, 'the same as --build-arch')
    .option('--build-arch <arch>', "the architecture to build (OCI or apk name; default: this machine's)")
    .option('--build-date <time>', 'RFC 3339 date, as for lading build; SOURCE_DATE_EPOCH overrides it')
    .option('--compression-level <n>', 'gzip level for a .gz OUT, 1 (fastest) to 9 (smallest); default 5')
    .action(
      action(async (config: string, out: string, flags: MinirootfsFlags, c: Command) => {
        const logger = loggerFor(c.optsWithGlobals() as GlobalOptions);
        const { buildMinirootfs } = await import('../../pipeline/minirootfs.ts');
        const { parseBuildFlags } = await import('../build-flags.ts');
        const { LadingError } = await import('../../util/errors.ts');
        const { apkArch } = await import('../../platform/arch.ts');
        if ((flags.arch?.length ?? 0) > 1 || (flags.arch?.length && flags.buildArch)) {
          throw new LadingError('USAGE', 'build-minirootfs builds one architecture: give one --build-arch');
        }
        const result = await buildMinirootfs({
          ...resolveFlagOptions(flags),
          config,
          output: out,
          buildArch: flags.buildArch ?? flags.arch?.[0],
          buildDate: flags.buildDate,
          compressionLevel: parseBuildFlags({ compressionLevel: flags.compressionLevel }).compressionLevel,
          logger,
        });
        logger.info(`${apkArch(result.arch)}: ${result.packages} packages, rootfs diff ID ${result.diffId}`);
        logger.info(`wrote ${result.output}`);
      }),
    );
}
