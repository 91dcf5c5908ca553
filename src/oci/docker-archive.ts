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
import { blobPath, layoutContent, OCI_LAYOUT_FILE } from './blobs.ts';
import { goJson } from './json.ts';
import { dockerTags } from './tags.ts';
import type { ImageIndex } from './types.ts';

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
      if (done !== size)
        throw new LadingError('OCI_BLOB_CHANGED', `the blob ${path} has ${done} bytes, expected ${size}`, {
          file: path,
          hint: 'the layer file was modified after it was written; build again',
        });
    } finally {
      closeSync(src);
    }
    this.#pad(size);
  }

  end(): void {
    this.#write(TAR_END);
  }
}

export async function writeDockerArchive(
  file: string,
  index: ImageIndex,
  options: DockerArchiveOptions = {},
): Promise<{ digest: string }> {
  const content = layoutContent(index, options.tag);
  const manifestJson = dockerManifestJson(index, options);
  sweepAbandonedTemps(file);
  const tmp = tempPath(file);
  let fd = -1;
  try {
    fd = openSync(tmp, 'wx', 0o644);
    const tar = new TarFile(fd);
    tar.dir('blobs');
    tar.dir('blobs/sha256');
    for (const blob of content.blobs) {
      if ('bytes' in blob) tar.file(blobPath(blob.digest), blob.bytes);
      else tar.copy(blobPath(blob.digest), blob.path, blob.size);
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
  return { digest: index.index.digest };
}
