/**
 * Small synthetic repositories in the apk-tools solver-test format (`.repo` files of APKINDEX records and a
 * `.test` with @ARGS), drawn from a seed, combining the rare features random worlds over a real index seldom
 * meet: versions and version constraints, `!conflicts`, versioned and unversioned provides (also of names
 * that are real packages), provider_priority, install_if with negations, replaces, origins, other
 * architectures, virtual (I:0) packages, packages listed in two repositories, tagged repositories and
 * pinned world entries.
 *
 * Used by the differential against the real apk-tools (scripts/solver-fuzz.ts over thousands of seeds,
 * test/solver/synthetic.test.ts over a fixed sample with golden answers).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { PackageIndex } from '../../src/solver/package-index.ts';
import { buildPackageIndex, type ResolveOptions } from '../../src/solver/resolve.ts';
import { encodeTarHeader, TAR_END, tarPadding } from '../../src/tar/writer.ts';
import { prng } from './alpine-worlds.ts';
import { ladingOutcome } from './differential.ts';
import type { OracleRepository, Outcome } from './oracle.ts';

export interface SyntheticRepository {
  /** File name of its `.repo` (as in the apk-tools suite). */
  file: string;
  tag?: string;
  /** APKINDEX text. */
  text: string;
}

export interface SyntheticCase {
  seed: number;
  repositories: SyntheticRepository[];
  world: string[];
}

/** Seeds 1…this are the fixed sample `npm test` checks against golden answers (synthetic.test.ts). */
export const SYNTHETIC_GOLDEN_SEEDS = 300;

const VERSIONS = ['1', '1.0', '1.0-r1', '1.2', '2', '2.0_rc1', '2.0', '2.0-r3', '3.1_p1', '10'];
const OPS = ['=', '<', '>', '<=', '>=', '~'];
/** Names no package is called: only provided (like so:, cmd:, pc: names and virtual names). */
const PROVIDED_ONLY = ['so:libv.so.1', 'so:libw.so.2', 'cmd:tool', 'pc:kit', 'virt', 'mail-reader'];
const ARCH = 'x86_64';

