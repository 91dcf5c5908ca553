/**
 * Pushing an image index, its images and their attached artifacts to one or more repositories, in the order
 * that never leaves a tag pointing at something incomplete:
 *   every repository: blobs (parallel, bounded) → image manifests → the index by digest → artifacts
 *   (blobs, manifests, referrers fallback tags); then, only when all of that exists everywhere, the tags.
 * - a blob: HEAD, skipped when the registry has it; else mounted from another repository of the same
 *   registry that received it in this run; else one POST for an upload session and one streamed PUT with
 *   an explicit Content-Length (a monolithic upload: never chunked transfer, never out-of-order chunks);
 * - a manifest: HEAD by digest (or tag) and skipped when the registry has those bytes; else PUT with
 *   `Content-Type` = its media type;
 * - every answer's `Docker-Content-Digest` is checked against ours.
 * Re-publishing an unchanged image therefore sends only HEAD and GET requests. Each operation is retried
 * whole (HEAD → POST → PUT) on transient failures, so a half-finished upload session is never resumed.
 */

import { createLimiter } from '../net/limit.ts';
import type { Descriptor } from '../oci/types.ts';
import { LadingError } from '../util/errors.ts';
import { type Repository, repositoryName } from './reference.ts';
import { attachReferrers } from './referrers.ts';
import {
  isLoopback,
  isPrivateAddress,
  type RegistryClient,
  type RegistryResponse,
  type RepositorySession,
} from './transport.ts';

export interface PushBlob {
  digest: string;
  size: number;
  /** The bytes, opened again for every attempt: streamed from disk for layers. */
  open(): Buffer | AsyncIterable<Uint8Array>;
}

export interface PushManifest {
  mediaType: string;
  digest: string;
  bytes: Buffer;
}

export interface PushImage {
  manifest: PushManifest;
  /** The config and the layers. */
  blobs: PushBlob[];
}

/** A manifest that refers to another through `subject` (an SBOM), with the descriptor a referrers list shows. */
export interface PushArtifact {
  manifest: PushManifest;
  blobs: PushBlob[];
  /** The subject's digest. */
  subject: string;
  /** `mediaType`, `digest`, `size`, `artifactType` and the manifest's annotations. */
  descriptor: Descriptor;
}

export interface PushPlan {
  images: PushImage[];
  index: PushManifest;
  artifacts: PushArtifact[];
}

export interface PushTarget {
  repository: Repository;
  tags: string[];
}

export interface PushReport {
  blobsUploaded: number;
  bytesUploaded: number;
  blobsMounted: number;
  blobsExisting: number;
  manifestsPut: number;
  tagsPut: number;
  /** How artifacts were made findable, per repository: the referrers API or the fallback tags. */
  referrers: Record<string, 'api' | 'fallback'>;
}

export interface PushOptions {
  /** Blob uploads in flight at once per repository (default 4, as ggcr). */
  jobs?: number;
}

export const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
].join(', ');

function short(digest: string): string {
  return digest.slice(0, 19);
}

/** Where each blob is known to be on a registry in this run: a source for cross-repository mounts. */
export type Placements = Map<string, Map<string, string>>;

export function emptyReport(): PushReport {
  return {
    blobsUploaded: 0,
    bytesUploaded: 0,
    blobsMounted: 0,
    blobsExisting: 0,
    manifestsPut: 0,
    tagsPut: 0,
    referrers: {},
  };
}

/**
 * One publish to one or more repositories, in phases a destination can drive: blobs (`putBlob`, called for
 * every config, layer and artifact blob), then `commitImages` (manifests, the index by digest), then
 * `attachArtifacts`, then `tag`. Each phase finishes in every repository before the next begins.
 */
export class Publication {
  readonly report: PushReport = emptyReport();
  readonly #sessions: RepositorySession[];
  readonly #targets: readonly PushTarget[];
  readonly #placements: Placements = new Map();
  readonly #jobs: number;
  #tagged = false;
  /** What alreadyTagged saw under each tag (`<target> <tag>` → digest or null): a tag seen elsewhere is put at once. */
  readonly #seen = new Map<string, string | null>();
  /** Artifacts whose blobs are on their way already: their manifests go beside the image manifests. */
  #staged: { artifacts: readonly PushArtifact[]; blobs: Promise<void> } | undefined;
  #attached = false;

  constructor(client: RegistryClient, targets: readonly PushTarget[], options: PushOptions = {}) {
    this.#targets = targets;
    this.#sessions = targets.map((t) => client.session(t.repository, true));
    this.#jobs = Math.max(1, options.jobs ?? 4);
  }

