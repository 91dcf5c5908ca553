/**
 * Pure functions from layers and settings to the image documents: image config, manifest, index — with
 * go-containerregistry's field order (what apko writes), compact JSON, and digests and sizes computed from
 * the exact bytes.
 */
import { createHash } from 'node:crypto';
import { LadingError } from '../util/errors.ts';
import { compareUtf8, type GoJson, goJson, stringMap } from './json.ts';
import {
  type Blob,
  type ContainerConfig,
  type Descriptor,
  type HistoryEntry,
  type Image,
  type ImageIndex,
  type Layer,
  MediaType,
  type Platform,
} from './types.ts';

export interface ImageSpec {
  platform: Platform;
  /** Creation time: seconds since the epoch (SOURCE_DATE_EPOCH style) or an RFC 3339 string. */
  created: number | string;
  /** The config's `author` field (apko: `github.com/chainguard-dev/apko`). */
  author?: string;
  /** One entry per layer, normally (see `imageHistory`). */
  history?: HistoryEntry[];
  config?: ContainerConfig;
  /** Manifest annotations. */
  annotations?: Record<string, string>;
}

/** RFC 3339 in UTC as Go prints a whole-second time: `1970-01-01T00:00:00Z`. */
export function rfc3339(created: number | string): string {
  if (typeof created === 'string') return created;
  if (!Number.isSafeInteger(created) || created < 0)
    throw new LadingError(
      'OCI_CREATED',
      `creation time ${created} is not a whole number of seconds since 1970`,
    );
  return new Date(created * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function blobOf(mediaType: string, bytes: Buffer): Blob {
  return {
    mediaType,
    bytes,
    size: bytes.length,
    digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`,
  };
}

function platformJson(p: Platform): GoJson {
  return {
    architecture: p.architecture,
    os: p.os,
    'os.version': p['os.version'] || undefined,
    'os.features': p['os.features']?.length ? p['os.features'] : undefined,
    variant: p.variant || undefined,
  };
}

/**
 * A descriptor in go-containerregistry's field order (what apko writes), or, as an index lists it
 * (`inIndex`), in the OCI image-spec's own order (mediaType, digest, size, annotations, platform) without
 * artifactType. skopeo and podman (containers/image) serialize an index again whenever they copy it
 * (`skopeo copy --all`), in that form: an index already in it keeps its digest in the registry, so the digest
 * the build prints is the one a registry holds (apko's index gets a new digest on every such copy).
 */
export function descriptorJson(d: Descriptor, inIndex = false): GoJson {
  const annotations =
    d.annotations && Object.keys(d.annotations).length ? stringMap(d.annotations) : undefined;
  const platform = d.platform ? platformJson(d.platform) : undefined;
  if (inIndex) return { mediaType: d.mediaType, digest: d.digest, size: d.size, annotations, platform };
  const artifactType = d.artifactType || undefined;
  return { mediaType: d.mediaType, size: d.size, digest: d.digest, annotations, platform, artifactType };
}

/** A Go `map[string]struct{}`: `{"<key>":{}}`, sorted. */
function set(keys: string[] | undefined): GoJson | undefined {
  if (!keys?.length) return undefined;
  return new Map(keys.map((k) => [k, {}] as [string, GoJson]));
}

function nonEmpty<T>(xs: T[] | undefined): T[] | undefined {
  return xs?.length ? xs : undefined;
}

/** The container config in go-containerregistry's `v1.Config` field order; empty fields omitted. */
function containerConfigJson(c: ContainerConfig): GoJson {
  return {
    Cmd: nonEmpty(c.Cmd),
    Entrypoint: nonEmpty(c.Entrypoint),
    Env: nonEmpty(c.Env),
    Labels: c.Labels && Object.keys(c.Labels).length ? stringMap(c.Labels) : undefined,
    User: c.User || undefined,
    Volumes: set(c.Volumes),
    WorkingDir: c.WorkingDir || undefined,
    ExposedPorts: set(c.ExposedPorts),
    StopSignal: c.StopSignal || undefined,
  };
}

function historyJson(h: HistoryEntry): GoJson {
  return {
    author: h.author || undefined,
    created: h.created || undefined,
    created_by: h.created_by || undefined,
    comment: h.comment || undefined,
    empty_layer: h.empty_layer || undefined,
  };
}

function layerDescriptor(l: Layer): Descriptor {
  return { mediaType: l.mediaType, size: l.size, digest: l.digest, annotations: l.annotations };
}

/** config + layers → image (config blob, manifest blob, index descriptor). */
export function buildImage(spec: ImageSpec, layers: Layer[]): Image {
  const p = spec.platform;
  if (!p.architecture || !p.os)
    throw new LadingError('OCI_PLATFORM', 'an image needs a platform architecture and os');
  const configDoc: GoJson = {
    architecture: p.architecture,
    author: spec.author || undefined,
    created: rfc3339(spec.created),
    history: spec.history?.length ? spec.history.map(historyJson) : undefined,
    os: p.os,
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
    config: containerConfigJson(spec.config ?? {}),
    'os.version': p['os.version'] || undefined,
    variant: p.variant || undefined,
    'os.features': p['os.features']?.length ? p['os.features'] : undefined,
  };
  const config = blobOf(MediaType.imageConfig, Buffer.from(goJson(configDoc)));
  const manifestDoc: GoJson = {
    schemaVersion: 2,
    mediaType: MediaType.imageManifest,
    config: descriptorJson({ mediaType: config.mediaType, size: config.size, digest: config.digest }),
    layers: layers.map((l) => descriptorJson(layerDescriptor(l))),
    annotations:
      spec.annotations && Object.keys(spec.annotations).length ? stringMap(spec.annotations) : undefined,
  };
  const manifest = blobOf(MediaType.imageManifest, Buffer.from(goJson(manifestDoc)));
  const descriptor: Descriptor = {
    mediaType: manifest.mediaType,
    size: manifest.size,
    digest: manifest.digest,
    platform: p,
    artifactType: MediaType.imageConfig,
  };
  return { platform: p, layers, config, manifest, descriptor };
}

/** `arch[/variant]`: the order apko sorts index entries in (`386 < amd64 < arm/v6 < arm/v7 < arm64 …`). */
export function platformKey(p: Platform): string {
  return p.variant ? `${p.architecture}/${p.variant}` : p.architecture;
}

/** An index document listing `descriptors` (in the given order). */
export function indexBlob(descriptors: Descriptor[], annotations: Record<string, string> = {}): Blob {
  const doc: GoJson = {
    schemaVersion: 2,
    mediaType: MediaType.imageIndex,
    manifests: descriptors.map((d) => descriptorJson(d, true)),
    annotations: Object.keys(annotations).length ? stringMap(annotations) : undefined,
  };
  return blobOf(MediaType.imageIndex, Buffer.from(goJson(doc)));
}

/** images → index, sorted by platform; one image per platform. */
export function buildImageIndex(
  images: Image[],
  options: { annotations?: Record<string, string> } = {},
): ImageIndex {
  if (images.length === 0)
    throw new LadingError('OCI_INDEX_EMPTY', 'an image index needs at least one image');
  const sorted = [...images].sort(
    (a, b) =>
      compareUtf8(platformKey(a.platform), platformKey(b.platform)) ||
      compareUtf8(a.platform.os, b.platform.os),
  );
  for (let i = 1; i < sorted.length; i++) {
    const [a, b] = [sorted[i - 1]!.platform, sorted[i]!.platform];
    if (platformKey(a) === platformKey(b) && a.os === b.os)
      throw new LadingError('OCI_INDEX_PLATFORM', `two images for the platform ${a.os}/${platformKey(a)}`, {
        hint: 'list each architecture once',
      });
  }
  const annotations = { ...(options.annotations ?? {}) };
  return {
    images: sorted,
    index: indexBlob(
      sorted.map((i) => i.descriptor),
      annotations,
    ),
    annotations,
  };
}
