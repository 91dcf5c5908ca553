/**
 * The resolver: a port of apk-tools 2.14.4's solver (src/solver.c), an up- and down-propagating deductive
 * solver without backtracking. Porting it decision for decision is what makes the chosen set equal to what
 * `apk add` installs, including its tie-breaks (provider_priority, repository order, pinning, install_if).
 * The changeset step (changeset.ts) then gives apk's install order.
 */
import { compareVersions, DEPMASK_ANY, DEPMASK_CHECKSUM, versionCompareMask } from '../apk/version.ts';
import { LadingError } from '../util/errors.ts';
import { type ChangesetSolver, generateChangeset } from './changeset.ts';
import type { DepNode, NameNode, PackageIndex, PkgNode, Provider } from './package-index.ts';
import {
  APK3_ALL,
  APK3_CONFLICT_BLOCKS_INSTALL_IF,
  APK3_DEFAULT,
  APK3_INSTALL_IF_NEGATED,
  APK3_SELF_CONFLICT,
  APK3_VIRTUAL_LAST,
  type Change,
  type NameFlags,
  type NameState,
  type PkgState,
  SOLVERF_AVAILABLE,
  SOLVERF_IGNORE_CONFLICT,
  SOLVERF_IGNORE_UPGRADE,
  SOLVERF_LATEST,
  SOLVERF_REINSTALL,
  SOLVERF_UPGRADE,
  type SolveOptions,
  type SolveState,
} from './state.ts';

const DEFAULT_PINNING = 1; // BIT(default tag 0)

export function solveState(
  index: PackageIndex,
  worldDeps: readonly DepNode[],
  options: SolveOptions = {},
): SolveState {
  const flags = options.flags ?? 0;
  // apk sorts the world by name, ignoring ASCII case (probed: `c B a A_ a-` installs a, a-, A_, B, c).
  const world = [...worldDeps].sort((a, b) => compareNoCase(a.name.name, b.name.name));
  const broken = new Set<DepNode>();
  // `apk add NAME…` marks each name it adds (apk_solver_set_name_flags), even without flags to give
  const nameFlags = options.nameFlags ?? world.map((d) => ({ name: d.name.name, flags: 0, inheritable: 0 }));
  const apk214 = options.apk214 === true ? APK3_ALL : options.apk214 || 0;
  const apk3 = (APK3_DEFAULT | (options.apk3InstallIf ? APK3_INSTALL_IF_NEGATED : 0)) & ~apk214;
  for (;;) {
    const s = new Solver(index, flags, options.selfUpgrade ?? false, apk3);
    s.run(world, broken, nameFlags);
    if (s.errors && options.forceBrokenWorld) {
      let more = false;
      for (const d of world) {
        if (broken.has(d)) continue;
        const pkg = s.name(d.name).chosenPkg;
        if (pkg === null || pkg.error) {
          broken.add(d);
          more = true;
        }
      }
      if (more) continue;
    }
    return {
      index,
      world: world.filter((d) => !broken.has(d)),
      changes: s.changes,
      errors: s.errors,
      name: (n) => s.name(n),
      pkg: (p) => s.pkg(p),
      installed: s.installed,
      depIsProvided: (d, p, v, o) => s.depIsProvided(d, p, v, o),
      apk3Used: s.apk3Used,
      reverseDeps: (n) => s.reverseDeps(n),
    };
  }
}

class Solver implements ChangesetSolver {
  readonly index: PackageIndex;
  readonly globalFlags: number;
  private readonly names: (NameState | undefined)[];
  private readonly pkgs: (PkgState | undefined)[];
  private readonly dirty: NameState[] = [];
  private dirtyHead = 0;
  private unresolvedHead: NameState | null = null;
  errors = 0;
  private flagsInherit = 0;
  private pinningInherit = 0;
  private readonly defaultRepos: number;
  readonly ignoreConflict: boolean;
  changes: Change[] = [];
  installed: PkgState[] = [];
  /** By package id: its reverse dependencies are registered. */
  private readonly rdependsDone: Uint8Array;
  /** By name id: the user set flags on it (apk's solver_flags_set). */
  private readonly flagsSet: Uint8Array;

  private readonly selfUpgrade: boolean;

