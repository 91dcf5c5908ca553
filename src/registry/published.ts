/**
 * What a tag holds now, read back: the index (or single manifest) it names with its annotations, and each
 * image manifest — every document checked against its digest. Publish asks this for two things:
 * - `--skip-unchanged`: the tag's index carries the same input digest and every blob is there (HEAD), so
 *   nothing needs building or sending;
 * - layer reuse: the layer descriptors carry their layer keys, and the image configs their diff IDs, so a
 *   worker whose cache lacks a layer can use the registry's copy instead of writing it again.
 */
import { createHash } from 'node:crypto';
import { createLimiter } from '../net/limit.ts';
import type { Descriptor } from '../oci/types.ts';
import { LadingError } from '../util/errors.ts';
import { MANIFEST_ACCEPT } from './push.ts';
import type { RepositorySession } from './transport.ts';

export interface PublishedManifest {
  digest: string;
  mediaType: string;
  bytes: Buffer;
}

export interface PublishedImage extends PublishedManifest {
  config: Descriptor;
  layers: Descriptor[];
}

export interface Published extends PublishedManifest {
  /** The index's (or the single manifest's) annotations. */
  annotations: Record<string, string>;
  /** The images, in the index's order. */
  images: PublishedImage[];
}

const INDEX_TYPES = new Set([
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
]);

function parse(bytes: Buffer, what: string): Record<string, unknown> {
  try {
    const v = JSON.parse(bytes.toString('utf8')) as unknown;
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {}
  throw new LadingError('REGISTRY_PROTOCOL', `${what} is not a JSON document`);
}

/** GET of a manifest by tag or digest; undefined when the registry has none there. */
export async function readManifest(
  session: RepositorySession,
  ref: string,
): Promise<PublishedManifest | undefined> {
  const what = `manifest ${ref} of ${session.name}`;
  return session.client.retry(`reading ${what}`, async () => {
    const res = await session.send({
      method: 'GET',
      url: `/v2/${session.repository.path}/manifests/${ref}`,
      headers: { accept: MANIFEST_ACCEPT },
    });
    if (res.status === 404) return undefined;
    if (res.status !== 200) throw await session.failure(res, `GET of ${what}`);
    const digest = `sha256:${createHash('sha256').update(res.body).digest('hex')}`;
    const said = res.headers.get('docker-content-digest');
    if ((ref.startsWith('sha256:') && digest !== ref) || (said && said !== digest)) {
      throw new LadingError(
        'REGISTRY_DIGEST',
        `${session.name} answered ${what} with bytes that hash to ${digest}`,
      );
    }
    const mediaType = String(parse(res.body, what).mediaType ?? res.headers.get('content-type') ?? '');
    return { digest, mediaType, bytes: res.body };
  });
}

function imageOf(m: PublishedManifest, what: string): PublishedImage {
  const doc = parse(m.bytes, what);
  const config = doc.config as Descriptor | undefined;
  const layers = doc.layers as Descriptor[] | undefined;
  if (!config || !Array.isArray(layers)) {
    throw new LadingError('REGISTRY_PROTOCOL', `${what} is not an image manifest`);
  }
  return { ...m, config, layers };
}

/** A manifest's (or index's) annotations. */
export function annotationsOf(m: PublishedManifest): Record<string, string> {
  return (parse(m.bytes, m.digest).annotations ?? {}) as Record<string, string>;
}

/** What `tag` names now, with its images; undefined when the tag does not exist. */
export async function readPublished(session: RepositorySession, tag: string): Promise<Published | undefined> {
  const top = await readManifest(session, tag);
  if (!top) return undefined;
  const doc = parse(top.bytes, `${session.name}:${tag}`);
  const annotations = (doc.annotations ?? {}) as Record<string, string>;
  if (!INDEX_TYPES.has(top.mediaType)) {
    return { ...top, annotations, images: [imageOf(top, `${session.name}:${tag}`)] };
  }
  const limit = createLimiter(4);
  const images = await Promise.all(
    ((doc.manifests ?? []) as Descriptor[]).map((d) =>
      limit(async () => {
        const m = await readManifest(session, d.digest);
        if (!m) {
          throw new LadingError(
            'REGISTRY_PROTOCOL',
            `${session.name}:${tag} lists ${d.digest}, which the registry does not have`,
          );
        }
        return imageOf(m, `manifest ${d.digest} of ${session.name}`);
      }),
    ),
  );
  return { ...top, annotations, images };
}

/** Whether the registry has every blob (HEAD each, a few at a time). */
export async function hasBlobs(session: RepositorySession, digests: Iterable<string>): Promise<boolean> {
  const limit = createLimiter(8);
  const answers = await Promise.all(
    [...new Set(digests)].map((digest) =>
      limit(() =>
        session.client.retry(`checking blob ${digest.slice(0, 19)} of ${session.name}`, async () => {
          const res = await session.send({
            method: 'HEAD',
            url: `/v2/${session.repository.path}/blobs/${digest}`,
          });
          if (res.status !== 200 && res.status !== 404) throw await session.failure(res, `HEAD of ${digest}`);
          return res.status === 200;
        }),
      ),
    ),
  );
  return answers.every(Boolean);
}

/** The config and layer blobs of the images. */
export function publishedBlobs(p: Published): string[] {
  return p.images.flatMap((i) => [i.config.digest, ...i.layers.map((l) => l.digest)]);
}

/** An image config's diff IDs (GET of the config blob, checked against its digest). */
export async function configDiffIds(session: RepositorySession, config: Descriptor): Promise<string[]> {
  const what = `config ${config.digest.slice(0, 19)} of ${session.name}`;
  return session.client.retry(`reading ${what}`, async () => {
    const res = await session.send({
      method: 'GET',
      url: `/v2/${session.repository.path}/blobs/${config.digest}`,
    });
    if (res.status !== 200) throw await session.failure(res, `GET of ${what}`);
    const digest = `sha256:${createHash('sha256').update(res.body).digest('hex')}`;
    if (digest !== config.digest) {
      throw new LadingError(
        'REGISTRY_DIGEST',
        `${session.name} answered ${what} with bytes that hash to ${digest}`,
      );
    }
    const rootfs = parse(res.body, what).rootfs as { diff_ids?: unknown } | undefined;
    const ids = rootfs?.diff_ids;
    return Array.isArray(ids) ? ids.map(String) : [];
  });
}
