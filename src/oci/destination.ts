/**
 * Where an image goes, in the manner of go-containerregistry's `remote.Write` / `layout.Write`: one interface,
 * one driver. The driver sends every config and layer blob the destination lacks (layers streamed from their
 * openers), then commits: the manifests, the index and the tag, last, so a reader never sees a tag that points
 * at something incomplete. The OCI layout and the docker archive implement it here; a registry and a Docker
 * engine implement it the same way (HEAD to skip a blob, a streamed upload, the index PUT last).
 */
import { createLimiter } from '../net/limit.ts';
import type { BlobContent } from './blobs.ts';
import type { ImageIndex } from './types.ts';

export type { BlobContent } from './blobs.ts';

export interface CommitOptions {
  /** `NAME[:TAG]` to name the image by, where the destination has names. */
  tag?: string;
}

export interface ImageDestination {
  /** Where the image goes, for messages (a path, or a reference without credentials). */
  readonly location: string;
  /** Blobs sent at once (default 1): a registry uploads several, a file is written in order. */
  readonly parallelBlobs?: number;
  /** Checks what can be checked before anything is written (the tag, the place, access). */
  prepare?(index: ImageIndex, options: CommitOptions): Promise<void>;
  /** Whether the destination already holds this blob, intact: then it is not sent again. */
  hasBlob(blob: BlobContent): Promise<boolean>;
  /** Stores one config or layer blob. Called for every blob the manifests refer to (that it lacks) before commit. */
  putBlob(blob: BlobContent): Promise<void>;
  /** Stores the manifests, then the index and the tag: the image appears whole or not at all. */
  commit(index: ImageIndex, options: CommitOptions): Promise<WrittenImage>;
  /** After a failure: removes what an unfinished write left (temporary files, upload sessions). */
  abort(): Promise<void>;
}

export interface WrittenImage {
  /** The index digest (what a registry would name). */
  digest: string;
  /** Files the destination wrote or holds for this image, for the no-op build record (none for a registry). */
  files: string[];
}

/** The config and layer blobs an index's manifests refer to, each once, in digest order. */
export function indexBlobs(index: ImageIndex): BlobContent[] {
  const blobs = new Map<string, BlobContent>();
  for (const img of index.images) {
    const c = img.config;
    if (!blobs.has(c.digest)) blobs.set(c.digest, { digest: c.digest, size: c.size, bytes: c.bytes });
    for (const l of img.layers) {
      if (!blobs.has(l.digest)) blobs.set(l.digest, { digest: l.digest, size: l.size, source: l });
    }
  }
  return [...blobs.values()].sort((a, b) => (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0));
}

/** Writes an image: every blob the destination lacks, then the manifests, the index and the tag. */
export async function writeImage(
  destination: ImageDestination,
  index: ImageIndex,
  options: CommitOptions = {},
): Promise<WrittenImage> {
  await destination.prepare?.(index, options);
  try {
    const limit = createLimiter(destination.parallelBlobs ?? 1);
    let failed = false;
    const sent = await Promise.allSettled(
      indexBlobs(index).map((blob) =>
        limit(async () => {
          if (failed) return; // one failed: the rest are not worth sending
          try {
            if (!(await destination.hasBlob(blob))) await destination.putBlob(blob);
          } catch (e) {
            failed = true;
            throw e;
          }
        }),
      ),
    );
    const failure = sent.find((s) => s.status === 'rejected');
    if (failure) throw failure.reason;
    return await destination.commit(index, options);
  } catch (e) {
    await destination.abort();
    throw e;
  }
}
