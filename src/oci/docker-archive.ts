/**
 * Writes an image index as a `docker save`-style tarball that is also an OCI archive, as Docker ≥ 25 does:
 * `blobs/sha256/<hex>` (each blob once), `index.json` (as in an OCI layout, with ref names), `manifest.json`
 * (`Config`/`RepoTags`/`Layers` pointing at the blob paths, for `docker load` of any engine version) and
 * `oci-layout`. Written to a temporary file beside the destination and renamed at the end.
 *
 * Tags (see tags.ts): one platform → `RepoTags: [TAG]` exactly as given, so `docker load && docker run TAG`
 * works. Several → each image `TAG-<arch>`, and the default platform's image (host's, else the first) also TAG.
 */
import { closeSync, openSync, readSync, renameSync, rmSync, writeSync } from 'node:fs';
import { encodeTarHeader, TAR_END } from '../tar/writer.ts';
import { LadingError } from '../util/errors.ts';
import { sweepAbandonedTemps, tempPath } from '../util/write-file.ts';
import { type BlobContent, blobPath, layoutContent, OCI_LAYOUT_FILE } from './blobs.ts';
import { type ImageDestination, writeImage } from './destination.ts';
import { goJson } from './json.ts';
import { dockerTags, parseTag } from './tags.ts';
import type { BlobSource, ImageIndex } from './types.ts';

export interface DockerArchiveOptions {
  /** `NAME[:TAG]`; without it the images load untagged (`RepoTags: null`). */
  tag?: string;
  /** Platform key (`amd64`, `arm/v7`, …) whose image gets the plain TAG when there are several. Default: host. */
  defaultPlatform?: string;
}

/** The `manifest.json` document of a docker archive. */
export function dockerManifestJson(index: ImageIndex, options: DockerArchiveOptions = {}): Buffer {
  const tags =
    options.tag === undefined ? null : dockerTags(index.images, options.tag, options.defaultPlatform);
  const doc = index.images.map((img, i) => ({
    Config: blobPath(img.config.digest),
    RepoTags: tags ? tags[i]! : null,
    Layers: img.layers.map((l) => blobPath(l.digest)),
  }));
  return Buffer.from(goJson(doc));
}

function changed(what: string, done: number, size: number): LadingError {
  return new LadingError('OCI_BLOB_CHANGED', `the blob ${what} has ${done} bytes, expected ${size}`, {
    file: what,
    hint: 'the layer file was modified after it was written; build again',
  });
}

const BLOCK = 512;
const ZEROS = Buffer.alloc(BLOCK);

class TarFile {
  readonly #fd: number;
  readonly #buf = Buffer.allocUnsafe(1 << 20);

  constructor(fd: number) {
    this.#fd = fd;
  }

  #write(bytes: Buffer): void {
    let off = 0;
    while (off < bytes.length) off += writeSync(this.#fd, bytes, off, bytes.length - off);
  }

  #pad(size: number): void {
    if (size % BLOCK) this.#write(ZEROS.subarray(0, BLOCK - (size % BLOCK)));
  }

  dir(name: string): void {
    this.#write(encodeTarHeader({ name, type: 'directory', mode: 0o755, uid: 0, gid: 0, size: 0, mtime: 0 }));
  }

  file(name: string, bytes: Buffer): void {
    this.#write(
      encodeTarHeader({ name, type: 'file', mode: 0o644, uid: 0, gid: 0, size: bytes.length, mtime: 0 }),
    );
    this.#write(bytes);
    this.#pad(bytes.length);
  }

  /** Streams a blob's bytes from its opener; a different length means its source changed under us. */
  async stream(name: string, source: BlobSource, size: number): Promise<void> {
    if (source.file !== undefined) return this.copy(name, source.file, size);
    this.#write(encodeTarHeader({ name, type: 'file', mode: 0o644, uid: 0, gid: 0, size, mtime: 0 }));
    let done = 0;
    for await (const chunk of source.open()) {
      const bytes = chunk as Buffer;
      done += bytes.length;
      if (done > size) break;
      this.#write(bytes);
    }
    if (done !== size) throw changed(name, done, size);
    this.#pad(size);
  }

  /** Copies `size` bytes of the file at `path`; a different length means the blob changed under us. */
  copy(name: string, path: string, size: number): void {
    this.#write(encodeTarHeader({ name, type: 'file', mode: 0o644, uid: 0, gid: 0, size, mtime: 0 }));
    const src = openSync(path, 'r');
    try {
      let done = 0;
      for (;;) {
        const n = readSync(src, this.#buf, 0, this.#buf.length, done);
        if (n === 0) break;
        done += n;
        if (done > size) break;
        this.#write(n === this.#buf.length ? this.#buf : this.#buf.subarray(0, n));
      }
      if (done !== size) throw changed(path, done, size);
    } finally {
      closeSync(src);
    }
    this.#pad(size);
  }

  end(): void {
    this.#write(TAR_END);
  }
}

/**
 * A docker archive as an image destination. The archive is one file written in one go at commit, with every
 * blob in digest order (the bytes must not depend on the order blobs arrive), so putBlob only notes where a
 * blob's bytes are and hasBlob is always false.
 */
export function dockerArchiveDestination(
  file: string,
  options: Omit<DockerArchiveOptions, 'tag'> = {},
): ImageDestination {
  const sources = new Map<string, BlobContent>();
  return {
    location: file,
    prepare: async (_index, options) => {
      if (options.tag !== undefined) parseTag(options.tag);
    },
    hasBlob: async () => false,
    putBlob: async (blob) => {
      sources.set(blob.digest, blob);
    },
    commit: async (index, commit) => {
      const tag = commit.tag;
      const content = layoutContent(index, tag);
      const manifestJson = dockerManifestJson(index, { ...options, ...(tag === undefined ? {} : { tag }) });
      sweepAbandonedTemps(file);
      const tmp = tempPath(file);
      let fd = -1;
      try {
        fd = openSync(tmp, 'wx', 0o644);
        const tar = new TarFile(fd);
        tar.dir('blobs');
        tar.dir('blobs/sha256');
        for (const listed of content.blobs) {
          const blob = sources.get(listed.digest) ?? listed;
          if ('bytes' in blob) tar.file(blobPath(blob.digest), blob.bytes);
          else await tar.stream(blobPath(blob.digest), blob.source, blob.size);
        }
        tar.file('index.json', content.indexJson);
        tar.file('manifest.json', manifestJson);
        tar.file('oci-layout', OCI_LAYOUT_FILE);
        tar.end();
        closeSync(fd);
        fd = -1;
        renameSync(tmp, file);
      } catch (e) {
        if (fd >= 0) closeSync(fd);
        rmSync(tmp, { force: true });
        if (e instanceof LadingError) throw e;
        throw new LadingError(
          'OCI_ARCHIVE_WRITE',
          `cannot write the image archive ${file}: ${(e as Error).message}`,
          {
            file,
            hint: 'check that the output directory exists, is writable and has free space',
            cause: e,
          },
        );
      }
      return { digest: index.index.digest, files: [file] };
    },
    // the archive is written under a temporary name at commit, and removed there on failure
    abort: async () => {},
  };
}

export async function writeDockerArchive(
  file: string,
  index: ImageIndex,
  options: DockerArchiveOptions = {},
): Promise<{ digest: string }> {
  const { tag, ...rest } = options;
  const written = await writeImage(
    dockerArchiveDestination(file, rest),
    index,
    tag === undefined ? {} : { tag },
  );
  return { digest: written.digest };
}
