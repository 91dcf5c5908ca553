/**
 * `layering: {strategy: package}`: every package's own compressed data stream is an image layer as it is — no
 * tar or gzip work, and the layer's digest is the package's datahash, the same in every image that holds the
 * package — in install order, under a top layer that makes the stack equal the single-layer image.
 *
 * Stacking the packages' data tars is not what the installer did, so the plan simulates what runtimes make of
 * the stack (each layer unpacked over the ones below: a later entry replaces a non-directory, a directory
 * entry updates a directory, a non-directory replaces a directory with all below it) and compares the result
 * with the image filesystem, path by path. The top layer then holds:
 * - every directory of the image with its final attributes (apk merges the modes and owners of a directory
 *   several packages ship; the topmost layer holding a directory decides its attributes in an overlay mount);
 * - every file, link or device that differs from what the stack gives: generated files (the apk database,
 *   accounts, certificates, busybox links), files a package kept against a later one (`replaces`, identical
 *   files), files later steps changed; a file node with several names goes there whole, so its hard links
 *   stay one inode;
 * - a whiteout (`.wh.NAME`) for every path the stack has and the image does not: what the installer skipped
 *   (`.keep_*` files, top-level dot files) or a later step removed.
 *
 * A package whose stream runtimes would read differently from the installer (a global PAX header, a
 * sub-second mtime, overlay xattrs, a root entry: noted when the package is expanded), or whose entries
 * would land elsewhere when stacked (a path through a symlink another package made, as in usr-merged
 * images, where apk follows the link and an unpacking runtime replaces it with a directory), gets a layer
 * rebuilt from what it installed instead (re-compressed, through the layer cache), and its history entry
 * says why. Packages beyond the layer budget (at most MAX_LAYERS − 1 package layers) share one rebuilt layer
 * at the bottom; the largest packages keep their streams.
 */
import type { FsNode, FsNodeType, ImageFS } from '../fs/tree.ts';
import type { Layer, LayerEntry } from '../oci/types.ts';
import type { InstallRecord } from '../rootfs/install.ts';
import { compareBytes } from '../util/compare.ts';
import { nodeEntries, ownerNames } from './entries.ts';
import { groupLayerItems, type LayeringInput, type LayerPlan, MAX_LAYERS } from './plan.ts';

/** A layer that is a package's data stream as it is: nothing to write. */
export interface StreamPlan {
  kind: 'stream';
  name: string;
  packages: readonly InstallRecord['pkg']['info'][];
  comment: string;
  layer: Layer;
}

/** A layer of the plan: one to write from entries, or a package's stream. */
export type PlannedLayer = LayerPlan | StreamPlan;

/** One entry of a layer as a runtime unpacks it. */
interface Op {
  path: string;
  type: FsNodeType | 'hardlink';
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  size: number;
  contentId?: string;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  xattrs?: Record<string, Buffer>;
  /** Rebuilt layers: the node written, so a second name of the same node is a hard link to the first. */
  node?: FsNode;
}

/** A node of the stacked filesystem; a regular file is one inode, whatever names it has. */
interface Stacked {
  op: Op;
  /** Regular files: every path naming this inode now. */
  names?: Set<string>;
  children?: Map<string, Stacked>;
}

type Candidate = { record: InstallRecord; rebuilt?: string };

