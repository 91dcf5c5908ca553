/**
 * The image filesystem, held in memory. Nodes carry metadata and a reference to their bytes
 * (usually a range of a cached package data tar), so building a large image costs little memory.
 * Symlinks are resolved inside the image (absolute targets from the image root, `..` stops at the
 * root, as under chroot), so no operation can reach outside the image.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { LadingError } from '../util/errors.ts';
import type { ContentSource } from './content.ts';
import { baseName, cleanPath, compareBytes, joinPath, parentOf } from './path.ts';

export type FsNodeType = 'file' | 'directory' | 'symlink' | 'chardev' | 'blockdev' | 'fifo';

export interface FsNode {
  type: FsNodeType;
  /** Permission bits including setuid/setgid/sticky. */
  mode: number;
  uid: number;
  gid: number;
  /** Modification time, unix seconds. */
  mtime: number;
  xattrs?: Record<string, Buffer>;
  /** Regular files: size and where the bytes are. */
  size: number;
  content?: ContentSource;
  /** A stable identity of the content (e.g. `<datahash>:<offset>`), for cache keys. */
  contentId?: string;
  /** Hex SHA-1 of the content when known (apk records it per file). */
  sha1?: string;
  /** Symlink target, as stored. */
  linkname?: string;
  devmajor?: number;
  devminor?: number;
}

export type NodeAttrs = Partial<Omit<FsNode, 'type'>>;

const MAX_SYMLINK_DEPTH = 40;

function fsError(code: string, message: string, hint?: string): LadingError {
  return new LadingError(code, message, { hint });
}

/**
 * A place in the tree: the node at a path and, for directories, the entries below it. Nodes are kept apart
 * from places because hard links put one node at several paths.
 */
interface Slot {
  node: FsNode;
  children?: Map<string, Slot>;
}

/** Where a path resolved to: its canonical path, the slot there (if any) and the directory holding it. */
interface Resolved {
  path: string;
  slot: Slot | undefined;
  /** The directory the last component is in (the root for the root itself). */
  parent: Slot;
  name: string;
}

export class ImageFS {
  /**
   * A real tree (each directory maps names to slots), not a map from full paths: resolving a path costs one
   * look-up per component, so a package of thousands of nested directories installs in linear time.
   */
  readonly #root: Slot;
  #count = 0;

