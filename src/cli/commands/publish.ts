import type { Command } from 'commander';
import { type ImageFlags, imageBuildOptions, imageOptions } from '../options.ts';
import { action, type GlobalOptions, loggerFor } from '../run.ts';
import { setUsageHint } from '../usage-errors.ts';
import { insecureOptions } from './login.ts';

interface PublishFlags extends ImageFlags {
  imageRefs?: string;
  local?: boolean;
  insecureAllowHttp?: boolean;
  insecureSkipTlsVerify?: boolean;
  skipUnchanged?: boolean;
}

/** `lading publish CONFIG TAG…`. */
export function registerPublish(program: Command): void {
  const cmd = program
    .command('publish')
    .summary('build an image and push it to a registry (or load it into Docker)')
    .description(
      'Build exactly what `lading build` builds (same bytes, same digests), push every per-architecture image ' +
        'by digest and then the index under every TAG, attach each SBOM to the image or index it describes ' +
        '(OCI 1.1 referrers, or sha256-<digest> tags where the registry has no referrers API), and print ' +
        'REGISTRY/REPOSITORY@sha256:<index digest> of the first TAG. Credentials come from the Docker config ' +
        '(`lading login`, `docker login`, credential helpers), REGISTRY_AUTH_FILE or containers auth.json. ' +
        'With --local, load the image for this machine into the Docker engine (DOCKER_HOST) under every TAG ' +
        'instead, and print its image ID.',
    )
    .argument('<config>', 'the apko YAML config file')
    .argument(
      '<tags...>',
      'image references to write, e.g. registry.example.com/team/app:1.0 (several allowed)',
    );
  setUsageHint(
    cmd,
    () =>
      'lading publish CONFIG REGISTRY/REPOSITORY:TAG…, e.g. lading publish app.yaml localhost:5000/team/app:1.0',
  );
  insecureOptions(
    imageOptions(cmd, 'also write the SBOM files into this directory (they are attached in any case)'),
  )
    .option(
      '--image-refs <file>',
      'write the per-architecture image references, then the index reference, to FILE',
    )
    .option('--local', 'load the image into the local Docker engine (DOCKER_HOST) instead of pushing')
    .option(
      '--skip-unchanged',
      'ask the registry first: when the first TAG holds an image built from the same inputs (its dev.lading.input-digest) and every blob is there, build and upload nothing, point the other TAGs at it, and print the same REPO@digest',
    )
    .action(
      action(async (config: string, tags: string[], flags: PublishFlags, cmd: Command) => {
        const globals = cmd.optsWithGlobals() as GlobalOptions;
        const level = loggerFor(globals).level;
        const { LadingError } = await import('../../util/errors.ts');
        if (flags.local && flags.skipUnchanged) {
          throw new LadingError('USAGE', '--skip-unchanged asks a registry; --local loads into Docker', {
            hint: 'drop --skip-unchanged, or publish to a registry',
          });
        }
        if (flags.local && flags.imageRefs !== undefined) {
          throw new LadingError('USAGE', '--image-refs lists registry references; --local pushes none', {
            hint: 'drop --image-refs, or publish to a registry',
          });
        }
        const { publish } = await import('../../pipeline/publish.ts');
        const { parseBuildFlags } = await import('../build-flags.ts');
        const { createProgress } = await import('../progress.ts');
        const progress = createProgress(level === 'info' || level === 'debug');
        const logger = loggerFor(globals, progress.log);
        try {
          const result = await publish({
            config,
            tags,
            ...imageBuildOptions(flags),
            ...parseBuildFlags(flags),
            local: flags.local,
            insecureAllowHttp: flags.insecureAllowHttp,
            insecureSkipTlsVerify: flags.insecureSkipTlsVerify,
            skipUnchanged: flags.skipUnchanged,
            logger,
            onEvent: progress.onEvent,
          });
          progress.done();
          if (flags.imageRefs !== undefined) {
            const { writeFileAtomic } = await import('../../util/write-file.ts');
            await writeFileAtomic(flags.imageRefs, result.imageRefs.map((r) => `${r}\n`).join(''));
          }
          const stdout = `${result.printed}\n`;
          process.stdout.write(stdout);
          if (result.inputs && !result.inputs.remote && result.tagUrls) {
            const { savePublishRecord } = await import('../publish-record.ts');
            const { resolve } = await import('node:path');
            const { invocation } = await import('../invocation.ts');
            const [first] = result.printed.split('@');
            const shown =
              level === 'debug' || level === 'info'
                ? `${first} already holds ${result.digest} under every tag, from the same inputs: nothing was sent\n`
                : '';
            const outputs = flags.imageRefs === undefined ? [] : [resolve(invocation.cwd, flags.imageRefs)];
            savePublishRecord(
              { inputs: result.inputs, digest: result.digest, tagUrls: result.tagUrls },
              outputs,
              flags.cacheDir,
              stdout,
              shown,
            );
          }
        } catch (e) {
          progress.done();
          throw e;
        }
      }),
    );
}
