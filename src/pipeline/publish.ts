/**
 * `lading publish`: build exactly what `lading build` builds (same bytes, same digests), then ship it —
 * every per-architecture image by digest and the index under every tag, with each SBOM attached to what it
 * describes — or, with `local`, load the host's image into the Docker engine under every tag.
 * Every reference is checked before anything is built or sent.
 *
 * With `skipUnchanged`, the registry is asked first: when the first tag names an image carrying the same input
 * digest (input-digest.ts) and the registry has all its blobs, nothing is built or uploaded — the other tags are
 * pointed at it where they differ, and the same `REPO@digest` is printed. Either way the layers the first tag's
 * image holds are known by their keys, so a layer this machine's cache lacks is taken from the registry instead
 * of being compressed again (layers/cache.ts).
 */
import { DockerEngineDestination, dockerEngine } from '../engine/docker.ts';
import { LAYER_KEY_ANNOTATION, type LayerHints } from '../layers/cache.ts';
import type { LayerInfo } from '../oci/types.ts';
import { RegistryDestination } from '../registry/destination.ts';
import { createKeychain } from '../registry/keychain.ts';
import { pushPlan, type SbomAttachment } from '../registry/plan.ts';
import {
  configDiffIds,
  hasBlobs,
  type Published,
  publishedBlobs,
  readPublished,
} from '../registry/published.ts';
import { Publication, type PushReport, type PushTarget } from '../registry/push.ts';
import { parseReference, type Reference, repositoryName, sameRepository } from '../registry/reference.ts';
import { RegistryClient, type RepositorySession } from '../registry/transport.ts';
import { LadingError } from '../util/errors.ts';
import { type Logger, silentLogger } from '../util/log.ts';
import { type BuildOptions, build, finishBuild, startBuild } from './build.ts';
import { INPUT_DIGEST_ANNOTATION } from './input-digest.ts';
import type { SbomFile } from './sbom.ts';
import type { BuildInputs, BuildSummary } from './types.ts';

export interface PublishOptions extends Omit<BuildOptions, 'tag' | 'output'> {
  /** Image references: `[REGISTRY/]REPOSITORY[:TAG]`, at least one. */
  tags: string[];
  /** Load the host's image into the Docker engine (DOCKER_HOST) instead of pushing. */
  local?: boolean;
  insecureAllowHttp?: boolean;
  insecureSkipTlsVerify?: boolean;
  /** Blob uploads in flight at once per repository (default 4). */
  jobs?: number;
  /** Ask the registry first; publish nothing when the first tag holds an image from the same inputs. */
  skipUnchanged?: boolean;
  /** A registry client to share (publish-many: one ping and one token per registry for all its images). */
  client?: RegistryClient;
  /** What the first tag names, as the caller read it a moment ago (publishedAlready): not read again. */
  firstTag?: { published: Published | undefined };
}

export interface PublishResult {
  /** What the CLI prints: `REPO@sha256:<index>` of the first tag's repository, or the loaded image's ID. */
  printed: string;
  /** The index digest, as `lading build` reports it. */
  digest: string;
  /** Per-architecture references in index order, then the index reference (apko's --image-refs). */
  imageRefs: string[];
  summary: BuildSummary[];
  report?: PushReport;
  /** The input digest the image carries. */
  inputDigest: string;
  /** True when the registry already held the image from the same inputs (skipUnchanged): nothing was built. */
  skipped: boolean;
  /** What the build read (for the no-op re-publish record; `remote` when the network was an input). */
  inputs?: BuildInputs;
  /** Where each tag written is read (`<origin>/v2/<repository>/manifests/<tag>`). */
  tagUrls?: string[];
}

/** The references, checked and grouped by repository in the order first named. */
export function publishTargets(tags: readonly string[]): { references: Reference[]; targets: PushTarget[] } {
  if (tags.length === 0) {
    throw new LadingError('USAGE', 'publish needs at least one image reference', {
      hint: 'lading publish CONFIG REGISTRY/REPOSITORY:TAG…',
    });
  }
  const references = tags.map((t) => {
    const ref = parseReference(t);
    if (ref.digest !== undefined) {
      throw new LadingError('REGISTRY_REFERENCE', `${t} names a digest; publish needs tags to write`, {
        hint: `drop @${ref.digest}: the image's digest comes from what is built`,
      });
    }
    return ref;
  });
  const targets: PushTarget[] = [];
  for (const r of references) {
    const t = targets.find((x) => sameRepository(x.repository, r.repository));
    if (t) {
      if (!t.tags.includes(r.tag!)) t.tags.push(r.tag!);
    } else targets.push({ repository: r.repository, tags: [r.tag!] });
  }
  return { references, targets };
}

