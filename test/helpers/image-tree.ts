/**
 * Trees to compare: the files of an image (read from its layer tars in an OCI layout, no extraction) and of a
 * directory on disk (an apk-tools root). Each path maps to a one-line description: type, mode, owner,
 * and content hash or link target.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { readTar } from '../../src/tar/reader.ts';
import { requireTool } from './tools.ts';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function describe(type: string, mode: number, uid: number, gid: number, extra: string): string {
  return `${type} ${(mode & 0o7777).toString(8).padStart(4, '0')} ${uid}:${gid} ${extra}`;
}

/** The manifests of an OCI layout (index.json → image index → manifests), by platform architecture. */
export function layoutManifests(
  layout: string,
): Map<
  string,
  { config: unknown; layers: { digest: string; mediaType: string }[]; configDigest: string; digest: string }
> {
  const blob = (d: string) => readFileSync(join(layout, 'blobs', 'sha256', d.slice(7)));
  const top = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8'));
  const out = new Map();
  const visit = (desc: { mediaType: string; digest: string; platform?: { architecture: string } }) => {
    const doc = JSON.parse(blob(desc.digest).toString());
    if (desc.mediaType.includes('index')) for (const m of doc.manifests) visit(m);
    else
      out.set(desc.platform?.architecture ?? 'unknown', {
        config: JSON.parse(blob(doc.config.digest).toString()),
        configDigest: doc.config.digest,
        layers: doc.layers,
        digest: desc.digest,
      });
  };
  for (const m of top.manifests) visit(m);
  return out;
}

/** The uncompressed layer tars of one image of a layout, in order. */
export function layerTars(layout: string, arch = 'amd64'): Buffer[] {
  const m = layoutManifests(layout).get(arch);
  if (!m) throw new Error(`no ${arch} image in ${layout}`);
  return m.layers.map((l) => {
    const b = readFileSync(join(layout, 'blobs', 'sha256', l.digest.slice(7)));
    return l.mediaType.endsWith('gzip') ? gunzipSync(b) : b;
  });
}

/** path → description for a layer tar (hard links described like the file they share). */
export function tarTree(tar: Buffer): Map<string, string> {
  const out = new Map<string, string>();
  const hashes = new Map<string, string>();
  for (const e of readTar(tar)) {
    const path = e.name.replace(/\/$/, '');
    let extra = '';
    let type: string = e.type;
    if (e.type === 'file') {
      extra = sha256(tar.subarray(e.dataOffset, e.dataOffset + e.size));
      hashes.set(path, extra);
    } else if (e.type === 'hardlink') {
      type = 'file';
      extra = hashes.get(e.linkname) ?? `?${e.linkname}`;
    } else if (e.type === 'symlink') extra = `-> ${e.linkname}`;
    else if (e.type === 'chardev' || e.type === 'blockdev') extra = `${e.devmajor},${e.devminor}`;
    out.set(path, describe(type, e.type === 'symlink' ? 0o777 : e.mode, e.uid, e.gid, extra));
  }
  return out;
}

/** path → description for a directory tree on disk (lstat, not following links). */
export function diskTree(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (rel: string) => {
    for (const name of readdirSync(join(root, rel)).sort()) {
      const p = rel ? `${rel}/${name}` : name;
      const full = join(root, p);
      const st = lstatSync(full);
      let type = 'file';
      let extra = '';
      if (st.isDirectory()) type = 'directory';
      else if (st.isSymbolicLink()) {
        type = 'symlink';
        extra = `-> ${readlinkSync(full)}`;
      } else if (st.isCharacterDevice() || st.isBlockDevice()) {
        type = st.isCharacterDevice() ? 'chardev' : 'blockdev';
        extra = `${Math.floor(st.rdev / 256)},${st.rdev % 256}`;
      } else if (st.isFIFO()) type = 'fifo';
      else extra = sha256(readFileSync(full));
      out.set(p, describe(type, type === 'symlink' ? 0o777 : st.mode, st.uid, st.gid, extra));
      if (st.isDirectory()) walk(p);
    }
  };
  walk('');
  return out;
}

/** Differences as sorted lines: `+path desc` only in a, `-path desc` only in b, `~path a != b`. */
export function treeDiff(a: Map<string, string>, b: Map<string, string>): string[] {
  const out: string[] = [];
  for (const [p, d] of a) {
    const o = b.get(p);
    if (o === undefined) out.push(`+${p} ${d}`);
    else if (o !== d) out.push(`~${p} ${d} != ${o}`);
  }
  for (const [p, d] of b) if (!a.has(p)) out.push(`-${p} ${d}`);
  return out.sort();
}

/**
 * Like diskTree, with everything else an unpacked image shows: the modification time (ns), the extended
 * attributes (getfattr, every namespace) and, for a file with several names, the first name of its inode.
 */
