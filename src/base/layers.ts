/**
 * A base image's filesystem, in memory: each layer expanded once into the store (its uncompressed tar, checked
 * against the layer's diff ID, plus an index of its entries), then applied in order as a runtime applies them
 * (later layers win; `.wh.NAME` deletes NAME, `.wh..wh..opq` hides what lower layers had in a directory). File
 * nodes point into the stored tars: nothing is copied. `snapshot` remembers every node as the base had it, so
 * the build's own layer can hold exactly what the build changed (see changedEntries).
 */
import { createHash } from 'node:crypto';
import { createGunzip } from 'node:zlib';
import { baseName, cleanPath, joinPath, parentOf } from '../fs/path.ts';
import { type FsNode, type ImageFS, ImageFS as Tree } from '../fs/tree.ts';
import type { Image, Layer } from '../oci/types.ts';
import { packEntry, unpackEntry } from '../prepare/packages.ts';
import type { ContentCache } from '../store/cache.ts';
import { BASE_LAYERS } from '../store/namespaces.ts';
import type { TarEntry } from '../tar/reader.ts';
import { TarStreamParser } from '../tar/stream.ts';
import { LadingError } from '../util/errors.ts';
import { type BaseDatabase, baseDatabase } from './database.ts';

const WHITEOUT = '.wh.';
const OPAQUE = '.wh..wh..opq';
const EXPANDED_FORMAT = 1;

interface ExpandedLayer {
  /** The uncompressed tar in the store. */
  path: string;
  entries: TarEntry[];
}

/** A layer's uncompressed tar and entries: from the store, or expanded into it now (checked against its diff ID). */
export async function expandBaseLayer(
  layer: Layer,
  cache: ContentCache,
  where: string,
): Promise<ExpandedLayer> {
  const hit = await cache.openRef(BASE_LAYERS, layer.diffId);
  if (hit) {
    await hit.file.close();
    const raw = await cache.readAttachment(hit.ref, 'meta');
    if (raw) {
      const meta = JSON.parse(raw.toString('utf8')) as { format: number; entries: unknown[][] };
      if (meta.format === EXPANDED_FORMAT)
        return { path: hit.file.path, entries: meta.entries.map(unpackEntry) };
    }
  }
  const writer = await cache.createWriter();
  const entries: TarEntry[] = [];
  const parser = new TarStreamParser({ entry: (e) => entries.push(e) });
  const hash = createHash('sha256');
  try {
    const source = layer.open();
    const stream = isGzip(layer.mediaType) ? source.pipe(createGunzip()) : source;
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      hash.update(chunk);
      parser.push(chunk);
      await writer.write(chunk);
    }
    parser.end();
  } catch (e) {
    await writer.discard();
    if (e instanceof LadingError) throw e;
    throw new LadingError(
      'BASE_LAYER',
      `${where}: layer ${layer.digest} cannot be read: ${(e as Error).message}`,
      {
        hint: 'the base image is damaged; pull or build it again',
        cause: e,
      },
    );
  }
  const diffId = `sha256:${hash.digest('hex')}`;
  if (diffId !== layer.diffId) {
    await writer.discard();
    throw new LadingError(
      'BASE_LAYER',
      `${where}: layer ${layer.digest} unpacks to ${diffId}, its image config says ${layer.diffId}`,
      { hint: 'the base image is damaged; pull or build it again' },
    );
  }
  const blob = await writer.commit();
  const meta = await cache.putBytes(
    Buffer.from(JSON.stringify({ format: EXPANDED_FORMAT, entries: entries.map(packEntry) })),
  );
  await cache.setRef(BASE_LAYERS, layer.diffId, { blob, attachments: { meta } });
  return { path: blob.path ?? cache.blobPath(blob.digest), entries };
}

function isGzip(mediaType: string): boolean {
  if (/zstd/.test(mediaType)) {
    throw new LadingError('BASE_LAYER', `layers of type ${mediaType} are not supported`, {
      hint: 'use a base image with gzip or uncompressed layers',
    });
  }
  return mediaType.endsWith('gzip');
}

