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

/**
 * Where lading can decide as apk-tools 3 does, not as the 2.14.4 it is a port of (each from apk 3's solver.c).
 * On by default (APK3_DEFAULT) are those that change no answer for the 220 Alpine worlds the differential test
 * checks against the real apk-tools 2.14.4; SolveOptions.apk214 turns them off. Negated install_if changes
 * answers on the real Alpine indexes (alsa-plugins-pulse, libcanberra-alsa), so it is only on when asked for
 * (SolveOptions.apk3InstallIf): by default lading installs what apk-tools 2.14.4 installs.
 */
/** `i:A !B`: installed when A is, unless B is (2.14.4 never installs it: B is never decided). Opt-in. */
export const APK3_INSTALL_IF_NEGATED = 0x01;
/** A package that conflicts with a name it provides (`p:V` with `D:!V`) conflicts with the other providers only. */
export const APK3_SELF_CONFLICT = 0x02;
/**
 * Names no provider can be chosen for automatically (virtual names without provider_priority) are decided
 * last: a world `virt` provided by a package chosen through another dependency is then satisfied by it.
 */
export const APK3_VIRTUAL_LAST = 0x04;
/** A conflict keeps an install_if package out (2.14.4 installs it anyway and fails). */
export const APK3_CONFLICT_BLOCKS_INSTALL_IF = 0x08;
export const APK3_ALL = 0x0f;
/** The apk 3 behaviours a solve has unless told otherwise. */
export const APK3_DEFAULT = APK3_ALL & ~APK3_INSTALL_IF_NEGATED;

export interface NameFlags {
  name: string;
  flags: number;
  /** Flags passed on to the package's dependencies. */
  inheritable: number;
}

export interface SolveOptions {
  /** Global flags (apk `upgrade` = SOLVERF_UPGRADE, `-a` = SOLVERF_AVAILABLE, `--latest` = SOLVERF_LATEST). */
  flags?: number;
  /**
   * Flags for every provider of a name, as `apk add --upgrade NAME` or `apk fix NAME` set them. By default,
   * as `apk add WORLD…` does, the world's names (which then are decided first).
   */
  nameFlags?: readonly NameFlags[];
  /** apk --force-broken-world: leave out world entries that cannot be satisfied instead of failing. */
  forceBrokenWorld?: boolean;
  /** apk's self-upgrade pass: keep installed packages unless a name is flagged for upgrade. */
  selfUpgrade?: boolean;
  /**
   * apk-tools 3's negated install_if (APK3_INSTALL_IF_NEGATED): a package with `i:A !B` is installed when A
   * is and B is not. apk-tools 2.14.4 never installs such a package, and neither does lading by default.
   */
  apk3InstallIf?: boolean;
  /**
   * Decide as apk-tools 2.14.4 does where lading follows apk-tools 3 (APK3_*): true for all of them, or a
   * mask of those to turn off. For the differential tests against the real apk-tools 2.14.4.
   */
  apk214?: boolean | number;
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
  /** A provider could be chosen without being asked for by name (apk 3's has_auto_selectable). */
  hasAutoSelectable: boolean;
  /** A negated install_if condition names it: it must be decided (apk 3's iif_needed). */
  iifNeeded: boolean;
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
  /**
   * apk_dep_is_provided under this solve's rules: whether `dep` (of package `owner`, null for the world)
   * holds when `pkg` provides its name at `version` (pkg null: nothing provides it).
   */
  depIsProvided(dep: DepNode, pkg: PkgNode | null, version: string | null, owner: PkgNode | null): boolean;
  /** The names whose packages depend on `n`, in apk's order. */
  reverseDeps(n: NameState): NameState[];
  /** An apk-tools 3 behaviour (APK3_*) decided something: apk-tools 2.14.4 might have answered otherwise. */
  apk3Used: boolean;
}

export const DEP_IRRELEVANT = 1;
export const DEP_SATISFIES = 2;
export const DEP_CONFLICTS = 4;

/**
 * apk_dep_analyze: whether `dep` (of package `owner`, null for the world) is satisfied by `pkg`, conflicts
 * with it, or does not concern it.
 */
export function depAnalyze(
  s: Pick<SolveState, 'depIsProvided'>,
  owner: PkgNode | null,
  dep: DepNode,
  pkg: PkgNode,
): number {
  if (dep.name === pkg.name)
    return s.depIsProvided(dep, pkg, pkg.version, owner) ? DEP_SATISFIES : DEP_CONFLICTS;
  for (let i = 0; i < pkg.provides.length; i++) {
    if (pkg.providesNames[i] !== dep.name) continue;
    return s.depIsProvided(dep, pkg, pkg.provides[i]!.version, owner) ? DEP_SATISFIES : DEP_CONFLICTS;
  }
  return DEP_IRRELEVANT;
}