  /** The apk-tools 3 behaviours (APK3_*) this solve has (SolveOptions.apk214 turns them off). */
  readonly apk3: number;
  /** One of them decided something (else apk-tools 2.14.4 would have decided the same). */
  apk3Used = false;

  constructor(index: PackageIndex, flags: number, selfUpgrade: boolean, apk3: number) {
    // dense arrays indexed by id: V8 turns arrays written at scattered indices into slow dictionaries
    this.names = new Array(index.nameCapacity()).fill(undefined);
    this.pkgs = new Array(index.packageCapacity()).fill(undefined);
    this.rdependsDone = new Uint8Array(index.packageCapacity());
    this.flagsSet = new Uint8Array(index.nameCapacity());
    this.index = index;
    this.globalFlags = flags;
    this.selfUpgrade = selfUpgrade;
    this.apk3 = apk3;
    this.defaultRepos = index.pinningRepos(DEFAULT_PINNING);
    this.ignoreConflict = (flags & SOLVERF_IGNORE_CONFLICT) !== 0;
  }

  name(n: NameNode): NameState {
    let s = this.names[n.id];
    if (s === undefined) {
      s = {
        node: n,
        seen: false,
        locked: false,
        chosenPkg: null,
        chosenVersion: null,
        requirers: 0,
        mergeDepends: 0,
        mergeProvides: 0,
        hasVirtualProvides: false,
        hasOptions: false,
        hasIif: false,
        noIif: false,
        hasAutoSelectable: false,
        iifNeeded: false,
        reevaluateDeps: false,
        reevaluateIif: false,
        reverseDepsDone: false,
        maxDepChain: 0,
        inDirty: false,
        inUnresolved: false,
        prev: null,
        next: null,
        inChangeset: false,
        installedPkg: null,
        installedName: null,
        rdepends: [],
        rdependsSorted: true,
      };
      this.names[n.id] = s;
    }
    return s;
  }

  nameStates(): readonly (NameState | undefined)[] {
    return this.names;
  }

  pkg(p: PkgNode): PkgState {
    let s = this.pkgs[p.id];
    if (s === undefined) {
      s = {
        node: p,
        seen: false,
        available: false,
        selectable: false,
        iifTriggered: false,
        iifFailed: false,
        tagPreferred: false,
        tagOk: false,
        pinningAllowed: 0,
        pinningPreferred: 0,
        maxDepChain: 0,
        conflicts: 0,
        dependenciesMerged: false,
        dependenciesUsed: false,
        solverFlags: 0,
        solverFlagsInheritable: 0,
        error: false,
        inChangeset: false,
        marked: false,
      };
      this.pkgs[p.id] = s;
    }
    return s;
  }

  pkgRepos(p: PkgState): number {
    const node = p.node;
    return node.repos | (node.installed ? this.index.tags[node.installedTagId]!.repos : 0);
  }

  /** apk_dep_is_provided: `dep` of `owner` (null: the world) against a provider (pkg null = nothing). */
  depIsProvided(dep: DepNode, pkg: PkgNode | null, version: string | null, owner: PkgNode | null): boolean {
    if (pkg === null) return dep.conflict;
    // apk 3: a package's conflict with a name it provides itself is with the other providers
    if (dep.conflict && pkg === owner && this.apk3 & APK3_SELF_CONFLICT) return (this.apk3Used = true);
    if (dep.mask === DEPMASK_CHECKSUM) return pkg.checksum === dep.version;
    if (dep.mask === DEPMASK_ANY) return !dep.conflict;
    if (version === null) return dep.conflict;
    const r = versionCompareMask(version, dep.version!, dep.fuzzy, this.index.rules);
    return (r & dep.mask) !== 0 ? !dep.conflict : dep.conflict;
  }

  markError(p: PkgState | null): void {
    if (p === null || p.error) return;
    p.error = true;
    this.errors++;
  }

  private queueDirty(n: NameState): void {
    if (n.inDirty || n.locked || (n.requirers === 0 && !n.reevaluateIif)) return;
    n.inDirty = true;
    this.dirty.push(n);
  }

  private unresolvedAdd(n: NameState): void {
    n.inUnresolved = true;
    n.prev = null;
    n.next = this.unresolvedHead;
    if (this.unresolvedHead) this.unresolvedHead.prev = n;
    this.unresolvedHead = n;
  }

