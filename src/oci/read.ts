/**
 * Reading images back: an OCI image layout directory, or an archive holding one (lading's docker archives,
 * `docker save` of Docker ≥ 25, OCI archives), as lading's model, verified. Every document (index, manifests,
 * configs) is checked against its digest and size as it is read; a layer's bytes are checked as they are
 * streamed, so a damaged blob fails the read that meets it. Validation, base images and publish share this.
 * An archive is read into memory (its members are indexed in place), as validation does.
 */
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { readTar } from '../tar/reader.ts';
import { LadingError } from '../util/errors.ts';
import { blobPath, layerOf } from './blobs.ts';
import { platformKey } from './image.ts';
import { hostPlatformKey } from './tags.ts';
import {
  type Blob,
  type BlobSource,
  type Descriptor,
  type Image,
  type ImageIndex,
  type Layer,
  MediaType,
  type Platform,
  REF_NAME_ANNOTATION,
} from './types.ts';

/** Where a blob's bytes are: a byte range of a file, or memory. */
export type BlobLocation = { size: number } & ({ path: string; offset: number } | { bytes: Buffer });

/** A layout directory or an archive, opened: its top-level files and its blobs by digest. */
export interface ImageStore {
  /** The directory or archive, for messages. */
  readonly location: string;
  /** A top-level file: `index.json`, `oci-layout`, `manifest.json`. */
  file(name: string): Buffer | undefined;
  /** A file by its path inside (`blobs/sha256/<hex>`, or what a docker `manifest.json` names). */
  member(path: string): BlobLocation | undefined;
}

/** A blob's location in a store, by digest. */
export function blobLocation(store: ImageStore, digest: string): BlobLocation | undefined {
  return store.member(blobPath(digest));
}

/** Opens a layout directory, or an archive file. */
export function openImageStore(path: string): ImageStore {
  const st = statSync(path, { throwIfNoEntry: false });
  if (st === undefined) {
    throw new LadingError('OCI_READ', `${path} does not exist`, {
      hint: 'name an OCI layout directory or an image archive',
    });
  }
  return st.isDirectory() ? layoutStore(path) : archiveStore(path);
}