/** A case from a seed: the same seed always gives the same repositories and world. */
export function syntheticCase(seed: number): SyntheticCase {
  const r = prng(seed);
  const chance = (p: number) => r() < p;
  const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  const pick = <T>(a: readonly T[]): T => a[Math.floor(r() * a.length)]!;

  const nameCount = int(4, 14);
  const names = Array.from({ length: nameCount }, (_, i) => String.fromCharCode(97 + i)); // a, b, c, …
  const libraries = PROVIDED_ONLY.slice(0, int(1, PROVIDED_ONLY.length));
  const provideNames = [...names, ...libraries];
  /** The name whose packages provide each library name. */
  const owner = new Map(libraries.map((l) => [l, pick(names)]));
  const repoCount = int(1, 3);
  const tags = Array.from({ length: repoCount }, (_, i) => (i > 0 && chance(0.35) ? `t${i}` : undefined));
  const records: string[][] = Array.from({ length: repoCount }, () => []);

  // Versions each name is had at (packages first get their versions, so constraints can mostly be met).
  const versionsOf = new Map<string, string[]>();
  const versionFor = (name: string) => {
    const had = versionsOf.get(name);
    return had !== undefined && chance(0.7) ? pick(had) : pick(VERSIONS);
  };
  const versioned = (name: string) => {
    if (!chance(0.15)) return name;
    return `${name}${pick(OPS)}${versionFor(name)}`;
  };
  interface Pkg {
    lines: string[];
    depends: string[];
    provides: string[];
    tail: string[];
    repo: number;
    alsoIn: number;
  }
  const pkgs: Pkg[] = [];
  // every name has a package first; then more versions of random names
  const drawn = Array.from({ length: int(nameCount, nameCount * 3) }, (_, i) => {
    const at = i < nameCount ? i : int(0, nameCount - 1);
    const version = pick(VERSIONS);
    versionsOf.set(names[at]!, [...(versionsOf.get(names[at]!) ?? []), version]);
    return { at, version };
  });
  for (const [i, { at, version }] of drawn.entries()) {
    const name = names[at]!;
    const lines = [`C:${checksum(r)}`, `P:${name}`, `V:${version}`];
    if (i >= nameCount && chance(0.08)) lines.push('A:aarch64');
    else if (chance(0.1)) lines.push('A:noarch');
    else lines.push(`A:${ARCH}`);
    lines.push('S:1', `I:${chance(0.06) ? 0 : 1}`);
    if (chance(0.3)) lines.push(`o:${pick(names)}`);
    if (chance(0.15)) lines.push(`k:${int(1, 100)}`);
    const depends: string[] = [];
    for (let d = pick([0, 0, 1, 1, 1, 2, 2, 3]); d > 0; d--) {
      // mostly on names further down the alphabet, as libraries are: few cycles
      const lower = provideNames.slice(at + 1);
      const target = chance(0.015)
        ? `missing${int(1, 2)}`
        : lower.length > 0 && chance(0.85)
          ? pick(lower)
          : pick(provideNames);
      if (target === name) continue;
      depends.push(chance(0.04) ? `!${versioned(target)}` : versioned(target));
    }
    // Library and command names (so:, cmd:, pc:) are provided with a version by the packages of one name,
    // as in Alpine; virtual names without one, by several. At times a package provides another name too
    // (also one that is a real package: the rare mixes real indexes seldom have).
    const provides: string[] = [];
    const provide = (provided: string, withVersion: boolean) => {
      if (provided === name || provides.some((x) => x.split('=')[0] === provided)) return;
      provides.push(withVersion ? `${provided}=${pick(VERSIONS)}` : provided);
      // a package providing a name and conflicting with it (apk 3 lets it: the conflict is with the others)
      if (chance(0.05)) depends.push(`!${provided}`);
    };
    for (const lib of libraries) {
      if (owner.get(lib) === name && chance(0.85))
        provide(lib, lib.includes(':') ? chance(0.9) : chance(0.2));
    }
    if (chance(0.15)) {
      const other = chance(0.5) ? pick(names) : pick(libraries);
      provide(other, chance(0.5));
    }
    const tail: string[] = [];
    if (chance(0.2)) {
      const conditions: string[] = [];
      for (let c = int(1, 2); c > 0; c--) {
        const trigger = pick(provideNames);
        if (trigger === name) continue;
        conditions.push(chance(0.25) ? `!${trigger}` : versioned(trigger));
      }
      if (conditions.length) tail.push(`i:${[...new Set(conditions)].join(' ')}`);
    }
    if (chance(0.1)) tail.push(`r:${pick(names)}`);
    // A name's first package is in an untagged repository; tagged ones hold other versions, as overlays
    // such as @testing do. The same package (same checksum) is listed in another repository at times.
    const untagged = tags.flatMap((t, k) => (t === undefined ? [k] : []));
    const repo = i < nameCount ? pick(untagged) : int(0, repoCount - 1);
    pkgs.push({
      lines,
      depends,
      provides,
      tail,
      repo,
      alsoIn: repoCount > 1 && chance(0.1) ? (repo + 1) % repoCount : -1,
    });
  }
  for (const p of pkgs) {
    const lines = [...p.lines];
    if (p.depends.length) lines.push(`D:${[...new Set(p.depends)].join(' ')}`);
    if (p.provides.length) lines.push(`p:${[...new Set(p.provides)].join(' ')}`);
    const text = [...lines, ...p.tail].join('\n');
    records[p.repo]!.push(text);
    if (p.alsoIn !== -1) records[p.alsoIn]!.push(text);
  }

  const world: string[] = [];
  const seen = new Set<string>();
  for (let w = int(1, 4); w > 0; w--) {
    const name = chance(0.8) ? pick(names) : pick(provideNames);
    if (seen.has(name)) continue;
    seen.add(name);
    const tag = tags.filter((t) => t !== undefined);
    let entry = name;
    if (tag.length > 0 && chance(0.3)) entry += `@${pick(tag)}`;
    if (chance(0.15)) entry += `${pick(['=', '<', '>=', '~'])}${versionFor(name)}`;
    if (chance(0.08)) entry = `!${entry}`;
    world.push(entry);
  }
  return {
    seed,
    repositories: records.map((recs, i) => {
      const repo: SyntheticRepository = { file: `r${i}.repo`, text: `${recs.join('\n\n')}\n` };
      if (tags[i] !== undefined) repo.tag = tags[i];
      return repo;
    }),
    world,
  };
}

/** `Q1` + base64 of 20 random bytes: a package identity (apk dedupes records by it). */
function checksum(r: () => number): string {
  const bytes = Buffer.alloc(20);
  for (let i = 0; i < 20; i++) bytes[i] = Math.floor(r() * 256);
  return `Q1${bytes.toString('base64')}`;
}

/**
 * The case as lading's resolver input (repositories in order, each index scanned as text). `otherArch`: keep
 * packages of other architectures as candidates, as apk-tools 2.14.4 does (apk 3 and lading refuse them).
 */
export function syntheticIndex(c: SyntheticCase, options: { otherArch?: boolean } = {}) {
  return buildPackageIndex({
    repositories: c.repositories.map((repo) =>
      repo.tag === undefined
        ? { repository: repo.file, text: repo.text }
        : { repository: repo.file, tag: repo.tag, text: repo.text },
    ),
    arch: options.otherArch ? undefined : ARCH,
  });
}

/**
 * lading's answers to the case, as differential.ts classify asks for them: with `options` (apk3InstallIf), the
 * APK3_* bits `off` turned off and, when `otherArch`, packages of other architectures kept. Each of the case's two
 * indexes is built once.
 */
export function syntheticAnswers(c: SyntheticCase) {
  const indexes: (PackageIndex | undefined)[] = [];
  return (off: number | true = 0, otherArch = false, options: ResolveOptions = {}): Outcome => {
    const i = otherArch ? 1 : 0;
    const index = (indexes[i] ??= syntheticIndex(c, { otherArch }));
    return ladingOutcome(index, c.world, { ...options, apk214: off });
  };
}

