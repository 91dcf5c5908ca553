/**
 * Pure formatting for the resolver's commands: `show-packages` lists, the Graphviz `dot` graph and `why`
 * chains. No I/O; the CLI prints what these return.
 */

import type { RepositoryPackage } from '../apk/types.ts';
import { compareBytes } from '../util/compare.ts';
import { LadingError } from '../util/errors.ts';
import { editDistance } from './explain.ts';
import type { PackageIndex } from './package-index.ts';
import type { Resolution, ResolvedEdge } from './resolve.ts';

/** apko's preset names (`name-version` is the default) plus `json`. */
export const PACKAGE_LIST_FORMATS = [
  'name-version',
  'name-version-source',
  'name=version',
  'name=version-source',
  'name-(version)',
  'name-(version)-source',
  'packagelock',
  'packagelock-source',
  'json',
] as const;

/** apko's presets, verbatim (internal/cli/show-packages.go): `name-version` is space-separated there too. */
const TEMPLATES: Record<string, string> = {
  'name-version': '{{ .Name }} {{ .Version }}',
  'name-version-source': '{{ .Name }} {{ .Version }} {{ .Source }}',
  'name=version': '{{ .Name }}={{ .Version }}',
  'name=version-source': '{{ .Name }}={{ .Version }} {{ .Source }}',
  'name-(version)': '{{ .Name }} ({{ .Version }})',
  'name-(version)-source': '{{ .Name }} ({{ .Version }}) {{ .Source }}',
  packagelock: '- {{ .Name }}={{ .Version }}',
  'packagelock-source': '- {{ .Name }}={{ .Version }} # {{ .Source }}',
};

/**
 * Where the package file is: `<repository>/<arch>/<name>-<version>.apk`, in the directory of the index that
 * listed it (the target arch), where lading's build and apko fetch it, whatever the record's `A:` says.
 */
export function packageSource(p: RepositoryPackage, arch: string): string {
  if (p.repository === '') return '';
  return `${p.repository.replace(/\/+$/, '')}/${arch}/${p.name}-${p.version}.apk`;
}

const FIELDS: Record<string, (p: RepositoryPackage, arch: string) => string> = {
  Name: (p) => p.name,
  Version: (p) => p.version,
  Source: packageSource,
  Arch: (p, arch) => p.arch ?? arch,
  Origin: (p) => p.origin ?? '',
  Repository: (p) => p.repository,
  Checksum: (p) => p.checksum ?? '',
  License: (p) => p.license ?? '',
  Description: (p) => p.description ?? '',
  Maintainer: (p) => p.maintainer ?? '',
};

/**
 * The package list in one of PACKAGE_LIST_FORMATS or a template using `{{.Name}}`, `{{.Version}}`,
 * `{{.Source}}`, `{{.Arch}}`, `{{.Origin}}`, `{{.Repository}}`, `{{.Checksum}}`, `{{.License}}`,
 * `{{.Description}}`, `{{.Maintainer}}`.
 * One line per package (a JSON array for `json`), ending with a newline.
 */
export function formatPackageList(
  packages: readonly RepositoryPackage[],
  format: string,
  arch: string,
): string {
  if (format === 'json')
    return `${JSON.stringify(
      packages.map((p) => packageJson(p, arch)),
      null,
      2,
    )}\n`;
  const template = TEMPLATES[format] ?? (format.includes('{{') ? format : undefined);
  if (template === undefined) {
    throw new LadingError('FORMAT_UNKNOWN', `unknown package list format ${JSON.stringify(format)}`, {
      hint: `use one of ${PACKAGE_LIST_FORMATS.join(', ')}, or a template such as "{{.Name}} {{.Version}}"`,
    });
  }
  const unknown = [...template.matchAll(/\{\{\s*\.(\w+)\s*\}\}/g)]
    .map((m) => m[1]!)
    .filter((f) => !(f in FIELDS));
  if (unknown.length) {
    throw new LadingError(
      'FORMAT_UNKNOWN',
      `unknown field .${unknown[0]} in format ${JSON.stringify(format)}`,
      {
        hint: `fields: ${Object.keys(FIELDS)
          .map((f) => `.${f}`)
          .join(' ')}`,
      },
    );
  }
  let out = '';
  for (const p of packages)
    out += `${template.replace(/\{\{\s*\.(\w+)\s*\}\}/g, (_, f: string) => FIELDS[f]!(p, arch))}\n`;
  return out;
}

