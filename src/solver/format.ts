/**
 * Pure formatting for the resolver's commands: `show-packages` lists and the Graphviz `dot` graph (`why`
 * chains are in why.ts). No I/O; the CLI prints what these return.
 */

import type { RepositoryPackage } from '../apk/types.ts';
import { LadingError } from '../util/errors.ts';
import { pkgLabel as label, sortedEdges } from './graph.ts';
import type { Resolution, ResolvedEdge } from './resolve.ts';

export { formatWhy, type WhyResult, type WhyStep, whyChains, whyNotInstalled } from './why.ts';

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
  checkTemplate(template, format);
  let out = '';
  for (const p of packages)
    out += `${template.replace(/\{\{\s*\.(\w+)\s*\}\}/g, (_, f: string) => FIELDS[f]!(p, arch))}\n`;
  return out;
}

/** Go's template builtins: known to a Go template, not to lading's `{{.Field}}` templates. */
const GO_BUILTINS = new Set(
  'and call html index slice js len not or print printf println urlquery eq ge gt le lt ne'.split(' '),
);

/**
 * Every `{{ … }}` must be a known `.Field`: anything else (a pipe, a function, `if`/`range`) would be printed
 * as it is, where apko's Go templates fail naming what they do not know. So does this.
 */
function checkTemplate(template: string, format: string): void {
  const fields = `fields: ${Object.keys(FIELDS)
    .map((f) => `.${f}`)
    .join(' ')}`;
  const fail = (message: string) =>
    new LadingError('FORMAT_UNKNOWN', `${message} in format ${JSON.stringify(format)}`, {
      hint: `lading's templates hold fields only, e.g. "{{.Name}} {{.Version}}"; ${fields}`,
    });
  let rest = template;
  for (let open = rest.indexOf('{{'); open >= 0; open = rest.indexOf('{{')) {
    const close = rest.indexOf('}}', open + 2);
    if (close < 0) throw fail('unclosed action');
    const action = rest.slice(open + 2, close).trim();
    rest = rest.slice(close + 2);
    const field = /^\.(\w+)$/.exec(action)?.[1];
    if (field !== undefined) {
      if (!(field in FIELDS))
        throw new LadingError(
          'FORMAT_UNKNOWN',
          `unknown field .${field} in format ${JSON.stringify(format)}`,
          {
            hint: fields,
          },
        );
      continue;
    }
    // the first word that is not a field: a function (`.Name | upper`, `upper .Name`) or a keyword (`if`)
    const word = action
      .split(/[\s|()]+/)
      .find((w) => w !== '' && !w.startsWith('.') && !w.startsWith('"') && !w.startsWith('$'));
    if (word === undefined) throw fail(`unsupported action {{${action}}}`);
    if (['if', 'else', 'end', 'range', 'with', 'define', 'template', 'block'].includes(word))
      throw fail(`unsupported action {{${action}}}: "${word}" is not supported`);
    throw fail(
      GO_BUILTINS.has(word)
        ? `function "${word}" is not supported (in {{${action}}})`
        : `function "${word}" not defined (in {{${action}}})`,
    );
  }
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