  private unresolvedDel(n: NameState): void {
    if (n.prev) n.prev.next = n.next;
    else this.unresolvedHead = n.next;
    if (n.next) n.next.prev = n.prev;
    n.prev = n.next = null;
    n.inUnresolved = false;
  }

  private queueUnresolved(n: NameState): void {
    if (n.locked) return;
    const want = n.requirers > 0 || n.hasIif || n.iifNeeded;
    if (want && !n.inUnresolved) this.unresolvedAdd(n);
    else if (!want && n.inUnresolved) this.unresolvedDel(n);
  }

  // Hot loops below index arrays instead of using for-of: until V8 optimises them, every for-of step
  // allocates an iterator result, which cost a cold run tens of MiB of garbage.

  private reevaluateReverseDeps(n: NameState): void {
    const rdepends = this.reverseDeps(n);
    for (let i = 0; i < rdepends.length; i++) {
      const n0 = rdepends[i]!;
      if (!n0.seen) continue;
      n0.reevaluateDeps = true;
      this.queueDirty(n0);
    }
  }

  private reevaluateReverseInstallIf(n: NameState): void {
    const rinstallIf = n.node.rinstallIf;
    for (let i = 0; i < rinstallIf.length; i++) {
      const n0 = this.name(rinstallIf[i]!);
      if (!n0.seen || n0.noIif) continue;
      n0.reevaluateIif = true;
      this.queueDirty(n0);
    }
  }

  private disqualify(p: PkgState): void {
    p.selectable = false;
    this.reevaluateReverseDeps(this.name(p.node.name));
    const names = p.node.providesNames;
    for (let i = 0; i < names.length; i++) this.reevaluateReverseDeps(this.name(names[i]!));
    this.reevaluateReverseInstallIfPkg(p.node);
  }

  /** reevaluate_reverse_installif_pkg: the install_if mentioning the package's name or a provided name. */
  private reevaluateReverseInstallIfPkg(node: PkgNode): void {
    this.reevaluateReverseInstallIf(this.name(node.name));
    const names = node.providesNames;
    for (let i = 0; i < names.length; i++) this.reevaluateReverseInstallIf(this.name(names[i]!));
  }

  private dependencySatisfiable(owner: PkgNode, dep: DepNode): boolean {
    if (dep.conflict && this.ignoreConflict) return true;
    const n = this.name(dep.name);
    if (n.locked) return this.depIsProvided(dep, n.chosenPkg?.node ?? null, n.chosenVersion, owner);
    if (n.requirers === 0 && this.depIsProvided(dep, null, null, owner)) return true;
    const providers = dep.name.providers;
    for (let i = 0; i < providers.length; i++) {
      const p = providers[i]!;
      if (this.pkg(p.pkg).selectable && this.depIsProvided(dep, p.pkg, p.version, owner)) return true;
    }
    return false;
  }

  private discoverName(n: NameState): void {
    if (n.seen) return;
    n.seen = true;
    n.noIif = true;
    const providers = n.node.providers;
    for (let i = 0; i < providers.length; i++) {
      const p = this.pkg(providers[i]!.pkg);
      if (!p.seen) {
        const node = p.node;
        p.seen = true;
        p.pinningAllowed = DEFAULT_PINNING;
        p.pinningPreferred = DEFAULT_PINNING;
        p.available = (node.repos & this.index.availableRepos) !== 0;
        p.selectable = p.available || node.installed;
        p.iifFailed =
          node.installIf.length === 0 || ((this.flagsInherit & SOLVERF_AVAILABLE) !== 0 && !p.available);
        const repos = this.pkgRepos(p);
        p.tagPreferred = node.installedSize === 0 || (repos & this.defaultRepos) !== 0;
        p.tagOk = p.tagPreferred || node.installed;
        this.registerReverseDeps(node);
        const depends = this.index.dependsOf(node);
        for (let j = 0; j < depends.length; j++) {
          const dn = this.name(depends[j]!.name);
          this.discoverName(dn);
          p.maxDepChain = Math.max(p.maxDepChain, dn.maxDepChain + 1);
        }
      }
      n.noIif &&= p.iifFailed;
      n.maxDepChain = Math.max(n.maxDepChain, p.maxDepChain);
    }
    // The install_if of its providers' names, and of their provided names not seen yet (apk-tools 2.14.4;
    // apk 3 also looks at the name's own, so that an install_if on a provided name reached as a dependency
    // fires: not adopted, as it changes which name is decided first and then refuses worlds 2.14.4 solves).
    for (let i = 0; i < providers.length; i++) {
      const pkg = providers[i]!.pkg;
      this.discoverNames(pkg.name.rinstallIf);
      const names = pkg.providesNames;
      for (let j = 0; j < names.length; j++)
        if (!this.name(names[j]!).seen) this.discoverNames(names[j]!.rinstallIf);
    }
  }

