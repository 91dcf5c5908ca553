/**
 * The shape of src/: imports point one way. No module imports itself through others (type-only imports
 * count: they tie modules as tightly), the folders form no cycle either, and the library never imports
 * src/cli (the CLI is a client of the library, like any other). Each folder stands on a floor, as
 * docs/architecture.md draws them, and imports only folders on lower floors.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot } from '../helpers/paths.ts';

const src = join(repoRoot, 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) =>
      e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
    )
    .sort();
}

const SPECIFIER =
  /(?:^|\n)\s*(?:import|export)\b[^'"]*?\bfrom\s*['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;

/** module (path relative to src) → the src modules it imports */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles(src)) {
    const text = readFileSync(file, 'utf8');
    const deps: string[] = [];
    for (const m of text.matchAll(SPECIFIER)) {
      const spec = m[1] ?? m[2]!;
      if (!spec.startsWith('.')) continue;
      const target = resolve(dirname(file), spec);
      if (target.startsWith(`${src}/`)) deps.push(relative(src, target));
    }
    graph.set(relative(src, file), [...new Set(deps)].sort());
  }
  return graph;
}

/** The strongly connected components with more than one member (or a self-loop): the cycles. */
function cycles(graph: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) out.push(scc.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return out;
}

/** docs/architecture.md's floors, ground first; keep the two the same. */
const FLOORS: string[][] = [
  ['util'],
  ['platform', 'fs', 'net', 'tar'],
  ['apk', 'store', 'oci'],
  ['repo', 'registry', 'engine', 'sbom', 'solver'],
  ['config'],
  ['lock', 'rootfs'],
  ['prepare', 'layers'],
  ['base'],
  ['pipeline'],
  ['cli', 'index.ts'],
];
const floorOf = new Map(FLOORS.flatMap((names, floor) => names.map((n) => [n, floor] as const)));

const folder = (module: string) => (module.includes('/') ? module.slice(0, module.indexOf('/')) : module);

describe('src/ imports', () => {
  const graph = importGraph();

  it('form no cycle between modules', () => {
    assert.deepEqual(cycles(graph), []);
  });

  it('form no cycle between folders', () => {
    const folders = new Map<string, string[]>();
    for (const [m, deps] of graph) {
      const own = folders.get(folder(m)) ?? [];
      for (const d of deps) if (folder(d) !== folder(m) && !own.includes(folder(d))) own.push(folder(d));
      folders.set(folder(m), own);
    }
    assert.deepEqual(cycles(folders), []);
  });

  it('never go from the library into src/cli', () => {
    const offenders = [...graph]
      .filter(([m]) => folder(m) !== 'cli')
      .flatMap(([m, deps]) => deps.filter((d) => folder(d) === 'cli').map((d) => `${m} → ${d}`));
    assert.deepEqual(offenders, []);
  });

  it('point from each folder to lower floors only', () => {
    const unplaced = [...new Set([...graph.keys()].map(folder))].filter((f) => !floorOf.has(f));
    assert.deepEqual(unplaced, [], 'a new folder: give it a floor here and in docs/architecture.md');
    const upward = [...graph].flatMap(([m, deps]) =>
      deps
        .filter((d) => folder(d) !== folder(m) && floorOf.get(folder(d))! >= floorOf.get(folder(m))!)
        .map((d) => `${m} → ${d}`),
    );
    assert.deepEqual(
      upward,
      [],
      'an import to the same or a higher floor: move the code down, or redraw the floors',
    );
  });

  it('take zod as a namespace (a named import bundles all of zod into every command start-up)', () => {
    const named = sourceFiles(src).filter((f) =>
      /^import \{[^}]*\} from 'zod'/m.test(readFileSync(f, 'utf8')),
    );
    assert.deepEqual(
      named.map((f) => relative(src, f)),
      [],
    );
  });
});
