/**
 * Cache housekeeping for `lading clean`-style commands: size report, remove all, prune by age, verify.
 * Only `v1/` (and trash from interrupted cleans) is ever removed, never anything else in the directory,
 * so a mistaken `--cache-dir ~` cannot delete a home directory.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import { basename, join, relative } from 'node:path';
import { parseRef, STALE_TEMP_MS, sweepTemporaryFiles } from './cache.ts';
import { blobFile, layoutPaths, TRASH_PREFIX, trashName } from './layout.ts';

export interface CacheUsage {
  /** Total bytes and files under the cache's layout directory. */
  bytes: number;
  files: number;
  blobs: { count: number; bytes: number };
  refs: number;
  /** Files in tmp/ (in-flight or left by killed processes). */
  temporary: number;
}

interface FileEntry {
  path: string;
  size: number;
  mtimeMs: number;
  /** Hard links: above 1 for a blob a running build has pinned. */
  nlink: number;
}

async function walk(dir: string): Promise<FileEntry[]> {
  const out: FileEntry[] = [];
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const path = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walk(path)));
    else {
      const st = await stat(path).catch(() => undefined);
      if (st) out.push({ path, size: st.size, mtimeMs: st.mtimeMs, nlink: st.nlink });
    }
  }
  return out;
}

export async function cacheUsage(dir: string): Promise<CacheUsage> {
  const p = layoutPaths(dir);
  const files = await walk(p.root);
  const inside = (d: string) => files.filter((f) => !relative(d, f.path).startsWith('..'));
  const blobs = inside(p.blobs);
  return {
    bytes: files.reduce((n, f) => n + f.size, 0),
    files: files.length,
    blobs: { count: blobs.length, bytes: blobs.reduce((n, f) => n + f.size, 0) },
    refs: inside(p.refs).length,
    temporary: inside(p.tmp).length,
  };
}

/**
 * Removes the whole cache and reports what it held. The layout directory is first renamed away, so
 * concurrent builds see either the old cache or an empty one, never a half-deleted one; running builds keep
 * reading what they pinned (cache.ts), and pins and temporary files of writers that are gone are removed.
 */
export async function cleanCache(dir: string): Promise<CacheUsage> {
  const usage = await cacheUsage(dir);
  const { root } = layoutPaths(dir);
  const trash = join(dir, trashName());
  try {
    await rename(root, trash);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const name of names.filter((n) => n.startsWith(TRASH_PREFIX))) {
    await rm(join(dir, name), { recursive: true, force: true });
  }
  await sweepTemporaryFiles(dir, STALE_TEMP_MS);
  return usage;
}

export interface PruneResult {
  removed: { files: number; bytes: number };
  kept: { files: number; bytes: number };
}

/**
 * Removes references not used for `olderThanMs` (a reference's mtime is its last use), then blobs no
 * remaining reference needs that are older than that too (a younger unreferenced blob may belong to a
 * download in progress) and that no running build has pinned, then references whose blobs are gone (a build
 * may have written one meanwhile), then temporary files of writers that are gone.
 */
export async function pruneCache(
  dir: string,
  options: { olderThanMs: number; now?: number },
): Promise<PruneResult> {
  const now = options.now ?? Date.now();
  const cutoff = now - options.olderThanMs;
  const p = layoutPaths(dir);
  const result: PruneResult = { removed: { files: 0, bytes: 0 }, kept: { files: 0, bytes: 0 } };
  const remove = async (f: FileEntry) => {
    await unlink(f.path).catch(() => {});
    result.removed.files++;
    result.removed.bytes += f.size;
  };
  const keep = (f: FileEntry) => {
    result.kept.files++;
    result.kept.bytes += f.size;
  };
  const live = new Set<string>();
  for (const f of await walk(p.refs)) {
    if (f.mtimeMs < cutoff) {
      await remove(f);
      continue;
    }
    const ref = parseRef(await readFile(f.path, 'utf8').catch(() => ''));
    if (!ref) {
      await remove(f);
      continue;
    }
    keep(f);
    for (const b of [ref.blob, ...Object.values(ref.attachments ?? {})]) live.add(b.digest);
  }
  for (const f of await walk(p.blobs)) {
    if (!live.has(`sha256:${basename(f.path)}`) && f.mtimeMs < cutoff && f.nlink < 2) await remove(f);
    else keep(f);
  }
  // references a build wrote while the blobs were walked may point at a blob removed above: they go too
  for (const f of await walk(p.refs)) {
    const ref = parseRef(await readFile(f.path, 'utf8').catch(() => ''));
    const blobs = ref ? [ref.blob, ...Object.values(ref.attachments ?? {})] : [];
    const missing = await Promise.all(
      blobs.map((b) =>
        stat(blobFile(dir, b.digest)).then(
          () => false,
          () => true,
        ),
      ),
    );
    if (missing.some(Boolean)) {
      await unlink(f.path).catch(() => {});
      result.removed.files++;
      result.removed.bytes += f.size;
    }
  }
  await sweepTemporaryFiles(dir, Math.min(STALE_TEMP_MS, options.olderThanMs), now);
  return result;
}

export interface VerifyResult {
  blobs: number;
  refs: number;
  /** Temporary files and pins of writers that are gone (removed with `repair`). */
  abandoned: number;
  /** Each problem found, with the path relative to the cache directory. */
  problems: string[];
}

/**
 * Hashes every blob and checks every reference. With `repair`, corrupt blobs and broken references are
 * deleted (the next build fetches them again).
 */
export async function verifyCache(dir: string, options: { repair?: boolean } = {}): Promise<VerifyResult> {
  const p = layoutPaths(dir);
  const problems: string[] = [];
  const report = async (f: FileEntry, what: string) => {
    problems.push(`${relative(dir, f.path)}: ${what}`);
    if (options.repair) await unlink(f.path).catch(() => {});
  };
  const sizes = new Map<string, number>();
  const blobs = await walk(p.blobs);
  for (const f of blobs) {
    const name = basename(f.path);
    if (!/^[0-9a-f]{64}$/.test(name) || !f.path.endsWith(join(name.slice(0, 2), name))) {
      await report(f, 'not a blob name');
    } else if ((await hashFile(f.path)) !== name) {
      await report(f, 'content does not match its name (corrupt)');
    } else sizes.set(`sha256:${name}`, f.size);
  }
  const refs = await walk(p.refs);
  for (const f of refs) {
    const ref = parseRef(await readFile(f.path, 'utf8').catch(() => ''));
    if (!ref) {
      await report(f, 'not a valid reference');
      continue;
    }
    for (const b of [ref.blob, ...Object.values(ref.attachments ?? {})]) {
      const size = sizes.get(b.digest);
      if (size === undefined) await report(f, `refers to missing blob ${b.digest}`);
      else if (size !== b.size) await report(f, `records size ${b.size} for ${b.digest}, which has ${size}`);
      else continue;
      break;
    }
  }
  const abandoned = options.repair ? await sweepTemporaryFiles(dir, STALE_TEMP_MS) : 0;
  return { blobs: blobs.length, refs: refs.length, abandoned, problems };
}

async function hashFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