  private discoverNames(names: readonly NameNode[]): void {
    for (let i = 0; i < names.length; i++) this.discoverName(this.name(names[i]!));
  }

  /** Adds the package's names to the rdepends of each name it depends on (apk builds these for the whole database). */
  private registerReverseDeps(node: PkgNode): void {
    if (this.rdependsDone[node.id]) return;
    this.rdependsDone[node.id] = 1;
    const depends = this.index.dependsOf(node);
    const names = node.providesNames;
    for (let i = 0; i < depends.length; i++) {
      const dn = this.name(depends[i]!.name);
      this.addReverseDep(dn, node.name);
      for (let j = 0; j < names.length; j++) this.addReverseDep(dn, names[j]!);
    }
  }

  private addReverseDep(dn: NameState, owner: NameNode): void {
    const o = this.name(owner);
    // Two providers of a name may both depend on dn: the list can hold a name twice until reverseDeps
    // sorts it (most lists never are), which drops the repeats. The common repeat is skipped here.
    const list = dn.rdepends;
    if (list.length > 0 && list[list.length - 1] === o) return;
    list.push(o);
    dn.rdependsSorted = list.length < 2;
  }

  /**
   * apk_name.rdepends in apk's order: its lists follow the name hash table; discovery built them in another
   * order, so each is sorted the first time it is walked (most never are).
   */
  reverseDeps(n: NameState): NameState[] {
    if (!n.rdependsSorted) {
      const ids = this.index.sortByHashOrder(n.rdepends.map((r) => r.node.id));
      const list = n.rdepends;
      let count = 0;
      for (let i = 0; i < ids.length; i++)
        if (i === 0 || ids[i] !== ids[i - 1]) list[count++] = this.names[ids[i]!]!;
      list.length = count;
      n.rdependsSorted = true;
    }
    return n.rdepends;
  }

  private nameRequirersChanged(n: NameState): void {
    this.queueUnresolved(n);
    this.reevaluateReverseInstallIf(n);
    this.queueDirty(n);
  }

  private inheritPinningAndFlags(p: PkgState, pp: PkgState | null): void {
    const repos = this.pkgRepos(p);
    if (pp !== null) {
      p.solverFlags |= pp.solverFlagsInheritable;
      p.solverFlagsInheritable |= pp.solverFlagsInheritable;
      p.pinningAllowed |= pp.pinningAllowed;
    } else {
      p.solverFlags |= this.flagsInherit;
      p.solverFlagsInheritable |= this.flagsInherit;
      p.pinningAllowed |= this.pinningInherit;
      p.pinningPreferred = this.pinningInherit;
      p.tagPreferred = (repos & this.index.pinningRepos(p.pinningPreferred)) !== 0;
    }
    if ((repos & this.index.pinningRepos(p.pinningAllowed)) !== 0) p.tagOk = true;
  }

  private applyConstraint(pp: PkgState | null, dep: DepNode): void {
    if (dep.conflict && this.ignoreConflict) return;
    const n = this.name(dep.name);
    if (!dep.conflict) {
      n.requirers++;
      if (n.requirers === 1) this.nameRequirersChanged(n);
    }
    const providers = dep.name.providers;
    for (let i = 0; i < providers.length; i++) {
      const prov = providers[i]!;
      const p0 = this.pkg(prov.pkg);
      const provided = this.depIsProvided(dep, prov.pkg, prov.version, pp?.node ?? null);
      if (!provided) p0.conflicts++;
      if (p0.selectable && p0.conflicts) this.disqualify(p0);
      if (provided) this.inheritPinningAndFlags(p0, pp);
    }
  }

