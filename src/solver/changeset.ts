/**
 * The changeset (apk-tools' generate_changeset and its cset_* helpers in src/solver.c): from the solver's
 * chosen names to the list of changes against the installed database, in apk's install order — a
 * depth-first walk from the sorted world, dependencies first, removals before what replaces them.
 */
import type { DepNode, NameNode, PackageIndex, PkgNode } from './package-index.ts';
import {
  APK3_INSTALL_IF_NEGATED,
  type Change,
  DEP_SATISFIES,
  depAnalyze,
  type NameState,
  type PkgState,
  SOLVERF_REINSTALL,
} from './state.ts';

/** What the changeset walk needs from the solver that chose the packages. */
export interface ChangesetSolver {
  readonly index: PackageIndex;
  readonly ignoreConflict: boolean;
  name(n: NameNode): NameState;
  pkg(p: PkgNode): PkgState;
  /** Every name state of the solve, by name id (holes for names it never reached). */
  nameStates(): readonly (NameState | undefined)[];
  depIsProvided(dep: DepNode, pkg: PkgNode | null, version: string | null, owner: PkgNode | null): boolean;
  /** The apk-tools 3 behaviours (APK3_*) of this solve, and whether one decided something. */
  readonly apk3: number;
  apk3Used: boolean;
  markError(p: PkgState | null): void;
  reverseDeps(n: NameState): NameState[];
  /** The repositories a package can come from (its own, and its installed pinning's). */
  pkgRepos(p: PkgState): number;
}

/** generate_changeset: the changes in install order, and the installed packages in database order. */
export function generateChangeset(
  s: ChangesetSolver,
  world: readonly DepNode[],
): { changes: Change[]; installed: PkgState[] } {
  const c = new ChangesetBuilder(s);
  c.run(world);
  return { changes: c.changes, installed: c.installed };
}

class ChangesetBuilder {
  readonly changes: Change[] = [];
  readonly installed: PkgState[] = [];
  private readonly s: ChangesetSolver;

  constructor(s: ChangesetSolver) {
    this.s = s;
  }

  private recordChange(oldPkg: PkgState | null, newPkg: PkgState | null): void {
    this.changes.push({
      old: oldPkg,
      new: newPkg,
      oldTagId: oldPkg ? oldPkg.node.installedTagId : 0,
      newTagId: newPkg ? this.getTag(newPkg.pinningAllowed, this.s.pkgRepos(newPkg)) : 0,
      reinstall: newPkg ? (newPkg.solverFlags & SOLVERF_REINSTALL) !== 0 : false,
    });
  }

  private getTag(pinningMask: number, repos: number): number {
    const tags = this.s.index.tags;
    for (let i = 0; i < tags.length; i++) {
      if (!(pinningMask & (1 << i))) continue;
      if (tags[i]!.repos & repos) return i;
    }
    return 0;
  }

  private csetTrackDepsAdded(p: PkgState): void {
    for (const d of this.s.index.dependsOf(p.node)) {
      const inst = this.s.name(d.name).installedName;
      if (d.conflict || inst === null) continue;
      inst.requirers++;
    }
  }

  private csetTrackDepsRemoved(p: PkgState): void {
    for (const d of this.s.index.dependsOf(p.node)) {
      const dn = this.s.name(d.name);
      const inst = dn.installedName;
      if (d.conflict || inst === null) continue;
      if (--inst.requirers > 0) continue;
      if (dn.installedPkg !== null) this.csetGenNameRemove(dn.installedPkg);
    }
  }

  private csetCheckRemovalByDeps(p: PkgState): void {
    // An orphaned name may have no requirers because an alternate provider now satisfies it: that is
    // handled later as an adjustment, so only remove when nothing else was chosen.
    const n = this.s.name(p.node.name);
    if (n.requirers === 0 && n.chosenPkg === null) this.csetGenNameRemove(p);
  }

  private csetCheckInstallByIif(n: NameState): void {
    const p = n.chosenPkg;
    if (p === null || !n.seen || n.inChangeset) return;
    for (const dep of p.node.installIf) {
      const n0 = this.s.name(dep.name);
      // apk 3: a negated condition holds when its name is not installed, so it is never in the changeset
      if (!n0.inChangeset) {
        if (!(dep.conflict && this.s.apk3 & APK3_INSTALL_IF_NEGATED)) return;
        this.s.apk3Used = true;
      }
      if (!this.s.depIsProvided(dep, n0.chosenPkg?.node ?? null, n0.chosenVersion, p.node)) return;
    }
    this.csetGenNameChange(n);
  }

  private csetCheckRemovalByIif(n: NameState): void {
    const p = n.installedPkg;
    if (p === null || n.inChangeset || n.chosenPkg !== null) return;
    for (const dep of p.node.installIf) {
      const n0 = this.s.name(dep.name);
      if (n0.inChangeset && n0.chosenPkg === null) {
        this.csetCheckRemovalByDeps(p);
        return;
      }
    }
  }