  constructor(root: NodeAttrs = {}) {
    this.#root = {
      node: { type: 'directory', mode: 0o755, uid: 0, gid: 0, mtime: 0, size: 0, ...root },
      children: new Map(),
    };
  }

  /** The node at `path` without following a final symlink (intermediate symlinks are followed). */
  lstat(path: string): FsNode | undefined {
    return this.#resolve(path, false)?.slot?.node;
  }

  /** The node at `path`, following symlinks. */
  stat(path: string): FsNode | undefined {
    return this.#resolve(path, true)?.slot?.node;
  }

  exists(path: string): boolean {
    return this.lstat(path) !== undefined;
  }

  /**
   * The canonical path of `path` with symlinks in intermediate components resolved (and the last one
   * too when `followLast`). The result may name a node that does not exist yet; undefined when an
   * intermediate component is missing or not a directory.
   */
  resolve(path: string, followLast = true): string | undefined {
    return this.#resolve(path, followLast)?.path;
  }

  #resolve(path: string, followLast: boolean): Resolved | undefined {
    // components still to walk, last first; the directories walked so far, root first, with their names
    const queue = splitRaw(path).reverse();
    const dirs: Slot[] = [this.#root];
    const names: string[] = [];
    let hops = 0;
    while (queue.length > 0) {
      const part = queue.pop()!;
      if (part === '..') {
        if (names.length > 0) {
          names.pop();
          dirs.pop();
        }
        continue;
      }
      const dir = dirs[dirs.length - 1]!;
      const slot = dir.children?.get(part);
      const isLast = queue.length === 0;
      if (slot?.node.type === 'symlink' && (!isLast || followLast)) {
        if (++hops > MAX_SYMLINK_DEPTH) {
          throw fsError(
            'FS_SYMLINK_LOOP',
            `too many levels of symbolic links resolving /${cleanPathLoose(path)}`,
          );
        }
        const target = slot.node.linkname ?? '';
        if (target.startsWith('/')) {
          dirs.length = 1;
          names.length = 0;
        }
        const parts = splitRaw(target);
        for (let i = parts.length - 1; i >= 0; i--) queue.push(parts[i]!);
        continue;
      }
      names.push(part);
      if (isLast) return { path: names.join('/'), slot, parent: dir, name: part };
      if (slot === undefined || slot.node.type !== 'directory') return undefined;
      dirs.push(slot);
    }
    // the path was the root, or ended with `..` or a symlink to a directory
    const slot = dirs[dirs.length - 1]!;
    return {
      path: names.join('/'),
      slot,
      parent: dirs.length > 1 ? dirs[dirs.length - 2]! : this.#root,
      name: names[names.length - 1] ?? '',
    };
  }

  /** Resolves the parent of `path` (following symlinks); the parent must be a directory. */
  #parentOf(path: string): { dir: Slot; parentPath: string; name: string } {
    const clean = cleanPath(path);
    if (clean === '') throw fsError('FS_ROOT', 'cannot replace the image root');
    const parent = this.#resolve(parentOf(clean), true);
    if (parent === undefined || parent.slot === undefined) {
      throw fsError(
        'FS_NO_PARENT',
        `cannot create /${clean}: parent directory /${parentOf(clean)} does not exist`,
      );
    }
    if (parent.slot.node.type !== 'directory') {
      throw fsError('FS_NOT_DIR', `cannot create /${clean}: /${parentOf(clean)} is not a directory`);
    }
    return { dir: parent.slot, parentPath: parent.path, name: baseName(clean) };
  }

  /** Creates or replaces the node at `path` (the parent must exist). An existing directory is only replaced by a directory. */
  put(path: string, node: FsNode): string {
    const { dir, parentPath, name } = this.#parentOf(path);
    return this.#putIn(dir, joinPath(parentPath, name), name, node);
  }

  #putIn(dir: Slot, full: string, name: string, node: FsNode): string {
    const children = dir.children!;
    const existing = children.get(name);
    if (existing?.node.type === 'directory') {
      if (node.type !== 'directory') {
        throw fsError('FS_IS_DIR', `cannot replace directory /${full} with a ${node.type}`);
      }
      existing.node = node;
      return full;
    }
    if (existing === undefined) this.#count++;
    children.set(name, node.type === 'directory' ? { node, children: new Map() } : { node });
    return full;
  }

  /** mkdir -p: creates missing directories with `attrs`; existing directories (or symlinks to them) are kept. */
  mkdirAll(path: string, attrs: NodeAttrs = {}): string {
    let current = '';
    let dir = this.#root;
    for (const part of cleanPath(path).split('/').filter(Boolean)) {
      const candidate = joinPath(current, part);
      let slot = dir.children!.get(part);
      if (slot?.node.type === 'symlink') {
        const r = this.#resolve(candidate, true);
        slot = r?.slot;
        if (slot?.node.type === 'directory') {
          current = r!.path;
          dir = slot;
          continue;
        }
        if (r === undefined || slot === undefined) {
          // a dangling symlink: create what it points to, as mkdir -p through it would fail; keep apk's view
          current = this.put(candidate, directoryNode(attrs));
          dir = this.#resolve(current, true)!.slot!;
          continue;
        }
      }
      if (slot === undefined) {
        current = this.#putIn(dir, candidate, part, directoryNode(attrs));
        dir = dir.children!.get(part)!;
      } else if (slot.node.type === 'directory') {
        current = candidate;
        dir = slot;
      } else {
        throw fsError(
          'FS_NOT_DIR',
          `cannot create directory /${candidate}: a ${slot.node.type} is in the way`,
        );
      }
    }
    return current;
  }

  /** Makes `path` another name for the node at `target` (a hard link). */
  link(path: string, target: string): void {
    const t = this.#resolve(target, false);
    const node = t?.slot?.node;
    if (node === undefined)
      throw fsError(
        'FS_NO_TARGET',
        `hard link /${cleanPath(path)}: target /${cleanPath(target)} does not exist`,
      );
    if (node.type === 'directory')
      throw fsError('FS_IS_DIR', `hard link /${cleanPath(path)}: target /${t!.path} is a directory`);
    this.put(path, node);
  }

  /** Removes the entry at `path` (not following a final symlink). Directories must be empty unless `recursive`. */
  remove(path: string, recursive = false): boolean {
    const r = this.#resolve(path, false);
    if (r === undefined || r.path === '' || r.slot === undefined) return false;
    const kids = r.slot.children;
    if (kids !== undefined && kids.size > 0 && !recursive)
      throw fsError('FS_NOT_EMPTY', `cannot remove /${r.path}: directory not empty`);
    r.parent.children!.delete(r.name);
    // count what goes: the slot and everything below it
    const stack: Slot[] = [r.slot];
    while (stack.length > 0) {
      const s = stack.pop()!;
      this.#count--;
      if (s.children) for (const c of s.children.values()) stack.push(c);
    }
    return true;
  }

  /** The names in a directory, sorted in byte order. */
  list(path: string): string[] {
    const kids = this.#resolve(path, true)?.slot?.children;
    return kids === undefined ? [] : [...kids.keys()].sort(compareBytes);
  }

  /** Reads a (small) regular file's bytes. */
  readFile(path: string): Buffer {
    const node = this.stat(path);
    if (node === undefined) throw fsError('FS_NOT_FOUND', `/${cleanPathLoose(path)} does not exist`);
    if (node.type !== 'file')
      throw fsError('FS_NOT_FILE', `/${cleanPathLoose(path)} is a ${node.type}, not a file`);
    return readContent(node);
  }

  /** Every node except the root, depth-first, each directory's entries in byte order. */
  *walk(from = ''): Generator<[string, FsNode]> {
    const start = this.#resolve(from, true);
    if (start?.slot?.children === undefined) return;
    // an explicit stack: no recursion, however deep the tree
    const stack: { prefix: string; dir: Slot; names: string[]; i: number }[] = [
      {
        prefix: from === '' ? '' : cleanPathLoose(from),
        dir: start.slot,
        names: sortedNames(start.slot),
        i: 0,
      },
    ];
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      if (top.i >= top.names.length) {
        stack.pop();
        continue;
      }
      const name = top.names[top.i++]!;
      const slot = top.dir.children!.get(name)!;
      const p = joinPath(top.prefix, name);
      yield [p, slot.node];
      if (slot.node.type === 'directory' && slot.children) {
        stack.push({ prefix: p, dir: slot, names: sortedNames(slot), i: 0 });
      }
    }
  }

  get root(): FsNode {
    return this.#root.node;
  }

  get size(): number {
    return this.#count;
  }
}

function sortedNames(slot: Slot): string[] {
  return [...slot.children!.keys()].sort(compareBytes);
}

export function directoryNode(attrs: NodeAttrs = {}): FsNode {
  return { type: 'directory', mode: 0o755, uid: 0, gid: 0, mtime: 0, size: 0, ...attrs };
}

export function readContent(node: FsNode): Buffer {
  const c = node.content;
  if (c === undefined || node.size === 0) return Buffer.alloc(0);
  if (c.kind === 'bytes') return c.data;
  const buf = Buffer.allocUnsafe(c.size);
  const fd = openSync(c.path, 'r');
  try {
    let done = 0;
    while (done < c.size) {
      const n = readSync(fd, buf, done, c.size - done, c.offset + done);
      if (n === 0)
        throw fsError(
          'FS_CONTENT_SHORT',
          `cached package data ${c.path} is shorter than expected`,
          'run `lading clean` to reset the cache',
        );
      done += n;
    }
  } finally {
    closeSync(fd);
  }
  return buf;
}

function splitRaw(p: string): string[] {
  return p.split('/').filter((s) => s !== '' && s !== '.');
}

function cleanPathLoose(p: string): string {
  return splitRaw(p).join('/');
}