  private excludeNonProviders(n: NameState, mustProvide: NameState, skipVirtuals: boolean): void {
    if (n === mustProvide || this.ignoreConflict) return;
    next: for (const prov of n.node.providers) {
      const p = this.pkg(prov.pkg);
      if (prov.pkg.name === mustProvide.node || !p.selectable || (skipVirtuals && prov.version === null))
        continue;
      for (let i = 0; i < prov.pkg.provides.length; i++) {
        if (
          prov.pkg.providesNames[i] === mustProvide.node ||
          (skipVirtuals && prov.pkg.provides[i]!.version === null)
        )
          continue next;
      }
      this.disqualify(p);
    }
  }

  private reconsiderName(n: NameState): void {
    const reevaluateDeps = n.reevaluateDeps;
    const reevaluateIif = n.reevaluateIif;
    n.reevaluateDeps = false;
    n.reevaluateIif = false;
    let first: PkgState | null = null;
    let numOptions = 0;
    let numTagNotOk = 0;
    let hasIif = false;
    let noIif = true;
    let hasAutoSelectable = false;

    // Propagate down by merging common dependencies and applying new constraints.
    const providers = n.node.providers;
    for (let i = 0; i < providers.length; i++) {
      const prov = providers[i]!;
      const p = this.pkg(prov.pkg);
      p.dependenciesMerged = false;
      const depends = this.index.dependsOf(p.node);
      if (reevaluateDeps) {
        if (!p.selectable) continue;
        for (let j = 0; j < depends.length; j++) {
          if (!this.dependencySatisfiable(p.node, depends[j]!)) {
            this.disqualify(p);
            break;
          }
        }
      }
      if (!p.selectable) continue;
      if (reevaluateIif && !p.iifTriggered && !p.iifFailed) {
        p.iifTriggered = true;
        p.iifFailed = false;
        for (const dep of p.node.installIf) {
          const dn = this.name(dep.name);
          if (!dn.locked) {
            // apk 3: a name a negated condition mentions must be decided (to nothing, when nothing needs it)
            if (dep.conflict && this.apk3 & APK3_INSTALL_IF_NEGATED) {
              this.apk3Used = true;
              dn.iifNeeded = true;
              this.queueUnresolved(dn);
            }
            p.iifTriggered = false;
            p.iifFailed = false;
            break;
          }
          if (!this.depIsProvided(dep, dn.chosenPkg?.node ?? null, dn.chosenVersion, p.node)) {
            p.iifTriggered = false;
            p.iifFailed = true;
            break;
          }
        }
      }
      if (reevaluateIif && p.iifTriggered) {
        for (const dep of p.node.installIf) this.inheritPinningAndFlags(p, this.name(dep.name).chosenPkg);
      }
      hasIif ||= p.iifTriggered;
      noIif &&= p.iifFailed;
      hasAutoSelectable ||= p.iifTriggered;
      if (n.requirers === 0) continue;

      // Merge common dependencies.
      p.dependenciesMerged = true;
      if (first === null) first = p;
      for (let j = 0; j < depends.length; j++) {
        const dep = depends[j]!;
        if (!dep.conflict) mergeIndex(this.name(dep.name), 'mergeDepends', numOptions);
      }
      const own = this.name(p.node.name);
      if (mergeIndex(own, 'mergeProvides', numOptions)) own.hasVirtualProvides ||= prov.version === null;
      const provides = p.node.provides;
      for (let j = 0; j < provides.length; j++) {
        const pn = this.name(p.node.providesNames[j]!);
        if (mergeIndex(pn, 'mergeProvides', numOptions))
          pn.hasVirtualProvides ||= provides[j]!.version === null;
      }
      if (!p.tagOk) numTagNotOk++;
      numOptions++;
      hasAutoSelectable ||= this.autoSelectable(prov);
    }
    n.hasAutoSelectable = hasAutoSelectable;
    n.hasOptions = numOptions > 1 || numTagNotOk > 0;
    n.hasIif = hasIif;
    n.noIif = noIif;
    this.queueUnresolved(n);

    if (first !== null) {
      const p = first;
      for (let i = 0; i < providers.length; i++) {
        const ps = this.pkg(providers[i]!.pkg);
        ps.dependenciesUsed = ps.dependenciesMerged;
      }
      // Propagate down common dependencies.
      if (numOptions === 1) {
        for (const dep of this.index.dependsOf(p.node)) {
          if (mergeIndexComplete(this.name(dep.name), 'mergeDepends', numOptions))
            this.applyConstraint(p, dep);
        }
      } else {
        for (const dep of this.index.dependsOf(p.node)) {
          const n0 = this.name(dep.name);
          if (mergeIndexComplete(n0, 'mergeDepends', numOptions) && n0.requirers === 0) {
            // a dependency name common to all candidates
            n0.requirers++;
            this.nameRequirersChanged(n0);
            for (const prov of dep.name.providers) this.inheritPinningAndFlags(this.pkg(prov.pkg), p);
          }
        }
      }
      // Provides transitivity.
      const own = this.name(p.node.name);
      if (mergeIndexComplete(own, 'mergeProvides', numOptions))
        this.excludeNonProviders(own, n, own.hasVirtualProvides);
      for (const pn of p.node.providesNames) {
        const ps = this.name(pn);
        if (mergeIndexComplete(ps, 'mergeProvides', numOptions))
          this.excludeNonProviders(ps, n, ps.hasVirtualProvides);
      }
      own.hasVirtualProvides = false;
      for (const pn of p.node.providesNames) this.name(pn).hasVirtualProvides = false;
    }

    n.reverseDepsDone = true;
    for (let i = 0; i < n.rdepends.length; i++) {
      const n0 = n.rdepends[i]!;
      if (n0.seen && !n0.locked) {
        n.reverseDepsDone = false;
        break;
      }
    }
  }

