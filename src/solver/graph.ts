/** The resolved graph's edges in a stable order, shared by the `dot` drawing and the `why` chain search. */
import type { RepositoryPackage } from '../apk/types.ts';
import { compareBytes as cmp } from '../util/compare.ts';
import type { Resolution, ResolvedEdge } from './resolve.ts';

/** `name-version`, as apk and the graph print a package. */
export const pkgLabel = (p: RepositoryPackage): string => `${p.name}-${p.version}`;

/** The edges sorted by (from, to, dependency) label, each (from, to, dependency, kind) once. */
export function sortedEdges(resolution: Resolution): ResolvedEdge[] {
  const name = (i: number) => (i === -1 ? '' : pkgLabel(resolution.packages[i]!));
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
