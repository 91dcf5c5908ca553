import type { Command } from 'commander';
import { type ImageFlags, imageBuildOptions, imageOptions, resolutionOptions } from '../options.ts';
import { action, collect, type GlobalOptions, loggerFor } from '../run.ts';
import { insecureOptions } from './login.ts';

interface PlanFlags extends ImageFlags {
  output?: string;
  format?: string;
  check?: string;
  tag?: string[];
  lockfiles?: boolean;
  shards?: string;
  maxJobs?: string;
  runnerImage?: string;
  jobName?: string;
  to?: string;
  insecureAllowHttp?: boolean;
  insecureSkipTlsVerify?: boolean;
}

interface ManyFlags extends ImageFlags {
  to?: string;
  tag?: string[];
  shard?: string;
  image?: string[];
  jobs?: string;
  results?: string;
  skipUnchanged?: boolean;
  outputDir?: string;
  insecureAllowHttp?: boolean;
  insecureSkipTlsVerify?: boolean;
}

const FORMATS = ['json', 'github-matrix', 'k8s-job', 'lines', 'graph'];

/** `lading plan CONFIG…|DIR…`. */
export function registerPlan(program: Command): void {
  const cmd = program
    .command('plan')
    .summary('resolve many configs at once: the work list for publish-many / build-many and CI matrices')
    .description(
      'Resolve every config (files, or every *.yaml/*.yml under each DIR; configs included by others are ' +
        'parts, not images) in one process against one snapshot of each repository index, exactly as ' +
        '`lading build` would (a NAME.lock.json beside a config is used), and print the plan: per image its ' +
        'name (the path under DIR without .yaml), config, input digest, packages per architecture and cost. ' +
        'Workers given the plan (publish-many, build-many) build exactly those packages. With --check, mark ' +
        'the images whose input digest changed since an earlier plan, or differs from what REGISTRY/PREFIX/NAME:TAG ' +
        'carries; the matrix formats and `lines` then list only those.',
    )
    .argument('<configs...>', 'config files and directories of configs');
  resolutionOptions(
    cmd,
    'architectures to plan (OCI or apk names, "host", "all"; repeatable); overrides archs:',
  )
    .option('--build-date <time>', 'RFC 3339 date the images will be built with (recorded in the plan)')
    .option('--compression-level <n>', 'gzip level the images will be built with (recorded in the plan)')
    .option('--no-lockfiles', 'ignore NAME.lock.json files beside the configs')
    .option('-o, --output <file>', 'write the plan (JSON) to FILE; stdout still gets --format')
    .option('--format <format>', `what to print: ${FORMATS.join(', ')} (default json)`)
    .option(
      '--check <plan-or-prefix>',
      'an earlier plan file, or REGISTRY/PREFIX to ask about PREFIX/NAME:TAG',
    )
    .option('--tag <tag>', 'the tag --check asks a registry about (default latest)', collect)
    .option(
      '--shards <n>',
      'k8s-job: the number of indexed completions; github-matrix: shards instead of images',
    )
    .option('--max-jobs <n>', 'github-matrix: at most this many entries, as shards beyond it (default 256)')
    .option('--runner-image <image>', 'k8s-job: the container image that runs lading (default lading)')
    .option('--job-name <name>', 'k8s-job: the Job name (default lading-publish)')
    .option('--to <prefix>', 'k8s-job: REGISTRY/PREFIX the Job publishes to');
  insecureOptions(cmd)
    .addHelpText(
      'after',
      `
Examples:
  lading plan images/ -o plan.json
  lading plan images/ --check plan.json --format lines        (the images a repository change affects)
  lading plan images/ --format github-matrix                   (for a dynamic matrix: fromJson)
  lading plan images/ -o plan.json --format k8s-job --shards 8 --to registry.example.com/team`,
    )
    .action(
      action(async (configs: string[], flags: PlanFlags, c: Command) => {
        const logger = loggerFor(c.optsWithGlobals() as GlobalOptions);
        const { LadingError } = await import('../../util/errors.ts');
        const format = flags.format ?? 'json';
        if (!FORMATS.includes(format)) {
          throw new LadingError(
            'USAGE',
            `--format ${JSON.stringify(format)} is not one of ${FORMATS.join(', ')}`,
          );
        }
        const { parseBuildFlags } = await import('../build-flags.ts');
        const { plan } = await import('../../pipeline/plan.ts');
        const { planOutput } = await import('../plan-formats.ts');
        const result = await plan({
          configs,
          ...imageBuildOptions(flags),
          compressionLevel: parseBuildFlags({ compressionLevel: flags.compressionLevel }).compressionLevel,
          lockfiles: flags.lockfiles,
          ...(flags.check === undefined ? {} : { check: flags.check }),
          ...(flags.tag?.length ? { checkTag: flags.tag[0]! } : {}),
          insecureAllowHttp: flags.insecureAllowHttp,
          insecureSkipTlsVerify: flags.insecureSkipTlsVerify,
          logger,
        });
        if (flags.output !== undefined) {
          const { writeFileAtomic } = await import('../../util/write-file.ts');
          await writeFileAtomic(flags.output, `${JSON.stringify(result, null, 1)}\n`);
        }
        process.stdout.write(
          planOutput(result, format, {
            shards: flags.shards,
            maxJobs: flags.maxJobs,
            runnerImage: flags.runnerImage,
            jobName: flags.jobName,
            to: flags.to,
            planFile: flags.output,
          }),
        );
        const failed = result.images.filter((i) => i.error !== undefined).length;
        const changed = result.images.filter((i) => i.changed).length;
        logger.info(
          `${result.images.length} images planned` +
            (flags.check === undefined ? '' : `, ${changed} changed`) +
            (failed ? `, ${failed} could not be planned` : ''),
        );
        return failed > 0 ? 1 : 0;
      }),
    );
}