  private compareProviders(
    a: PkgState,
    aVersion: string | null,
    b: PkgState | null,
    bVersion: string | null,
  ): number {
    // Prefer an existing package.
    if (b === null) return 1;
    const flags = a.solverFlags | b.solverFlags;
    let r: number;
    if (
      (flags & SOLVERF_LATEST) !== 0 &&
      a.pinningAllowed === DEFAULT_PINNING &&
      b.pinningAllowed === DEFAULT_PINNING
    ) {
      // Latest version required: prefer allowed pinning.
      r = +a.tagOk - +b.tagOk;
      if (r) return r;
      if (flags & SOLVERF_AVAILABLE) {
        r = +a.available - +b.available;
        if (r) return r;
      } else if (flags & SOLVERF_REINSTALL) {
        r = +a.selectable - +b.selectable;
        if (r) return r;
      }
    } else {
      // Prefer without errors.
      r = +a.selectable - +b.selectable;
      if (r) return r;
      // Prefer those that were in the last dependency merging group.
      r = +a.dependenciesUsed - +b.dependenciesUsed;
      if (r) return r;
      r = b.conflicts - a.conflicts;
      if (r) return r;
      // Prefer installed on self-upgrade, or when upgrades are to be ignored.
      if ((this.selfUpgrade && !(flags & SOLVERF_UPGRADE)) || flags & SOLVERF_IGNORE_UPGRADE) {
        r = +a.node.installed - +b.node.installed;
        if (r) return r;
      }
      // Prefer allowed pinning.
      r = +a.tagOk - +b.tagOk;
      if (r) return r;
      if (flags & SOLVERF_AVAILABLE) {
        r = +a.available - +b.available;
        if (r) return r;
      }
      // Prefer preferred pinning.
      r = +a.tagPreferred - +b.tagPreferred;
      if (r) return r;
      // Prefer installed.
      if (!(flags & SOLVERF_UPGRADE) || flags & SOLVERF_IGNORE_UPGRADE) {
        r = +a.node.installed - +b.node.installed;
        if (r) return r;
      }
    }
    // Select latest by requested name.
    const rules = this.index.rules;
    r = compareNullableVersions(aVersion, bVersion, rules);
    if (r) return r;
    // Select latest by principal name.
    if (a.node.name === b.node.name) {
      r = compareVersions(a.node.version, b.node.version, rules);
      if (r) return r;
    }
    // Prefer installed (matches here if upgrading).
    r = +a.node.installed - +b.node.installed;
    if (r) return r;
    // Prefer highest declared provider priority.
    r = a.node.providerPriority - b.node.providerPriority;
    if (r) return r;
    // Prefer without errors (mostly if --latest used, and different provider).
    r = +a.selectable - +b.selectable;
    if (r) return r;
    // Prefer the lowest available repository.
    return ffs(b.node.repos) - ffs(a.node.repos);
  }

