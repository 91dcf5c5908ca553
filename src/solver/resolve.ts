/**
 * The resolver's public entry points: world strings in, the package set (in install order) and its
 * dependency graph out, or a LadingError explaining why no set exists.
 */
import { type Dependency, formatDependency } from '../apk/dependency.ts';
import type { PackageInfo, RepositoryPackage } from '../apk/types.ts';
import { compareVersions, type VersionRules } from '../apk/version.ts';
import { LadingError } from '../util/errors.ts';
import { explainFailure } from './explain.ts';
import {
  type DepNode,
  type InstalledPackage,
  PackageIndex,
  type PkgNode,
  type SolverRepository,
} from './package-index.ts';
import { checkWorldTags, solveState } from './solve.ts';
import type { Change, SolveOptions, SolveState } from './state.ts';

export interface ResolvedEdge {
  /** Index into Resolution.packages of the package that has the dependency; -1 for a world entry. */
  from: number;
  /** Index into Resolution.packages of the package that satisfies it. */
  to: number;
  /** The dependency as written (`so:libc.musl-x86_64.so.1`, `python3~3.11`, the world entry). */
  dependency: string;
  /** `install_if`: `to` is installed because all of its install_if conditions hold (`from` is one). */
  kind: 'world' | 'depends' | 'install_if';
}

export type ChangeAction =
  | 'install'
  | 'remove'
  | 'upgrade'
  | 'downgrade'
  | 'replace'
  | 'reinstall'
  | 'repin'
  | 'keep';

export interface PackageChange {
  action: ChangeAction;
  /** The installed package replaced or removed. */
  old?: PackageInfo;
  /** The package installed or kept. */
  new?: RepositoryPackage;
}

export interface Resolution {
  /** Every package of the result (installed base included), dependencies before dependents, as apk orders them. */
  packages: RepositoryPackage[];
  /** The world entries, parsed, in apk's order (sorted by name). */
  world: Dependency[];
  /** The resolved dependency graph over `packages`. */
  edges: ResolvedEdge[];
  /** Against the installed database: what changes, in apk's order (removals included). */
  changes: PackageChange[];
}

export interface ResolveOptions extends SolveOptions {
  /** Columns to wrap the explanation at (apk uses the terminal width; 80 by default). */
  width?: number;
}

export interface IndexInput {
  repositories: readonly SolverRepository[];
  arch?: string;
  installed?: readonly InstalledPackage[];
  rules?: VersionRules;
  /** See IndexOptions.unavailable. */
  unavailable?: (name: string, version: string) => boolean;
}

/** Builds the lookup structures once; reuse the index for several worlds over the same repositories. */
export function buildPackageIndex(input: IndexInput): PackageIndex {
  return new PackageIndex(input.repositories, {
    arch: input.arch,
    installed: input.installed,
    rules: input.rules,
    unavailable: input.unavailable,
  });
}

/**
 * buildPackageIndex with the repositories' texts still arriving (e.g. being inflated): each is scanned as soon as it
 * and the ones before it are there, so the next one inflates meanwhile. Rejects with the first failure in
 * repository order.
 */
export async function buildPackageIndexAsync(
  input: IndexInput & {
    texts: readonly Promise<{ text: string; latin1?: boolean }>[];
    /** About how many characters the texts have in all (sizes the tables once). */
    expectedChars?: number;
  },
): Promise<PackageIndex> {
  if (input.texts.length !== input.repositories.length) throw new Error('bug: one text per repository');
  for (const t of input.texts) t.catch(() => {}); // each is awaited below, in order; none may go unhandled
  const index = new PackageIndex(input.repositories, {
    arch: input.arch,
    installed: input.installed,
    rules: input.rules,
    unavailable: input.unavailable,
    deferred: true,
    expectedChars: input.expectedChars,
  });
  for (let i = 0; i < input.texts.length; i++) {
    const { text, latin1 } = await input.texts[i]!;
    index.scanRepository(i, text, latin1);
  }
  return index;
}

/** Parses world entries; throws LadingError('DEPENDENCY_INVALID') naming a bad one. */
export function parseWorld(index: PackageIndex, world: readonly string[]): DepNode[] {
  return world.map((w) => index.dep(w, undefined, 'world entry'));
}

/**
 * Resolves a world against an index. Throws LadingError('SOLVER_UNSATISFIABLE') with apk's
 * "unable to select packages" tree (and hints) when no package set satisfies it.
 *
 * The solver decides as apk-tools 2.14.4 does, with those of apk-tools 3's fixes that agree with it on the
 * real Alpine indexes (APK3_DEFAULT in state.ts), and apk 3's negated install_if when asked
 * (options.apk3InstallIf). A solver without backtracking can be led by a fix to a choice that fails later
 * where 2.14.4's choice would not have: then the world is solved again as 2.14.4 solves it, so that no world
 * apk-tools solves is refused.
 */
