/**
 * Writes an image index to an OCI image layout directory (`oci-layout`, `index.json`, `blobs/sha256/*`).
 *
 * An existing layout is replaced, never left half-written: blobs are written by digest (temporary name, then
 * rename; a blob already present is kept after its hash is checked), `index.json` last by rename, and only
 * then are blobs the new index no longer references removed. A crash at any point leaves the old or the new
 * layout, both valid. Other files in the directory (e.g. SBOMs) are not touched.
 */
import { createHash } from 'node:crypto';
import {
  constants,
  createReadStream,
  createWriteStream,
  existsSync,
  mkdirSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import { copyFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { LadingError } from '../util/errors.ts';
import { isAbandonedTemp, tempPath } from '../util/write-file.ts';
import { type BlobContent, blobPath, layoutContent, OCI_LAYOUT_FILE } from './blobs.ts';
import { type ImageDestination, writeImage } from './destination.ts';
import { parseTag } from './tags.ts';
import type { ImageIndex } from './types.ts';

export interface LayoutOptions {
  /** Tag to record as `org.opencontainers.image.ref.name` (see `layoutContent` for the multi-platform form). */
  tag?: string;
}

export interface LayoutResult {
  /** Digest of the image index (what a registry push would name); `index.json` may differ by ref names. */
  digest: string;
  /** Blob files written (absent or damaged before). */
  written: number;
  /** Blob files no longer referenced and removed. */
  removed: number;
}

async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) h.update(chunk as Buffer);
  return `sha256:${h.digest('hex')}`;
}

async function isIntact(path: string, blob: BlobContent): Promise<boolean> {
  try {
    if (statSync(path).size !== blob.size) return false;
  } catch {
    return false;
  }
  return (await sha256File(path)) === blob.digest;
}

async function writeAtomic(target: string, write: (tmp: string) => Promise<void>): Promise<void> {
  const tmp = tempPath(target);
  try {
    await write(tmp);
    renameSync(tmp, target);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

function layoutError(dir: string, e: unknown): LadingError {
  if (e instanceof LadingError) return e;
  return new LadingError('OCI_LAYOUT_WRITE', `cannot write the OCI layout ${dir}: ${(e as Error).message}`, {
    file: dir,
    hint: 'check that the output directory is writable and has free space',
    cause: e,
  });
}

/** An OCI image layout directory as an image destination; `stats` counts what it wrote and removed. */
export function layoutDestination(
  dir: string,
): ImageDestination & { stats: { written: number; removed: number } } {
  const blobDir = join(dir, 'blobs', 'sha256');
  const stats = { written: 0, removed: 0 };
  let ready = false;
  const prepare = () => {
    if (ready) return;
    if (existsSync(join(dir, 'blobs')) && !statSync(join(dir, 'blobs')).isDirectory()) {
      throw new LadingError('OCI_LAYOUT_WRITE', `${join(dir, 'blobs')} exists and is not a directory`, {
        file: dir,
        hint: 'choose an empty directory or an existing OCI layout as the output',
      });
    }
    mkdirSync(blobDir, { recursive: true });
    ready = true;
  };
  const guard = async <T>(work: () => Promise<T>): Promise<T> => {
    try {
      prepare();
      return await work();
    } catch (e) {
      throw layoutError(dir, e);
    }
  };
  /** Blobs this destination wrote: commit need not hash them again. */
  const stored = new Set<string>();
  /** A blob already in place, intact, or the very file the blob comes from. */
  const present = async (blob: BlobContent): Promise<boolean> => {
    const target = join(dir, blobPath(blob.digest));
    if (stored.has(blob.digest) || ('source' in blob && blob.source.file === target)) return true;
    return isIntact(target, blob);
  };
  const store = async (blob: BlobContent): Promise<void> => {
    await writeAtomic(join(dir, blobPath(blob.digest)), (tmp) => writeBlobFile(tmp, blob));
    stored.add(blob.digest);
    stats.written++;
  };
  return {
    location: dir,
    stats,
    prepare: async (_index, options) => {
      if (options.tag !== undefined) parseTag(options.tag);
    },
    hasBlob: (blob) => guard(() => present(blob)),
    putBlob: (blob) => guard(() => store(blob)),
    commit: (index, options) =>
      guard(async () => {
        const content = layoutContent(index, options.tag);
        const keep = new Set<string>();
        for (const blob of content.blobs) {
          keep.add(join(dir, blobPath(blob.digest)));
          if (!(await present(blob))) await store(blob);
        }
        await writeAtomic(join(dir, 'oci-layout'), (tmp) => writeFile(tmp, OCI_LAYOUT_FILE));
        await writeAtomic(join(dir, 'index.json'), (tmp) => writeFile(tmp, content.indexJson));
        // Only now is the new layout complete: drop what the old one needed and ours does not.
        for (const name of readdirSync(blobDir)) {
          const path = join(blobDir, name);
          if ((/^[0-9a-f]{64}$/.test(name) && !keep.has(path)) || isAbandonedTemp(name)) {
            rmSync(path, { force: true });
            stats.removed++;
          }
        }
        return {
          digest: index.index.digest,
          files: [join(dir, 'index.json'), join(dir, 'oci-layout'), ...keep],
        };
      }),
    // every file is written under a temporary name and renamed: a failure leaves the old layout
    abort: async () => {},
  };
}

/** A blob's bytes into a new file: copied in the kernel from a file (a reflink where it can), else streamed. */
async function writeBlobFile(path: string, blob: BlobContent): Promise<void> {
  if ('bytes' in blob) return writeFile(path, blob.bytes);
  const { file } = blob.source;
  if (file !== undefined) return copyFile(file, path, constants.COPYFILE_FICLONE);
  await pipeline(blob.source.open(), createWriteStream(path, { flags: 'wx' }));
  const size = statSync(path).size;
  if (size !== blob.size) {
    throw new LadingError(
      'OCI_BLOB_CHANGED',
      `blob ${blob.digest} has ${size} bytes, expected ${blob.size}`,
      {
        hint: 'its source changed after the image was built; build again',
      },
    );
  }
}

/**
 * Writes an image index to an OCI layout directory, replacing what was there (see layoutDestination):
 * blobs first, then `oci-layout` and `index.json`, then blobs no longer referenced are removed.
 */
export async function writeLayout(
  dir: string,
  index: ImageIndex,
  options: LayoutOptions = {},
): Promise<LayoutResult> {
  const destination = layoutDestination(dir);
  await writeImage(destination, index, options);
  return { digest: index.index.digest, ...destination.stats };
}
