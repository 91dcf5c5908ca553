/**
 * `layering: {strategy: origin, budget: N}`: the image filesystem split into one layer per group of
 * packages (one origin, joined with the groups they `replaces`), the largest first, plus a top layer with
 * everything no package installed. A group's layer is built only from what its own packages installed, so
 * it has the same digest in every image holding the same packages, whatever else changed: the layer cache
 * then serves it without tar or gzip work, and registries and runtimes share it.
 *
 * Applied in order (later layers win, as overlayfs and tar extraction do), the layers give exactly the
 * single-layer filesystem:
 * - a path a package owns goes to its group's layer *as the package installed it*. When a later step
 *   changed or replaced it (accounts rewrite /etc/passwd, `paths` chmod a file, busybox links replace a
 *   file) or it is hard-linked with a path outside that layer, the image's version also goes to the top
 *   layer, which wins. The package layer keeps the pristine copy so it does not depend on the config or
 *   on other packages (a few small files are stored twice);
 * - the top layer holds every directory with its final attributes, so whatever a lower layer said about
 *   a directory is overridden. Package layers hold the directories their packages declare (the group's
 *   own attributes: apk's merge rule among them, the newest mtime) and, for the parents of their entries
 *   no package of the group declares, a plain 0755 root directory with the mtime of the entry that needs
 *   it — never the merged image attributes, which depend on every package having that directory;
 * - names of one file node stay in one layer, so hard links stay hard links (a tar hard link can only
 *   point into its own layer);
 * - package layers carry numeric owners only: names come from the image's /etc/passwd, which other
 *   packages and the accounts config change. The top layer gets names as the single layer does;
 * - nothing is deleted (no whiteouts): a package path that no longer exists is left out of its layer.
 *   Package layers that end up empty (meta packages) are dropped.
 *
 * Where apko differs: it gives a package layer's parent directories the image's (merged) attributes with
 * the mtime of the file being written, keeps no pristine copies, puts a partial apk database into every
 * package layer (for layer-aware scanners; here the database is only in the top layer, where it is
 * complete), groups every origin-less package together, and does not cap the budget.
 */
import { tryParseDependency } from '../apk/dependency.ts';
import type { PackageInfo } from '../apk/types.ts';
import type { Layering } from '../config/types.ts';
import { compareBytes, parentOf } from '../fs/path.ts';
import { directoryNode, type FsNode, type ImageFS } from '../fs/tree.ts';
import type { LayerEntry } from '../oci/types.ts';
import {
  type InstalledDirectory,
  type InstalledFile,
  type Installer,
  mergeDirAcl,
} from '../rootfs/install.ts';
import { satisfiesReplaces } from '../rootfs/replaces.ts';
import { layerEntries, nodeEntries, ownerNames } from './entries.ts';

/**
 * The most layers an image gets. Docker refuses an image of more than 125 layers ("max depth exceeded": its
 * layer store keeps two of overlay's 127 lower directories for the container), so a larger budget is capped:
 * at most this many minus one package layers, plus the top layer.
 */
export const MAX_LAYERS = 125;

export interface LayerPlan {
  /** `packages`: one group's files; `top`: everything else; `image`: the whole filesystem (no layering). */
  kind: 'packages' | 'top' | 'image';
  /** Short name: the group's origins joined with `+`, or `top`, or `image`. */
  name: string;
  /** The group's packages, sorted by name (empty for `top` and `image`). */
  packages: readonly PackageInfo[];
  /** A one-line description for the image history comment. */
  comment: string;
  /** The layer's members in tar order. Each call starts a new pass (the cache key and the writer each need one). */
  entries(): Iterable<LayerEntry>;
}

/** The filesystem and the installer that recorded who owns what (a BuiltFilesystem is one). */
export interface LayeringInput {
  fs: ImageFS;
  installer: Installer;
}

/**
 * The layers of the image: one plan with the whole filesystem without `layering`; with it, the package
 * group layers (largest first) and the top layer last.
 */
