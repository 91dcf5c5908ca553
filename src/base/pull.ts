/**
 * A base image from a registry, pulled with the publish client (src/registry: the keychain, ping, Basic and
 * Bearer auth, retries): the manifest the reference names (an index or an image; OCI or Docker media types),
 * every image's manifest and config. Layers are pulled only when read, into the store by digest (a blob never
 * changes: a second build reads the store). Each document and blob is checked against its digest. The
 * reference's answer is remembered too, so `--offline` builds on the base pulled last.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { layerOf } from '../oci/blobs.ts';
import { type Blob, type Descriptor, type Image, type Layer, MediaType } from '../oci/types.ts';
import { createKeychain } from '../registry/keychain.ts';
import { MANIFEST_ACCEPT } from '../registry/push.ts';
import { formatReference, parseReference, type Reference } from '../registry/reference.ts';
import { RegistryClient, type RepositorySession } from '../registry/transport.ts';
import type { ContentCache } from '../store/cache.ts';
import { BASE_MANIFESTS, BASE_PULLED } from '../store/namespaces.ts';
import { LadingError } from '../util/errors.ts';
import { type Logger, silentLogger } from '../util/log.ts';

const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
const DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';

export interface PullOptions {
  cache: ContentCache;
  offline?: boolean;
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
  insecureAllowHttp?: boolean;
}

const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** Docker's media types as the OCI ones the output uses (the bytes are the same). */
export function ociMediaType(mediaType: string): string {
  switch (mediaType) {
    case DOCKER_MANIFEST:
      return MediaType.imageManifest;
    case DOCKER_LIST:
      return MediaType.imageIndex;
    case 'application/vnd.docker.container.image.v1+json':
      return MediaType.imageConfig;
    case 'application/vnd.docker.image.rootfs.diff.tar.gzip':
      return MediaType.layerTarGzip;
    case 'application/vnd.docker.image.rootfs.diff.tar':
      return MediaType.layerTar;
    default:
      return mediaType;
  }
}

function pullError(ref: string, message: string, hint?: string): LadingError {
  return new LadingError('BASE_PULL', `base image ${ref}: ${message}`, {
    hint: hint ?? 'check the reference, and that you are logged in to the registry (lading login)',
  });
}

class Puller {
  readonly #ref: Reference;
  readonly #name: string;
  readonly #options: PullOptions;
  #session: RepositorySession | undefined;

  constructor(ref: Reference, options: PullOptions) {
    this.#ref = ref;
    this.#name = formatReference(ref);
    this.#options = options;
  }

  get name(): string {
    return this.#name;
  }

  #open(): RepositorySession {
    if (this.#options.offline) {
      throw pullError(
        this.#name,
        '--offline, and the registry answer is not in the cache',
        'run once without --offline',
      );
    }
    this.#session ??= new RegistryClient({
      keychain: createKeychain(this.#options.env),
      insecureAllowHttp: this.#options.insecureAllowHttp,
      logger: this.#options.logger ?? silentLogger,
    }).session(this.#ref.repository, false);
    return this.#session;
  }

  async #get(path: string, what: string, accept?: string): Promise<{ body: Buffer; mediaType: string }> {
    const session = this.#open();
    const res = await session.client.retry(what, () =>
      session.send({
        method: 'GET',
        url: `/v2/${this.#ref.repository.path}/${path}`,
        ...(accept ? { headers: { accept } } : {}),
      }),
    );
    if (res.status !== 200) throw await session.failure(res, what);
    return { body: res.body, mediaType: (res.headers.get('content-type') ?? '').split(';')[0]!.trim() };
  }

  /** The document a tag or digest names: asked every time by tag (tags move), by digest once. */
  async manifest(reference: string, expectDigest?: string): Promise<Blob> {
    const key = `${this.#ref.repository.registry}/${this.#ref.repository.path}@${reference}`;
    const { cache } = this.#options;
    const remembered = await cache.readRef(BASE_MANIFESTS, key);
    if (remembered && (expectDigest !== undefined || this.#options.offline)) {
      return document(String(remembered.ref.meta?.mediaType), remembered.bytes);
    }
    const got = await this.#get(
      `manifests/${reference}`,
      `the manifest ${reference} of ${this.#name}`,
      MANIFEST_ACCEPT,
    );
    const blob = document(got.mediaType, got.body);
    if (expectDigest !== undefined && blob.digest !== expectDigest) {
      throw pullError(
        this.#name,
        `manifest ${reference} has digest ${blob.digest}`,
        'the registry answered wrong bytes; try again',
      );
    }
    const stored = await cache.putBytes(got.body);
    await cache.setRef(BASE_MANIFESTS, key, { blob: stored, meta: { mediaType: got.mediaType } });
    return blob;
  }

  /** A blob by digest: from the store, else pulled into it (checked). Returns the file. */
  async blobFile(digest: string, what: string): Promise<string> {
    const { cache } = this.#options;
    const hit = await cache.openRef(BASE_PULLED, digest);
    if (hit) {
      await hit.file.close();
      return hit.file.path;
    }
    const got = await this.#get(`blobs/${digest}`, `${what} ${digest} of ${this.#name}`);
    if (sha256(got.body) !== digest)
      throw pullError(this.#name, `${what} ${digest} arrived with other bytes`, 'try again');
    const blob = await cache.putBytes(got.body);
    await cache.setRef(BASE_PULLED, digest, { blob });
    return blob.path ?? cache.blobPath(blob.digest);
  }
}

