/**
 * Does a lock still belong to the config? Its `config.checksum` must match the config's files (compared with
 * LF line endings, so a CRLF checkout of an unchanged config still matches, or as raw bytes, as apko hashes
 * them). When it does not, the lock is stale, and the error says what changed as far as the lock can tell:
 * architectures, repositories, keys, and world entries the locked packages no longer satisfy.
 */
import { dependencySatisfiedBy, tryParseDependency } from '../apk/dependency.ts';
import type { ImageConfig } from '../config/types.ts';
import { type Arch, apkArch } from '../platform/arch.ts';
import { isDiscoverableKeyUrl } from '../repo/key-discovery.ts';
import { parseRepositoryRef } from '../repo/ref.ts';
import { LadingError } from '../util/errors.ts';
import { lockedByArch, lockRepositoryName } from './entries.ts';
import type { LockFile, LockRepository } from './format.ts';

export interface LockContext {
  /** The lock file, as given (for messages). */
  lockFile: string;
  /** The config file, as given. */
  configFile: string;
  config: ImageConfig;
  /** LoadedConfig.checksum (line endings read as LF) and rawChecksum (bytes as read). */
  checksum: string;
  rawChecksum: string;
  /** The architectures to build. */
  targets: readonly Arch[];
  /** `--arch` was given: the targets are a chosen subset. */
  archsChosen: boolean;
}

const regenerate = (ctx: Pick<LockContext, 'configFile' | 'lockFile'>) =>
  `regenerate it: lading lock ${ctx.configFile} -o ${ctx.lockFile} (lading lock --check shows what would change)`;

/**
 * Checks the lock against the config and the target architectures. Returns notes to print (a CRLF config
 * compared as LF, a lock without a config checksum); throws LOCK_STALE or LOCK_ARCH_MISSING.
 */
export function checkLockForConfig(lock: LockFile, ctx: LockContext): string[] {
  const notes: string[] = [];
  const recorded = lock.config?.checksum;
  if (recorded === undefined) {
    notes.push(
      `${ctx.lockFile} records no config checksum, so whether it was made from ${ctx.configFile} cannot be checked`,
    );
  } else if (recorded === ctx.checksum) {
    if (ctx.checksum !== ctx.rawChecksum) {
      notes.push(
        `${ctx.configFile} has CRLF line endings: its checksum was compared with LF line endings (as on the checkout the lock was made from), and matches ${ctx.lockFile}`,
      );
    }
  } else if (recorded !== ctx.rawChecksum) {
    const changes = describeChanges(lock, ctx);
    const what = changes.length
      ? `:\n${changes.map((c) => `  - ${c}`).join('\n')}`
      : ` (the lock's architectures, repositories, keys and packages still fit the config, so the change is elsewhere, e.g. image settings)`;
    throw new LadingError(
      'LOCK_STALE',
      `the lock is stale: ${ctx.configFile} changed since the lock was written${what}`,
      { file: ctx.lockFile, hint: regenerate(ctx) },
    );
  }
  const locked = lockedByArch(lock, ctx.lockFile);
  const missing = ctx.targets.filter((a) => !locked.has(a));
  if (missing.length > 0) {
    const names = missing.map(apkArch).join(', ');
    const have = [...locked.keys()].map(apkArch).join(', ') || 'none';
    throw new LadingError('LOCK_ARCH_MISSING', `the lock has no packages for ${names} (it locks ${have})`, {
      file: ctx.lockFile,
      hint: ctx.archsChosen
        ? `build only locked architectures with --arch, or lock ${names} too: lading lock ${ctx.configFile} --arch …`
        : regenerate(ctx),
    });
  }
  return notes;
}

/** What differs between the lock and the config, as far as the lock records it. */
function describeChanges(lock: LockFile, ctx: LockContext): string[] {
  const out: string[] = [];
  const locked = lockedByArch(lock, ctx.lockFile);
  const lockedArchs = [...locked.keys()];
  const added = ctx.targets.filter((a) => !locked.has(a)).map(apkArch);
  const dropped = ctx.archsChosen ? [] : lockedArchs.filter((a) => !ctx.targets.includes(a)).map(apkArch);
  if (added.length) out.push(`architectures added: ${added.join(', ')}`);
  if (dropped.length) out.push(`architectures removed: ${dropped.join(', ')}`);

  const { contents } = ctx.config;
  const repoChange = (what: string, entries: readonly string[], inLock: readonly LockRepository[]) => {
    const want = new Set(entries.map(lockRepositoryName));
    const have = new Set(inLock.map((r) => r.name.slice(0, r.name.length - r.architecture.length - 1)));
    const plus = [...want].filter((r) => !have.has(r));
    const minus = [...have].filter((r) => !want.has(r));
    if (plus.length) out.push(`${what} added: ${plus.join(', ')}`);
    if (minus.length) out.push(`${what} removed: ${minus.join(', ')}`);
  };
  repoChange('repositories', contents.repositories, lock.contents.repositories);
  repoChange('build repositories', contents.buildRepositories, lock.contents.build_repositories);
  repoChange('runtime repositories', contents.runtimeRepositories, lock.contents.runtime_repositories);

  const keysWanted = new Set(contents.keyring);
  const keysLocked = new Set(lock.contents.keyring.map((k) => k.url));
  const keyPlus = [...keysWanted].filter((k) => !keysLocked.has(k));
  // keys discovery found for the repositories are in the lock but not in the config
  const refs = [...contents.repositories, ...contents.buildRepositories].map((r) => parseRepositoryRef(r));
  const keyMinus = [...keysLocked].filter((k) => !keysWanted.has(k) && !isDiscoverableKeyUrl(k, refs));
  if (keyPlus.length) out.push(`keys added: ${keyPlus.join(', ')}`);
  if (keyMinus.length) out.push(`keys removed: ${keyMinus.join(', ')}`);

  // world entries naming a package: is a locked package of that name there, at a version that fits?
  for (const entry of contents.packages) {
    const dep = tryParseDependency(entry);
    if (typeof dep === 'string' || dep.conflict || dep.name.includes(':')) continue;
    for (const arch of lockedArchs) {
      const pkg = locked.get(arch)!.find((p) => p.name === dep.name);
      if (pkg === undefined) {
        // it may be provided under another name; only a name no locked package has is surely new
        if (![...locked.values()].some((list) => list.some((p) => p.name === dep.name))) {
          out.push(`package added: ${entry} (not in the lock)`);
        }
        break;
      }
      if (!dependencySatisfiedBy(dep, { version: pkg.version, checksum: pkg.checksum })) {
        out.push(`package ${entry}: the lock has ${pkg.name}-${pkg.version} (${apkArch(arch)})`);
        break;
      }
    }
  }
  return out;
}