export function planLayers(built: LayeringInput, layering?: Layering): LayerPlan[] {
  if (layering === undefined) {
    return [
      { kind: 'image', name: 'image', packages: [], comment: '', entries: () => layerEntries(built.fs) },
    ];
  }
  const infos = built.installer.installed.map((p) => p.pkg.info);
  const groups = groupPackages(infos, layering.budget);
  const split = splitFilesystem(built, groups);
  const plans: LayerPlan[] = [];
  groups.forEach((packages, i) => {
    const items = split.groups[i]!;
    if (items.length === 0) return;
    const origins = [...new Set(packages.map(originOf))].sort(compareBytes);
    plans.push({
      kind: 'packages',
      name: origins.join('+'),
      packages,
      comment: `${origins.length === 1 ? 'origin' : 'origins'} ${origins.join(', ')}: ${packages.map((p) => `${p.name}-${p.version}`).join(' ')}`,
      entries: () => nodeEntries(items),
    });
  });
  const names = ownerNames(built.fs);
  plans.push({
    kind: 'top',
    name: 'top',
    packages: [],
    comment: 'directories, the apk database and the files lading wrote or changed',
    entries: () => nodeEntries(split.top, names),
  });
  return plans;
}

function originOf(p: PackageInfo): string {
  return p.origin || p.name;
}

/**
 * apko's grouping: packages by origin (a package without one is its own origin), groups joined when a
 * package replaces one in another group (and that one's version matches the constraint), sorted by
 * installed size, largest first, ties by the greatest package name in the group (smaller first); the
 * first budget−1 are kept and the rest merged into one last group (budget 0 behaves as 1). Packages in
 * a group are sorted by name.
 */
export function groupPackages(packages: readonly PackageInfo[], budget: number): PackageInfo[][] {
  const byName = new Map(packages.map((p) => [p.name, p]));
  const parent = new Map<string, string>();
  const find = (name: string): string => {
    let root = name;
    while (parent.has(root)) root = parent.get(root)!;
    if (root !== name) parent.set(name, root);
    return root;
  };
  const union = (a: string, b: string) => {
    const ra = find(a);
    const rb = find(b);
    if (ra !== rb) parent.set(rb, ra);
  };
  const byOrigin = new Map<string, string>();
  for (const p of packages) {
    const key = `origin:${originOf(p)}`;
    const first = byOrigin.get(key);
    if (first === undefined) byOrigin.set(key, p.name);
    else union(first, p.name);
  }
  for (const p of packages) {
    for (const r of p.replaces) {
      const dep = tryParseDependency(r);
      if (typeof dep === 'string') continue;
      const replaced = byName.get(dep.name);
      if (replaced !== undefined && replaced !== p && satisfiesReplaces(r, replaced))
        union(p.name, replaced.name);
    }
  }

  const members = new Map<string, PackageInfo[]>();
  for (const p of packages) {
    const root = find(p.name);
    const list = members.get(root);
    if (list) list.push(p);
    else members.set(root, [p]);
  }
  const measured = [...members.values()].map((pkgs) => ({
    pkgs,
    size: pkgs.reduce((n, p) => n + (p.installedSize ?? 0), 0),
    tiebreaker: pkgs.map((p) => p.name).reduce((a, b) => (compareBytes(a, b) >= 0 ? a : b)),
  }));
  measured.sort((a, b) => b.size - a.size || compareBytes(a.tiebreaker, b.tiebreaker));

  const limit = Math.min(budget, MAX_LAYERS - 1);
  let kept = measured.map((g) => g.pkgs);
  if (kept.length > limit) {
    const cutoff = Math.max(limit - 1, 0);
    kept = [...kept.slice(0, cutoff), kept.slice(cutoff).flat()];
  }
  return kept.map((g) => [...g].sort((a, b) => compareBytes(a.name, b.name)));
}

export type Item = readonly [string, FsNode];

interface GroupLayer {
  items: Item[];
  /** The directories written so far on the path to the current walk position. */
  open: string[];
}

/** Every ancestor of a path, outermost first: `usr/lib/x` → `usr`, `usr/lib`. */
function ancestors(path: string): string[] {
  const out: string[] = [];
  for (let p = parentOf(path); p !== ''; p = parentOf(p)) out.push(p);
  return out.reverse();
}

/** Adds the parent directories `layer` has not written yet (plain 0755 root directories). */
function openParents(layer: GroupLayer, path: string, mtime: number): void {
  const chain = ancestors(path);
  let i = 0;
  while (i < layer.open.length && i < chain.length && layer.open[i] === chain[i]) i++;
  layer.open.length = i;
  for (; i < chain.length; i++) {
    layer.items.push([chain[i]!, directoryNode({ mtime })]);
    layer.open.push(chain[i]!);
  }
}