/** Applies one expanded layer to the tree, as a runtime unpacks it over the layers below. */
export function applyLayer(fs: Tree, layer: ExpandedLayer, diffId: string): void {
  const added = new Set<string>();
  for (const e of layer.entries) {
    const path = cleanPath(e.name.replace(/^\.\//, ''));
    if (path === '') continue;
    const name = baseName(path);
    const dir = parentOf(path);
    if (name === OPAQUE) {
      for (const child of fs.list(dir))
        if (!added.has(joinPath(dir, child))) fs.remove(joinPath(dir, child), true);
      continue;
    }
    if (name.startsWith(WHITEOUT)) {
      fs.remove(joinPath(dir, name.slice(WHITEOUT.length)), true);
      continue;
    }
    added.add(path);
    if (dir !== '' && fs.stat(dir)?.type !== 'directory') fs.mkdirAll(dir, { mode: 0o755 });
    const existing = fs.lstat(path);
    if (e.type === 'directory') {
      if (existing?.type === 'directory') {
        Object.assign(existing, { mode: e.mode, uid: e.uid, gid: e.gid, mtime: e.mtime });
        if (Object.keys(e.xattrs).length > 0) existing.xattrs = e.xattrs;
        continue;
      }
    }
    if (existing !== undefined) fs.remove(path, true);
    if (e.type === 'hardlink') {
      fs.link(path, cleanPath(e.linkname.replace(/^\.?\//, '')));
      continue;
    }
    const node: FsNode = { type: e.type, mode: e.mode, uid: e.uid, gid: e.gid, mtime: e.mtime, size: 0 };
    if (Object.keys(e.xattrs).length > 0) node.xattrs = e.xattrs;
    if (e.type === 'file') {
      node.size = e.size;
      node.content = { kind: 'file', path: layer.path, offset: e.dataOffset, size: e.size };
      node.contentId = `${diffId}:${e.dataOffset}`;
    } else if (e.type === 'symlink') node.linkname = e.linkname;
    else if (e.type === 'chardev' || e.type === 'blockdev' || e.type === 'fifo') {
      node.devmajor = e.devmajor;
      node.devminor = e.devminor;
    }
    fs.put(path, node);
  }
}

/** What each node of the base looked like, by path: the build's layer holds what differs from it. */
export type BaseSnapshot = Map<string, { node: FsNode; fingerprint: string }>;

function fingerprint(n: FsNode): string {
  const x = n.xattrs
    ? Object.keys(n.xattrs)
        .sort()
        .map((k) => `${k}=${n.xattrs![k]!.toString('base64')}`)
    : [];
  return [
    n.type,
    n.mode,
    n.uid,
    n.gid,
    n.mtime,
    n.size,
    n.contentId,
    n.linkname,
    n.devmajor,
    n.devminor,
    ...x,
  ].join('|');
}

export function snapshot(fs: ImageFS): BaseSnapshot {
  const out: BaseSnapshot = new Map();
  for (const [path, node] of fs.walk()) out.set(path, { node, fingerprint: fingerprint(node) });
  return out;
}

/**
 * The (path, node) pairs of the build's own layer, in walk order: every path whose node is not the base's, or
 * is but changed, with the directories above them (so the layer stands on its own). A base path the build
 * removed cannot be expressed without whiteouts, which lading's layers never carry: that is an error.
 */
export function changedNodes(fs: ImageFS, base: BaseSnapshot): [string, FsNode][] {
  const changed = new Set<string>();
  const all = [...fs.walk()];
  const now = new Map(all);
  for (const [path, node] of all) {
    const was = base.get(path);
    if (was === undefined || was.node !== node || was.fingerprint !== fingerprint(node)) {
      for (let p = path; p !== '' && !changed.has(p); p = parentOf(p)) changed.add(p);
    }
  }
  for (const path of base.keys()) {
    if (now.has(path)) continue;
    // gone with a directory replaced by a file or link (the layer's entry replaces the directory), or removed
    let up = parentOf(path);
    while (up !== '' && !now.has(up)) up = parentOf(up);
    if (up === '' || now.get(up)!.type === 'directory') {
      throw new LadingError('BASE_REMOVED', `the build removed /${path}, which the base image has`, {
        hint: 'lading layers never delete (no whiteouts); build the base without it instead',
      });
    }
  }
  return all.filter(([path]) => changed.has(path));
}

/** One architecture of the base: its image, its filesystem (to build on), that filesystem as it was, its database. */
export interface BaseArch {
  image: Image;
  fs: Tree;
  snapshot: BaseSnapshot;
  db: BaseDatabase;
}

/** Expands the image's layers (once, into the store), applies them, and reads the apk database. */
export async function loadBaseArch(
  image: Image,
  options: { cache: ContentCache; where: string; apkArch: string; apkindexDir?: string; mtime?: number },
): Promise<BaseArch> {
  const fs = new Tree();
  for (const layer of image.layers) {
    applyLayer(fs, await expandBaseLayer(layer, options.cache, options.where), layer.diffId);
  }
  const db = baseDatabase(fs, options.apkArch, options.where, options.apkindexDir);
  return { image, fs, snapshot: snapshot(fs), db };
}