/** The build's SBOM files as attachments to the image or index each describes (by their names). */
function sbomAttachments(files: readonly SbomFile[], summary: readonly BuildSummary[]): SbomAttachment[] {
  const subjects = new Map<string, string>([
    ['index', 'index'],
    ...summary.map((s) => [s.apkArch, s.manifestDigest] as [string, string]),
  ]);
  const out: SbomAttachment[] = [];
  for (const f of files) {
    const m = /^sbom-(.+)\.(spdx|cdx)\.json$/.exec(f.name);
    const subject = m ? subjects.get(m[1]!) : undefined;
    if (!m || subject === undefined) continue;
    out.push({
      name: f.name,
      format: m[2] === 'spdx' ? 'spdx' : 'cyclonedx',
      bytes: Buffer.from(f.text),
      subject,
    });
  }
  return out;
}

export async function publish(options: PublishOptions): Promise<PublishResult> {
  const logger = options.logger ?? silentLogger;
  const env = options.env ?? process.env;
  const { references, targets } = publishTargets(options.tags);
  const buildOptions = { ...options, tag: options.tags[0]!, reuse: options.reuse ?? true };
  const summarise = (summary: readonly BuildSummary[]) => {
    for (const a of summary) logger.info(`${a.apkArch}: ${a.packages} packages, image ${a.manifestDigest}`);
  };

  if (options.local) {
    const tags = references.map(
      (r) => `${repositoryName(r.repository).replace(/^index\.docker\.io\//, '')}:${r.tag}`,
    );
    const engine = new DockerEngineDestination(dockerEngine(env), tags);
    const result = await build({ ...buildOptions, output: engine });
    summarise(result.summary);
    logger.info(
      `loaded the ${engine.platform} image ${engine.imageId} into ${engine.location} as ${tags.join(', ')}`,
    );
    return {
      printed: engine.imageId!,
      digest: result.digest,
      imageRefs: [],
      summary: result.summary,
      inputDigest: result.inputDigest,
      skipped: false,
    };
  }

  const client = options.client ?? registryClient(options, logger);
  const publication = new Publication(client, targets, { jobs: options.jobs });
  // the registries answer (ping, credential helpers, tokens) while the image is resolved
  publication.warmUp();
  const repo = repositoryName(targets[0]!.repository);
  const first = publication.firstSession;
  const firstTag = targets[0]!.tags[0]!;
  let published: Promise<Published | undefined> | undefined;
  const readFirst = () =>
    (published ??= (
      options.firstTag ? Promise.resolve(options.firstTag.published) : readPublished(first, firstTag)
    ).then((p) => {
      publication.noteFirstTag(firstTag, p?.digest ?? null);
      return p;
    }));
  const started = await startBuild({
    ...buildOptions,
    output: new RegistryDestination(publication, repo),
    layerHints: layerHintsFrom(first, readFirst, logger),
    // the SBOMs travel beside the image's blobs and manifests (still tagged last)
    beforeOutput: (index, sboms, summary) =>
      publication.stageArtifacts(
        pushPlan(index, options.sbom === false ? [] : sbomAttachments(sboms, summary)).artifacts,
      ),
  });
  if (options.skipUnchanged) {
    const skipped = await skipIfUnchanged(publication, readFirst, started.inputDigest, logger).catch(
      async (e: unknown) => {
        await started.release();
        throw e;
      },
    );
    if (skipped) {
      await started.release();
      return skipped;
    }
  }
  const result = await finishBuild(started);
  summarise(result.summary);
  // the images are in every repository, by digest: now their SBOMs, and the tags last
  const plan = pushPlan(
    result.index,
    options.sbom === false ? [] : sbomAttachments(result.sboms, result.summary),
  );
  await publication.attachArtifacts(plan.artifacts);
  await publication.tag(plan.index);
  const report = publication.report;
  const mb = (report.bytesUploaded / 1e6).toFixed(1);
  const written = report.blobsUploaded + report.blobsMounted + report.manifestsPut + report.tagsPut;
  logger.info(
    written === 0
      ? `${repo} already had everything: nothing was written`
      : `pushed ${report.blobsUploaded} blobs (${mb} MB), mounted ${report.blobsMounted}, ${report.blobsExisting} already there; ` +
          `wrote ${report.manifestsPut} manifests and ${report.tagsPut} tags`,
  );
  for (const [where, how] of Object.entries(report.referrers)) {
    logger.info(
      `SBOMs attached in ${where} through ${how === 'api' ? 'the referrers API' : 'referrers tags (sha256-…)'}`,
    );
  }
  const index = result.index;
  return {
    printed: `${repo}@${result.digest}`,
    digest: result.digest,
    imageRefs: [...index.images.map((i) => `${repo}@${i.manifest.digest}`), `${repo}@${result.digest}`],
    summary: result.summary,
    report,
    inputDigest: result.inputDigest,
    skipped: false,
    inputs: result.inputs,
    tagUrls: await publication.tagUrls(),
  };
}

