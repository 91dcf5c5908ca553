/**
 * One version across architectures. Like apko, a multi-architecture resolve leaves out every package name and
 * version that is not available for every architecture being built, so all images of one index carry the same
 * versions (a newer version only x86_64 has is not chosen for any). A `noarch` package listed for any
 * architecture counts as available for all.
 *
 * Availability is read from the index texts (P:, V:, A: of each record) only when a resolution is not in the
 * memo; when the restricted resolve has no solution, the error names each package no version of which every
 * architecture has, with the versions each architecture has.
 */
import { tryParseDependency } from '../apk/dependency.ts';
import { compareVersions } from '../apk/version.ts';
import { LadingError } from '../util/errors.ts';
import { type ArchIndexes, inflateRepositories } from './indexes.ts';

export interface Availability {
  /** In target order. */
  archs: string[];
  /** apk arch → package name → versions its indexes list (records of that arch, noarch or no A:). */
  byArch: Map<string, Map<string, Set<string>>>;
  /** name → versions listed as `noarch` for any architecture: available to all. */
  noarch: Map<string, Set<string>>;
}

/** Part of every memo key of a multi-architecture resolve: the other architectures' indexes decide it too. */
export function crossArchSalt(indexes: readonly ArchIndexes[]): string {
  return `cross-arch ${indexes.map((a) => `${a.apkArch}:${a.repositories.map((r) => r.indexDigest).join(',')}`).join(' ')}`;
}

/** Reads every architecture's indexes for the names and versions they list. */
export async function scanAvailability(indexes: readonly ArchIndexes[]): Promise<Availability> {
  const av: Availability = { archs: indexes.map((a) => a.apkArch), byArch: new Map(), noarch: new Map() };
  for (const a of indexes) {
    const names = new Map<string, Set<string>>();
    av.byArch.set(a.apkArch, names);
    for (const loading of inflateRepositories(a.repositories)) {
      const { text } = await loading;
      scanRecords(text, (name, version, arch) => {
        if (arch !== undefined && arch !== a.apkArch && arch !== 'noarch') return;
        add(names, name, version);
        if (arch === 'noarch') add(av.noarch, name, version);
      });
    }
  }
  return av;
}

function add(map: Map<string, Set<string>>, name: string, version: string): void {
  let set = map.get(name);
  if (set === undefined) map.set(name, (set = new Set()));
  set.add(version);
}

/** Calls `visit` with the P:, V: and A: of each record; a hand-written line scan (a full parse costs 10×). */
export function scanRecords(
  text: string,
  visit: (name: string, version: string, arch: string | undefined) => void,
): void {
  let name: string | undefined;
  let version: string | undefined;
  let arch: string | undefined;
  const flush = () => {
    if (name !== undefined && version !== undefined) visit(name, version, arch);
    name = version = arch = undefined;
  };
  const n = text.length;
  let i = 0;
  while (i < n) {
    let j = text.indexOf('\n', i);
    if (j < 0) j = n;
    if (j === i) flush();
    else if (text.charCodeAt(i + 1) === 58 /* : */) {
      const key = text.charCodeAt(i);
      if (key === 80 /* P */) name = text.slice(i + 2, j);
      else if (key === 86 /* V */) version = text.slice(i + 2, j);
      else if (key === 65 /* A */) arch = text.slice(i + 2, j);
    }
    i = j + 1;
  }
  flush();
}

/** Whether `name`-`version` is available for architecture `apkArch`. */
function has(av: Availability, apkArch: string, name: string, version: string): boolean {
  return (
    av.byArch.get(apkArch)?.get(name)?.has(version) === true || av.noarch.get(name)?.has(version) === true
  );
}

/** The solver's filter for one architecture: true for a name and version some other architecture lacks. */
export function unavailableFor(
  av: Availability,
  apkArch: string,
): (name: string, version: string) => boolean {
  const others = av.archs.filter((a) => a !== apkArch);
  return (name, version) => {
    if (av.noarch.get(name)?.has(version)) return false;
    return others.some((o) => !has(av, o, name, version));
  };
}

