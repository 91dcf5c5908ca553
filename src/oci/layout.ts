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
  existsSync,
  mkdirSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import { copyFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LadingError } from '../util/errors.ts';
import { isAbandonedTemp, tempPath } from '../util/write-file.ts';
import { blobPath, layoutContent, OCI_LAYOUT_FILE, type StoredBlob } from './blobs.ts';
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

async function isIntact(path: string, blob: StoredBlob): Promise<boolean> {
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

export async function writeLayout(
  dir: string,
  index: ImageIndex,
  options: LayoutOptions = {},
): Promise<LayoutResult> {
  const content = layoutContent(index, options.tag);
  const blobDir = join(dir, 'blobs', 'sha256');
  let written = 0;
  let removed = 0;
  try {
    if (existsSync(join(dir, 'blobs')) && !statSync(join(dir, 'blobs')).isDirectory()) {
      throw new LadingError('OCI_LAYOUT_WRITE', `${join(dir, 'blobs')} exists and is not a directory`, {
        file: dir,
        hint: 'choose an empty directory or an existing OCI layout as the output',
      });
    }
    mkdirSync(blobDir, { recursive: true });
    const keep = new Set<string>();
    for (const blob of content.blobs) {
      const target = join(dir, blobPath(blob.digest));
      keep.add(target);
      if ('path' in blob && blob.path === target) continue;
      if (await isIntact(target, blob)) continue;
      await writeAtomic(target, (tmp) =>
        'bytes' in blob ? writeFile(tmp, blob.bytes) : copyFile(blob.path, tmp, constants.COPYFILE_FICLONE),
      );
      written++;
    }
    await writeAtomic(join(dir, 'oci-layout'), (tmp) => writeFile(tmp, OCI_LAYOUT_FILE));
    await writeAtomic(join(dir, 'index.json'), (tmp) => writeFile(tmp, content.indexJson));
    // Only now is the new layout complete: drop what the old one needed and ours does not.
    for (const name of readdirSync(blobDir)) {
      const path = join(blobDir, name);
      if ((/^[0-9a-f]{64}$/.test(name) && !keep.has(path)) || isAbandonedTemp(name)) {
        rmSync(path, { force: true });
        removed++;
      }
    }
  } catch (e) {
    throw layoutError(dir, e);
  }
  return { digest: index.index.digest, written, removed };
}