/** Whether an install_if of the case has a negated condition: the cases apk3InstallIf can change. */
export function hasNegatedInstallIf(c: SyntheticCase): boolean {
  return c.repositories.some((r) => /^i:(?:.*\s)?!/m.test(r.text));
}

/** Writes the case's repositories for the real apk (`<dir>/<name>/x86_64/APKINDEX.tar.gz`, unsigned). */
export function writeApkRepositories(c: SyntheticCase, dir: string): OracleRepository[] {
  return c.repositories.map((repo) => {
    const at = join(dir, repo.file.replace(/\.repo$/, ''));
    mkdirSync(join(at, ARCH), { recursive: true });
    const text = Buffer.from(repo.text);
    const header = {
      name: 'APKINDEX',
      type: 'file',
      mode: 0o644,
      uid: 0,
      gid: 0,
      size: text.length,
      mtime: 0,
    } as const;
    const tar = Buffer.concat([encodeTarHeader(header), text, tarPadding(text.length), TAR_END]);
    writeFileSync(join(at, ARCH, 'APKINDEX.tar.gz'), gzipSync(tar));
    return repo.tag === undefined ? { dir: at } : { dir: at, tag: repo.tag };
  });
}

/** The case in the apk-tools test format: its `.repo` files and a `.test` whose @EXPECT is `expect`. */
export function caseFiles(c: SyntheticCase, name: string, expect: string): Record<string, string> {
  const files: Record<string, string> = {};
  const args: string[] = [];
  for (const repo of c.repositories) {
    const file = `${name}-${repo.file}`;
    files[file] = repo.text;
    args.push(`--test-repo ${repo.tag === undefined ? '' : `${repo.tag}:`}${file}`);
  }
  args.push(`add ${c.world.join(' ')}`);
  files[`${name}.test`] = `@ARGS\n${args.join('\n')}\n@EXPECT\n${expect.trimEnd()}\n`;
  return files;
}

/** An answer as apk prints it, for a case's @EXPECT: the install lines, or ERROR and the tree. */
export function expectText(o: Outcome): string {
  if (!o.ok) return `ERROR: ${o.tree}`;
  return o.order
    .map((p, i) => {
      // name[@tag]-version: the version is the shortest tail starting with a digit (with its -rN)
      const m = /^(.+)-(\d[^-]*(?:-r\d+)?)$/.exec(p);
      return `(${i + 1}/${o.order.length}) Installing ${m ? `${m[1]} (${m[2]})` : p}`;
    })
    .join('\n');
}

/** The smaller cases one edit away: a world entry, a record, a field line or one word of a list dropped. */
function* reductions(c: SyntheticCase): Generator<SyntheticCase> {
  const withWorld = (world: string[]) => ({ ...c, world });
  for (let i = 0; i < c.world.length; i++) if (c.world.length > 1) yield withWorld(c.world.toSpliced(i, 1));
  const records = c.repositories.map((r) => r.text.split('\n\n').filter((x) => x.trim() !== ''));
  const withRecords = (ri: number, recs: string[]): SyntheticCase => ({
    ...c,
    repositories: c.repositories.map((r, i) => (i === ri ? { ...r, text: `${recs.join('\n\n')}\n` } : r)),
  });
  for (const [ri, recs] of records.entries()) {
    for (let k = 0; k < recs.length; k++) yield withRecords(ri, recs.toSpliced(k, 1));
  }
  for (const [ri, recs] of records.entries()) {
    for (let k = 0; k < recs.length; k++) {
      const lines = recs[k]!.split('\n');
      for (let l = 0; l < lines.length; l++) {
        const line = lines[l]!;
        const field = line.slice(0, 2);
        if (['D:', 'p:', 'i:', 'k:', 'o:', 'r:', 'A:'].includes(field))
          yield withRecords(ri, recs.toSpliced(k, 1, lines.toSpliced(l, 1).join('\n')));
        const words = line.slice(2).split(' ');
        if (['D:', 'p:', 'i:'].includes(field) && words.length > 1) {
          for (let w = 0; w < words.length; w++) {
            const shorter = `${field}${words.toSpliced(w, 1).join(' ')}`;
            yield withRecords(ri, recs.toSpliced(k, 1, lines.toSpliced(l, 1, shorter).join('\n')));
          }
        }
      }
    }
  }
}

/** Drops what it can while `bad` holds (greedy, first reduction that keeps it, until none does). */
export async function minimize(
  c: SyntheticCase,
  bad: (c: SyntheticCase) => Promise<boolean>,
): Promise<SyntheticCase> {
  for (let smaller = true; smaller; ) {
    smaller = false;
    for (const candidate of reductions(c)) {
      if (await bad(candidate)) {
        c = candidate;
        smaller = true;
        break;
      }
    }
  }
  return c;
}