function registryClient(
  options: Pick<PublishOptions, 'env' | 'insecureAllowHttp' | 'insecureSkipTlsVerify'>,
  logger: Logger,
): RegistryClient {
  return new RegistryClient({
    keychain: createKeychain(options.env ?? process.env),
    insecureAllowHttp: options.insecureAllowHttp,
    insecureSkipTlsVerify: options.insecureSkipTlsVerify,
    logger,
  });
}

/** The result of a publish that found the image already there (see unchangedImage); undefined otherwise. */
async function skipIfUnchanged(
  publication: Publication,
  readFirst: () => Promise<Published | undefined>,
  inputDigest: string,
  logger: Logger,
): Promise<PublishResult | undefined> {
  const unchanged = await unchangedImage(publication, readFirst, inputDigest);
  if (!unchanged) return undefined;
  const repo = repositoryName(publication.firstSession.repository);
  logger.info(
    `${repo} already holds ${unchanged.digest}, built from the same inputs: nothing was built or sent`,
  );
  return {
    printed: `${repo}@${unchanged.digest}`,
    digest: unchanged.digest,
    imageRefs: [...unchanged.images.map((i) => `${repo}@${i.digest}`), `${repo}@${unchanged.digest}`],
    summary: [],
    report: publication.report,
    inputDigest,
    skipped: true,
  };
}

/**
 * Asks the registry alone whether the image built from `inputDigest` is already under every tag (pointing a tag
 * that differs at it): a plan knows the input digest of each image before its config is opened, so publish-many
 * needs no build at all for an image that has not changed. `result` is undefined when it must be published;
 * `firstTag` is what the first tag named (for publish's `firstTag`).
 */
export async function publishedAlready(
  options: Pick<
    PublishOptions,
    'tags' | 'env' | 'insecureAllowHttp' | 'insecureSkipTlsVerify' | 'client' | 'logger'
  >,
  inputDigest: string,
): Promise<{ result?: PublishResult; firstTag: { published: Published | undefined } }> {
  const logger = options.logger ?? silentLogger;
  const { targets } = publishTargets(options.tags);
  const publication = new Publication(options.client ?? registryClient(options, logger), targets);
  const first = publication.firstSession;
  const firstTag: { published: Published | undefined } = { published: undefined };
  const tag = targets[0]!.tags[0]!;
  const read = async () => {
    firstTag.published = await readPublished(first, tag);
    publication.noteFirstTag(tag, firstTag.published?.digest ?? null);
    return firstTag.published;
  };
  const result = await skipIfUnchanged(publication, read, inputDigest, logger);
  return { ...(result ? { result } : {}), firstTag };
}

/** The image the first tag holds when it was built from the same inputs and every blob is there; else undefined. */
async function unchangedImage(
  publication: Publication,
  readFirst: () => Promise<Published | undefined>,
  inputDigest: string,
): Promise<Published | undefined> {
  const p = await readFirst();
  if (!p || inputDigest === '' || p.annotations[INPUT_DIGEST_ANNOTATION] !== inputDigest) return undefined;
  if (!(await hasBlobs(publication.firstSession, publishedBlobs(p)))) return undefined;
  const index = { mediaType: p.mediaType, digest: p.digest, bytes: p.bytes };
  return (await publication.pointTagsAt(index)) ? p : undefined;
}

/**
 * The layers the first tag's image holds, by the keys on their descriptors (with the diff IDs from its configs):
 * read from the registry only when a layer is missing from the cache, and never an error (only a lost shortcut).
 */
function layerHintsFrom(
  session: RepositorySession,
  readFirst: () => Promise<Published | undefined>,
  logger: Logger,
): LayerHints {
  let known: Promise<Map<string, LayerInfo>> | undefined;
  const load = async () => {
    const map = new Map<string, LayerInfo>();
    const p = await readFirst();
    for (const image of p?.images ?? []) {
      if (!image.layers.some((l) => l.annotations?.[LAYER_KEY_ANNOTATION])) continue;
      const diffIds = await configDiffIds(session, image.config);
      image.layers.forEach((l, i) => {
        const key = l.annotations?.[LAYER_KEY_ANNOTATION];
        const diffId = diffIds[i];
        if (key && diffId) map.set(key, { mediaType: l.mediaType, digest: l.digest, size: l.size, diffId });
      });
    }
    return map;
  };
  return {
    find: async (key) => {
      known ??= load().catch((e: unknown) => {
        logger.debug(`cannot read the published image's layers (${(e as Error).message}): building them`);
        return new Map();
      });
      return (await known).get(key);
    },
  };
}
