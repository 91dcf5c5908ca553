/**
 * A registry as an image destination: the build's driver hands over every config and layer blob, then
 * commits. Each blob goes to every repository of the publish (HEAD first, mounted between repositories of
 * one registry, else uploaded); commit pushes the image manifests and the index, by digest. No tag is written
 * here: the SBOMs are attached after the build (they describe what it built), and the tags come last of all
 * (`Publication.tag`), so a tag never points at an image whose SBOMs are missing.
 */
import type { BlobContent, CommitOptions, ImageDestination, WrittenImage } from '../oci/destination.ts';
import type { ImageIndex } from '../oci/types.ts';
import type { Publication, PushBlob } from './push.ts';

/** A blob of the build as the pusher takes it. */
export function pushBlobOf(blob: BlobContent): PushBlob {
  return {
    digest: blob.digest,
    size: blob.size,
    open: 'bytes' in blob ? () => blob.bytes : () => blob.source.open(),
  };
}

export class RegistryDestination implements ImageDestination {
  readonly location: string;
  readonly parallelBlobs: number;
  readonly #publication: Publication;

  constructor(publication: Publication, location: string) {
    this.#publication = publication;
    this.location = location;
    this.parallelBlobs = publication.jobs;
  }

  /** Whether every tag already names this image: then nothing under it needs sending or asking about. */
  #complete = false;

  async prepare(index: ImageIndex, _options: CommitOptions): Promise<void> {
    this.#complete = await this.#publication.alreadyTagged(index.index.digest);
  }

  /** True only when the tags show the image whole; otherwise each repository is asked (HEAD) at put. */
  async hasBlob(_blob: BlobContent): Promise<boolean> {
    return this.#complete;
  }

  async putBlob(blob: BlobContent): Promise<void> {
    await this.#publication.putBlob(pushBlobOf(blob));
  }

  async commit(index: ImageIndex, _options: CommitOptions): Promise<WrittenImage> {
    if (this.#complete) return { digest: index.index.digest, files: [] };
    const manifest = (b: { mediaType: string; digest: string; bytes: Buffer }) => ({
      mediaType: b.mediaType,
      digest: b.digest,
      bytes: b.bytes,
    });
    await this.#publication.commitImages(
      index.images.map((i) => manifest(i.manifest)),
      manifest(index.index),
    );
    return { digest: index.index.digest, files: [] };
  }

  /** Nothing to undo: registries expire abandoned upload sessions, and untagged manifests harm nothing. */
  async abort(): Promise<void> {}
}
