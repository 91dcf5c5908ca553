/**
 * Why a world cannot be installed: apk-tools' "unable to select packages" tree (apk_solver_print_errors
 * in src/commit.c), computed from the solver's final state, plus lading's hints: near names for a
 * missing package, how to ask for a package that only a tagged repository has, other architectures.
 */
import { versionOpString } from '../apk/version.ts';
import type { DepNode, NameNode, PkgNode } from './package-index.ts';
import {
  DEP_CONFLICTS,
  DEP_SATISFIES,
  depAnalyze,
  type NameState,
  type PkgState,
  type SolveState,
} from './state.ts';

const STATE_PRESENT = 0x80000000;
const STATE_MISSING = 0x40000000;
const STATE_VIRTUAL_ONLY = 0x20000000;
const STATE_INSTALLIF = 0x10000000;
const STATE_COUNT_MASK = 0x0000ffff;

export interface Explanation {
  /** The tree, starting with "unable to select packages:". */
  message: string;
  /** What the person can do (near names, tags to ask for), or undefined. */
  hint?: string;
}

/** Dependency text as apk 2.14 prints it in this tree: canonical operator (`a><3` for `a<>3`), no `@tag`. */
export function depText(d: DepNode): string {
  const ver = d.version === null ? '' : `${versionOpString(d.mask)}${d.version}`;
  return `${d.conflict ? '!' : ''}${d.name.name}${ver}`;
}

const pkgVer = (p: PkgNode): string => `${p.name.name}-${p.version}`;

/** apk's indented printer (apk_print_indented*): wraps items at `width` columns. */
class Printer {
  out = '';
  x = 0;
  indent = 0;
  label: string | null = null;
  numLabels = 0;
  readonly width: number;
  constructor(width: number) {
    this.width = width;
  }

  labelStart(text: string): void {
    if (this.label !== null) {
      this.out += `  ${this.label}:\n`;
      this.x = this.indent = 0;
      this.label = null;
      this.numLabels++;
    }
    if (!this.x) {
      const s = `    ${text}`;
      this.out += s;
      this.x = s.length;
      this.indent = this.x + 1;
    }
  }

  item(s: string): void {
    if (this.x <= this.indent) {
      this.out += ' '.repeat(this.indent - this.x) + s;
      this.x = this.indent + s.length;
    } else if (this.x + s.length + 1 >= this.width) {
      this.out += `\n${' '.repeat(this.indent)}${s}`;
      this.x = this.indent + s.length;
    } else {
      this.out += ` ${s}`;
      this.x += s.length + 1;
    }
  }

  words(text: string): void {
    for (const w of text.split(' ')) this.item(w);
  }

  end(): void {
    if (this.x) {
      this.out += '\n';
      this.x = this.indent = 0;
    }
  }
}