export function resolve(
  index: PackageIndex,
  world: readonly string[],
  options: ResolveOptions = {},
): Resolution {
  const deps = parseWorld(index, world);
  checkWorldTags(index, deps);
  const state = solveState(index, deps, options);
  if (state.errors > 0) {
    if (state.apk3Used && options.apk214 !== true) {
      const as214 = solveState(index, deps, { ...options, apk214: true });
      if (as214.errors === 0) return toResolution(as214);
    }
    const e = explainFailure(state, { width: options.width });
    throw new LadingError('SOLVER_UNSATISFIABLE', e.message, { hint: e.hint });
  }
  return toResolution(state);
}

/** buildPackageIndex + resolve in one call. */
export function resolvePackages(
  input: IndexInput & { world: readonly string[]; options?: ResolveOptions },
): Resolution {
  return resolve(buildPackageIndex(input), input.world, input.options);
}

function repositoryPackage(index: PackageIndex, node: PkgNode, tagId: number): RepositoryPackage {
  const allowed = node.repos & index.tags[tagId]!.repos;
  const repo = PackageIndex.lowestRepository(allowed || node.repos);
  const source = repo >= 0 ? index.repositories[repo]! : undefined;
  const out: RepositoryPackage = {
    ...index.infoOf(node),
    repository: source?.repository ?? '',
    repositoryIndex: repo,
  };
  // apk's repository_tag: the pinning the package is installed under (a package of a tagged repository can
  // be installed without it: an I:0 one, which any pinning allows)
  if (tagId !== 0) out.tag = index.tags[tagId]!.name;
  return out;
}

function changeAction(c: Change, rules: VersionRules): ChangeAction {
  if (c.new === null) return 'remove';
  if (c.old === null) return 'install';
  if (c.old !== c.new) {
    if (c.old.node.name !== c.new.node.name) return 'replace';
    const r = compareVersions(c.new.node.version, c.old.node.version, rules);
    return r > 0 ? 'upgrade' : r < 0 ? 'downgrade' : 'replace';
  }
  if (c.reinstall) return 'reinstall';
  if (c.newTagId !== c.oldTagId) return 'repin';
  return 'keep';
}

export function toResolution(state: SolveState): Resolution {
  const { index } = state;
  const packages: RepositoryPackage[] = [];
  const position = new Map<PkgNode, number>();
  const changes: PackageChange[] = [];
  for (const c of state.changes) {
    let pkg: RepositoryPackage | undefined;
    if (c.new !== null) {
      pkg = repositoryPackage(index, c.new.node, c.newTagId);
      position.set(c.new.node, packages.length);
      packages.push(pkg);
    }
    const change: PackageChange = { action: changeAction(c, index.rules) };
    if (c.old !== null) change.old = index.infoOf(c.old.node);
    if (pkg !== undefined) change.new = pkg;
    changes.push(change);
  }
  const edges: ResolvedEdge[] = [];
  const chosenOf = (d: DepNode) => {
    const p = state.name(d.name).chosenPkg;
    return p === null ? undefined : position.get(p.node);
  };
  for (const d of state.world) {
    if (d.conflict) continue;
    const to = chosenOf(d);
    if (to !== undefined) edges.push({ from: -1, to, dependency: formatDependency(d.dep), kind: 'world' });
  }
  for (const [node, from] of position) {
    for (const d of index.dependsOf(node)) {
      if (d.conflict) continue;
      const to = chosenOf(d);
      if (to !== undefined) edges.push({ from, to, dependency: formatDependency(d.dep), kind: 'depends' });
    }
  }
  for (const [node, to] of position) {
    if (node.installIf.length === 0) continue;
    const triggers = node.installIf.map((d) => (d.conflict ? undefined : chosenOf(d)));
    const holds = node.installIf.every((d, i) => {
      const n = state.name(d.name);
      return (
        state.depIsProvided(d, n.chosenPkg?.node ?? null, n.chosenVersion, node) &&
        (d.conflict || triggers[i] !== undefined)
      );
    });
    if (!holds) continue;
    node.installIf.forEach((d, i) => {
      const from = triggers[i];
      if (from !== undefined)
        edges.push({ from, to, dependency: formatDependency(d.dep), kind: 'install_if' });
    });
  }
  return { packages, world: state.world.map((d) => d.dep), edges, changes };
}
