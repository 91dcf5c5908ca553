/**
 * OCI 1.1 artifact manifests: a file attached to an image or index through `subject` (image-spec v1.1
 * "Guidelines for artifact usage"): `artifactType` says what it is, the config is the empty descriptor
 * (`{}`, embedded as `data`), the one layer is the file. The only date is the image's creation time, so
 * the same image and file give the same manifest bytes on every publish.
 */
import { blobOf, rfc3339 } from './image.ts';
import { type GoJson, goJson, stringMap } from './json.ts';
import type { Blob, Descriptor } from './types.ts';

export const EMPTY_CONFIG_MEDIA_TYPE = 'application/vnd.oci.empty.v1+json';
/** The empty JSON object `{}`: the config of every artifact manifest, uploaded like any blob. */
export const EMPTY_CONFIG: Blob = blobOf(EMPTY_CONFIG_MEDIA_TYPE, Buffer.from('{}'));

export const SBOM_ARTIFACT_TYPE = {
  spdx: 'application/spdx+json',
  cyclonedx: 'application/vnd.cyclonedx+json',
} as const;

export interface ArtifactSpec {
  artifactType: string;
  /** The file's bytes as a blob of the artifact's media type. */
  file: Blob;
  /** Its name, recorded as the layer's `org.opencontainers.image.title`. */
  title: string;
  subject: Descriptor;
  /** Seconds since the epoch: the subject image's creation time. */
  created: number;
}

export function artifactManifest(spec: ArtifactSpec): Blob {
  const doc: GoJson = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    artifactType: spec.artifactType,
    config: {
      mediaType: EMPTY_CONFIG.mediaType,
      digest: EMPTY_CONFIG.digest,
      size: EMPTY_CONFIG.size,
      data: EMPTY_CONFIG.bytes.toString('base64'),
    },
    layers: [
      {
        mediaType: spec.file.mediaType,
        digest: spec.file.digest,
        size: spec.file.size,
        annotations: stringMap({ 'org.opencontainers.image.title': spec.title }),
      },
    ],
    subject: { mediaType: spec.subject.mediaType, digest: spec.subject.digest, size: spec.subject.size },
    annotations: stringMap({ 'org.opencontainers.image.created': rfc3339(spec.created) }),
  };
  return blobOf('application/vnd.oci.image.manifest.v1+json', Buffer.from(goJson(doc)));
}
