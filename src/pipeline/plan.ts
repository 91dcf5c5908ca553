/**
 * `lading plan`: many configs, one process, one snapshot of each repository index. Every config is resolved
 * (or its lock read) exactly as `lading build` would, and the plan lists per image its name, config, input
 * digest, packages per architecture and cost — the work list that workers (publish-many, build-many) share,
 * so they build what was planned even when the repositories move on meanwhile (see shard.ts for who builds
 * what).
 *
 * Images are named after their configs: a DIR argument contributes every `*.yaml`/`*.yml` below it, named by
 * the path under DIR without the extension (`nginx/image.yaml` → `nginx/image`); a file, by its base name. A
 * config that another config includes is not an image. A name must be a valid repository path (lower case).
 *
 * `check` says which images need building: against an earlier plan (an input digest that changed) or a
 * registry (the input digest its tag carries). The source of truth is re-resolution, not the package graph: a
 * new provider of a name, a newly satisfied install_if or a higher priority can change an image that never
 * contained the package that changed.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, extname, join, relative, resolve as resolvePath } from 'node:path';
import { loadConfig } from '../config/load.ts';
import { createLimiter } from '../net/limit.ts';
import { createKeychain } from '../registry/keychain.ts';
import { annotationsOf, readManifest } from '../registry/published.ts';
import { parseReference } from '../registry/reference.ts';
import { RegistryClient } from '../registry/transport.ts';
import type { PackageIndex } from '../solver/package-index.ts';
import { LadingError } from '../util/errors.ts';
import { type Logger, silentLogger } from '../util/log.ts';
import { type BuildOptions, startBuild } from './build.ts';
import { INPUT_DIGEST_ANNOTATION, type PinnedPackage, pinnedPackages } from './input-digest.ts';
import { defaultLockPath } from './lock.ts';
import { openStore } from './open.ts';

export const PLAN_FORMAT = 1;

export interface PlannedImage {
  /** The repository path under a publish prefix, and the output name (see the top of this file). */
  name: string;
  /** The config, relative to the directory the plan was made in. */
  config: string;
  /** The lock file beside the config, when there is one: workers build from it. */
  lockfile?: string;
  /**
   * The config, its includes, its local keys and its lock, each with the SHA-256 of its bytes when planned: while
   * they are unchanged, a worker may ask the registry about `inputDigest` without opening the config.
   */
  sources?: Record<string, string>;
  inputDigest: string;
  /** Per architecture (apk name), the packages: name, version, control checksum. */
  packages: Record<string, PinnedPackage[]>;
  /** Installed bytes over all architectures: how shards are balanced. */
  cost: number;
  /** With check: whether the image must be built (its input digest is new). */
  changed?: boolean;
  /** Why the config could not be planned (then it is in no shard's work). */
  error?: string;
}

export interface Plan {
  format: number;
  /** What every worker must build with for the input digests to hold. */
  options: {
    sourceDateEpoch?: string;
    buildDate?: string;
    compressionLevel?: number;
    apk3InstallIf?: boolean;
  };
  images: PlannedImage[];
}

export interface FoundConfig {
  name: string;
  /** Absolute. */
  path: string;
}

const REPOSITORY_PATH = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;

