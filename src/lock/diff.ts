/**
 * What changes between two locks (the one on disk and a fresh one): per architecture, the packages added,
 * removed, upgraded, downgraded or rebuilt at the same version; and the rest of the lock (config checksum,
 * keys, repositories). `lading lock --check` prints it and fails when anything differs; `lading lock` prints it
 * when it rewrites a lock.
 */
import { compareVersions } from '../apk/version.ts';
import { apkArch } from '../platform/arch.ts';
import { lockedByArch } from './entries.ts';
import { formatLock, type LockFile, type LockPackage } from './format.ts';

export interface ArchChanges {
  arch: string;
  added: string[];
  removed: string[];
  upgraded: string[];
  downgraded: string[];
  /** Same version, different package (checksum): rebuilt or replaced in the repository. */
  rebuilt: string[];
}

export interface LockDiff {
  /** True when the files would be byte for byte the same. */
  same: boolean;
  archs: ArchChanges[];
  /** Differences outside the package lists, in words. */
  other: string[];
}

export function diffLocks(
  before: LockFile,
  after: LockFile,
  files: { before: string; after: string },
): LockDiff {
  const same = formatLock(before) === formatLock(after);
  const old = lockedByArch(before, files.before);
  const next = lockedByArch(after, files.after);
  const archs: ArchChanges[] = [];
  for (const arch of new Set([...next.keys(), ...old.keys()])) {
    const a = byName(old.get(arch) ?? []);
    const b = byName(next.get(arch) ?? []);
    const c: ArchChanges = {
      arch: apkArch(arch),
      added: [],
      removed: [],
      upgraded: [],
      downgraded: [],
      rebuilt: [],
    };
    for (const [name, p] of b) {
      const q = a.get(name);
      if (q === undefined) c.added.push(`${name}-${p.version}`);
      else {
        const order = compareVersions(p.version, q.version);
        if (order > 0) c.upgraded.push(`${name} ${q.version} → ${p.version}`);
        else if (order < 0) c.downgraded.push(`${name} ${q.version} → ${p.version}`);
        else if (p.checksum !== q.checksum) c.rebuilt.push(`${name}-${p.version}`);
      }
    }
    for (const [name, q] of a) if (!b.has(name)) c.removed.push(`${name}-${q.version}`);
    if (c.added.length + c.removed.length + c.upgraded.length + c.downgraded.length + c.rebuilt.length > 0)
      archs.push(c);
  }
  const other: string[] = [];
  if (before.config?.checksum !== after.config?.checksum)
    other.push('the config changed (its checksum differs)');
  const keys = (l: LockFile) => l.contents.keyring.map((k) => `${k.url}\n${k.content ?? ''}`).join('\n\n');
  if (keys(before) !== keys(after)) other.push('the keys differ');
  const repos = (l: LockFile) =>
    JSON.stringify([l.contents.repositories, l.contents.build_repositories, l.contents.runtime_repositories]);
  if (repos(before) !== repos(after)) other.push('the repositories differ');
  if (!same && archs.length === 0 && other.length === 0)
    other.push('the order or the byte ranges of packages differ');
  return { same, archs, other };
}

/** The diff as lines for people: one block per architecture. */
export function formatLockDiff(diff: LockDiff): string[] {
  const lines: string[] = [];
  for (const c of diff.archs) {
    lines.push(`${c.arch}:`);
    const add = (label: string, items: string[]) => {
      if (items.length) lines.push(`  ${label}: ${items.join(', ')}`);
    };
    add('added', c.added);
    add('removed', c.removed);
    add('upgraded', c.upgraded);
    add('downgraded', c.downgraded);
    add('rebuilt (same version, new checksum)', c.rebuilt);
  }
  lines.push(...diff.other);
  return lines;
}

function byName(list: readonly LockPackage[]): Map<string, LockPackage> {
  return new Map(list.map((p) => [p.name, p]));
}
