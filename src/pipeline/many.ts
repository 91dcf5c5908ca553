/**
 * `lading publish-many` and `build-many`: the images of one shard of a plan (or of configs), in one process,
 * one result per image. What makes them safe on any engine that runs workers:
 * - the shard is a stable partition (shard.ts): every worker computes the same one;
 * - from a plan, each image is built from the plan's packages (resolve's `pinned`) with the plan's options, so
 *   workers that start later build what was planned (PLAN_STALE when the repositories lost it);
 * - each image is idempotent: publish writes blobs, then manifests by digest, then the tags last, and skips an
 *   image the registry already holds from the same inputs (skip-unchanged, on by default); a build writes its
 *   output under a temporary name and renames it. A worker killed at any point can simply be run again.
 * One image failing does not stop the others; the caller sees every result.
 */
import { join, resolve as resolvePath } from 'node:path';
import { createLimiter } from '../net/limit.ts';
import { createKeychain } from '../registry/keychain.ts';
import type { Published } from '../registry/published.ts';
import { RegistryClient } from '../registry/transport.ts';
import type { FetchOptions } from '../repo/fetch.ts';
import type { PackageIndex } from '../solver/package-index.ts';
import { LadingError } from '../util/errors.ts';
import { type Logger, silentLogger } from '../util/log.ts';
import { type BuildOptions, build } from './build.ts';
import { openStore } from './open.ts';
import {
  findConfigs,
  type Plan,
  type PlannedImage,
  pinnedOf,
  sourcesUnchanged,
  withoutIncludes,
} from './plan.ts';
import { publish, publishedAlready } from './publish.ts';
import { type Shard, shardOf } from './shard.ts';

export interface ManyResult {
  image: string;
  config: string;
  status: 'pushed' | 'skipped' | 'built' | 'failed';
  /** publish: `REPO@sha256:…`; build: the output path. */
  ref?: string;
  digest?: string;
  inputDigest?: string;
  seconds: number;
  error?: string;
}

export interface ManyOptions extends Omit<BuildOptions, 'config' | 'tag' | 'output' | 'logger'> {
  /** A plan (its images, packages and options), or configs and directories of configs. */
  plan?: Plan;
  configs?: string[];
  shard?: Shard;
  /** Only these images (by name). */
  images?: string[];
  /** Images at once in this process (default 1). */
  jobs?: number;
  /** publish-many: `REGISTRY/PREFIX`; each image goes to `PREFIX/NAME:TAG` for every tag. */
  to?: string;
  tags?: string[];
  /** publish-many: ask the registry first (default true). */
  skipUnchanged?: boolean;
  insecureAllowHttp?: boolean;
  insecureSkipTlsVerify?: boolean;
  /** build-many: each image's OCI layout goes to `DIR/NAME/`. */
  outputDir?: string;
  /** A logger for each image (its messages are about that image). */
  loggerFor?: (image: string) => Logger;
  logger?: Logger;
  onResult?: (r: ManyResult) => void;
}

interface Work {
  image: PlannedImage;
  config: string;
  /** What the first tag named when the registry was asked about the image (not asked again). */
  firstTag?: { published: Published | undefined };
}

/** The images this worker takes: the plan's (or the configs'), this shard's, the ones asked for. */
async function workList(options: ManyOptions, cwd: string): Promise<Work[]> {
  let images: PlannedImage[];
  if (options.plan) images = options.plan.images;
  else {
    const found = await withoutIncludes(findConfigs(options.configs ?? [], cwd), cwd);
    // without a plan every image weighs the same: each worker resolves at its own moment (shard.ts)
    images = found.map((f) => ({ name: f.name, config: f.path, inputDigest: '', packages: {}, cost: 1 }));
  }
  if (options.images?.length) {
    const known = new Set(images.map((i) => i.name));
    const unknown = options.images.filter((n) => !known.has(n));
    if (unknown.length > 0) {
      throw new LadingError('USAGE', `no image named ${unknown.join(', ')} in the plan`, {
        hint: 'names are the configs’ paths under the planned directory, without .yaml',
      });
    }
  }
  const taken = options.shard ? shardOf(images, options.shard) : undefined;
  return images
    .filter((i) => (taken ? taken.has(i.name) : true))
    .filter((i) => !options.images?.length || options.images.includes(i.name))
    .map((image) => ({ image, config: resolvePath(cwd, image.config) }));
}