/** The configs named by files and directories, with their image names (see the top of this file). */
export function findConfigs(args: readonly string[], cwd: string): FoundConfig[] {
  const found = new Map<string, FoundConfig>();
  const add = (path: string, name: string) => {
    const other = [...found.values()].find((f) => f.name === name && f.path !== path);
    if (other) {
      throw new LadingError('USAGE', `two configs make the image name ${name}: ${other.path} and ${path}`, {
        hint: 'rename one, or plan them in separate runs',
      });
    }
    found.set(path, { name, path });
  };
  const stripped = (p: string) => p.slice(0, p.length - extname(p).length);
  for (const arg of args) {
    const path = resolvePath(cwd, arg);
    const st = statSync(path, { throwIfNoEntry: false });
    if (!st)
      throw new LadingError('USAGE', `${arg}: no such file or directory`, {
        hint: 'name configs or directories of configs',
      });
    if (st.isDirectory()) {
      const walk = (dir: string) => {
        for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
          a.name < b.name ? -1 : 1,
        )) {
          if (e.name.startsWith('.') || e.name === 'node_modules') continue;
          const p = join(dir, e.name);
          if (e.isDirectory()) walk(p);
          else if (/\.ya?ml$/.test(e.name)) add(p, stripped(relative(path, p)).split('\\').join('/'));
        }
      };
      walk(path);
    } else add(path, stripped(basename(path)));
  }
  return [...found.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Drops the configs other configs include: they are parts, not images. Unreadable ones stay (and fail later). */
export async function withoutIncludes(configs: readonly FoundConfig[], cwd: string): Promise<FoundConfig[]> {
  const included = new Set<string>();
  for (const c of configs) {
    try {
      // most configs include nothing: loading each twice would cost plan a third of its time
      if (!/^\s*include\s*:/m.test(readFileSync(c.path, 'utf8'))) continue;
      const loaded = await loadConfig(c.path, { cwd });
      for (const f of loaded.files.slice(1)) included.add(f);
    } catch {}
  }
  return configs.filter((c) => !included.has(c.path));
}

export interface PlanOptions extends Omit<BuildOptions, 'config' | 'tag' | 'output'> {
  /** Config files and directories of configs. */
  configs: string[];
  /** Use `NAME.lock.json` beside a config when there is one (default true). */
  lockfiles?: boolean;
  /** An earlier plan (a path to it), or a registry prefix (`REGISTRY/PREFIX`) whose `PREFIX/NAME:TAG` to ask. */
  check?: string;
  /** The tag `check` asks a registry about (default latest). */
  checkTag?: string;
  insecureAllowHttp?: boolean;
  insecureSkipTlsVerify?: boolean;
}

export async function plan(options: PlanOptions): Promise<Plan> {
  const logger = options.logger ?? silentLogger;
  const cwd = options.cwd ?? process.cwd();
  const env = options.env ?? process.env;
  const configs = await withoutIncludes(findConfigs(options.configs, cwd), cwd);
  if (configs.length === 0) {
    throw new LadingError('USAGE', `no configs (*.yaml, *.yml) in ${options.configs.join(', ')}`, {
      hint: 'name apko config files, or directories that hold them',
    });
  }
  // one store, one HTTP client, one snapshot of every index and one resolver index per repository set
  const fetch = await openStore({ ...options, env }, logger, cwd);
  fetch.snapshot = new Map();
  const packageIndexes = new Map<string, Promise<PackageIndex>>();
  const images: PlannedImage[] = [];
  for (const c of configs) {
    const config = relative(cwd, c.path) || c.path;
    const lock = defaultLockPath(c.path);
    const lockfile = options.lockfiles !== false && existsSync(lock) ? relative(cwd, lock) : undefined;
    const base = { name: c.name, config, ...(lockfile ? { lockfile } : {}) };
    if (!REPOSITORY_PATH.test(c.name)) {
      images.push({
        ...base,
        inputDigest: '',
        packages: {},
        cost: 0,
        error: `${c.name} is not a valid repository name (lower-case letters, digits, . _ - and /): rename ${config}`,
      });
      continue;
    }
    try {
      const started = await startBuild({
        ...options,
        config: c.path,
        cwd,
        env,
        tag: `${c.name}:plan`,
        output: join(cwd, '.lading-plan-never-written/'),
        sbom: false,
        reuse: false,
        fetch,
        packageIndexes,
        ...(lockfile ? { lockfile } : {}),
      });
      await started.release();
      const sources = Object.fromEntries(
        [
          ...started.sources,
          ...(lockfile ? [{ path: lockfile, sha256: sha256File(resolvePath(cwd, lockfile)) }] : []),
        ]
          .map((f) => [relative(cwd, resolvePath(cwd, f.path)), f.sha256] as const)
          .sort(([a], [b]) => (a < b ? -1 : 1)),
      );
      const packages: Record<string, PinnedPackage[]> = {};
      let cost = 0;
      for (const a of started.archs) {
        packages[a.apkArch] = pinnedPackages(a.packages);
        for (const p of a.packages) cost += p.installedSize ?? 1;
      }
      images.push({ ...base, inputDigest: started.inputDigest, sources, packages, cost });
    } catch (e) {
      if (!(e instanceof LadingError)) throw e;
      logger.warn(`${config}: ${e.message}`);
      images.push({ ...base, inputDigest: '', packages: {}, cost: 0, error: e.message });
    }
  }
  await fetch.cache.flush();
  const result: Plan = {
    format: PLAN_FORMAT,
    options: {
      ...(env.SOURCE_DATE_EPOCH ? { sourceDateEpoch: env.SOURCE_DATE_EPOCH } : {}),
      ...(options.buildDate ? { buildDate: options.buildDate } : {}),
      ...(options.compressionLevel !== undefined ? { compressionLevel: options.compressionLevel } : {}),
      ...(options.apk3InstallIf ? { apk3InstallIf: true } : {}),
    },
    images,
  };
  if (options.check !== undefined) await markChanged(result, options, logger);
  return result;
}

/** Sets `changed` on every planned image: against an earlier plan, or what a registry holds. */
async function markChanged(p: Plan, options: PlanOptions, logger: Logger): Promise<void> {
  const check = options.check!;
  const cwd = options.cwd ?? process.cwd();
  const file = resolvePath(cwd, check);
  if (check.endsWith('.json') || existsSync(file)) {
    const before = new Map(readPlan(file).images.map((i) => [i.name, i.inputDigest]));
    for (const i of p.images) i.changed = i.error !== undefined || before.get(i.name) !== i.inputDigest;
    return;
  }
  const client = new RegistryClient({
    keychain: createKeychain(options.env ?? process.env),
    insecureAllowHttp: options.insecureAllowHttp,
    insecureSkipTlsVerify: options.insecureSkipTlsVerify,
    logger,
  });
  const tag = options.checkTag ?? 'latest';
  const limit = createLimiter(8);
  await Promise.all(
    p.images.map((i) =>
      limit(async () => {
        if (i.error !== undefined) {
          i.changed = true;
          return;
        }
        const ref = parseReference(`${check.replace(/\/+$/, '')}/${i.name}:${tag}`);
        const session = client.session(ref.repository, false);
        const published = await readManifest(session, tag);
        i.changed = (published && annotationsOf(published))?.[INPUT_DIGEST_ANNOTATION] !== i.inputDigest;
      }),
    ),
  );
}

function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** Whether every source of a planned image still has the bytes it had when planned. */
export function sourcesUnchanged(image: PlannedImage, cwd: string): boolean {
  if (!image.sources || Object.keys(image.sources).length === 0) return false;
  return Object.entries(image.sources).every(([path, sha256]) => {
    try {
      return sha256File(resolvePath(cwd, path)) === sha256;
    } catch {
      return false;
    }
  });
}

/** Reads a plan file (PLAN_INVALID when it is not one). */
export function readPlan(file: string): Plan {
  let p: Plan;
  try {
    p = JSON.parse(readFileSync(file, 'utf8')) as Plan;
  } catch (e) {
    throw new LadingError('PLAN_INVALID', `cannot read the plan ${file}: ${(e as Error).message}`, {
      hint: 'write it with: lading plan CONFIG… -o FILE',
    });
  }
  if (p?.format !== PLAN_FORMAT || !Array.isArray(p.images)) {
    throw new LadingError('PLAN_INVALID', `${file} is not a plan of this lading (format ${PLAN_FORMAT})`, {
      hint: 'write it again with: lading plan CONFIG… -o FILE',
    });
  }
  return p;
}

/** The package → images graph: per package name, per version, the images that install it. */
export function packageGraph(p: Plan): Record<string, Record<string, string[]>> {
  const graph = new Map<string, Map<string, Set<string>>>();
  for (const i of p.images) {
    for (const pkgs of Object.values(i.packages)) {
      for (const pkg of pkgs) {
        let versions = graph.get(pkg.name);
        if (!versions) graph.set(pkg.name, (versions = new Map()));
        let names = versions.get(pkg.version);
        if (!names) versions.set(pkg.version, (names = new Set()));
        names.add(i.name);
      }
    }
  }
  const sorted = <T>(m: Map<string, T>) => [...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return Object.fromEntries(
    sorted(graph).map(([name, versions]) => [
      name,
      Object.fromEntries(sorted(versions).map(([v, names]) => [v, [...names].sort()])),
    ]),
  );
}

/** What a worker takes from a plan image: its packages per architecture, for resolve's `pinned`. */
export function pinnedOf(image: PlannedImage): Map<string, PinnedPackage[]> {
  return new Map(Object.entries(image.packages));
}
