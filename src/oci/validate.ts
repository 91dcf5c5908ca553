/**
 * End-to-end checks of what the writers produce (and of any OCI layout or docker archive): every blob exists
 * with the size and sha256 its descriptor says, media types are the expected ones, each layer decompresses to
 * bytes whose sha256 is the config's diff ID, platforms agree with configs, and `manifest.json` agrees with
 * the blobs. All problems are collected and reported together.
 */
import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createZstdDecompress } from 'node:zlib';
import { LadingError } from '../util/errors.ts';
import { platformKey } from './image.ts';
import { type BlobLocation, blobLocation, openImageStore, readRange, streamRange } from './read.ts';
import {
  type BlobSource,
  type Descriptor,
  type Image,
  type ImageIndex,
  MediaType,
  type Platform,
  REF_NAME_ANNOTATION,
} from './types.ts';

/** Where a blob's bytes are: in a store, or (the model's layers) behind an opener. */
type Location = BlobLocation | { source: BlobSource; size: number };

export interface ValidatedImage {
  manifestDigest: string;
  configDigest: string;
  platform: Platform;
  /** `ref.name` of the index.json entry that led here, if any. */
  refName?: string;
  layers: { digest: string; diffId: string }[];
}

export interface ValidationReport {
  images: ValidatedImage[];
  /** `ref.name` → digest, from index.json. */
  refs: Record<string, string>;
  /** docker archives: `manifest.json` entries. */
  dockerManifest?: { config: string; repoTags: string[] | null; layers: string[] }[];
}

const LAYER_TYPES = new Set<string>([
  MediaType.layerTar,
  MediaType.layerTarGzip,
  MediaType.layerTarZstd,
  'application/vnd.docker.image.rootfs.diff.tar.gzip',
]);
const MAX_JSON = 8 << 20;

/** sha256 of the range and, for layers, of its (decompressed: gzip, or zstd when `zstd`) contents; one read. */
async function hashRange(
  loc: Location,
  gunzip: boolean | null,
  zstd = false,
): Promise<{ digest: string; content?: string; contentError?: string }> {
  const outer = createHash('sha256');
  const inner = gunzip === null ? null : createHash('sha256');
  const source = 'source' in loc ? loc.source.open() : streamRange(loc);
  async function* tap(chunks: AsyncIterable<Buffer> | Iterable<Buffer>) {
    for await (const c of chunks) {
      outer.update(c);
      yield c;
    }
  }
  if (gunzip) {
    try {
      await pipeline(
        tap(source as AsyncIterable<Buffer>),
        zstd ? createZstdDecompress() : createGunzip(),
        async (out: AsyncIterable<Buffer>) => {
          for await (const c of out) inner!.update(c);
        },
      );
    } catch (e) {
      // report the blob's own digest too (damaged blobs usually fail here first)
      return { ...(await hashRange(loc, null)), contentError: (e as Error).message };
    }
  } else {
    for await (const c of tap(source as AsyncIterable<Buffer>)) inner?.update(c);
  }
  return {
    digest: `sha256:${outer.digest('hex')}`,
    content: inner ? `sha256:${inner.digest('hex')}` : undefined,
  };
}

class Checker {
  readonly problems: string[] = [];
  readonly images: ValidatedImage[] = [];
  readonly #resolve: (digest: string) => Location | undefined;
  readonly #verified = new Map<string, boolean>();
  readonly #diffIds = new Map<string, string | undefined>();

  constructor(resolve: (digest: string) => Location | undefined) {
    this.#resolve = resolve;
  }

  problem(where: string, message: string): void {
    this.problems.push(`${where}: ${message}`);
  }

  /** Checks existence, size and digest; returns the location when all hold. */
  async blob(d: Descriptor, where: string): Promise<Location | undefined> {
    if (!/^sha256:[0-9a-f]{64}$/.test(String(d.digest))) {
      this.problem(where, `bad digest ${JSON.stringify(d.digest)}`);
      return undefined;
    }
    const loc = this.#resolve(d.digest);
    if (!loc) {
      this.problem(where, `blob ${d.digest} is missing`);
      return undefined;
    }
    if (loc.size !== d.size) {
      this.problem(where, `blob ${d.digest} has ${loc.size} bytes, the descriptor says ${d.size}`);
      return undefined;
    }
    let ok = this.#verified.get(d.digest);
    if (ok === undefined) {
      const gz = LAYER_TYPES.has(d.mediaType) ? d.mediaType !== MediaType.layerTar : null;
      try {
        const h = await hashRange(loc, gz, d.mediaType === MediaType.layerTarZstd);
        ok = h.digest === d.digest && !h.contentError;
        if (h.digest !== d.digest) this.problem(where, `blob ${d.digest} has sha256 ${h.digest}`);
        else if (h.contentError)
          this.problem(where, `blob ${d.digest} does not decompress: ${h.contentError}`);
        this.#diffIds.set(d.digest, h.content);
      } catch (e) {
        ok = false;
        this.problem(where, `blob ${d.digest} cannot be read or decompressed: ${(e as Error).message}`);
      }
      this.#verified.set(d.digest, ok);
    }
    return ok ? loc : undefined;
  }