/** The layers of `layering: {strategy: package, budget}`: see the file comment. */
export function planPackageLayers(built: LayeringInput, budget: number): PlannedLayer[] {
  const { fs, installer } = built;
  const withFiles = installer.installed.filter((r) => r.pkg.entries.length > 0);
  const limit = Math.max(1, Math.min(budget, MAX_LAYERS - 1));
  let own = withFiles;
  let shared: InstallRecord[] = [];
  if (withFiles.length > limit) {
    // the largest streams keep their own layers: the most bytes not compressed again
    const size = (r: InstallRecord) => r.pkg.dataLayer?.layer.size ?? 0;
    const ranked = [...withFiles].sort(
      (a, b) => size(b) - size(a) || compareBytes(a.pkg.info.name, b.pkg.info.name),
    );
    const keep = new Set(ranked.slice(0, limit - 1));
    own = withFiles.filter((r) => keep.has(r));
    shared = withFiles
      .filter((r) => !keep.has(r))
      .sort((a, b) => compareBytes(a.pkg.info.name, b.pkg.info.name));
  }
  const candidates: Candidate[] = own.map((record) => {
    const d = record.pkg.dataLayer;
    if (d === undefined) return { record, rebuilt: 'its data stream was not kept' };
    if (d.differences.length > 0)
      return {
        record,
        rebuilt: `its data tar holds ${d.differences.join(', ')}, which runtimes read differently`,
      };
    return { record };
  });

  // each package's rebuilt layer and the shared one, from one walk of the image
  const groups = [shared.map((r) => r.pkg.info), ...own.map((r) => [r.pkg.info])];
  const items = groupLayerItems(built, groups);
  const rebuiltOps = (i: number): Op[] => nodeOps(items[i]!);

  // stack, and rebuild what does not stack as installed, until everything does
  let stacked: Stacked;
  for (;;) {
    const root = newDir();
    if (shared.length > 0) apply(root, rebuiltOps(0));
    let failed: { at: number; why: string } | undefined;
    for (const [i, c] of candidates.entries()) {
      const why = apply(root, c.rebuilt === undefined ? streamOps(c.record) : rebuiltOps(i + 1));
      if (why === undefined) continue;
      if (c.rebuilt !== undefined) throw new Error(`bug: a rebuilt layer does not stack: ${why}`);
      failed = { at: i, why };
      break;
    }
    if (failed === undefined) {
      stacked = root;
      break;
    }
    candidates[failed.at]!.rebuilt = failed.why;
  }

  const plans: PlannedLayer[] = [];
  if (shared.length > 0) {
    const pkgs = shared.map((r) => r.pkg.info);
    plans.push({
      kind: 'packages',
      name: 'shared',
      packages: pkgs,
      comment: `packages beyond the layer budget: ${pkgs.map((p) => `${p.name}-${p.version}`).join(' ')}`,
      entries: () => nodeEntries(items[0]!),
    });
  }
  for (const [i, c] of candidates.entries()) {
    const info = c.record.pkg.info;
    const name = `${info.name}-${info.version}`;
    if (c.rebuilt === undefined) {
      plans.push({
        kind: 'stream',
        name: info.name,
        packages: [info],
        comment: `package ${name}`,
        layer: c.record.pkg.dataLayer!.layer,
      });
    } else {
      plans.push({
        kind: 'packages',
        name: info.name,
        packages: [info],
        comment: `package ${name}, rebuilt: ${c.rebuilt}`,
        entries: () => nodeEntries(items[i + 1]!),
      });
    }
  }
  const top = topItems(fs, stacked);
  const names = ownerNames(fs);
  plans.push({
    kind: 'top',
    name: 'top',
    packages: [],
    comment: 'directories, the apk database, and the files lading wrote or changed or the installer decided',
    entries: () => topEntries(top, names),
  });
  return plans;
}

/** Why packages got rebuilt layers, for a log line. */
export function rebuiltPackages(plans: readonly PlannedLayer[]): string[] {
  return plans.filter((p) => p.kind === 'packages' && p.name !== 'shared').map((p) => p.comment);
}

function newDir(): Stacked {
  return {
    op: { path: '', type: 'directory', mode: 0o755, uid: 0, gid: 0, mtime: 0, size: 0 },
    children: new Map(),
  };
}

/** A package's data tar entries as a runtime reads them (the expansion checked they read as parsed). */
function streamOps(record: InstallRecord): Op[] {
  const { pkg } = record;
  return pkg.entries.map((e) => {
    const op: Op = {
      path: cleanName(e.name),
      type: e.type,
      mode: e.mode,
      uid: e.uid,
      gid: e.gid,
      mtime: e.mtime,
      size: e.type === 'file' ? e.size : 0,
    };
    if (e.type === 'file') op.contentId = `${pkg.datahash}:${e.dataOffset}`;
    if (e.type === 'symlink' || e.type === 'hardlink')
      op.linkname = e.type === 'hardlink' ? cleanName(e.linkname) : e.linkname;
    if (e.type === 'chardev' || e.type === 'blockdev') {
      op.devmajor = e.devmajor;
      op.devminor = e.devminor;
    }
    if (Object.keys(e.xattrs).length > 0) op.xattrs = e.xattrs;
    return op;
  });
}

