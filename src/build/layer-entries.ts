/**
 * The image filesystem as layer entries: a byte-order walk, the second and later names of a shared node
 * written as hard links to the first, owner names looked up in the image's own /etc/passwd and /etc/group
 * (as apko and docker do).
 */
import type { FsNode, ImageFS } from '../fs/tree.ts';
import type { LayerEntry } from '../oci/types.ts';

function idNames(fs: ImageFS, file: string): Map<number, string> {
  const names = new Map<number, string>();
  const node = fs.stat(file);
  if (node?.type !== 'file') return names;
  for (const line of fs.readFile(file).toString('utf8').split('\n')) {
    const f = line.split(':');
    if (f.length < 3 || f[0] === '' || !/^\d+$/.test(f[2]!)) continue;
    const id = Number(f[2]);
    if (!names.has(id)) names.set(id, f[0]!);
  }
  return names;
}

export function* layerEntries(fs: ImageFS): Generator<LayerEntry> {
  const users = idNames(fs, 'etc/passwd');
  const groups = idNames(fs, 'etc/group');
  const firstPath = new Map<FsNode, string>();
  for (const [path, node] of fs.walk()) {
    const base = {
      path,
      mode: node.mode,
      uid: node.uid,
      gid: node.gid,
      uname: users.get(node.uid) ?? '',
      gname: groups.get(node.gid) ?? '',
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
