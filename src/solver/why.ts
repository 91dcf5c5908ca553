/**
 * `why`: every chain of dependencies from the world to a resolved package (a breadth-first search over the
 * resolved graph, shortest chains first), why a name is not in a resolution, and the chains as text.
 */
import type { RepositoryPackage } from '../apk/types.ts';
import { compareBytes as cmp } from '../util/compare.ts';
import { LadingError } from '../util/errors.ts';
import { editDistance } from './explain.ts';
import { pkgLabel as label, sortedEdges } from './graph.ts';
import type { PackageIndex } from './package-index.ts';
import type { Resolution, ResolvedEdge } from './resolve.ts';

/** One step of a why chain: the dependency (or world entry, or install_if condition) and the package it pulled in. */
export interface WhyStep {
  dependency: string;
  kind: ResolvedEdge['kind'];
  package: RepositoryPackage;
}

export interface WhyResult {
  target: RepositoryPackage;
  /** Set when the name asked about is one the target provides (`cmd:sh`, `so:libcrypto.so.3`), not its own. */
  via?: string;
  /** Every chain from a world entry to the target (shortest first), each starting at the world entry. */
  chains: WhyStep[][];
  /** True when there were more chains than the limit. */
  truncated: boolean;
  /** How many chains were found beyond the limit (a lower bound when the search hit its cap). */
  more: number;
  /** True when the search stopped at its cap, so there may be more chains than counted. */
  capped: boolean;
}

/**
 * Every chain of dependencies from a world entry to the package named `name`, or else the first package (in
 * install order) providing that name (simple paths, shortest first, at most `limit`). Throws
 * LadingError('WHY_NOT_INSTALLED') when no resolved package has or provides that name.
 */
export function whyChains(resolution: Resolution, name: string, limit = 100): WhyResult {
  let target = resolution.packages.findIndex((p) => p.name === name);
  let via: string | undefined;
  if (target === -1) {
    target = resolution.packages.findIndex((p) => p.provides.some((x) => providedName(x) === name));
    if (target !== -1) via = name;
  }
  if (target === -1) {
    const near = resolution.packages
      .map((p) => p.name)
      .filter((n) => editDistance(n, name, 2) <= 2)
      .sort()
      .slice(0, 3);
    throw new LadingError('WHY_NOT_INSTALLED', `"${name}" is not in the resolved package set`, {
      hint: near.length
        ? `did you mean ${near.map((n) => `"${n}"`).join(', ')}?`
        : 'it is neither in the world nor pulled in by a dependency; `lading show-packages` lists what is',
    });
  }
  const incoming = new Map<number, ResolvedEdge[]>();
  for (const e of sortedEdges(resolution)) {
    const list = incoming.get(e.to) ?? [];
    list.push(e);
    incoming.set(e.to, list);
  }
  // Breadth first over simple paths walked backwards from the target, so shorter chains come first.
  const chains: WhyStep[][] = [];
  let queue: { at: number; path: ResolvedEdge[]; visited: Set<number> }[] = [
    { at: target, path: [], visited: new Set([target]) },
  ];
  let expansions = 0;
  // chains past the limit are counted, not kept, so the output can say how many it leaves out
  let more = 0;
  let capped = false;
  while (queue.length > 0 && !capped) {
    const next: typeof queue = [];
    for (const item of queue) {
      for (const e of incoming.get(item.at) ?? []) {
        if (++expansions > 200_000) {
          capped = true;
          break;
        }
        if (e.from === -1) {
          if (chains.length >= limit) {
            more++;
            continue;
          }
          chains.push(
            [e, ...item.path].map((x) => ({
              dependency: x.dependency,
              kind: x.kind,
              package: resolution.packages[x.to]!,
            })),
          );
          continue;
        }
        if (item.visited.has(e.from)) continue;
        next.push({ at: e.from, path: [e, ...item.path], visited: new Set([...item.visited, e.from]) });
      }
      if (capped) break;
    }
    queue = next;
  }
  const truncated = more > 0 || capped;
  const result: WhyResult = { target: resolution.packages[target]!, chains, truncated, more, capped };
  if (via !== undefined) result.via = via;
  return result;
}

/** `name=version` → `name`. */
const providedName = (provide: string): string => {
  const eq = provide.indexOf('=');
  return eq === -1 ? provide : provide.slice(0, eq);
};

/**
 * Why a name is not in a resolution, for `why`: the repositories have it but nothing in the world needs it
 * (WHY_NOT_INSTALLED), or no package has or provides it for this architecture (WHY_NO_SUCH_PACKAGE, with
 * near names).
 */
export function whyNotInstalled(index: PackageIndex, name: string, arch: string): LadingError {
  const node = index.findName(name);
  if (node !== undefined && node.providers.length > 0) {
    const have = [...new Set(node.providers.map((p) => `${p.pkg.name.name}-${p.pkg.version}`))];
    const shown = have.length > 3 ? `${have.slice(0, 3).join(', ')}, …` : have.join(', ');
    return new LadingError(
      'WHY_NOT_INSTALLED',
      `"${name}" is not installed for ${arch}: nothing in the world depends on it (the repositories have ${shown})`,
      { hint: `add it to contents.packages (or pass -p ${name}) to install it` },
    );
  }
  const otherArch = index.otherArchNames.get(name);
  if (otherArch !== undefined) {
    return new LadingError(
      'WHY_NO_SUCH_PACKAGE',
      `no package "${name}" for ${arch} in the repositories (there is one for ${otherArch})`,
      { hint: 'check --arch and the archs: of the config' },
    );
  }
  const near: string[] = [];
  index.forEachProvidedName((n) => {
    if (editDistance(n, name, 2) <= 2) near.push(n);
  });
  near.sort((a, b) => editDistance(a, name, 2) - editDistance(b, name, 2) || cmp(a, b));
  return new LadingError('WHY_NO_SUCH_PACKAGE', `no package "${name}" in the repositories for ${arch}`, {
    hint: near.length
      ? `did you mean ${near
          .slice(0, 3)
          .map((n) => `"${n}"`)
          .join(', ')}?`
      : 'check the name and the repositories of the config',
  });
}

/**
 * `why` as text: one line per chain, `world[dep] → pkg-ver [dep] → … → target-ver`, then how many were left
 * out (`howToSeeAll` says how to see them, e.g. the CLI's flag).
 */
export function formatWhy(result: WhyResult, howToSeeAll = ''): string {
  const t = result.target;
  const what = result.via === undefined ? label(t) : `${label(t)} (provides ${result.via})`;
  if (result.chains.length === 0) return `${what} is installed, but no chain from the world reaches it\n`;
  const lines = [`${what} is installed because of:`];
  for (const chain of result.chains) {
    let line = '';
    chain.forEach((step, i) => {
      const how = step.kind === 'install_if' ? `install_if ${step.dependency}` : step.dependency;
      line +=
        i === 0 ? `world[${step.dependency}] → ${label(step.package)}` : ` [${how}] → ${label(step.package)}`;
    });
    lines.push(`  ${line}`);
  }
  if (result.truncated) {
    const count =
      result.more === 0 ? 'possibly more' : `${result.capped ? 'at least ' : ''}${result.more} more`;
    lines.push(`  … and ${count}${howToSeeAll ? ` (${howToSeeAll})` : ''}`);
  }
  return `${lines.join('\n')}\n`;
}