  async json(d: Descriptor, where: string): Promise<Record<string, unknown> | undefined> {
    if (d.size > MAX_JSON) {
      this.problem(where, `${d.mediaType} of ${d.size} bytes is implausibly large`);
      return undefined;
    }
    const loc = await this.blob(d, where);
    if (!loc) return undefined;
    try {
      // documents are in a store or in memory, never behind a layer's opener
      const v = JSON.parse(readRange(loc as BlobLocation).toString('utf8'));
      if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
    } catch {}
    this.problem(where, `${d.digest} is not a JSON object`);
    return undefined;
  }

  async descriptor(d: Descriptor, where: string, refName?: string): Promise<void> {
    if (d.mediaType === MediaType.imageIndex) return this.index(d, where, refName);
    if (d.mediaType === MediaType.imageManifest) return this.manifest(d, where, refName);
    this.problem(where, `unexpected media type ${JSON.stringify(d.mediaType)}`);
  }

  async index(d: Descriptor, where: string, refName?: string): Promise<void> {
    const doc = await this.json(d, where);
    if (doc) await this.indexDocument(doc, where, refName);
  }

  async indexDocument(doc: Record<string, unknown>, where: string, refName?: string): Promise<void> {
    if (doc.schemaVersion !== 2)
      this.problem(where, `schemaVersion is ${JSON.stringify(doc.schemaVersion)}, not 2`);
    if (doc.mediaType !== undefined && doc.mediaType !== MediaType.imageIndex)
      this.problem(where, `mediaType is ${JSON.stringify(doc.mediaType)}`);
    if (!Array.isArray(doc.manifests)) {
      this.problem(where, 'manifests is not a list');
      return;
    }
    const manifests = doc.manifests as Descriptor[];
    for (const [i, m] of manifests.entries()) {
      const label = m.platform ? ` (${platformKey(m.platform)})` : '';
      await this.descriptor(
        m,
        `${where} → manifests[${i}]${label}`,
        m.annotations?.[REF_NAME_ANNOTATION] ?? refName,
      );
    }
  }

  async manifest(d: Descriptor, where: string, refName?: string): Promise<void> {
    const doc = await this.json(d, where);
    if (!doc) return;
    if (doc.schemaVersion !== 2)
      this.problem(where, `schemaVersion is ${JSON.stringify(doc.schemaVersion)}, not 2`);
    if (doc.mediaType !== undefined && doc.mediaType !== MediaType.imageManifest)
      this.problem(where, `mediaType is ${JSON.stringify(doc.mediaType)}`);
    const configDesc = doc.config as Descriptor | undefined;
    const layers = doc.layers as Descriptor[] | undefined;
    if (!configDesc || !Array.isArray(layers)) {
      this.problem(where, 'config or layers missing');
      return;
    }
    if (configDesc.mediaType !== MediaType.imageConfig)
      this.problem(`${where} → config`, `media type ${JSON.stringify(configDesc.mediaType)}`);
    const config = await this.json(configDesc, `${where} → config`);
    const diffIds = this.configChecks(config, d.platform, `${where} → config`);
    if (diffIds && diffIds.length !== layers.length)
      this.problem(where, `${layers.length} layers but ${diffIds.length} diff_ids in the config`);
    const out: ValidatedImage['layers'] = [];
    for (const [i, l] of layers.entries()) {
      const at = `${where} → layers[${i}]`;
      if (!LAYER_TYPES.has(l.mediaType)) {
        this.problem(at, `unexpected layer media type ${JSON.stringify(l.mediaType)}`);
        continue;
      }
      const diffId = await this.layer(l, at, diffIds?.[i]);
      out.push({ digest: l.digest, diffId: diffId ?? '' });
    }
    if (config) {
      this.images.push({
        manifestDigest: d.digest,
        configDigest: configDesc.digest,
        platform: {
          architecture: String(config.architecture),
          os: String(config.os),
          ...(config.variant ? { variant: String(config.variant) } : {}),
        },
        refName,
        layers: out,
      });
    }
  }

