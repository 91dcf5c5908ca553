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

export class ImageFS {
  readonly #nodes = new Map<string, FsNode>();
  readonly #children = new Map<string, Set<string>>();

  constructor(root: NodeAttrs = {}) {
    this.#nodes.set('', { type: 'directory', mode: 0o755, uid: 0, gid: 0, mtime: 0, size: 0, ...root });
    this.#children.set('', new Set());
  }

  /** The node at `path` without following a final symlink (intermediate symlinks are followed). */
  lstat(path: string): FsNode | undefined {
    const p = this.resolve(path, false);
    return p === undefined ? undefined : this.#nodes.get(p);
  }

  /** The node at `path`, following symlinks. */
  stat(path: string): FsNode | undefined {
    const p = this.resolve(path, true);
    return p === undefined ? undefined : this.#nodes.get(p);
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
    const queue = splitRaw(path);
    const resolved: string[] = [];
    let hops = 0;
    while (queue.length > 0) {
      const part = queue.shift()!;
      if (part === '..') {
        resolved.pop();
        continue;
      }
      const candidate = joinPath(resolved.join('/'), part);
      const node = this.#nodes.get(candidate);
      const isLast = queue.length === 0;
      if (node?.type === 'symlink' && (!isLast || followLast)) {
        if (++hops > MAX_SYMLINK_DEPTH) {
          throw fsError(
            'FS_SYMLINK_LOOP',
            `too many levels of symbolic links resolving /${cleanPathLoose(path)}`,
          );
        }
        const target = node.linkname ?? '';
        if (target.startsWith('/')) resolved.length = 0;
        queue.unshift(...splitRaw(target));
        continue;
      }
      if (!isLast && node !== undefined && node.type !== 'directory') return undefined;
      if (!isLast && node === undefined) return undefined;
      resolved.push(part);
    }
    return resolved.join('/');
  }

  /** Resolves the parent of `path` (following symlinks) and returns [parentPath, baseName]; the parent must be a directory. */
  #parentAndName(path: string): [string, string] {
    const clean = cleanPath(path);
    if (clean === '') throw fsError('FS_ROOT', 'cannot replace the image root');
    const parent = this.resolve(parentOf(clean), true);
    const parentNode = parent === undefined ? undefined : this.#nodes.get(parent);
    if (parent === undefined || parentNode === undefined) {
      throw fsError(
        'FS_NO_PARENT',
        `cannot create /${clean}: parent directory /${parentOf(clean)} does not exist`,
      );
    }
    if (parentNode.type !== 'directory') {
      throw fsError('FS_NOT_DIR', `cannot create /${clean}: /${parentOf(clean)} is not a directory`);
    }
    return [parent, baseName(clean)];
  }

  /** Creates or replaces the node at `path` (the parent must exist). An existing directory is only replaced by a directory. */
  put(path: string, node: FsNode): string {
    const [parent, name] = this.#parentAndName(path);
    const full = joinPath(parent, name);
    const existing = this.#nodes.get(full);
    if (existing?.type === 'directory') {
      if (node.type !== 'directory') {
        throw fsError('FS_IS_DIR', `cannot replace directory /${full} with a ${node.type}`);
      }
      this.#nodes.set(full, node);
      return full;
    }
    this.#nodes.set(full, node);
    if (node.type === 'directory') this.#children.set(full, new Set());
    this.#children.get(parent)!.add(name);
    return full;
  }

  /** mkdir -p: creates missing directories with `attrs`; existing directories (or symlinks to them) are kept. */
  mkdirAll(path: string, attrs: NodeAttrs = {}): string {
    let current = '';
    for (const part of cleanPath(path).split('/').filter(Boolean)) {
      const candidate = joinPath(current, part);
      const resolved = this.resolve(candidate, true);
      const node = resolved === undefined ? undefined : this.#nodes.get(resolved);
      if (node === undefined) {
        current = this.put(candidate, directoryNode(attrs));
      } else if (node.type === 'directory') {
        current = resolved!;
      } else {
        throw fsError('FS_NOT_DIR', `cannot create directory /${candidate}: a ${node.type} is in the way`);
      }
    }
    return current;
  }

  /** Makes `path` another name for the node at `target` (a hard link). */
  link(path: string, target: string): void {
    const t = this.resolve(target, false);
    const node = t === undefined ? undefined : this.#nodes.get(t);
    if (node === undefined)
      throw fsError(
        'FS_NO_TARGET',
        `hard link /${cleanPath(path)}: target /${cleanPath(target)} does not exist`,
      );
    if (node.type === 'directory')
      throw fsError('FS_IS_DIR', `hard link /${cleanPath(path)}: target /${t} is a directory`);
    this.put(path, node);
  }

  /** Removes the entry at `path` (not following a final symlink). Directories must be empty unless `recursive`. */
  remove(path: string, recursive = false): boolean {
    const full = this.resolve(path, false);
    if (full === undefined || full === '') return false;
    const node = this.#nodes.get(full);
    if (node === undefined) return false;
    if (node.type === 'directory') {
      const kids = this.#children.get(full)!;
      if (kids.size > 0 && !recursive)
        throw fsError('FS_NOT_EMPTY', `cannot remove /${full}: directory not empty`);
      for (const k of [...kids]) this.remove(joinPath(full, k), true);
      this.#children.delete(full);
    }
    this.#nodes.delete(full);
    this.#children.get(parentOf(full))?.delete(baseName(full));
    return true;
  }

  /** The names in a directory, sorted in byte order. */
  list(path: string): string[] {
    const full = this.resolve(path, true);
    const kids = full === undefined ? undefined : this.#children.get(full);
    if (kids === undefined) return [];
    return [...kids].sort(compareBytes);
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
    for (const name of this.list(from)) {
      const p = joinPath(from, name);
      const node = this.#nodes.get(p)!;
      yield [p, node];
      if (node.type === 'directory') yield* this.walk(p);
    }
  }

  get root(): FsNode {
    return this.#nodes.get('')!;
  }

  get size(): number {
    return this.#nodes.size - 1;
  }
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