/** `lading publish-many` and `lading build-many`. */
export function registerMany(program: Command): void {
  for (const mode of ['publish', 'build'] as const) {
    const cmd = program
      .command(`${mode}-many`)
      .summary(
        mode === 'publish'
          ? 'publish the images of a plan (or of configs), or one shard of them'
          : 'build the images of a plan (or of configs), or one shard of them, into OCI layouts',
      )
      .description(
        (mode === 'publish'
          ? 'Publish every image of the plan (PLAN.json from `lading plan`) or of the configs (files or directories) ' +
            'to --to REGISTRY/PREFIX as PREFIX/NAME:TAG, asking the registry first (an image it already holds from ' +
            'the same inputs is skipped: --no-skip-unchanged publishes anyway). '
          : 'Build every image of the plan (PLAN.json from `lading plan`) or of the configs into --output-dir ' +
            'DIR/NAME/ (an OCI layout). ') +
          'With --shard I/N only the images of shard I (a stable, balanced partition the same in every worker); I ' +
          'may be a number, env:VAR, auto (JOB_COMPLETION_INDEX or SLURM_ARRAY_TASK_ID) or swarm-slot:VAR. One ' +
          'JSON line per image on stdout: image, config, status (pushed, skipped, built, failed), ref, digest, ' +
          'inputDigest, seconds, error. Exit 1 when any failed; running a shard again (after a kill) is safe.',
      )
      .argument(
        '<plan-or-configs...>',
        'a plan file (PLAN.json), or config files and directories of configs',
      );
    if (mode === 'publish')
      cmd.option('--to <prefix>', 'REGISTRY/PREFIX: each image goes to PREFIX/NAME:TAG');
    else cmd.option('--output-dir <dir>', 'each image goes to DIR/NAME/ (an OCI layout)');
    cmd
      .option('--tag <tag>', 'tags to write (default latest; repeatable)', collect)
      .option('--shard <i/n>', 'only shard I of N: I a number, env:VAR, auto, or swarm-slot:VAR')
      .option('--image <name>', 'only this image (repeatable)', collect)
      .option('--jobs <n>', 'images at once (default 1)')
      .option('--results <file>', 'also append the JSON result lines to FILE');
    if (mode === 'publish')
      cmd.option(
        '--no-skip-unchanged',
        'publish even when the registry holds the image from the same inputs',
      );
    const withImage = imageOptions(cmd, 'also write the SBOM files into DIR/NAME/');
    (mode === 'publish' ? insecureOptions(withImage) : withImage).action(
      action(async (inputs: string[], flags: ManyFlags, c: Command) => {
        const globals = c.optsWithGlobals() as GlobalOptions;
        const logger = loggerFor(globals);
        const { LadingError } = await import('../../util/errors.ts');
        const { createLogger } = await import('../../util/log.ts');
        const { parseBuildFlags } = await import('../build-flags.ts');
        const { runMany } = await import('../../pipeline/many.ts');
        const { readPlan } = await import('../../pipeline/plan.ts');
        const { parseShard } = await import('../../pipeline/shard.ts');
        const { appendFileSync } = await import('node:fs');
        if (flags.lockfile !== undefined) {
          throw new LadingError(
            'USAGE',
            `${mode}-many takes each config's lock from beside it (NAME.lock.json)`,
            {
              hint: 'drop --lockfile; lading plan records the locks it finds',
            },
          );
        }
        const planFile = inputs.length === 1 && inputs[0]!.endsWith('.json') ? inputs[0]! : undefined;
        const jobs = flags.jobs === undefined ? 1 : Number(flags.jobs);
        if (!Number.isInteger(jobs) || jobs < 1)
          throw new LadingError('USAGE', `--jobs ${flags.jobs}: expected 1 or more`);
        const parsed = parseBuildFlags(flags);
        const results = await runMany(mode, {
          ...imageBuildOptions(flags),
          ...parsed,
          ...(planFile ? { plan: readPlan(planFile) } : { configs: inputs }),
          ...(flags.shard === undefined ? {} : { shard: parseShard(flags.shard) }),
          images: flags.image,
          jobs,
          to: flags.to,
          tags: flags.tag,
          skipUnchanged: flags.skipUnchanged,
          outputDir: flags.outputDir,
          insecureAllowHttp: flags.insecureAllowHttp,
          insecureSkipTlsVerify: flags.insecureSkipTlsVerify,
          logger,
          loggerFor: (image) =>
            createLogger(logger.level, (s) => process.stderr.write(s.replace(/^(?=.)/gm, `[${image}] `))),
          onResult: (r) => {
            const line = `${JSON.stringify(r)}\n`;
            process.stdout.write(line);
            if (flags.results !== undefined) appendFileSync(flags.results, line);
          },
        });
        const failed = results.filter((r) => r.status === 'failed').length;
        const count = (s: string) => results.filter((r) => r.status === s).length;
        logger.info(
          `${results.length} images: ${count(mode === 'publish' ? 'pushed' : 'built')} ${mode === 'publish' ? 'pushed' : 'built'}` +
            (mode === 'publish' ? `, ${count('skipped')} skipped` : '') +
            `, ${failed} failed`,
        );
        return failed > 0 ? 1 : 0;
      }),
    );
  }
}
