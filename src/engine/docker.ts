/**
 * Loading an image into a Docker engine through its API (what `docker load` does), for `publish --local`:
 * the image is streamed as a docker archive (`manifest.json` naming every tag, the config, the layers read
 * from their files) to `POST /images/load`, and the engine's answer is checked by reading the image back.
 * The engine is `DOCKER_HOST` (`unix://PATH`, or `tcp://HOST:PORT` — with TLS when DOCKER_TLS_VERIFY is set,
 * the certificates from DOCKER_CERT_PATH), else the default socket `/var/run/docker.sock`.
 */
import { readFileSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { blobPath } from '../oci/blobs.ts';
import type { BlobContent, CommitOptions, ImageDestination, WrittenImage } from '../oci/destination.ts';
import { platformKey } from '../oci/image.ts';
import { goJson } from '../oci/json.ts';
import { hostPlatformKey } from '../oci/tags.ts';
import type { Image, ImageIndex } from '../oci/types.ts';
import { encodeTarHeader, TAR_END } from '../tar/writer.ts';
import { LadingError } from '../util/errors.ts';

export interface DockerEngine {
  /** What to call it in messages: the socket path or `tcp://host:port`. */
  name: string;
  options: RequestOptions;
  tls?: { ca: Buffer; cert: Buffer; key: Buffer };
}

/** The engine DOCKER_HOST names (default: the local socket). */
export function dockerEngine(env: NodeJS.ProcessEnv = process.env): DockerEngine {
  const host = env.DOCKER_HOST || 'unix:///var/run/docker.sock';
  if (host.startsWith('unix://')) {
    const socketPath = host.slice('unix://'.length);
    return { name: socketPath, options: { socketPath } };
  }
  const tcp = /^tcp:\/\/([^/:]+|\[[^\]]+\])(?::(\d+))?\/?$/.exec(host);
  if (tcp) {
    const tlsOn =
      env.DOCKER_TLS_VERIFY !== undefined && env.DOCKER_TLS_VERIFY !== '' && env.DOCKER_TLS_VERIFY !== '0';
    const port = Number(tcp[2] ?? (tlsOn ? 2376 : 2375));
    const hostname = tcp[1]!.replace(/^\[|\]$/g, '');
    if (!tlsOn) return { name: host, options: { host: hostname, port } };
    const dir = env.DOCKER_CERT_PATH || join(env.HOME || homedir(), '.docker');
    try {
      const read = (f: string) => readFileSync(join(dir, f));
      return {
        name: host,
        options: { host: hostname, port },
        tls: { ca: read('ca.pem'), cert: read('cert.pem'), key: read('key.pem') },
      };
    } catch (e) {
      throw new LadingError(
        'ENGINE_CONFIG',
        `cannot read the Docker TLS certificates in ${dir}: ${(e as Error).message}`,
        {
          hint: 'DOCKER_CERT_PATH must hold ca.pem, cert.pem and key.pem',
        },
      );
    }
  }
  throw new LadingError('ENGINE_CONFIG', `DOCKER_HOST=${host} is not supported`, {
    hint: 'lading reaches Docker engines at unix:///PATH or tcp://HOST:PORT',
  });
}

interface EngineAnswer {
  status: number;
  body: string;
}

function call(
  engine: DockerEngine,
  method: string,
  path: string,
  body?: AsyncIterable<Buffer>,
  headers: Record<string, string> = {},
): Promise<EngineAnswer> {
  return new Promise((resolve, reject) => {
    const options: RequestOptions = {
      ...engine.options,
      method,
      path,
      headers: { host: 'docker', ...headers },
    };
    const onAnswer = (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
      );
      res.on('error', reject);
    };
    const req = engine.tls
      ? httpsRequest({ ...options, ...engine.tls }, onAnswer)
      : httpRequest(options, onAnswer);
    req.on('error', (e: NodeJS.ErrnoException) =>
      reject(
        new LadingError(
          'ENGINE_UNREACHABLE',
          `cannot reach the Docker engine at ${engine.name}: ${e.code ?? e.message}`,
          {
            hint: 'start Docker, or point DOCKER_HOST at a running engine',
          },
        ),
      ),
    );
    if (!body) {
      req.end();
      return;
    }
    pipeline(Readable.from(body), req).catch((e: unknown) => {
      req.destroy();
      reject(e);
    });
  });
}

const BLOCK = 512;

function tarFile(name: string, size: number): Buffer {
  return encodeTarHeader({ name, type: 'file', mode: 0o644, uid: 0, gid: 0, size, mtime: 0 });
}

function padding(size: number): Buffer {
  return Buffer.alloc(size % BLOCK ? BLOCK - (size % BLOCK) : 0);
}