function document(mediaType: string, bytes: Buffer): Blob {
  return { mediaType, bytes, size: bytes.length, digest: sha256(bytes) };
}

function parse<T>(name: string, blob: Blob, what: string): T {
  try {
    return JSON.parse(blob.bytes.toString('utf8')) as T;
  } catch {
    throw pullError(name, `${what} ${blob.digest} is not JSON`);
  }
}

async function pullImage(puller: Puller, d: Descriptor): Promise<Image> {
  const manifest = await puller.manifest(d.digest, d.digest);
  const doc = parse<{ config?: Descriptor; layers?: Descriptor[] }>(puller.name, manifest, 'manifest');
  if (!doc.config || !Array.isArray(doc.layers))
    throw pullError(puller.name, `manifest ${d.digest} has no config or layers`);
  const configBytes = await import('node:fs/promises').then((fs) =>
    puller.blobFile(doc.config!.digest, 'config').then((p) => fs.readFile(p)),
  );
  const config = { ...document(MediaType.imageConfig, configBytes) };
  const cfg = parse<{
    architecture?: string;
    os?: string;
    variant?: string;
    rootfs?: { diff_ids?: string[] };
  }>(puller.name, config, 'config');
  const diffIds = cfg.rootfs?.diff_ids ?? [];
  if (diffIds.length !== doc.layers.length) {
    throw pullError(
      puller.name,
      `manifest ${d.digest} lists ${doc.layers.length} layers, its config ${diffIds.length}`,
    );
  }
  const layers: Layer[] = doc.layers.map((l, i) =>
    layerOf(
      {
        mediaType: ociMediaType(l.mediaType),
        digest: l.digest,
        size: l.size,
        diffId: diffIds[i]!,
        ...(l.annotations ? { annotations: l.annotations } : {}),
      },
      { open: () => Readable.from(lazyFile(() => puller.blobFile(l.digest, 'layer'))) },
    ),
  );
  const platform = d.platform ?? {
    architecture: cfg.architecture ?? 'unknown',
    os: cfg.os ?? 'unknown',
    ...(cfg.variant ? { variant: cfg.variant } : {}),
  };
  return {
    platform,
    layers,
    config,
    manifest: { ...manifest, mediaType: ociMediaType(manifest.mediaType) },
    descriptor: { ...d, mediaType: ociMediaType(d.mediaType) },
  };
}

async function* lazyFile(path: () => Promise<string>): AsyncGenerator<Buffer> {
  for await (const chunk of createReadStream(await path(), { highWaterMark: 1 << 20 })) yield chunk as Buffer;
}

/** The images an image reference names (an index's every image, or the one image). */
export async function pullImageIndex(
  reference: string,
  options: PullOptions,
): Promise<{ name: string; images: Image[] }> {
  const ref = parseReference(reference);
  const puller = new Puller(ref, options);
  const top = await puller.manifest(ref.digest ?? ref.tag!, ref.digest);
  const type = ociMediaType(top.mediaType);
  if (type === MediaType.imageIndex) {
    const doc = parse<{ manifests?: Descriptor[] }>(puller.name, top, 'index');
    const images = (doc.manifests ?? []).filter((m) => ociMediaType(m.mediaType) === MediaType.imageManifest);
    return { name: puller.name, images: await Promise.all(images.map((m) => pullImage(puller, m))) };
  }
  const image = await pullImage(puller, { mediaType: type, digest: top.digest, size: top.size });
  return { name: puller.name, images: [image] };
}