/** Runs the shard; returns every result (also handed to onResult as each finishes). */
export async function runMany(mode: 'publish' | 'build', options: ManyOptions): Promise<ManyResult[]> {
  const cwd = options.cwd ?? process.cwd();
  const logger = options.logger ?? silentLogger;
  if (mode === 'publish' && !options.to) {
    throw new LadingError('USAGE', 'publish-many needs --to REGISTRY/PREFIX', {
      hint: 'each image goes to PREFIX/NAME:TAG, e.g. --to registry.example.com/team',
    });
  }
  if (mode === 'build' && !options.outputDir) {
    throw new LadingError('USAGE', 'build-many needs --output-dir DIR', {
      hint: 'each image goes to DIR/NAME/',
    });
  }
  const work = await workList(options, cwd);
  // the plan's options are what its input digests were computed with
  const planned = options.plan?.options;
  const env = planned?.sourceDateEpoch
    ? { ...(options.env ?? process.env), SOURCE_DATE_EPOCH: planned.sourceDateEpoch }
    : (options.env ?? process.env);
  const shared: FetchOptions = await openStore({ ...options, env }, logger, cwd);
  shared.snapshot = new Map();
  const packageIndexes = new Map<string, Promise<PackageIndex>>();
  const tags = options.tags?.length ? options.tags : ['latest'];
  const limit = createLimiter(Math.max(1, options.jobs ?? 1));
  const results: ManyResult[] = [];
  const done = (r: ManyResult) => {
    results.push(r);
    options.onResult?.(r);
  };
  const prefix = options.to?.replace(/\/+$/, '');
  const tagsOf = (image: PlannedImage) => tags.map((t) => `${prefix}/${image.name}:${t}`);
  // one registry client for every image: one ping and one token per registry and repository
  const client =
    mode === 'publish'
      ? new RegistryClient({
          keychain: createKeychain(env),
          insecureAllowHttp: options.insecureAllowHttp,
          insecureSkipTlsVerify: options.insecureSkipTlsVerify,
          logger,
        })
      : undefined;

  // from a plan, an image whose sources are as planned is known by its input digest: the registry alone says
  // whether it is there already (a few requests, several images at once), and only the others are built
  let todo = work;
  if (mode === 'publish' && options.plan && options.skipUnchanged !== false) {
    const ask = createLimiter(8);
    const known = await Promise.all(
      work.map((w) =>
        ask(async () => {
          const { image } = w;
          if (image.error !== undefined || !image.inputDigest || !sourcesUnchanged(image, cwd)) return w;
          const started = performance.now();
          const imageLogger = options.loggerFor?.(image.name) ?? logger;
          const asked = await publishedAlready(
            { ...options, env, tags: tagsOf(image), client, logger: imageLogger },
            image.inputDigest,
          ).catch((e: unknown) => {
            if (!(e instanceof LadingError)) throw e;
            return undefined; // the publish itself will say what is wrong
          });
          if (!asked) return w;
          const r = asked.result;
          if (!r) return { ...w, firstTag: asked.firstTag };
          done({
            image: image.name,
            config: image.config,
            status: 'skipped',
            ref: r.printed,
            digest: r.digest,
            inputDigest: r.inputDigest,
            seconds: Math.round(performance.now() - started) / 1000,
          });
          return undefined;
        }),
      ),
    );
    todo = known.filter((w) => w !== undefined);
  }

  const one = async ({ image, config, firstTag }: Work): Promise<ManyResult> => {
    const started = performance.now();
    const base = { image: image.name, config: image.config };
    const seconds = () => Math.round(performance.now() - started) / 1000;
    if (image.error !== undefined) return { ...base, status: 'failed', seconds: 0, error: image.error };
    const imageLogger = options.loggerFor?.(image.name) ?? logger;
    const common = {
      ...options,
      config,
      cwd,
      env,
      logger: imageLogger,
      // its own pins; the same store, HTTP client, index snapshot and resolver indexes
      fetch: { ...shared, cache: shared.cache.fork(), logger: imageLogger },
      packageIndexes,
      ...(options.plan && !image.lockfile ? { pinned: pinnedOf(image) } : {}),
      ...(image.lockfile ? { lockfile: resolvePath(cwd, image.lockfile) } : {}),
      ...(planned?.buildDate ? { buildDate: planned.buildDate } : {}),
      ...(planned?.compressionLevel !== undefined ? { compressionLevel: planned.compressionLevel } : {}),
      // the plan's resolution rules, whatever this worker was told
      ...(planned ? { apk3InstallIf: planned.apk3InstallIf === true } : {}),
    };
    try {
      if (mode === 'publish') {
        const r = await publish({
          ...common,
          tags: tagsOf(image),
          client,
          skipUnchanged: options.skipUnchanged ?? true,
          ...(firstTag ? { firstTag } : {}),
        });
        return {
          ...base,
          status: r.skipped ? 'skipped' : 'pushed',
          ref: r.printed,
          digest: r.digest,
          inputDigest: r.inputDigest,
          seconds: seconds(),
        };
      }
      const output = `${join(resolvePath(cwd, options.outputDir!), image.name)}/`;
      const r = await build({ ...common, tag: `${image.name}:${tags[0]}`, output, reuse: true });
      await r.release();
      return {
        ...base,
        status: 'built',
        ref: output,
        digest: r.digest,
        inputDigest: r.inputDigest,
        seconds: seconds(),
      };
    } catch (e) {
      if (!(e instanceof LadingError)) throw e;
      imageLogger.error(e.format());
      return { ...base, status: 'failed', error: e.message, seconds: seconds() };
    }
  };

  await Promise.all(todo.map((w) => limit(async () => done(await one(w)))));
  return results.sort((a, b) => (a.image < b.image ? -1 : a.image > b.image ? 1 : 0));
}
