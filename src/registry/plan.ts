import { artifactManifest, EMPTY_CONFIG, SBOM_ARTIFACT_TYPE } from '../oci/artifact.ts';
import { blobOf, rfc3339 } from '../oci/image.ts';
import type { Blob, Descriptor, ImageIndex, Layer } from '../oci/types.ts';
import type { PushArtifact, PushBlob, PushPlan } from './push.ts';

export interface SbomAttachment {
  /** The file name, e.g. `sbom-x86_64.spdx.json`. */
  name: string;
  format: keyof typeof SBOM_ARTIFACT_TYPE;
  bytes: Buffer;
  /** What it describes: the index, or an image by its manifest digest. */
  subject: 'index' | string;
}

function memoryBlob(b: Blob): PushBlob {
  return { digest: b.digest, size: b.size, open: () => b.bytes };
}

function layerBlob(l: Layer): PushBlob {
  return { digest: l.digest, size: l.size, open: () => l.open() };
}

/** Seconds since the epoch of an RFC 3339 time, or 0. */
function epochOf(created: string | undefined): number {
  const ms = created ? Date.parse(created) : Number.NaN;
  return Number.isFinite(ms) ? Math.floor(ms / 1000) : 0;
}

export function pushPlan(index: ImageIndex, sboms: readonly SbomAttachment[] = []): PushPlan {
  const indexDescriptor: Descriptor = {
    mediaType: index.index.mediaType,
    digest: index.index.digest,
    size: index.index.size,
  };
  const created = epochOf(index.annotations['org.opencontainers.image.created']);
  const artifacts: PushArtifact[] = sboms.map((s) => {
    const image =
      s.subject === 'index' ? undefined : index.images.find((i) => i.manifest.digest === s.subject);
    if (s.subject !== 'index' && !image)
      throw new Error(`bug: SBOM ${s.name} describes no image of the index`);
    const subject: Descriptor = image
      ? { mediaType: image.manifest.mediaType, digest: image.manifest.digest, size: image.manifest.size }
      : indexDescriptor;
    const artifactType = SBOM_ARTIFACT_TYPE[s.format];
    const file = blobOf(artifactType, s.bytes);
    const at = image ? imageCreated(image.config.bytes, created) : created;
    const manifest = artifactManifest({ artifactType, file, title: s.name, subject, created: at });
    return {
      manifest: { mediaType: manifest.mediaType, digest: manifest.digest, bytes: manifest.bytes },
      blobs: [memoryBlob(EMPTY_CONFIG), memoryBlob(file)],
      subject: subject.digest,
      descriptor: {
        mediaType: manifest.mediaType,
        digest: manifest.digest,
        size: manifest.size,
        artifactType,
        annotations: { 'org.opencontainers.image.created': rfc3339(at) },
      },
    };
  });
  return {
    images: index.images.map((img) => ({
      manifest: { mediaType: img.manifest.mediaType, digest: img.manifest.digest, bytes: img.manifest.bytes },
      blobs: [memoryBlob(img.config), ...img.layers.map(layerBlob)],
    })),
    index: { mediaType: index.index.mediaType, digest: index.index.digest, bytes: index.index.bytes },
    artifacts,
  };
}

/** The `created` time of an image config, or the fallback. */
function imageCreated(config: Buffer, fallback: number): number {
  try {
    const c = JSON.parse(config.toString('utf8')) as { created?: string };
    return epochOf(c.created) || fallback;
  } catch {
    return fallback;
  }
}