export function explainFailure(state: SolveState, options: { width?: number } = {}): Explanation {
  const { index } = state;
  const dep = depText;
  const nameInt = new Map<NameNode, number>();
  const pkgInt = new Map<PkgNode, number>();
  const ni = (n: NameNode) => nameInt.get(n) ?? 0;
  const pi = (p: PkgNode) => pkgInt.get(p) ?? 0;
  const marked = (p: PkgNode) => state.pkg(p).marked;
  const ps = new Printer(options.width ?? 80);
  const masked: { pkg: PkgNode; tags: string[] }[] = [];
  const missing: NameNode[] = [];

  for (const c of state.changes) if (c.new) c.new.marked = true;

  // ---- which names are present / reachable (discover_deps) ----
  const isNameConcrete = (p: PkgNode, n: NameNode) => {
    if (p.name === n) return true;
    for (let i = 0; i < p.provides.length; i++)
      if (p.providesNames[i] === n && p.provides[i]!.version !== null) return true;
    return false;
  };
  const discoverReverseIif = (n: NameNode) => {
    for (const n0 of n.rinstallIf) {
      for (const prov of n0.providers) {
        const p = prov.pkg;
        if (!marked(p) || p.installIf.length === 0) continue;
        let ok = true;
        for (const d of p.installIf) {
          if (d.conflict === ((ni(d.name) & (STATE_PRESENT | STATE_INSTALLIF)) !== 0)) {
            ok = false;
            break;
          }
        }
        if (ok) {
          discoverName(p.name, STATE_INSTALLIF);
          for (const pn of p.providesNames) discoverName(pn, STATE_INSTALLIF);
        }
      }
    }
  };
  const discoverName = (n: NameNode, pkgState: number): void => {
    for (const prov of n.providers) {
      const p = prov.pkg;
      let st = pkgState;
      if (!marked(p)) continue;
      if ((st === STATE_PRESENT || st === STATE_INSTALLIF) && !p.providerPriority && !isNameConcrete(p, n))
        st = STATE_VIRTUAL_ONLY;
      if (pi(p) & st) continue;
      pkgInt.set(p, (pi(p) | st) >>> 0);
      nameInt.set(p.name, (ni(p.name) | st) >>> 0);
      p.provides.forEach((pv, i) => {
        const pn = p.providesNames[i]!;
        const depState = st === STATE_INSTALLIF && pv.version === null ? STATE_VIRTUAL_ONLY : st;
        nameInt.set(pn, (ni(pn) | depState) >>> 0);
      });
      discoverDeps(index.dependsOf(p));
      if (st === STATE_PRESENT || st === STATE_INSTALLIF) {
        discoverReverseIif(p.name);
        for (const pn of p.providesNames) discoverReverseIif(pn);
      }
    }
  };
  const discoverDeps = (deps: readonly DepNode[]) => {
    for (const d of deps) if (!d.conflict) discoverName(d.name, STATE_PRESENT);
  };

  // ---- printing ----
  const analyzeReverse = (p: PkgState, match: number, cb: (p0: PkgNode | null, d0: DepNode) => void) => {
    for (const d of state.world) if (depAnalyze(state, null, d, p.node) & match) cb(null, d);
    const visited = new Set<PkgNode>();
    const visit = (n: NameState) => {
      for (const n0 of state.reverseDeps(n)) {
        for (const prov of n0.node.providers) {
          const p0 = prov.pkg;
          if (!marked(p0) || visited.has(p0)) continue;
          visited.add(p0);
          for (const d0 of index.dependsOf(p0)) if (depAnalyze(state, p0, d0, p.node) & match) cb(p0, d0);
        }
      }
    };
    visit(state.name(p.node.name));
    for (const pn of p.node.providesNames) visit(state.name(pn));
  };
  const printDeps = (p: PkgState, match: number) => {
    const label = match === DEP_SATISFIES ? 'satisfies:' : 'breaks:';
    analyzeReverse(p, match, (p0, d0) => {
      ps.labelStart(label);
      ps.item(p0 === null ? `world[${dep(d0)}]` : `${pkgVer(p0)}[${dep(d0)}]`);
    });
    ps.end();
  };
  const printPinningErrors = (p: PkgState, tagId: number) => {
    const node = p.node;
    if (node.installed) return;
    if ((node.repos & index.availableRepos) === 0) {
      ps.labelStart('masked in:');
      ps.item('--no-network');
      ps.end();
      return;
    }
    if ((node.repos & index.pinningRepos(1 | (1 << tagId))) !== 0) return;
    const tags: string[] = [];
    for (const t of index.tags) {
      if ((node.repos & t.repos) === 0) continue;
      ps.labelStart('masked in:');
      ps.item(`@${t.name}`);
      tags.push(t.name);
    }
    if (tags.length) masked.push({ pkg: node, tags });
    ps.end();
  };
  const printConflicts = (p: PkgState) => {
    const node = p.node;
    for (const prov of node.name.providers) {
      if (prov.pkg === node || !marked(prov.pkg)) continue;
      ps.labelStart('conflicts:');
      ps.item(pkgVer(prov.pkg));
    }
    node.provides.forEach((pv, i) => {
      const pn = node.providesNames[i]!;
      let once = true;
      for (const prov of pn.providers) {
        if (!marked(prov.pkg)) continue;
        if (pv.version === null && prov.version === null) continue;
        if (once && prov.pkg === node && prov.version === pv.version) {
          once = false;
          continue;
        }
        ps.labelStart('conflicts:');
        const provideText = pv.version === null ? pn.name : `${pn.name}=${pv.version}`;
        ps.item(`${pkgVer(prov.pkg)}[${provideText}]`);
      }
    });
    ps.end();
  };
  const analyzePackage = (p: PkgState, tagId: number) => {
    ps.label = pkgVer(p.node);
    printPinningErrors(p, tagId);
    printConflicts(p);
    printDeps(p, DEP_CONFLICTS);
    if (ps.label === null) printDeps(p, DEP_SATISFIES);
  };
  const analyzeMissingName = (n: NameNode) => {
    if (n.providers.length) {
      ps.label = `${n.name} (virtual)`;
      ps.labelStart('note:');
      ps.words("please select one of the 'provided by' packages explicitly");
      ps.end();
      ps.labelStart('provided by:');
      for (const prov of n.providers) nameInt.set(prov.pkg.name, ni(prov.pkg.name) + 1);
      for (const prov of n.providers) {
        const n0 = prov.pkg.name;
        const refs = ni(n0) & STATE_COUNT_MASK;
        if (refs === n0.providers.length) {
          ps.item(n0.name);
          nameInt.set(n0, (ni(n0) & ~STATE_COUNT_MASK) >>> 0);
        } else if (refs > 0) {
          ps.item(pkgVer(prov.pkg));
          nameInt.set(n0, ni(n0) - 1);
        }
      }
      ps.end();
    } else {
      ps.label = `${n.name} (no such package)`;
      missing.push(n);
    }
    ps.labelStart('required by:');
    for (const d0 of state.world) {
      if (d0.name !== n || d0.conflict) continue;
      ps.item(`world[${dep(d0)}]`);
    }
    const visited = new Set<PkgNode>();
    for (const n0 of state.reverseDeps(state.name(n))) {
      for (const prov of n0.node.providers) {
        const p0 = prov.pkg;
        if (!marked(p0) || visited.has(p0)) continue;
        visited.add(p0);
        for (const d0 of index.dependsOf(p0)) {
          if (d0.name !== n || d0.conflict) continue;
          ps.item(`${pkgVer(p0)}[${dep(d0)}]`);
          break;
        }
        // apk looks at the first marked provider of each requiring name only
        break;
      }
    }
    ps.end();
  };
  const analyzeDeps = (deps: readonly DepNode[]) => {
    for (const d of deps) {
      if (d.conflict) continue;
      if (ni(d.name) & (STATE_INSTALLIF | STATE_PRESENT | STATE_MISSING)) continue;
      nameInt.set(d.name, (ni(d.name) | STATE_MISSING) >>> 0);
      analyzeMissingName(d.name);
    }
  };

  discoverDeps(state.world);
  analyzeDeps(state.world);
  for (const c of state.changes) {
    if (!c.new) continue;
    analyzePackage(c.new, c.newTagId);
    analyzeDeps(index.dependsOf(c.new.node));
  }
  let message = `unable to select packages:\n${ps.out}`;
  if (!ps.numLabels) message += '  (lading could not single out the broken constraint)\n';
  return { message: message.trimEnd(), hint: hints(state, missing, masked) };
}