/** The JSON form of one package: the fields people ask about, in a fixed order. */
export function packageJson(p: RepositoryPackage, arch: string): Record<string, string | number | null> {
  return {
    name: p.name,
    version: p.version,
    arch: p.arch ?? arch,
    origin: p.origin ?? null,
    repository: p.repository,
    checksum: p.checksum ?? null,
    size: p.size ?? null,
    installedSize: p.installedSize ?? null,
    license: p.license ?? null,
  };
}

const quote = (s: string): string => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
const label = (p: RepositoryPackage): string => `${p.name}-${p.version}`;

export interface DotOptions {
  /**
   * Keep one incoming edge per package: the first on a shortest path from the world (apko's `-S`), so large
   * graphs stay readable.
   */
  spanningTree?: boolean;
}

/**
 * The resolved dependency graph in Graphviz dot: a `world` node, one node per package, an edge per
 * dependency (labelled with the dependency when it is not just the target's name), dashed for install_if.
 */
export function formatDot(resolution: Resolution, options: DotOptions = {}): string {
  const lines = [
    'digraph packages {',
    '  rankdir=LR;',
    '  node [shape=box, fontname="monospace"];',
    '  "world" [shape=ellipse];',
  ];
  for (const p of resolution.packages) lines.push(`  ${quote(label(p))};`);
  let edges = sortedEdges(resolution);
  if (options.spanningTree) edges = spanningTree(edges);
  for (const e of edges) {
    const from = e.from === -1 ? 'world' : label(resolution.packages[e.from]!);
    const to = resolution.packages[e.to]!;
    const attrs: string[] = [];
    if (e.dependency !== to.name) attrs.push(`label=${quote(e.dependency)}`);
    if (e.kind === 'install_if') attrs.push('style=dashed');
    lines.push(`  ${quote(from)} -> ${quote(label(to))}${attrs.length ? ` [${attrs.join(', ')}]` : ''};`);
  }
  lines.push('}');
  return `${lines.join('\n')}\n`;
}

/** Breadth first from the world over sorted edges: each package keeps the edge that first reached it. */
function spanningTree(edges: ResolvedEdge[]): ResolvedEdge[] {
  const outgoing = new Map<number, ResolvedEdge[]>();
  for (const e of edges) {
    const list = outgoing.get(e.from) ?? [];
    list.push(e);
    outgoing.set(e.from, list);
  }
  const kept = new Set<ResolvedEdge>();
  const reached = new Set<number>([-1]);
  for (let frontier = [-1]; frontier.length > 0; ) {
    const next: number[] = [];
    for (const at of frontier) {
      for (const e of outgoing.get(at) ?? []) {
        if (reached.has(e.to)) continue;
        reached.add(e.to);
        kept.add(e);
        next.push(e.to);
      }
    }
    frontier = next;
  }
  return edges.filter((e) => kept.has(e));
}

function sortedEdges(resolution: Resolution): ResolvedEdge[] {
  const name = (i: number) => (i === -1 ? '' : label(resolution.packages[i]!));
  const seen = new Set<string>();
  return [...resolution.edges]
    .sort(
      (a, b) =>
        cmp(name(a.from), name(b.from)) || cmp(name(a.to), name(b.to)) || cmp(a.dependency, b.dependency),
    )
    .filter((e) => {
      const k = `${e.from} ${e.to} ${e.dependency} ${e.kind}`;
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    });
}

const cmp = compareBytes;

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
  let truncated = false;
  while (queue.length > 0 && !truncated) {
    const next: typeof queue = [];
    for (const item of queue) {
      for (const e of incoming.get(item.at) ?? []) {
        if (++expansions > 200_000) truncated = true;
        if (e.from === -1) {
          if (chains.length >= limit) {
            truncated = true;
            break;
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
      if (truncated) break;
    }
    queue = next;
  }
  const result: WhyResult = { target: resolution.packages[target]!, chains, truncated };
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

/** `why` as text: one line per chain, `world[dep] → pkg-ver [dep] → … → target-ver`. */
export function formatWhy(result: WhyResult): string {
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
  if (result.truncated) lines.push(`  … and more (showing ${result.chains.length})`);
  return `${lines.join('\n')}\n`;
}