  /** Blobs in flight at once. */
  get jobs(): number {
    return this.#jobs;
  }

  /** Warms every session up (ping, credentials, token) while other work goes on. */
  warmUp(): void {
    for (const s of this.#sessions) s.warmUp();
  }

  /** The blob into every repository: the first uploads it, the others of the same registry mount it. */
  async putBlob(blob: PushBlob): Promise<void> {
    for (const session of this.#sessions) await pushBlob(session, blob, this.#placements, this.report);
  }

  /** Blobs, largest first (the long uploads start early), `jobs` at a time. */
  async putBlobs(blobs: readonly PushBlob[]): Promise<void> {
    const unique = new Map<string, PushBlob>();
    for (const b of blobs) if (!unique.has(b.digest)) unique.set(b.digest, b);
    const order = [...unique.values()].sort((a, b) => b.size - a.size || (a.digest < b.digest ? -1 : 1));
    const limit = createLimiter(this.#jobs);
    await Promise.all(order.map((b) => limit(() => this.putBlob(b))));
  }

  /**
   * Artifacts (SBOMs) known before the image is sent: their blobs start uploading now, beside the image's, and
   * commitImages puts their manifests and referrers beside the image manifests (a registry accepts a manifest
   * whose subject is not there yet). Fewer round trips one after another; the tags still come last.
   */
  stageArtifacts(artifacts: readonly PushArtifact[]): void {
    if (artifacts.length === 0) return;
    const blobs = this.putBlobs(artifacts.flatMap((a) => a.blobs));
    blobs.catch(() => {}); // awaited in commitImages
    this.#staged = { artifacts, blobs };
  }

  /**
   * The image manifests (and staged artifacts), then the index by digest, in every repository. Where a tag was
   * read a moment ago naming another image (or nothing), this image is new there: its manifests are put without
   * asking first (a PUT of a manifest that is there after all changes nothing).
   */
  async commitImages(images: readonly PushManifest[], index: PushManifest): Promise<void> {
    const limit = createLimiter(this.#jobs);
    const staged = this.#staged;
    if (staged) await staged.blobs;
    for (const [i, session] of this.#sessions.entries()) {
      const known = this.#targets[i]!.tags.some((tag) => {
        const seen = this.#seen.get(`${i} ${tag}`);
        return seen !== undefined && seen !== index.digest;
      });
      await Promise.all([
        ...images.map((m) =>
          limit(async () => {
            const what = `image manifest ${short(m.digest)} of ${session.name}`;
            if ((await putManifest(session, m, m.digest, what, { known })).put) this.report.manifestsPut++;
          }),
        ),
        ...(staged ? [this.#referrers(session, staged.artifacts)] : []),
      ]);
      const what = `image index ${short(index.digest)} of ${session.name}`;
      if ((await putManifest(session, index, index.digest, what, { known })).put) this.report.manifestsPut++;
    }
    if (staged) this.#attached = true;
  }

  /** Artifacts (SBOMs): their blobs, their manifests, and the referrers list of their subjects. */
  async attachArtifacts(artifacts: readonly PushArtifact[]): Promise<void> {
    if (artifacts.length === 0 || this.#attached) return;
    await this.putBlobs(artifacts.flatMap((a) => a.blobs));
    for (const session of this.#sessions) await this.#referrers(session, artifacts);
  }

  async #referrers(session: RepositorySession, artifacts: readonly PushArtifact[]): Promise<void> {
    const how = await attachReferrers(session, artifacts, async (a) => {
      const what = `SBOM ${short(a.manifest.digest)} of ${short(a.subject)} in ${session.name}`;
      const r = await putManifest(session, a.manifest, a.manifest.digest, what);
      if (r.put) this.report.manifestsPut++;
      return r;
    });
    this.report.referrers[session.name] = how;
  }

  /**
   * Whether every tag already names the index `digest` (HEAD each). Then the whole image is there — a
   * registry accepts an index only when its manifests are there, and a manifest only with its blobs — and
   * the blobs and manifests need not be asked about one by one (go-containerregistry's WriteIndex does the
   * same). Artifacts are still checked: they are not under the tag.
   */
  async alreadyTagged(digest: string): Promise<boolean> {
    const answers = await Promise.all(
      this.#targets.flatMap((t, i) =>
        t.tags.map((tag) => {
          // read a moment ago naming something else (or nothing): the image must be pushed, no need to ask
          const seen = this.#seen.get(`${i} ${tag}`);
          if (seen !== undefined && seen !== digest) return false;
          return this.#sessions[i]!.client.retry(
            `checking tag ${tag} of ${repositoryName(t.repository)}`,
            async () => {
              const session = this.#sessions[i]!;
              const res = await session.send({
                method: 'HEAD',
                url: `/v2/${t.repository.path}/manifests/${tag}`,
                headers: { accept: MANIFEST_ACCEPT },
              });
              if (res.status !== 200 && res.status !== 404)
                throw await session.failure(res, `HEAD of tag ${tag}`);
              const there = res.status === 200 ? res.headers.get('docker-content-digest') : null;
              this.#seen.set(`${i} ${tag}`, there);
              return there === digest;
            },
          );
        }),
      ),
    );
    this.#tagged = answers.every(Boolean);
    return this.#tagged;
  }

  /**
   * What the first repository's `tag` was read to name a moment ago (null: absent): tag writes nothing there
   * when it names the index already, and neither alreadyTagged nor tag asks again when it names something else.
   */
  noteFirstTag(tag: string, digest: string | null): void {
    this.#seen.set(`0 ${tag}`, digest);
  }

  /** Where each tag is read (`<origin>/v2/<repository>/manifests/<tag>`), for the no-op re-publish record. */
  async tagUrls(): Promise<string[]> {
    const out: string[] = [];
    for (const [i, t] of this.#targets.entries()) {
      const host = await this.#sessions[i]!.client.host(t.repository.registry);
      for (const tag of t.tags) out.push(`${host.origin}/v2/${t.repository.path}/manifests/${tag}`);
    }
    return out;
  }

  /** The first repository's session: where publish reads back what its first tag holds. */
  get firstSession(): RepositorySession {
    return this.#sessions[0]!;
  }

  /**
   * Points every tag at `index`, which the first tag already names (publish --skip-unchanged): a tag is written
   * only where it names something else. False, with nothing written, when another repository lacks the index
   * (then it must be pushed there in full).
   */
  async pointTagsAt(index: PushManifest): Promise<boolean> {
    for (const session of this.#sessions.slice(1)) {
      const there = await session.client.retry(
        `checking ${short(index.digest)} in ${session.name}`,
        async () => {
          const res = await session.send({
            method: 'HEAD',
            url: `/v2/${session.repository.path}/manifests/${index.digest}`,
            headers: { accept: MANIFEST_ACCEPT },
          });
          if (res.status !== 200 && res.status !== 404 && res.status !== 403)
            throw await session.failure(res, `HEAD of ${short(index.digest)}`);
          return res.status === 200;
        },
      );
      if (!there) return false;
    }
    await this.tag(index);
    return true;
  }

  /** Every tag of every repository, last: everything under them is in place. */
  async tag(index: PushManifest): Promise<void> {
    if (this.#tagged) return; // every tag was seen naming this index
    await Promise.all(
      this.#targets.flatMap((t, i) =>
        t.tags.map(async (tag) => {
          const what = `tag ${tag} of ${repositoryName(t.repository)}`;
          // seen a moment ago (alreadyTagged, a read of the first tag): naming this index, nothing to write;
          // naming something else (or nothing), put without asking again
          const seen = this.#seen.get(`${i} ${tag}`);
          if (seen === index.digest) return;
          const known = seen !== undefined;
          if ((await putManifest(this.#sessions[i]!, index, tag, what, { known })).put) this.report.tagsPut++;
        }),
      ),
    );
  }
}

/** The whole publish of a plan: blobs, images, artifacts, tags. */
export async function push(
  client: RegistryClient,
  plan: PushPlan,
  targets: readonly PushTarget[],
  options: PushOptions = {},
): Promise<PushReport> {
  const publication = new Publication(client, targets, options);
  await publication.putBlobs(plan.images.flatMap((i) => i.blobs));
  await publication.commitImages(
    plan.images.map((i) => i.manifest),
    plan.index,
  );
  await publication.attachArtifacts(plan.artifacts);
  await publication.tag(plan.index);
  return publication.report;
}

function checkDigest(res: RegistryResponse, expected: string, what: string, registry: string): void {
  const got = res.headers.get('docker-content-digest');
  if (got !== null && got !== '' && got !== expected) {
    throw new LadingError(
      'REGISTRY_DIGEST',
      `${registry} stored ${what} as ${got}, but its bytes hash to ${expected}`,
      {
        hint: 'the registry or a proxy changed the bytes; nothing was tagged',
      },
    );
  }
}

async function pushBlob(
  session: RepositorySession,
  blob: PushBlob,
  placements: Placements,
  report: PushReport,
): Promise<void> {
  const { registry, path } = session.repository;
  // sent (or seen) in this repository already in this run
  if (placements.get(registry)?.get(blob.digest) === path) return;
  const what = `blob ${short(blob.digest)} (${blob.size} bytes) to ${session.name}`;
  const base = `/v2/${path}/blobs`;
  const outcome = await session.client.retry(`uploading ${what}`, async () => {
    const head = await session.send({ method: 'HEAD', url: `${base}/${blob.digest}` });
    if (head.status === 200) return 'existing' as const;
    if (head.status !== 404) throw await session.failure(head, `HEAD of ${what}`);

    let location: string | undefined;
    const from = placements.get(registry)?.get(blob.digest);
    if (from !== undefined && from !== path) {
      session.addScope(`repository:${from}:pull`);
      const q = new URLSearchParams({ mount: blob.digest, from });
      const res = await session.send({ method: 'POST', url: `${base}/uploads/?${q}` });
      if (res.status === 201) {
        checkDigest(res, blob.digest, what, registry);
        return 'mounted' as const;
      }
      // 202: the registry opened an upload instead; anything else: upload without mount (as ggcr)
      if (res.status === 202) location = res.headers.get('location') ?? undefined;
    }
    if (location === undefined) {
      const res = await session.send({ method: 'POST', url: `${base}/uploads/` });
      if (res.status !== 202) throw await session.failure(res, `starting the upload of ${what}`);
      location = res.headers.get('location') ?? undefined;
      if (!location) {
        throw new LadingError(
          'REGISTRY_PROTOCOL',
          `${registry} opened an upload for ${what} without a Location`,
        );
      }
    }
    const host = await session.client.host(registry);
    const target = new URL(location, host.origin);
    const origin = new URL(host.origin);
    if (target.host !== origin.host && isPrivateAddress(target.hostname) && !isLoopback(origin.hostname)) {
      throw new LadingError(
        'REGISTRY_PROTOCOL',
        `${registry} sent the upload of ${what} to a private address (${target.host}); refused`,
        {
          hint: 'a registry on the network must not direct clients to private addresses; check its configuration',
        },
      );
    }
    target.searchParams.set('digest', blob.digest);
    const res = await session.send({
      method: 'PUT',
      url: target.href,
      headers: { 'content-type': 'application/octet-stream' },
      body: { length: blob.size, open: () => blob.open() },
    });
    if (res.status !== 201 && res.status !== 204) throw await session.failure(res, `uploading ${what}`);
    checkDigest(res, blob.digest, what, registry);
    return 'uploaded' as const;
  });
  if (outcome === 'existing') report.blobsExisting++;
  else if (outcome === 'mounted') report.blobsMounted++;
  else {
    report.blobsUploaded++;
    report.bytesUploaded += blob.size;
  }
  let where = placements.get(registry);
  if (!where) placements.set(registry, (where = new Map()));
  if (!where.has(blob.digest)) where.set(blob.digest, path);
}

export interface ManifestPut {
  /** False when the registry already had it. */
  put: boolean;
  /** The `OCI-Subject` header of the PUT's answer. */
  ociSubject?: string;
}

/** Puts `manifest` under `ref` (its digest or a tag) unless the registry already has exactly it there. */
export async function putManifest(
  session: RepositorySession,
  manifest: PushManifest,
  ref: string,
  what: string,
  options: { known?: boolean } = {},
): Promise<ManifestPut> {
  const url = `/v2/${session.repository.path}/manifests/${ref}`;
  let asked = options.known === true;
  return session.client.retry(`pushing ${what}`, async () => {
    if (!asked) {
      const head = await session.send({ method: 'HEAD', url, headers: { accept: MANIFEST_ACCEPT } });
      if (head.status === 200 && head.headers.get('docker-content-digest') === manifest.digest)
        return { put: false };
      // 404: absent; 403: some registries (Artifactory) answer that for a manifest they do not have
      if (head.status !== 200 && head.status !== 404 && head.status !== 403)
        throw await session.failure(head, `HEAD of ${what}`);
    }
    // a retry asks again: the failed PUT may have landed
    asked = false;
    const res = await session.send({
      method: 'PUT',
      url,
      headers: { 'content-type': manifest.mediaType },
      body: { length: manifest.bytes.length, open: () => manifest.bytes },
    });
    if (res.status !== 201 && res.status !== 200 && res.status !== 202)
      throw await session.failure(res, what);
    checkDigest(res, manifest.digest, what, session.repository.registry);
    const subject = res.headers.get('oci-subject');
    return subject ? { put: true, ociSubject: subject } : { put: true };
  });
}
