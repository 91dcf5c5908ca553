import { statSync } from 'node:fs';
import type { Command } from 'commander';
import { type ImageFlags, imageBuildOptions, imageOptions } from '../options.ts';
import { action, type GlobalOptions, loggerFor } from '../run.ts';
import { setUsageHint } from '../usage-errors.ts';

/** A tarball name or a directory, which no image tag is (tags have no `/` at the end and no .tar). */
function looksLikeOutput(arg: string): boolean {
  if (/\.(tar|tgz|tar\.gz)$/i.test(arg) || /[\\/]$/.test(arg)) return true;
  try {
    return statSync(arg).isDirectory();
  } catch {
    return false;
  }
}

/** `lading build CONFIG TAG OUT`. */
export function registerBuild(program: Command): void {
  const cmd = program
    .command('build')
    .summary('build an image from an apko config')
    .description(
      'Resolve the packages of CONFIG, verify and install them into the image filesystem (no scripts are run), ' +
        'and write the image. If OUT is a directory (existing, or ending in /) it receives an OCI image layout; otherwise OUT is ' +
        'a `docker save`-style tarball (also an OCI archive) that `docker load` and `podman load` accept. ' +
        'SBOMs (SPDX by default) are written beside OUT, named after it, or into --sbom-path. The same inputs ' +
        'give byte-identical outputs. Prints the digest of the image index: what a registry holds after ' +
        '`skopeo copy --all` of OUT or `lading publish`.',
    )
    .argument('<config>', 'the apko YAML config file')
    .argument('<tag>', 'image reference recorded in the outputs, e.g. alpine-base:latest')
    .argument(
      '<out>',
      'output: a directory (existing, or ending in /) gets an OCI layout; any other path a tarball (docker archive)',
    );
  setUsageHint(cmd, (error, args) => {
    if (error.code !== 'commander.missingArgument') return undefined;
    const [config, second] = args;
    // `lading build CONFIG OUT.tar`: the output was taken as the TAG
    if (config !== undefined && second !== undefined && looksLikeOutput(second))
      return `${second} looks like an output; the TAG comes before it: lading build ${config} NAME:TAG ${second}`;
    return 'lading build CONFIG TAG OUT, e.g. lading build examples/alpine-base.yaml alpine-base:latest alpine-base.tar';
  });
  imageOptions(
    cmd,
    "write the SBOMs into DIR under apko's names (sbom-<arch>.spdx.json, sbom-index.spdx.json); default: beside OUT, named after it (OUT.sbom-<arch>.spdx.json)",
  ).action(
    action(async (config: string, tag: string, out: string, flags: ImageFlags, cmd: Command) => {
      const globals = cmd.optsWithGlobals() as GlobalOptions;
      const { build } = await import('../../pipeline/build.ts');
      const { createProgress } = await import('../progress.ts');
      const { parseBuildFlags } = await import('../build-flags.ts');
      const level = loggerFor(globals).level;
      const progress = createProgress(level === 'info' || level === 'debug');
      const logger = loggerFor(globals, progress.log);
      const parsed = parseBuildFlags(flags);
      try {
        const result = await build({
          config,
          tag,
          output: out,
          ...imageBuildOptions(flags),
          ...parsed,
          reuse: true,
          logger,
          onEvent: progress.onEvent,
        });
        progress.done();
        // what each digest is: the printed one names the index, which a registry holds once the output is
        // copied (skopeo copy --all) or published; each architecture's image is a manifest the index lists
        const info = [
          ...result.summary.map(
            (a) => `${a.apkArch}: ${a.packages} packages, image manifest ${a.manifestDigest}`,
          ),
          `image index ${result.digest} (printed on stdout): the digest a registry holds after \`skopeo copy --all\` or \`lading publish\``,
          `wrote ${result.outputs.join(', ')}`,
        ];
        for (const line of info) logger.info(line);
        const stdout = `${result.digest}\n`;
        process.stdout.write(stdout);
        if (!result.inputs.remote) {
          const { saveBuildRecord } = await import('../build-record.ts');
          const shown =
            logger.level === 'debug' || logger.level === 'info' ? info.map((l) => `${l}\n`).join('') : '';
          saveBuildRecord(result, flags.cacheDir, stdout, shown);
        }
      } catch (e) {
        progress.done();
        throw e;
      }
    }),
  );
}