/** A rebuilt layer's (path, node) items as entries: a node seen again is a hard link to its first path. */
function nodeOps(items: readonly (readonly [string, FsNode])[]): Op[] {
  const first = new Map<FsNode, string>();
  return items.map(([path, node]) => {
    const seen = node.type === 'file' ? first.get(node) : undefined;
    if (node.type === 'file' && seen === undefined) first.set(node, path);
    const op: Op = { ...attrsOf(node), path, node };
    if (seen !== undefined) {
      op.type = 'hardlink';
      op.linkname = seen;
    }
    return op;
  });
}

function attrsOf(node: FsNode): Omit<Op, 'path'> {
  const op: Omit<Op, 'path'> = {
    type: node.type,
    mode: node.mode,
    uid: node.uid,
    gid: node.gid,
    mtime: node.mtime,
    size: node.type === 'file' ? node.size : 0,
  };
  if (node.contentId !== undefined) op.contentId = node.contentId;
  if (node.linkname !== undefined) op.linkname = node.linkname;
  if (node.devmajor !== undefined) op.devmajor = node.devmajor;
  if (node.devminor !== undefined) op.devminor = node.devminor;
  if (node.xattrs !== undefined && Object.keys(node.xattrs).length > 0) op.xattrs = node.xattrs;
  return op;
}

function cleanName(name: string): string {
  return name
    .split('/')
    .filter((p) => p !== '' && p !== '.')
    .join('/');
}

/** Drops a node and everything below it from the inodes' name sets. */
function forget(node: Stacked, path: string): void {
  node.names?.delete(path);
  if (node.children) for (const [name, child] of node.children) forget(child, `${path}/${name}`);
}

/**
 * Unpacks one layer's entries over the stack as runtimes do. Returns why the layer would not unpack to what
 * the installer made of it (a path below a symlink, a directory entry where a symlink is), or undefined.
 */
function apply(root: Stacked, ops: readonly Op[]): string | undefined {
  for (const op of ops) {
    const parts = op.path.split('/');
    let dir = root;
    for (let i = 0; i < parts.length - 1; i++) {
      const child = dir.children!.get(parts[i]!);
      if (child === undefined) {
        // a runtime creates missing parents; their attributes are its own, so the top layer sets them
        const made = newDir();
        made.op = { ...made.op, path: parts.slice(0, i + 1).join('/') };
        dir.children!.set(parts[i]!, made);
        dir = made;
      } else if (child.children === undefined) {
        return `/${op.path} lies below /${parts.slice(0, i + 1).join('/')}, a ${child.op.type} in the image: apk follows it, an unpacking runtime does not`;
      } else dir = child;
    }
    const name = parts[parts.length - 1]!;
    const existing = dir.children!.get(name);
    if (op.type === 'directory') {
      if (existing?.children !== undefined) {
        existing.op = op;
        continue;
      }
      if (existing?.op.type === 'symlink') {
        return `its directory /${op.path} is a symlink in the image: apk keeps it, an unpacking runtime replaces it`;
      }
      if (existing !== undefined) forget(existing, op.path);
      dir.children!.set(name, { op, children: new Map() });
      continue;
    }
    let node: Stacked;
    if (op.type === 'hardlink') {
      const target = lookup(root, op.linkname!);
      if (target?.names === undefined)
        return `its hard link /${op.path} points at /${op.linkname}, not a file when unpacked`;
      node = target;
    } else {
      node = { op };
      if (op.type === 'file') node.names = new Set();
    }
    if (existing !== undefined && existing !== node) forget(existing, op.path);
    node.names?.add(op.path);
    dir.children!.set(name, node);
  }
  return undefined;
}

function lookup(root: Stacked, path: string): Stacked | undefined {
  let node: Stacked | undefined = root;
  for (const part of path.split('/')) {
    node = node?.children?.get(part);
    if (node === undefined) return undefined;
  }
  return node;
}

function sameXattrs(a?: Record<string, Buffer>, b?: Record<string, Buffer>): boolean {
  const ka = a ? Object.keys(a) : [];
  const kb = b ? Object.keys(b) : [];
  return ka.length === kb.length && ka.every((k) => b![k] !== undefined && a![k]!.equals(b![k]!));
}