  /** Verifies a layer blob; returns its content's sha256 and compares it with the expected diff ID. */
  async layer(d: Descriptor, where: string, expected: string | undefined): Promise<string | undefined> {
    if (!(await this.blob(d, where))) return undefined;
    const diffId = this.#diffIds.get(d.digest);
    if (expected !== undefined && diffId !== expected)
      this.problem(where, `uncompressed content has ${diffId}, the config's diff_id is ${expected}`);
    return diffId;
  }

  configChecks(
    config: Record<string, unknown> | undefined,
    platform: Platform | undefined,
    where: string,
  ): string[] | undefined {
    if (!config) return undefined;
    if (typeof config.architecture !== 'string' || typeof config.os !== 'string')
      this.problem(where, 'architecture and os must be strings');
    if (platform) {
      const got = { architecture: config.architecture, os: config.os, variant: config.variant };
      if (
        got.architecture !== platform.architecture ||
        got.os !== platform.os ||
        (got.variant ?? undefined) !== (platform.variant ?? undefined)
      )
        this.problem(
          where,
          `platform ${platform.os}/${platformKey(platform)} in the index but the config says ${got.os}/${got.architecture}${got.variant ? `/${got.variant}` : ''}`,
        );
    }
    const rootfs = config.rootfs as { type?: unknown; diff_ids?: unknown } | undefined;
    if (rootfs?.type !== 'layers' || !Array.isArray(rootfs.diff_ids)) {
      this.problem(where, 'rootfs must be {type: "layers", diff_ids: [...]}');
      return undefined;
    }
    return rootfs.diff_ids as string[];
  }

  /** The docker-save `manifest.json` side: config and layer paths inside the archive, diff IDs. */
  async dockerManifest(
    entries: unknown,
    byPath: (p: string) => BlobLocation | undefined,
  ): Promise<ValidationReport['dockerManifest']> {
    const out: NonNullable<ValidationReport['dockerManifest']> = [];
    if (!Array.isArray(entries)) {
      this.problem('manifest.json', 'is not a list');
      return out;
    }
    for (const [i, e] of (entries as Record<string, unknown>[]).entries()) {
      const where = `manifest.json[${i}]`;
      const cfgPath = String(e.Config);
      const layers = Array.isArray(e.Layers) ? (e.Layers as string[]) : [];
      const repoTags = Array.isArray(e.RepoTags) ? (e.RepoTags as string[]) : null;
      out.push({ config: cfgPath, repoTags, layers });
      const cfgLoc = byPath(cfgPath);
      if (!cfgLoc) {
        this.problem(where, `Config ${cfgPath} is not in the archive`);
        continue;
      }
      const cfgBytes = readRange(cfgLoc);
      const cfgHex = createHash('sha256').update(cfgBytes).digest('hex');
      if (cfgPath.startsWith('blobs/sha256/') && cfgPath !== `blobs/sha256/${cfgHex}`)
        this.problem(where, `Config ${cfgPath} has sha256 ${cfgHex}`);
      let config: Record<string, unknown> | undefined;
      try {
        config = JSON.parse(cfgBytes.toString('utf8'));
      } catch {
        this.problem(where, `Config ${cfgPath} is not JSON`);
      }
      const diffIds = this.configChecks(config, undefined, `${where} → Config`);
      if (diffIds && diffIds.length !== layers.length)
        this.problem(where, `${layers.length} Layers but ${diffIds.length} diff_ids in the config`);
      for (const [j, p] of layers.entries()) {
        const loc = byPath(p);
        if (!loc) {
          this.problem(where, `layer ${p} is not in the archive`);
          continue;
        }
        // docker's manifest.json names no media type: the magic bytes say gzip, zstd or a plain tar
        const head = readRange(loc, 4);
        const zstd = head.length === 4 && head.readUInt32LE(0) === 0xfd2fb528;
        const h = await hashRange(loc, zstd || (head[0] === 0x1f && head[1] === 0x8b), zstd);
        if (p.startsWith('blobs/sha256/') && h.digest !== `sha256:${p.slice('blobs/sha256/'.length)}`)
          this.problem(where, `layer ${p} has ${h.digest}`);
        if (h.contentError) this.problem(where, `layer ${p} does not decompress: ${h.contentError}`);
        else if (diffIds && h.content !== diffIds[j])
          this.problem(where, `layer ${p} has content ${h.content}, diff_id ${diffIds[j]}`);
      }
    }
    return out;
  }