/** Was the node at this path left exactly as its package installed it? */
function untouched(owned: InstalledFile, node: FsNode): boolean {
  const a = owned.attrs;
  return (
    node === owned.node &&
    node.type === a.type &&
    node.mode === a.mode &&
    node.uid === a.uid &&
    node.gid === a.gid &&
    node.mtime === a.mtime &&
    node.size === a.size &&
    node.content === a.content &&
    node.contentId === a.contentId &&
    node.sha1 === a.sha1 &&
    node.linkname === a.linkname &&
    node.devmajor === a.devmajor &&
    node.devminor === a.devminor &&
    node.xattrs === a.xattrs
  );
}

/**
 * The layers of some groups of packages, each with what its own packages installed (see the file comment):
 * (path, node) items in tar order, for nodeEntries.
 */
export function groupLayerItems(built: LayeringInput, groups: readonly PackageInfo[][]): Item[][] {
  return splitFilesystem(built, groups).groups;
}

/** The walk of the image, each path sent to its layers (see the file comment). */
function splitFilesystem(
  built: LayeringInput,
  groups: readonly PackageInfo[][],
): { groups: Item[][]; top: Item[] } {
  const { fs, installer } = built;
  const groupOf = new Map<string, number>();
  groups.forEach((g, i) => {
    for (const p of g) groupOf.set(p.name, i);
  });
  const TOP = -1;
  const walk = [...fs.walk()];

  // Where each path would go on its own; a file node whose names would land in different layers
  // is written whole to the top layer instead.
  const owners = walk.map(([path, node]) =>
    node.type === 'directory' ? undefined : installer.installedFile(path),
  );
  const home = walk.map(([, node], i) => {
    const owned = owners[i];
    return owned !== undefined && untouched(owned, node) ? groupOf.get(owned.installed.pkg.info.name)! : TOP;
  });
  const nodeHome = new Map<FsNode, number>();
  walk.forEach(([, node], i) => {
    if (node.type !== 'file') return;
    const seen = nodeHome.get(node);
    if (seen === undefined) nodeHome.set(node, home[i]!);
    else if (seen !== home[i]) nodeHome.set(node, TOP);
  });

  const layers: GroupLayer[] = groups.map(() => ({ items: [], open: [] }));
  const top: Item[] = [];
  walk.forEach(([path, node], i) => {
    if (node.type === 'directory') {
      top.push([path, node]);
      for (const [g, declared] of declaredBy(installer.installedDirectories(path), groupOf)) {
        openParents(layers[g]!, path, declared.mtime);
        layers[g]!.items.push([path, declared]);
        layers[g]!.open.push(path);
      }
      return;
    }
    const owned = owners[i];
    if (owned !== undefined) {
      const layer = layers[groupOf.get(owned.installed.pkg.info.name)!]!;
      openParents(layer, path, owned.attrs.mtime);
      layer.items.push([path, owned.attrs]);
    }
    const whole = node.type === 'file' ? nodeHome.get(node)! : home[i]!;
    if (whole === TOP) top.push([path, node]);
  });
  return { groups: layers.map((l) => l.items), top };
}

/**
 * Each group's own view of a directory its packages declare: apk's attribute merge among them, the newest
 * mtime, and the xattrs of the first package (by name) that has any — independent of install order and
 * of other groups.
 */
function declaredBy(
  entries: readonly InstalledDirectory[],
  groupOf: ReadonlyMap<string, number>,
): Map<number, FsNode> {
  const out = new Map<number, FsNode>();
  const sorted = [...entries].sort((a, b) =>
    compareBytes(a.installed.pkg.info.name, b.installed.pkg.info.name),
  );
  for (const d of sorted) {
    const g = groupOf.get(d.installed.pkg.info.name)!;
    const seen = out.get(g);
    const acl = mergeDirAcl(seen, d);
    out.set(
      g,
      directoryNode({
        ...acl,
        mtime: Math.max(seen?.mtime ?? d.mtime, d.mtime),
        xattrs: seen?.xattrs ?? d.xattrs,
      }),
    );
  }
  return new Map([...out].sort((a, b) => a[0] - b[0]));
}