/** Does the stacked node at a path give exactly the image's node there (hard links aside)? */
function sameNode(node: FsNode, s: Stacked | undefined): boolean {
  if (s === undefined || s.children !== undefined) return false;
  const o = s.op;
  const type = o.type === 'hardlink' ? 'file' : o.type;
  if (type !== node.type) return false;
  if (o.mode !== node.mode || o.uid !== node.uid || o.gid !== node.gid || o.mtime !== node.mtime)
    return false;
  if (!sameXattrs(o.xattrs, node.xattrs)) return false;
  switch (node.type) {
    case 'file':
      return node.contentId !== undefined && o.contentId === node.contentId && o.size === node.size;
    case 'symlink':
      return o.linkname === node.linkname;
    case 'chardev':
    case 'blockdev':
      return o.devmajor === node.devmajor && o.devminor === node.devminor;
    default:
      return true;
  }
}

/** One member of the top layer: an image node, or a whiteout for a name the stack has and the image not. */
type TopItem = readonly [string, FsNode] | readonly [string, 'whiteout'];

/**
 * The top layer's members in tar order: each directory of the image, then whiteouts of the names below it
 * the stack has and the image does not, then what is below it (only the nodes the stack does not give).
 */
function topItems(fs: ImageFS, stacked: Stacked): TopItem[] {
  const walk = [...fs.walk()];
  const paths = new Map<string, FsNode>(walk);
  // every name of each file node, and whether the stack gives each path as it is
  const namesOf = new Map<FsNode, string[]>();
  for (const [path, node] of walk) {
    if (node.type !== 'file') continue;
    const list = namesOf.get(node);
    if (list) list.push(path);
    else namesOf.set(node, [path]);
  }
  const changed = new Set<FsNode>();
  const changedPaths = new Set<string>();
  for (const [path, node] of walk) {
    if (node.type === 'directory') continue;
    const s = lookup(stacked, path);
    let same = sameNode(node, s);
    if (same && node.type === 'file') {
      // one inode with exactly these names
      const names = namesOf.get(node)!;
      same = s!.names!.size === names.length && names.every((n) => s!.names!.has(n));
    }
    if (same) continue;
    if (node.type === 'file') changed.add(node);
    else changedPaths.add(path);
  }
  const whiteouts = new Map<string, string[]>();
  const findRemoved = (dir: Stacked, path: string) => {
    for (const [name, child] of dir.children!) {
      const p = path === '' ? name : `${path}/${name}`;
      const image = paths.get(p);
      if (image === undefined) {
        const list = whiteouts.get(path);
        if (list) list.push(name);
        else whiteouts.set(path, [name]);
      } else if (child.children !== undefined && image.type === 'directory') findRemoved(child, p);
      // a directory the image replaced with something else: the top layer's entry hides all below it
    }
  };
  findRemoved(stacked, '');

  const out: TopItem[] = [];
  const pushWhiteouts = (dir: string) => {
    for (const name of (whiteouts.get(dir) ?? []).sort(compareBytes))
      out.push([dir === '' ? name : `${dir}/${name}`, 'whiteout']);
  };
  pushWhiteouts('');
  for (const [path, node] of walk) {
    if (node.type === 'directory') {
      out.push([path, node]);
      pushWhiteouts(path);
    } else if (changed.has(node) || changedPaths.has(path)) out.push([path, node]);
  }
  return out;
}

function* topEntries(items: readonly TopItem[], names: ReturnType<typeof ownerNames>): Generator<LayerEntry> {
  const nodes: (readonly [string, FsNode])[] = [];
  // whiteouts keep their place among the nodes; nodeEntries makes hard links of repeated nodes
  const order: (number | string)[] = [];
  for (const item of items) {
    if (item[1] === 'whiteout') order.push(item[0]);
    else {
      order.push(nodes.length);
      nodes.push(item as readonly [string, FsNode]);
    }
  }
  const entries = nodeEntries(nodes, names);
  for (const o of order) {
    if (typeof o === 'string') yield whiteoutEntry(o);
    else yield entries.next().value as LayerEntry;
  }
}

/** The OCI whiteout for `path`: an empty file `.wh.<name>` beside it. */
function whiteoutEntry(path: string): LayerEntry {
  const slash = path.lastIndexOf('/');
  return {
    path: `${path.slice(0, slash + 1)}.wh.${path.slice(slash + 1)}`,
    type: 'file',
    whiteout: true,
    mode: 0,
    uid: 0,
    gid: 0,
    mtime: 0,
    size: 0,
  };
}