  fail(what: string): void {
    if (this.problems.length === 0) return;
    throw new LadingError(
      'OCI_INVALID',
      `${what} is not a valid image (${this.problems.length} problems):\n  ${this.problems.join('\n  ')}`,
      {
        file: what,
      },
    );
  }
}

function refsOf(indexDoc: Record<string, unknown>): Record<string, string> {
  const refs: Record<string, string> = {};
  for (const m of (indexDoc.manifests as Descriptor[] | undefined) ?? []) {
    const ref = m.annotations?.[REF_NAME_ANNOTATION];
    if (ref !== undefined) refs[ref] = m.digest;
  }
  return refs;
}

async function checkLayoutFiles(
  c: Checker,
  ociLayout: Buffer | undefined,
  indexJson: Buffer | undefined,
): Promise<Record<string, string>> {
  if (!ociLayout) c.problem('oci-layout', 'missing');
  else {
    try {
      if (JSON.parse(ociLayout.toString()).imageLayoutVersion !== '1.0.0')
        c.problem('oci-layout', 'imageLayoutVersion is not "1.0.0"');
    } catch {
      c.problem('oci-layout', 'not JSON');
    }
  }
  if (!indexJson) {
    c.problem('index.json', 'missing');
    return {};
  }
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(indexJson.toString('utf8'));
  } catch {
    c.problem('index.json', 'not JSON');
    return {};
  }
  await c.indexDocument(doc, 'index.json');
  return refsOf(doc);
}

/** Validates an OCI image layout directory end to end. */
export async function validateLayout(dir: string): Promise<ValidationReport> {
  const store = openImageStore(dir);
  const c = new Checker((digest) => blobLocation(store, digest));
  const refs = await checkLayoutFiles(c, store.file('oci-layout'), store.file('index.json'));
  c.fail(dir);
  return { images: c.images, refs };
}

/** Validates a docker-save tarball: `manifest.json` against its blobs, and the OCI layout inside if present. */
export async function validateDockerArchive(file: string): Promise<ValidationReport> {
  const store = openImageStore(file);
  const c = new Checker((digest) => blobLocation(store, digest));
  let refs: Record<string, string> = {};
  const indexJson = store.file('index.json');
  if (indexJson) refs = await checkLayoutFiles(c, store.file('oci-layout'), indexJson);
  let dockerManifest: ValidationReport['dockerManifest'];
  const mj = store.file('manifest.json');
  if (!mj) c.problem('manifest.json', 'missing');
  else {
    let parsed: unknown;
    try {
      parsed = JSON.parse(mj.toString('utf8'));
    } catch {
      c.problem('manifest.json', 'not JSON');
    }
    if (parsed !== undefined) dockerManifest = await c.dockerManifest(parsed, (p) => store.member(p));
  }
  c.fail(file);
  return { images: c.images, refs, dockerManifest };
}

/** Validates the in-memory model: blobs of every image against their files and bytes, and the index. */
export async function validateIndex(index: ImageIndex): Promise<void> {
  const c = new Checker(locator(index.images));
  const doc = JSON.parse(index.index.bytes.toString('utf8'));
  await c.indexDocument(doc, 'index');
  c.fail('index');
}

/** Validates one image of the model. */
export async function validateImage(image: Image): Promise<void> {
  const c = new Checker(locator([image]));
  await c.manifest(image.descriptor, 'image');
  c.fail(`image ${image.manifest.digest}`);
}

/** Serves the model's JSON documents from memory and its layers from their files. */
function locator(images: Image[]): (digest: string) => Location | undefined {
  const layers = new Map<string, Location>();
  const docs = new Map<string, Buffer>();
  for (const img of images) {
    docs.set(img.config.digest, img.config.bytes);
    docs.set(img.manifest.digest, img.manifest.bytes);
    for (const l of img.layers) {
      if (l.file === undefined) layers.set(l.digest, { source: l, size: l.size });
      else if (existsSync(l.file))
        layers.set(l.digest, { path: l.file, offset: 0, size: statSync(l.file).size });
    }
  }
  return (digest) => {
    const bytes = docs.get(digest);
    return bytes ? { bytes, size: bytes.length } : layers.get(digest);
  };
}