export interface ArchProblem {
  name: string;
  /** Per architecture (target order): the versions it has, newest first (noarch ones included). */
  versions: { arch: string; versions: string[] }[];
}

/** Of `names`, those that some architecture has but for which no version is available for every one. */
export function inconsistentNames(av: Availability, names: Iterable<string>): ArchProblem[] {
  const out: ArchProblem[] = [];
  for (const name of [...new Set(names)].sort()) {
    const versions = av.archs.map((arch) => {
      const set = new Set([...(av.byArch.get(arch)?.get(name) ?? []), ...(av.noarch.get(name) ?? [])]);
      return { arch, versions: [...set].sort((a, b) => compareVersions(b, a)) };
    });
    if (versions.every((v) => v.versions.length === 0)) continue;
    const common = versions[0]!.versions.filter((v) => versions.every((w) => w.versions.includes(v)));
    if (common.length === 0) out.push({ name, versions });
  }
  return out;
}

/** The world entries' package names (what a user most likely asked for). */
export function worldNames(world: readonly string[]): string[] {
  const out: string[] = [];
  for (const w of world) {
    const dep = tryParseDependency(w);
    if (typeof dep !== 'string' && !dep.conflict) out.push(dep.name);
  }
  return out;
}

const MAX_VERSIONS = 5;

/** RESOLVE_ARCH_INCONSISTENT naming each package, the versions each architecture has and the ones lacking it. */
export function inconsistencyError(problems: readonly ArchProblem[]): LadingError {
  const lines = problems.map((p) => {
    const has = p.versions
      .map(({ arch, versions }) => {
        if (versions.length === 0) return `${arch} has none`;
        const shown = versions.slice(0, MAX_VERSIONS).join(', ');
        return `${arch} has ${shown}${versions.length > MAX_VERSIONS ? `, … (${versions.length} versions)` : ''}`;
      })
      .join('; ');
    const lacking = p.versions.filter((v) => v.versions.length === 0).map((v) => v.arch);
    const why =
      lacking.length > 0
        ? `${lacking.join(' and ')} ${lacking.length === 1 ? 'lacks' : 'lack'} ${p.name}`
        : 'no version is in every architecture';
    return `  ${p.name}: ${has} (${why})`;
  });
  const names = problems.map((p) => p.name).join(', ');
  return new LadingError(
    'RESOLVE_ARCH_INCONSISTENT',
    `no version of ${names} is available for every architecture being built, and every image of one index must carry the same versions:\n${lines.join('\n')}`,
    {
      hint: 'publish the package for every architecture, build the architectures separately (--arch), or drop it from the world',
    },
  );
}

/**
 * The world's packages at different versions on different architectures (the filter makes every candidate
 * available everywhere, but constraints can still differ per architecture): RESOLVE_ARCH_INCONSISTENT.
 */
export function checkWorldAgreement(
  world: readonly string[],
  archs: readonly { apkArch: string; packages: readonly { name: string; version: string }[] }[],
): void {
  const lines: string[] = [];
  for (const name of new Set(worldNames(world))) {
    const versions = archs.map((a) => ({
      arch: a.apkArch,
      version: a.packages.find((p) => p.name === name)?.version,
    }));
    const distinct = new Set(versions.map((v) => v.version).filter((v) => v !== undefined));
    if (distinct.size > 1) {
      lines.push(`  ${name}: ${versions.map((v) => `${v.arch} ${v.version ?? 'none'}`).join('; ')}`);
    }
  }
  if (lines.length === 0) return;
  throw new LadingError(
    'RESOLVE_ARCH_INCONSISTENT',
    `the world resolves to different versions on different architectures:\n${lines.join('\n')}`,
    {
      hint: 'pin the version in contents.packages (name=version), or build the architectures separately (--arch)',
    },
  );
}
