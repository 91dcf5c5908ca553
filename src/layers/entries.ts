/**
 * Filesystem nodes as layer entries: the second and later names of a shared file node are written as
 * hard links to the first, owner names come from the image's own /etc/passwd and /etc/group (as apko and
 * docker do). `layerEntries` is the whole image as one layer; the layering planner feeds its own
 * (path, node) lists through the same conversion.
 */
import type { FsNode, ImageFS } from '../fs/tree.ts';
import type { LayerEntry } from '../oci/types.ts';
import { parseGroup, parsePasswd } from '../rootfs/passwd.ts';

/** uid → user name and gid → group name; empty maps write numeric owners only. */
export interface OwnerNames {
  users: ReadonlyMap<number, string>;
  groups: ReadonlyMap<number, string>;
}

/** id → name from a passwd- or group-style file of the image (the first name of an id wins). */
function idNames(
  fs: ImageFS,
  file: string,
  parse: (text: string) => { name: string; id: number }[],
): Map<number, string> {
  const names = new Map<number, string>();
  if (fs.stat(file)?.type !== 'file') return names;
  for (const { name, id } of parse(fs.readFile(file).toString('utf8')))
    if (!names.has(id)) names.set(id, name);
  return names;
}

/** The owner names the image's /etc/passwd and /etc/group give (the first name of an id wins). */
export function ownerNames(fs: ImageFS): OwnerNames {
  return {
    users: idNames(fs, 'etc/passwd', (t) => parsePasswd(t).map((e) => ({ name: e.name, id: e.uid }))),
    groups: idNames(fs, 'etc/group', (t) => parseGroup(t).map((e) => ({ name: e.name, id: e.gid }))),
  };
}

const NO_NAMES: OwnerNames = { users: new Map(), groups: new Map() };

/**
 * (path, node) pairs, already in tar order, as layer entries. A file node seen again (the same object)
 * becomes a hard link to the path it was first written at.
 */
export function* nodeEntries(
  nodes: Iterable<readonly [string, FsNode]>,
  names: OwnerNames = NO_NAMES,
): Generator<LayerEntry> {
  const firstPath = new Map<FsNode, string>();
  for (const [path, node] of nodes) {
    const base = {
      path,
      mode: node.mode,
      uid: node.uid,
      gid: node.gid,
      uname: names.users.get(node.uid) ?? '',
      gname: names.groups.get(node.gid) ?? '',
      mtime: node.mtime,
      xattrs: node.xattrs,
      size: 0,
    };
    if (node.type === 'file') {
      const first = firstPath.get(node);
      if (first !== undefined) {
        yield { ...base, type: 'hardlink', linkname: first };
        continue;
      }
      firstPath.set(node, path);
      yield { ...base, type: 'file', size: node.size, content: node.content, contentId: node.contentId };
    } else if (node.type === 'symlink') {
      yield { ...base, type: 'symlink', linkname: node.linkname ?? '' };
    } else if (node.type === 'chardev' || node.type === 'blockdev') {
      yield { ...base, type: node.type, devmajor: node.devmajor ?? 0, devminor: node.devminor ?? 0 };
    } else {
      yield { ...base, type: node.type };
    }
  }
}

/** The whole image filesystem as one layer, in byte-order walk order. */
export function layerEntries(fs: ImageFS): Generator<LayerEntry> {
  return nodeEntries(fs.walk(), ownerNames(fs));
}