function hints(
  state: SolveState,
  missing: NameNode[],
  masked: { pkg: PkgNode; tags: string[] }[],
): string | undefined {
  const out: string[] = [];
  for (const n of missing) {
    const otherArch = state.index.otherArchNames.get(n.name);
    if (otherArch !== undefined) {
      out.push(`"${n.name}" exists only for architecture ${otherArch}, not ${state.index.arch}`);
      continue;
    }
    const near = nearNames(state, n.name);
    out.push(
      near.length
        ? `no package provides "${n.name}"; did you mean ${near.map((x) => `"${x}"`).join(', ')}?`
        : `no package provides "${n.name}"; check the spelling and that the repository that has it is configured`,
    );
  }
  for (const m of masked) {
    const name = m.pkg.name.name;
    const where = m.tags.map((t) => `@${t}`).join(', ');
    out.push(
      `${pkgVer(m.pkg)} is only in the repository tagged ${where}; ask for it as "${name}@${m.tags[0]}" to allow that repository`,
    );
  }
  return out.length ? out.join('\n  hint: ') : undefined;
}

/** Up to three real package names within a small edit distance of `name` (or containing it). */
function nearNames(state: SolveState, name: string): string[] {
  const scored: [number, string][] = [];
  const max = name.length <= 4 ? 1 : name.length <= 8 ? 2 : 3;
  state.index.forEachProvidedName((other) => {
    if (other === name) return;
    if (Math.abs(other.length - name.length) > max) {
      if (other.length > name.length && name.length >= 4 && other.startsWith(name))
        scored.push([max + 1, other]);
      return;
    }
    const d = editDistance(name, other, max);
    if (d <= max) scored.push([d, other]);
  });
  scored.sort((a, b) => a[0] - b[0] || a[1].length - b[1].length || (a[1] < b[1] ? -1 : 1));
  return scored.slice(0, 3).map((s) => s[1]);
}

/** Levenshtein distance, giving up (returning max + 1) once it exceeds `max`. */
export function editDistance(a: string, b: string, max: number): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    let best = i;
    for (let j = 1; j <= b.length; j++) {
      const v = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      cur.push(v);
      if (v < best) best = v;
    }
    if (best > max) return max + 1;
    prev = cur;
  }
  return prev[b.length]!;
}