function layoutStore(dir: string): ImageStore {
  const at = (p: string) => {
    const path = join(dir, p);
    const st = statSync(path, { throwIfNoEntry: false });
    return st?.isFile() ? { path, st } : undefined;
  };
  return {
    location: dir,
    file: (name) => (at(name) ? readFileSync(join(dir, name)) : undefined),
    member: (p) => {
      const f = at(p.replace(/^\.\//, ''));
      return f ? { path: f.path, offset: 0, size: f.st.size } : undefined;
    },
  };
}

function archiveStore(file: string): ImageStore {
  const buf = readFileSync(file);
  const members = new Map<string, BlobLocation>();
  try {
    for (const e of readTar(buf)) {
      const name = e.name.replace(/^\.\//, '').replace(/\/$/, '');
      if (e.type === 'file')
        members.set(name, { bytes: buf.subarray(e.dataOffset, e.dataOffset + e.size), size: e.size });
    }
  } catch (e) {
    throw new LadingError('OCI_INVALID', `${file} is not a readable tar: ${(e as Error).message}`, { file });
  }
  return {
    location: file,
    file: (name) => {
      const m = members.get(name);
      return m && 'bytes' in m ? m.bytes : undefined;
    },
    member: (p) => members.get(p.replace(/^\.\//, '')),
  };
}

/** The first `max` bytes of a location (all by default). */
export function readRange(loc: BlobLocation, max = loc.size): Buffer {
  const size = Math.min(max, loc.size);
  if ('bytes' in loc) return loc.bytes.subarray(0, size);
  const buf = Buffer.alloc(size);
  const fd = openSync(loc.path, 'r');
  try {
    let done = 0;
    while (done < size) {
      const n = readSync(fd, buf, done, size - done, loc.offset + done);
      if (n === 0) break;
      done += n;
    }
    return buf.subarray(0, done);
  } finally {
    closeSync(fd);
  }
}

/** A location's bytes as a stream (1 MiB reads from a file). */
export function streamRange(loc: BlobLocation): Readable {
  if ('bytes' in loc) return Readable.from(loc.size ? [loc.bytes] : []);
  if (loc.size === 0) return Readable.from([]);
  return createReadStream(loc.path, {
    start: loc.offset,
    end: loc.offset + loc.size - 1,
    highWaterMark: 1 << 20,
  });
}

function readError(store: ImageStore, message: string, hint?: string): LadingError {
  return new LadingError('OCI_READ', `${store.location}: ${message}`, {
    file: store.location,
    hint: hint ?? 'the image is damaged or incomplete; write it again',
  });
}

/** A document blob, verified: present, of the descriptor's size and digest. */
function readBlob(store: ImageStore, d: Descriptor, what: string): Blob {
  if (!/^sha256:[0-9a-f]{64}$/.test(String(d.digest)))
    throw readError(store, `${what} has a bad digest ${JSON.stringify(d.digest)}`);
  const loc = blobLocation(store, d.digest);
  if (!loc) throw readError(store, `${what} ${d.digest} is missing`);
  if (loc.size !== d.size)
    throw readError(store, `${what} ${d.digest} has ${loc.size} bytes, its descriptor says ${d.size}`);
  const bytes = Buffer.from(readRange(loc));
  const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  if (digest !== d.digest) throw readError(store, `${what} ${d.digest} has sha256 ${digest}`);
  return { mediaType: d.mediaType, digest, size: bytes.length, bytes };
}

function parseJson<T>(store: ImageStore, bytes: Buffer, what: string): T {
  try {
    return JSON.parse(bytes.toString('utf8')) as T;
  } catch {
    throw readError(store, `${what} is not JSON`);
  }
}

/** A layer's bytes from the store, checked against its digest and size as they are read. */
function verifyingSource(store: ImageStore, d: Descriptor): BlobSource {
  const loc = blobLocation(store, d.digest);
  if (!loc) throw readError(store, `layer ${d.digest} is missing`);
  if (loc.size !== d.size)
    throw readError(store, `layer ${d.digest} has ${loc.size} bytes, its descriptor says ${d.size}`);
  const source: BlobSource = {
    open: () => {
      const hash = createHash('sha256');
      const check = new Transform({
        transform(chunk: Buffer, _enc, done) {
          hash.update(chunk);
          done(null, chunk);
        },
        flush(done) {
          const digest = `sha256:${hash.digest('hex')}`;
          done(digest === d.digest ? null : readError(store, `layer ${d.digest} has sha256 ${digest}`));
        },
      });
      return streamRange(loc).pipe(check);
    },
  };
  return source;
}

interface IndexDocument {
  manifests?: Descriptor[];
  annotations?: Record<string, string>;
}

/** One image by its manifest descriptor: manifest and config verified, layers verified as they are read. */
function readImageAt(store: ImageStore, d: Descriptor): Image {
  const manifest = readBlob(store, d, 'manifest');
  const doc = parseJson<{ config?: Descriptor; layers?: Descriptor[] }>(
    store,
    manifest.bytes,
    `manifest ${d.digest}`,
  );
  if (!doc.config || !Array.isArray(doc.layers))
    throw readError(store, `manifest ${d.digest} has no config or layers`);
  const config = readBlob(store, doc.config, 'config');
  const cfg = parseJson<{
    architecture?: string;
    os?: string;
    variant?: string;
    rootfs?: { diff_ids?: string[] };
  }>(store, config.bytes, `config ${config.digest}`);
  const diffIds = cfg.rootfs?.diff_ids ?? [];
  if (diffIds.length !== doc.layers.length) {
    throw readError(
      store,
      `manifest ${d.digest} lists ${doc.layers.length} layers, its config ${diffIds.length} diff_ids`,
    );
  }
  const layers: Layer[] = doc.layers.map((l, i) => {
    const info = { mediaType: l.mediaType, digest: l.digest, size: l.size, diffId: diffIds[i]! };
    return layerOf(l.annotations ? { ...info, annotations: l.annotations } : info, verifyingSource(store, l));
  });
  const platform: Platform = d.platform ?? {
    architecture: cfg.architecture ?? 'unknown',
    os: cfg.os ?? 'unknown',
    ...(cfg.variant ? { variant: cfg.variant } : {}),
  };
  return { platform, layers, config, manifest, descriptor: d };
}

/** An image index by its bytes: every image it lists, read. */
function indexFrom(store: ImageStore, index: Blob): ImageIndex {
  const doc = parseJson<IndexDocument>(store, index.bytes, `index ${index.digest}`);
  const images = (doc.manifests ?? []).map((m) => {
    if (m.mediaType !== MediaType.imageManifest)
      throw readError(store, `index ${index.digest} lists a ${m.mediaType}, not an image manifest`);
    return readImageAt(store, m);
  });
  return { images, index, annotations: doc.annotations ?? {} };
}

export interface ReadOptions {
  /** The `org.opencontainers.image.ref.name` to read (a tag); default: the only image or index there. */
  ref?: string;
  /** Read the index with this digest instead. */
  digest?: string;
}

/** The store's `index.json` entries. */
function entries(store: ImageStore): { top: Buffer; manifests: Descriptor[] } {
  const top = store.file('index.json');
  if (!top) {
    throw readError(
      store,
      'has no index.json',
      'lading reads OCI layouts and archives that hold one (docker save of Docker 25 or newer, lading build)',
    );
  }
  return { top, manifests: parseJson<IndexDocument>(store, top, 'index.json').manifests ?? [] };
}

const refOf = (d: Descriptor) => d.annotations?.[REF_NAME_ANNOTATION];

/**
 * The image index a layout or archive holds, as lading writes it: by `digest`; else by `ref` (an index tagged so,
 * or the untagged index that lists the image tagged so); else the only index, or `index.json` itself when it
 * lists images only (a layout written without a tag).
 */
export function readImageIndex(path: string, options: ReadOptions = {}): ImageIndex {
  const store = openImageStore(path);
  const { top, manifests } = entries(store);
  const isIndex = (d: Descriptor) => d.mediaType === MediaType.imageIndex;
  let chosen: Descriptor | undefined;
  if (options.digest !== undefined) {
    chosen = {
      mediaType: MediaType.imageIndex,
      digest: options.digest,
      size: blobLocation(store, options.digest)?.size ?? -1,
    };
  } else if (options.ref !== undefined) {
    const named = manifests.find((d) => refOf(d) === options.ref);
    if (!named)
      throw readError(store, `has no image named ${JSON.stringify(options.ref)}`, refsHint(manifests));
    chosen = isIndex(named)
      ? named
      : manifests.find(
          (d) =>
            isIndex(d) &&
            refOf(d) === undefined &&
            (
              parseJson<IndexDocument>(store, readBlob(store, d, 'index').bytes, 'index').manifests ?? []
            ).some((m) => m.digest === named.digest),
        );
    if (!chosen)
      throw readError(store, `${options.ref} names a single image, not an index`, 'read it with readImage');
  } else {
    const indexes = manifests.filter(isIndex);
    if (indexes.length === 1) chosen = indexes[0];
    else if (indexes.length === 0) {
      const bytes = Buffer.from(top);
      return indexFrom(store, {
        mediaType: MediaType.imageIndex,
        digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`,
        size: bytes.length,
        bytes,
      });
    } else throw readError(store, `holds ${indexes.length} indexes`, refsHint(manifests));
  }
  return indexFrom(store, readBlob(store, chosen!, 'index'));
}

/**
 * One image: the one `ref` names (an image, or an index: then the `platform`'s image), else the only one.
 * `platform` is `amd64`, `arm64`, `arm/v7`, … (default: this machine's).
 */
export function readImage(path: string, options: { ref?: string; platform?: string } = {}): Image {
  const store = openImageStore(path);
  const { manifests } = entries(store);
  const named = options.ref === undefined ? manifests : manifests.filter((d) => refOf(d) === options.ref);
  if (named.length === 0)
    throw readError(store, `has no image named ${JSON.stringify(options.ref)}`, refsHint(manifests));
  const images = named.filter((d) => d.mediaType === MediaType.imageManifest);
  if (images.length === 1 && (options.ref !== undefined || named.length === 1))
    return readImageAt(store, images[0]!);
  const index = named.find((d) => d.mediaType === MediaType.imageIndex);
  if (!index) throw readError(store, `holds ${named.length} images`, refsHint(manifests));
  const all = indexFrom(store, readBlob(store, index, 'index'));
  const want = options.platform ?? hostPlatformKey();
  const image = all.images.find((i) => platformKey(i.platform) === want);
  if (!image) {
    throw readError(
      store,
      `has no ${want} image`,
      `it has ${all.images.map((i) => platformKey(i.platform)).join(', ')}`,
    );
  }
  return image;
}

function refsHint(manifests: readonly Descriptor[]): string {
  const refs = manifests.map(refOf).filter((r) => r !== undefined);
  return refs.length ? `it holds ${refs.join(', ')}` : 'it holds no named images';
}

/** Whether a path holds an OCI layout (a directory with `oci-layout`). */
export function isLayout(path: string): boolean {
  return existsSync(join(path, 'oci-layout'));
}
