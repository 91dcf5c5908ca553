/**
 * Making artifacts (SBOMs) findable from their subject (distribution-spec v1.1 "Listing Referrers"):
 * - a registry with the referrers API answers a manifest PUT that has a `subject` with `OCI-Subject`; then
 *   nothing more is needed;
 * - otherwise the client keeps the referrers list itself in the fallback tag `<alg>-<hex>` of the subject
 *   (an image index of descriptors): read it (404: empty), append what is missing, put it back. Entries
 *   other tools added are kept; an entry already there is not added again, so re-publishing changes nothing.
 * When every artifact manifest was already there (no PUT, so no `OCI-Subject` to read), one
 * `GET /v2/<name>/referrers/<subject>` decides: 200 means the API exists; anything else, the fallback.
 * distribution ignores If-Match, so concurrent publishers could lose entries of one fallback tag; within one
 * publish each tag has a single writer.
 */

import type { Descriptor } from '../oci/types.ts';
import { LadingError } from '../util/errors.ts';
import type { RepositorySession } from './transport.ts';

const INDEX = 'application/vnd.oci.image.index.v1+json';

/** The fallback tag of a subject: `sha256-<hex>`. */
export function fallbackTag(digest: string): string {
  return digest.replace(':', '-').slice(0, 128);
}

/** What attaching needs of an artifact and of its manifest PUT (push.ts's PushArtifact and ManifestPut). */
interface Artifact {
  subject: string;
  descriptor: Descriptor;
}
interface ManifestPut {
  put: boolean;
  ociSubject?: string;
}

export async function attachReferrers<A extends Artifact>(
  session: RepositorySession,
  artifacts: readonly A[],
  putArtifact: (a: A) => Promise<ManifestPut>,
): Promise<'api' | 'fallback'> {
  // independent of each other: pushed at once (each is HEAD, then PUT when missing)
  const puts = await Promise.all(artifacts.map(putArtifact));
  let api: boolean;
  if (puts.some((p) => p.put)) {
    // the spec: no OCI-Subject on a PUT means the registry keeps no referrers list
    api = puts.every((p, i) => !p.put || p.ociSubject === artifacts[i]!.subject);
  } else {
    api = await hasReferrersApi(session, artifacts[0]!.subject);
  }
  if (api) return 'api';
  const bySubject = new Map<string, Descriptor[]>();
  for (const a of artifacts) {
    const list = bySubject.get(a.subject) ?? [];
    list.push(a.descriptor);
    bySubject.set(a.subject, list);
  }
  // one writer per tag, the tags at once
  await Promise.all(
    [...bySubject].map(([subject, descriptors]) => updateFallbackTag(session, subject, descriptors)),
  );
  return 'fallback';
}

async function hasReferrersApi(session: RepositorySession, subject: string): Promise<boolean> {
  return session.client.retry(
    `asking ${session.name} for the referrers of ${subject.slice(0, 19)}`,
    async () => {
      const res = await session.send({
        method: 'GET',
        url: `/v2/${session.repository.path}/referrers/${subject}`,
        headers: { accept: INDEX },
      });
      const type = res.headers.get('content-type') ?? '';
      return res.status === 200 && type.startsWith(INDEX);
    },
  );
}

async function updateFallbackTag(
  session: RepositorySession,
  subject: string,
  descriptors: Descriptor[],
): Promise<void> {
  const tag = fallbackTag(subject);
  const url = `/v2/${session.repository.path}/manifests/${tag}`;
  const what = `the referrers tag ${tag} of ${session.name}`;
  await session.client.retry(`updating ${what}`, async () => {
    const res = await session.send({ method: 'GET', url, headers: { accept: INDEX } });
    let index: { manifests: Record<string, unknown>[] } & Record<string, unknown>;
    if (res.status === 404) {
      index = { schemaVersion: 2, mediaType: INDEX, manifests: [] };
    } else if (res.status === 200) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(res.body.toString('utf8'));
      } catch {
        parsed = undefined;
      }
      const p = parsed as { mediaType?: unknown; manifests?: unknown } | undefined;
      const type = p?.mediaType ?? res.headers.get('content-type')?.split(';')[0];
      if (!p || type !== INDEX || !Array.isArray(p.manifests)) {
        throw new LadingError(
          'REGISTRY_REFERRERS',
          `${what} exists and is not an image index, so the SBOMs cannot be listed there`,
          {
            hint: `that tag is reserved for the referrers of ${subject}; remove or rename it`,
          },
        );
      }
      index = p as typeof index;
    } else {
      throw await session.failure(res, `reading ${what}`);
    }
    const have = new Set(index.manifests.map((m) => m.digest));
    const missing = descriptors
      .filter((d) => !have.has(d.digest))
      .sort((a, b) => (a.digest < b.digest ? -1 : 1));
    if (missing.length === 0) return;
    const bytes = Buffer.from(
      JSON.stringify({ ...index, manifests: [...index.manifests, ...missing.map(descriptorObject)] }),
    );
    const put = await session.send({
      method: 'PUT',
      url,
      headers: { 'content-type': INDEX },
      body: { length: bytes.length, open: () => bytes },
    });
    if (put.status !== 201 && put.status !== 200 && put.status !== 202)
      throw await session.failure(put, `writing ${what}`);
  });
}

/** A referrers-list entry with its keys in the spec's order and its annotations sorted. */
function descriptorObject(d: Descriptor): Record<string, unknown> {
  const out: Record<string, unknown> = { mediaType: d.mediaType, digest: d.digest, size: d.size };
  if (d.artifactType) out.artifactType = d.artifactType;
  if (d.annotations && Object.keys(d.annotations).length) {
    out.annotations = Object.fromEntries(
      Object.entries(d.annotations).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    );
  }
  return out;
}