  private assignName(n: NameState, pkg: PkgState | null, version: string | null): void {
    if (n.locked) {
      // If both provide this name without version, it's ok.
      if (version === null && n.chosenVersion === null) return;
      if (this.ignoreConflict) return;
      // Conflict: providing the same name.
      this.markError(pkg);
      this.markError(n.chosenPkg);
      return;
    }
    n.locked = true;
    n.chosenPkg = pkg;
    n.chosenVersion = version;
    if (n.inUnresolved) this.unresolvedDel(n);
    n.inDirty = false; // stale entries in the queue are skipped
    // Disqualify all conflicting packages.
    if (!this.ignoreConflict) {
      for (const prov of n.node.providers) {
        if (pkg !== null && prov.pkg === pkg.node) continue;
        if (version === null && prov.version === null) continue;
        this.disqualify(this.pkg(prov.pkg));
      }
    }
    this.reevaluateReverseDeps(n);
    if (pkg !== null) this.reevaluateReverseInstallIfPkg(pkg.node);
    else this.reevaluateReverseInstallIf(n);
  }

  /**
   * is_provider_auto_selectable: a package can be chosen for a name it provides without a version only
   * with a provider_priority, or when its own name is asked for (apk 2.14.4: even when it is the only one).
   */
  private autoSelectable(prov: Provider): boolean {
    return prov.version !== null || prov.pkg.providerPriority !== 0 || this.name(prov.pkg.name).requirers > 0;
  }

  private selectPackage(n: NameState): void {
    let chosen: PkgState | null = null;
    let chosenVersion: string | null = null;
    if (n.requirers || n.hasIif) {
      for (const prov of n.node.providers) {
        const p = this.pkg(prov.pkg);
        // Ensure valid pinning and install-if trigger (apk 3: and that nothing conflicts with it).
        if (n.requirers === 0 && (!p.iifTriggered || !p.tagOk)) continue;
        if (n.requirers === 0 && !p.selectable && this.apk3 & APK3_CONFLICT_BLOCKS_INSTALL_IF) {
          this.apk3Used = true;
          continue;
        }
        if (!this.autoSelectable(prov)) continue;
        if (this.compareProviders(p, prov.version, chosen, chosenVersion) > 0) {
          chosen = p;
          chosenVersion = prov.version;
        }
      }
    }
    if (chosen !== null) {
      // Selecting a broken or unallowed package.
      if (!chosen.selectable || !chosen.tagOk) this.markError(chosen);
      const node = chosen.node;
      this.assignName(this.name(node.name), chosen, node.version);
      for (let i = 0; i < node.provides.length; i++) {
        this.assignName(this.name(node.providesNames[i]!), chosen, node.provides[i]!.version);
      }
      for (const dep of this.index.dependsOf(node)) this.applyConstraint(chosen, dep);
    } else {
      this.assignName(n, null, null);
      if (n.requirers > 0) this.errors++;
    }
  }

  run(world: readonly DepNode[], broken: ReadonlySet<DepNode>, nameFlags: readonly NameFlags[]): void {
    for (const nf of nameFlags) {
      const node = this.index.findName(nf.name);
      if (node === undefined) continue;
      this.flagsSet[node.id] = 1;
      for (const prov of node.providers) {
        const p = this.pkg(prov.pkg);
        p.solverFlags |= nf.flags;
        p.solverFlagsInheritable |= nf.inheritable;
      }
    }
    for (const node of this.index.installed) this.registerReverseDeps(node);
    this.flagsInherit = this.globalFlags;
    for (const d of world) if (!broken.has(d)) this.discoverName(this.name(d.name));
    for (const d of world) {
      if (broken.has(d)) continue;
      this.pinningInherit = 1 << d.tagId;
      this.applyConstraint(null, d);
    }
    this.flagsInherit = 0;
    this.pinningInherit = 0;

    for (;;) {
      while (this.dirtyHead < this.dirty.length) {
        const n = this.dirty[this.dirtyHead++]!;
        if (!n.inDirty) continue;
        n.inDirty = false;
        this.reconsiderName(n);
      }
      if (this.dirtyHead > 4096) {
        this.dirty.splice(0, this.dirtyHead);
        this.dirtyHead = 0;
      }
      const virtualLast = (this.apk3 & APK3_VIRTUAL_LAST) !== 0;
      const pick = this.dequeueName(virtualLast);
      if (pick === null) break;
      if (virtualLast && !this.apk3Used && this.dequeueName(false) !== pick) this.apk3Used = true;
      this.selectPackage(pick);
    }
    const cset = generateChangeset(
      this,
      world.filter((d) => !broken.has(d)),
    );
    this.changes = cset.changes;
    this.installed = cset.installed;
  }

