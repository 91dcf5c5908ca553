/**
 * `lading lock`: the config resolved exactly as `lading build` resolves it (every architecture together, so one
 * version across architectures), and every resolved package described for the lock: its URL and the byte ranges
 * and checksums of its members (read from the package itself, through the cache). The lock is written in
 * apko's format; when a lock is already there, what changes is said, and `check` only compares.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, extname, resolve as resolvePath } from 'node:path';
import { readApk } from '../apk/apk-reader.ts';
import type { RepositoryPackage } from '../apk/types.ts';
import { diffLocks, type LockDiff } from '../lock/diff.ts';
import { formatLock, type LockFile, type LockPackage, parseLock } from '../lock/format.ts';
import { apkRanges, makeLock } from '../lock/make.ts';
import { createLimiter } from '../net/limit.ts';
import { type FetchOptions, fetchPackage } from '../repo/fetch.ts';
import type { RepositoryRef } from '../repo/ref.ts';
import { LadingError } from '../util/errors.ts';
import { type Logger, silentLogger } from '../util/log.ts';
import { writeFileAtomic } from '../util/write-file.ts';
import { newPackages } from './base.ts';
import { configName, type OpenBuildOptions } from './open.ts';
import { resolveConfig } from './resolve.ts';

export interface LockOptions extends Omit<OpenBuildOptions, 'lockfile'> {
  /** Where the lock goes (default: the config path without its extension, plus `.lock.json`, as apko names it). */
  output?: string;
  /** Only compare with the lock there: nothing is written. */
  check?: boolean;
  logger?: Logger;
}

export interface LockResult {
  lock: LockFile;
  text: string;
  /** The lock file path, as it was given or made. */
  output: string;
  /** The lock that was there before, when it could be read. */
  previous?: LockFile;
  /** What changes from `previous` (undefined when there was none). */
  diff?: LockDiff;
  /** True when the file was written (a new or changed lock, not in check mode). */
  written: boolean;
}

/** apko's default: `foo.yaml` → `foo.lock.json`. */
export function defaultLockPath(config: string): string {
  const ext = extname(config);
  return `${ext ? config.slice(0, -ext.length) : config}.lock.json`;
}

export async function lockConfig(options: LockOptions): Promise<LockResult> {
  const logger = options.logger ?? silentLogger;
  const cwd = options.cwd ?? process.cwd();
  if (options.output === undefined && typeof options.config !== 'string') {
    throw new LadingError('USAGE', 'a lock of a config given as an object needs an output path', {
      hint: 'set output',
    });
  }
  const output = options.output ?? defaultLockPath(options.config as string);
  const outputPath = resolvePath(cwd, output);
  // in check mode a missing lock fails before any work
  if (options.check && !existsSync(outputPath)) {
    throw new LadingError('LOCK_NOT_FOUND', `there is no lock file ${output} to check`, {
      hint: `write it with: lading lock ${configName(options.config)}${options.output ? ` -o ${output}` : ''}`,
    });
  }
  // resolved as build resolves (show-packages prints the same)
  const { config, archs: resolved, opened, base } = await resolveConfig({ ...options, cwd, logger });
  const { fetch, keyring } = opened;
  const limit = createLimiter(8);
  const archs: { apkArch: string; packages: LockPackage[] }[] = [];
  for (const r of resolved) {
    const refs = new Map<string, RepositoryRef>(r.repositories.map((x) => [x.repository, x.ref]));
    // a base image's packages are not locked (as apko): they come with the base
    const locked = newPackages(r.resolution.packages, base && (await base.load(r.arch)));
    const packages = await Promise.all(
      locked.map((pkg) => limit(() => describePackage(pkg, refs.get(pkg.repository)!, r.apkArch, fetch))),
    );
    archs.push({ apkArch: r.apkArch, packages });
  }
  const lock = makeLock({
    configFile: configName(options.config),
    checksum: opened.checksum,
    keys: keyring.entries,
    repositories: config.contents.repositories,
    buildRepositories: config.contents.buildRepositories,
    runtimeRepositories: config.contents.runtimeRepositories,
    archs,
  });
  const text = formatLock(lock);

  let previous: LockFile | undefined;
  let diff: LockDiff | undefined;
  if (existsSync(outputPath)) {
    try {
      previous = parseLock(await readFile(outputPath, 'utf8'), output);
      diff = diffLocks(previous, lock, { before: output, after: output });
    } catch (e) {
      if (!(e instanceof LadingError) || options.check) throw e;
      logger.warn(`${e.message}; writing a new lock in its place`);
    }
  }
  const changed = diff === undefined || !diff.same;
  const written = !options.check && changed;
  if (written) await writeFileAtomic(outputPath, text);
  return { lock, text, output, ...(previous ? { previous } : {}), ...(diff ? { diff } : {}), written };
}

/** One resolved package as a lock entry: read from the repository (or the cache) for its member ranges. */
async function describePackage(
  pkg: RepositoryPackage,
  repo: RepositoryRef,
  apkArch: string,
  fetch: FetchOptions,
): Promise<LockPackage> {
  const label = `${pkg.name}-${pkg.version}`;
  const fetched = await fetchPackage(
    repo,
    apkArch,
    { name: pkg.name, version: pkg.version, checksum: pkg.checksum },
    {
      ...fetch,
      ...(pkg.arch === 'noarch' ? { fallbackDir: 'noarch' } : {}),
      verify: (bytes) => {
        const checksum = readApk(bytes, { file: `${label}.apk`, verifyDataHash: false }).checksum;
        if (pkg.checksum !== undefined && checksum !== pkg.checksum) {
          throw new LadingError(
            'PACKAGE_CHECKSUM_MISMATCH',
            `package ${label} from ${repo.display} does not match its index entry (control checksum ${checksum}, index says ${pkg.checksum})`,
            {
              hint: 'the repository is inconsistent or the package was tampered with; refresh the repository',
            },
          );
        }
      },
    },
  );
  const apk = readApk(fetched.bytes, { file: `${label}.apk` });
  // the directory it was found in: its architecture's, or noarch/ in apk-tools' layout
  const dir = basename(dirname(fetched.location));
  return {
    name: pkg.name,
    url: `${repo.display}/${dir}/${label}.apk`,
    version: pkg.version,
    architecture: apkArch,
    ...apkRanges(apk),
    checksum: apk.checksum,
  };
}