export function fullDiskTree(root: string): Map<string, string> {
  const xattrs = new Map<string, string>();
  const dump = spawnSync(requireTool('getfattr'), ['-R', '-d', '-m', '-', '-h', '-e', 'hex', '.'], {
    cwd: root,
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  for (const block of dump.stdout.split('\n\n')) {
    const [head, ...lines] = block.trim().split('\n');
    if (head?.startsWith('# file: ')) xattrs.set(head.slice(8).replace(/^\.\//, ''), lines.sort().join(' '));
  }
  const firstName = new Map<bigint, string>();
  const out = new Map<string, string>();
  for (const [p, d] of diskTree(root)) {
    const st = lstatSync(join(root, p), { bigint: true });
    let link = '';
    if (st.isFile() && st.nlink > 1n) {
      if (!firstName.has(st.ino)) firstName.set(st.ino, p);
      link = ` =${firstName.get(st.ino)}`;
    }
    out.set(p, `${d} @${st.mtimeNs}${link}${xattrs.has(p) ? ` [${xattrs.get(p)}]` : ''}`);
  }
  return out;
}

/**
 * The filesystem that unpacking layer tars in order gives, as runtimes do it without following symlinks: a
 * whiteout `.wh.NAME` removes NAME and all below it, a non-directory replaces whatever was at its path, a
 * directory entry over a directory changes its attributes only. path → description (type, mode, owner, mtime,
 * xattrs, content hash or link target, and the first name of a file with several). Throws for an entry below
 * a non-directory, which runtimes unpack differently from one another.
 */
export function flattenLayers(tars: readonly Buffer[]): Map<string, string> {
  type Node = { desc: string; inode?: number };
  const nodes = new Map<string, Node>();
  let inodes = 0;
  const removeTree = (p: string) => {
    nodes.delete(p);
    for (const k of [...nodes.keys()]) if (k.startsWith(`${p}/`)) nodes.delete(k);
  };
  for (const tar of tars) {
    for (const e of readTar(tar)) {
      const path = e.name
        .split('/')
        .filter((s) => s !== '' && s !== '.')
        .join('/');
      const slash = path.lastIndexOf('/');
      const base = path.slice(slash + 1);
      for (let i = path.indexOf('/'); i > 0; i = path.indexOf('/', i + 1)) {
        const parent = nodes.get(path.slice(0, i));
        if (parent !== undefined && !parent.desc.startsWith('directory'))
          throw new Error(`${path} lies below ${path.slice(0, i)}, a ${parent.desc.split(' ')[0]}`);
      }
      if (base.startsWith('.wh.')) {
        removeTree(`${path.slice(0, slash + 1)}${base.slice(4)}`);
        continue;
      }
      const x = Object.keys(e.xattrs)
        .sort()
        .map((k) => `${k}=${e.xattrs[k]!.toString('hex')}`)
        .join(',');
      const head = (type: string, mode: number) =>
        `${type} ${mode.toString(8)} ${e.uid}:${e.gid} @${e.mtime}${x ? ` [${x}]` : ''}`;
      const existing = nodes.get(path);
      if (e.type === 'directory') {
        if (existing !== undefined && !existing.desc.startsWith('directory')) nodes.delete(path);
        nodes.set(path, { desc: head('directory', e.mode) });
        continue;
      }
      if (existing?.desc.startsWith('directory')) removeTree(path);
      if (e.type === 'hardlink') {
        const target = e.linkname
          .split('/')
          .filter((s) => s !== '' && s !== '.')
          .join('/');
        const t = nodes.get(target);
        if (t?.inode === undefined) throw new Error(`hard link ${path} to ${target}, not a file`);
        nodes.set(path, t);
        continue;
      }
      let extra = '';
      if (e.type === 'file') extra = sha256(tar.subarray(e.dataOffset, e.dataOffset + e.size));
      else if (e.type === 'symlink') extra = `-> ${e.linkname}`;
      else if (e.type === 'chardev' || e.type === 'blockdev') extra = `${e.devmajor},${e.devminor}`;
      const node: Node = { desc: `${head(e.type, e.type === 'symlink' ? 0o777 : e.mode)} ${extra}` };
      if (e.type === 'file') node.inode = ++inodes;
      nodes.set(path, node);
    }
  }
  const paths = [...nodes.keys()].sort();
  const first = new Map<number, string>();
  const count = new Map<number, number>();
  for (const p of paths) {
    const i = nodes.get(p)!.inode;
    if (i === undefined) continue;
    count.set(i, (count.get(i) ?? 0) + 1);
    if (!first.has(i)) first.set(i, p);
  }
  return new Map(
    paths.map((p) => {
      const n = nodes.get(p)!;
      const linked = n.inode !== undefined && count.get(n.inode)! > 1 ? ` =${first.get(n.inode)}` : '';
      return [p, `${n.desc}${linked}`];
    }),
  );
}
