/**
 * Trees to compare: the files of an image (read from its layer tars in an OCI layout, no extraction) and of a
 * directory on disk (an apk-tools root). Each path maps to a one-line description: type, mode, owner,
 * and content hash or link target.
 */
import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { readTar } from '../../src/tar/reader.ts';

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