  private csetGenNameRemoveOrphan(n: NameState): void {
    const p = n.chosenPkg;
    if (n.inChangeset) return;
    n.inChangeset = true;
    // Remove the package that had this name if another one provides it now.
    if ((p === null || p.node.name !== n.node) && n.installedPkg !== null)
      this.csetGenNameRemove(n.installedPkg);
    // Remove installed providers of this name that are going away, before what replaces them is installed.
    for (const prov of n.node.providers) {
      const n0 = this.s.name(prov.pkg.name);
      if (n0.installedPkg !== null && n0.installedPkg.node === prov.pkg && n0.chosenPkg === null)
        this.csetGenNameRemove(n0.installedPkg);
    }
  }

  /** Calls `cb` for the names whose install_if mentions the package's name or one of its provides. */
  private forEachReverseInstallIf(p: PkgState | null, cb: (n: NameState) => void): void {
    if (p === null) return;
    for (const node of p.node.name.rinstallIf) cb(this.s.name(node));
    for (const pn of p.node.providesNames) for (const node of pn.rinstallIf) cb(this.s.name(node));
  }

  private csetGenNameChange(n: NameState): void {
    if (n.inChangeset) return;
    this.csetGenNameRemoveOrphan(n);
    const p = n.chosenPkg;
    if (p === null || p.inChangeset) return;
    p.inChangeset = true;
    this.csetGenNameRemoveOrphan(this.s.name(p.node.name));
    for (const pn of p.node.providesNames) this.csetGenNameRemoveOrphan(this.s.name(pn));
    const old = this.s.name(p.node.name).installedPkg;
    this.forEachReverseInstallIf(old, (n0) => this.csetCheckRemovalByIif(n0));
    for (const d of this.s.index.dependsOf(p.node)) this.csetGenDep(p, d);
    this.recordChange(old, p);
    this.forEachReverseInstallIf(p, (n0) => this.csetCheckInstallByIif(n0));
    this.csetTrackDepsAdded(p);
    if (old !== null) this.csetTrackDepsRemoved(old);
  }

  private csetGenNameRemove(p: PkgState): void {
    const n = this.s.name(p.node.name);
    if (p.inChangeset || (n.chosenPkg !== null && n.chosenPkg.node.name === n.node)) return;
    n.inChangeset = true;
    p.inChangeset = true;
    // Installed packages that depend on it go too.
    this.forEachReverseDependency(p, (p0, d0) => {
      if (!p0.node.installed) return;
      if (depAnalyze(this.s, p0.node, d0, p.node) === DEP_SATISFIES) this.csetGenNameRemove(p0);
    });
    this.forEachReverseInstallIf(p, (n0) => this.csetCheckRemovalByIif(n0));
    this.recordChange(p, null);
    this.csetTrackDepsRemoved(p);
  }

  private csetGenDep(pp: PkgState | null, dep: DepNode): void {
    if (dep.conflict && this.s.ignoreConflict) return;
    const n = this.s.name(dep.name);
    const p = n.chosenPkg;
    if (!this.s.depIsProvided(dep, p?.node ?? null, n.chosenVersion, pp?.node ?? null)) this.s.markError(pp);
    this.csetGenNameChange(n);
    if (p?.error) this.s.markError(pp);
  }

  run(world: readonly DepNode[]): void {
    const names = this.s.nameStates();
    for (let i = 0; i < names.length; i++) {
      const s = names[i];
      if (s === undefined) continue;
      s.installedPkg = null;
      s.installedName = null;
      s.requirers = 0;
    }
    for (const node of this.s.index.installed) {
      const p = this.s.pkg(node);
      this.installed.push(p);
      const n = this.s.name(node.name);
      n.installedPkg = p;
      n.installedName = n;
      node.provides.forEach((pv, i) => {
        if (pv.version !== null) this.s.name(node.providesNames[i]!).installedName = n;
      });
    }
    for (const p of this.installed) this.csetTrackDepsAdded(p);
    for (const p of this.installed) this.csetCheckRemovalByDeps(p);
    for (const d of world) this.csetGenDep(null, d);
    for (const p of this.installed) this.csetGenNameChange(this.s.name(p.node.name));
  }

  /** Every (package, dependency) whose dependency names `p` or one of its provides (apk_pkg_foreach_reverse_dependency). */
  forEachReverseDependency(p: PkgState, cb: (p0: PkgState, d0: DepNode) => void): void {
    const visit = (n: NameState) => {
      for (const n0 of this.s.reverseDeps(n)) {
        for (const prov of n0.node.providers) {
          const p0 = this.s.pkg(prov.pkg);
          for (const d0 of this.s.index.dependsOf(p0.node)) cb(p0, d0);
        }
      }
    };
    visit(this.s.name(p.node.name));
    for (const pn of p.node.providesNames) visit(this.s.name(pn));
  }
}