  /**
   * The next name to decide: the first unresolved one all of whose reverse dependencies are decided and that
   * has one option, or else the first by compareNameDequeue. `virtualLast`: apk 3's rule (APK3_VIRTUAL_LAST).
   */
  private dequeueName(virtualLast: boolean): NameState | null {
    let pick: NameState | null = null;
    for (let n0 = this.unresolvedHead; n0 !== null; n0 = n0.next) {
      if (n0.reverseDepsDone && n0.requirers && !n0.hasOptions && (n0.hasAutoSelectable || !virtualLast))
        return n0;
      if (pick === null || this.compareNameDequeue(n0, pick, virtualLast) < 0) pick = n0;
    }
    return pick;
  }

  private compareNameDequeue(a: NameState, b: NameState, virtualLast: boolean): number {
    let r: number;
    // apk 3: names no provider can be chosen for automatically are decided last (dependencies may yet
    // choose a provider of theirs).
    if (virtualLast) {
      r = +b.hasAutoSelectable - +a.hasAutoSelectable;
      if (r) return r;
    }
    // Names the user set flags on (`add --upgrade NAME`) are decided first.
    r = (this.flagsSet[a.node.id] ?? 0) - (this.flagsSet[b.node.id] ?? 0);
    if (r) return -r;
    r = this.index.namePriority(a.node) - this.index.namePriority(b.node);
    if (r) return r;
    r = a.maxDepChain - b.maxDepChain;
    if (r) return -r;
    return -(+(a.requirers > 0) - +(b.requirers > 0));
  }
}

type MergeField = 'mergeDepends' | 'mergeProvides';

function mergeIndex(n: NameState, field: MergeField, numOptions: number): boolean {
  if (n[field] !== numOptions) return false;
  n[field] = numOptions + 1;
  return true;
}

function mergeIndexComplete(n: NameState, field: MergeField, numOptions: number): boolean {
  const ret = n[field] === numOptions;
  n[field] = 0;
  return ret;
}

/** apk_version_compare_blob with apk's null (virtual) version: null equals null, otherwise not comparable. */
function compareNullableVersions(a: string | null, b: string | null, rules: PackageIndex['rules']): number {
  if (a === null || b === null) return 0;
  return compareVersions(a, b, rules);
}

/** strcasecmp: ASCII letters compare without case. */
function compareNoCase(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x >= 65 && x <= 90) x += 32;
    if (y >= 65 && y <= 90) y += 32;
    if (x !== y) return x - y;
  }
  return a.length - b.length;
}

/** ffs(): 1-based index of the lowest set bit, 0 for none. */
function ffs(mask: number): number {
  return mask === 0 ? 0 : 32 - Math.clz32(mask & -mask);
}

/** Throws when a world entry names a repository tag no repository has (apk_db_check_world). */
export function checkWorldTags(index: PackageIndex, world: readonly DepNode[]): void {
  for (const d of world) {
    if (d.tagId === 0 || index.tags[d.tagId]!.repos !== 0) continue;
    const tag = index.tags[d.tagId]!.name;
    throw new LadingError(
      'SOLVER_UNKNOWN_TAG',
      `world entry "${d.dep.name}@${tag}" asks for repository tag @${tag}, but no repository has that tag`,
      { hint: `configure the repository as "@${tag} <url>" or remove "@${tag}" from the package` },
    );
  }
}