/** A docker archive of one image under `tags`, streamed: layers are read from their files as it is sent. */
async function* dockerArchive(image: Image, tags: readonly string[]): AsyncGenerator<Buffer> {
  const manifest = Buffer.from(
    goJson([
      {
        Config: blobPath(image.config.digest),
        RepoTags: [...tags],
        Layers: image.layers.map((l) => blobPath(l.digest)),
      },
    ]),
  );
  yield tarFile(blobPath(image.config.digest), image.config.size);
  yield image.config.bytes;
  yield padding(image.config.size);
  const seen = new Set<string>();
  for (const l of image.layers) {
    if (seen.has(l.digest)) continue;
    seen.add(l.digest);
    yield tarFile(blobPath(l.digest), l.size);
    let sent = 0;
    for await (const chunk of l.open()) {
      sent += (chunk as Buffer).length;
      yield chunk as Buffer;
    }
    if (sent !== l.size) {
      const where = l.file ?? l.digest;
      throw new LadingError('OCI_BLOB_CHANGED', `the layer ${where} has ${sent} bytes, expected ${l.size}`, {
        file: where,
        hint: 'the layer file was modified after it was written; build again',
      });
    }
    yield padding(l.size);
  }
  yield tarFile('manifest.json', manifest.length);
  yield manifest;
  yield padding(manifest.length);
  yield TAR_END;
}

/** The engine's error in a JSON-lines progress answer, if any. */
function streamError(body: string): string | undefined {
  for (const line of body.split('\n')) {
    if (!line.trim()) continue;
    try {
      const m = JSON.parse(line) as { error?: string; errorDetail?: { message?: string } };
      if (m.error || m.errorDetail?.message) return m.errorDetail?.message ?? m.error;
    } catch {
      // not JSON: ignore
    }
  }
  return undefined;
}

/**
 * Loads `image` into the engine under every tag; returns the engine's image ID (the config digest, which
 * `docker images` shows).
 */
export async function loadImage(
  engine: DockerEngine,
  image: Image,
  tags: readonly string[],
): Promise<string> {
  const res = await call(engine, 'POST', '/images/load?quiet=1', dockerArchive(image, tags), {
    'content-type': 'application/x-tar',
  });
  const error =
    res.status === 200 ? streamError(res.body) : res.body.trim().slice(0, 500) || `HTTP ${res.status}`;
  if (error !== undefined) {
    throw new LadingError(
      'ENGINE_LOAD',
      `the Docker engine at ${engine.name} did not load the image: ${error}`,
      {
        hint: 'check the engine log; `docker load` of a `lading build` archive shows the same',
      },
    );
  }
  for (const tag of tags) {
    const check = await call(engine, 'GET', `/images/${encodeURIComponent(tag)}/json`);
    const id = check.status === 200 ? (JSON.parse(check.body) as { Id?: string }).Id : undefined;
    if (id !== image.config.digest) {
      throw new LadingError(
        'ENGINE_LOAD',
        `after loading, ${tag} in the Docker engine at ${engine.name} is ${id ?? 'missing'}, not ${image.config.digest}`,
        {
          hint: 'another process may have changed the tag at the same time; publish again',
        },
      );
    }
  }
  return image.config.digest;
}

/** The image for this machine's platform; the only image when there is one. */
export function hostImage(images: readonly Image[]): Image {
  const host = hostPlatformKey();
  const match = images.find((i) => platformKey(i.platform) === host);
  if (match) return match;
  // one image for another platform: the engine may run it through emulation
  if (images.length === 1) return images[0]!;
  throw new LadingError(
    'ENGINE_PLATFORM',
    `the image has no ${host} platform to load into the local engine`,
    {
      hint: `build it for this machine too (--arch ${host}), or publish to a registry; it has ${images.map((i) => platformKey(i.platform)).join(', ')}`,
    },
  );
}

/**
 * A Docker engine as an image destination (`publish --local`): the engine takes an image as one archive, so
 * the blobs are not staged one by one; commit streams this machine's image (layers from their openers) to
 * the engine under every tag.
 */
export class DockerEngineDestination implements ImageDestination {
  readonly location: string;
  readonly #engine: DockerEngine;
  readonly #tags: readonly string[];
  /** The engine's ID of the loaded image (its config digest), once committed. */
  imageId: string | undefined;
  /** The platform of the loaded image, once committed. */
  platform: string | undefined;

  constructor(engine: DockerEngine, tags: readonly string[]) {
    this.#engine = engine;
    this.#tags = tags;
    this.location = `the Docker engine at ${engine.name}`;
  }

  async prepare(index: ImageIndex, _options: CommitOptions): Promise<void> {
    hostImage(index.images);
  }

  /** True: nothing is staged; commit sends every blob in one archive. */
  async hasBlob(_blob: BlobContent): Promise<boolean> {
    return true;
  }

  async putBlob(_blob: BlobContent): Promise<void> {}

  async commit(index: ImageIndex, _options: CommitOptions): Promise<WrittenImage> {
    const image = hostImage(index.images);
    this.imageId = await loadImage(this.#engine, image, this.#tags);
    this.platform = platformKey(image.platform);
    return { digest: index.index.digest, files: [] };
  }

  async abort(): Promise<void> {}
}
