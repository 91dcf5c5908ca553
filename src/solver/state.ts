/**
 * The solver's per-solve state of names and packages (apk-tools' apk_name.ss and apk_package.ss), the
 * changeset records it produces, and the flags and options of a solve (apk_solver.h).
 */
import type { DepNode, NameNode, PackageIndex, PkgNode } from './package-index.ts';

/** apk's solver flags (apk_solver.h). */
export const SOLVERF_UPGRADE = 0x01;
export const SOLVERF_AVAILABLE = 0x02;
export const SOLVERF_REINSTALL = 0x04;
export const SOLVERF_LATEST = 0x08;
export const SOLVERF_IGNORE_CONFLICT = 0x10;
export const SOLVERF_IGNORE_UPGRADE = 0x20;

export interface NameFlags {
  name: string;
  flags: number;
  /** Flags passed on to the package's dependencies. */
  inheritable: number;
}

export interface SolveOptions {
  /** Global flags (apk `upgrade` = SOLVERF_UPGRADE, `-a` = SOLVERF_AVAILABLE, `--latest` = SOLVERF_LATEST). */
  flags?: number;
  /** Flags for every provider of a name, as `apk add --upgrade NAME` or `apk fix NAME` set them. */
  nameFlags?: readonly NameFlags[];
  /** apk --force-broken-world: leave out world entries that cannot be satisfied instead of failing. */
  forceBrokenWorld?: boolean;
  /** apk's self-upgrade pass: keep installed packages unless a name is flagged for upgrade. */
  selfUpgrade?: boolean;
}

/** Per-solve state of a name (apk_name.ss). */
export interface NameState {
  node: NameNode;
  seen: boolean;
  locked: boolean;
  chosenPkg: PkgState | null;
  chosenVersion: string | null;
  requirers: number;
  mergeDepends: number;
  mergeProvides: number;
  hasVirtualProvides: boolean;
  hasOptions: boolean;
  hasIif: boolean;
  noIif: boolean;
  reevaluateDeps: boolean;
  reevaluateIif: boolean;
  reverseDepsDone: boolean;
  maxDepChain: number;
  inDirty: boolean;
  inUnresolved: boolean;
  prev: NameState | null;
  next: NameState | null;
  inChangeset: boolean;
  installedPkg: PkgState | null;
  installedName: NameState | null;
  /**
   * Names whose (discovered) providers depend on this name (apk_name.rdepends restricted to this solve),
   * in discovery order until reverseDeps() puts them in apk's order.
   */
  rdepends: NameState[];
  rdependsSorted: boolean;
}

/** Per-solve state of a package (apk_package.ss). */
export interface PkgState {
  node: PkgNode;
  seen: boolean;
  available: boolean;
  selectable: boolean;
  iifTriggered: boolean;
  iifFailed: boolean;
  tagPreferred: boolean;
  tagOk: boolean;
  pinningAllowed: number;
  pinningPreferred: number;
  maxDepChain: number;
  conflicts: number;
  dependenciesMerged: boolean;
  dependenciesUsed: boolean;
  solverFlags: number;
  solverFlagsInheritable: number;
  error: boolean;
  inChangeset: boolean;
  /** Marked as part of the result (for explanations). */
  marked: boolean;
}

export interface Change {
  old: PkgState | null;
  new: PkgState | null;
  oldTagId: number;
  newTagId: number;
  reinstall: boolean;
}

/** The raw outcome of one solve, with the solver's state kept for explanations and graphs. */
export interface SolveState {
  index: PackageIndex;
  world: DepNode[];
  changes: Change[];
  errors: number;
  name(n: NameNode): NameState;
  pkg(p: PkgNode): PkgState;
  /** Installed packages in installed-database order. */
  installed: PkgState[];
  /** apk_dep_is_provided under this solve's rules (pkg null = nothing provides the name). */
  depIsProvided(dep: DepNode, pkg: PkgNode | null, version: string | null): boolean;
  /** The names whose packages depend on `n`, in apk's order. */
  reverseDeps(n: NameState): NameState[];
}

export const DEP_IRRELEVANT = 1;
export const DEP_SATISFIES = 2;
export const DEP_CONFLICTS = 4;

/** apk_dep_analyze: whether `dep` is satisfied by `pkg`, conflicts with it, or does not concern it. */
export function depAnalyze(s: Pick<SolveState, 'depIsProvided'>, dep: DepNode, pkg: PkgNode): number {
  if (dep.name === pkg.name) return s.depIsProvided(dep, pkg, pkg.version) ? DEP_SATISFIES : DEP_CONFLICTS;
  for (let i = 0; i < pkg.provides.length; i++) {
    if (pkg.providesNames[i] !== dep.name) continue;
    return s.depIsProvided(dep, pkg, pkg.provides[i]!.version) ? DEP_SATISFIES : DEP_CONFLICTS;
  }
  return DEP_IRRELEVANT;
}
