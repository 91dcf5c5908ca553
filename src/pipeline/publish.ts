/**
 * `lading publish`: build exactly what `lading build` builds (same bytes, same digests), then ship it —
 * every per-architecture image by digest and the index under every tag, with each SBOM attached to what it
 * describes — or, with `local`, load the host's image into the Docker engine under every tag.
 * Every reference is checked before anything is built or sent.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve as resolvePath } from 'node:path';
import { dockerEngine, loadImage } from '../engine/docker.ts';
import { platformKey } from '../oci/image.ts';
import { hostPlatformKey } from '../oci/tags.ts';
import type { Image } from '../oci/types.ts';
import { createKeychain } from '../registry/keychain.ts';
import { pushPlan, type SbomAttachment } from '../registry/plan.ts';
import { type PushReport, type PushTarget, push } from '../registry/push.ts';
import { parseReference, type Reference, repositoryName, sameRepository } from '../registry/reference.ts';
import { RegistryClient } from '../registry/transport.ts';
import { LadingError } from '../util/errors.ts';
import { silentLogger } from '../util/log.ts';
import { type BuildOptions, build } from './build.ts';
import type { BuildSummary } from './types.ts';

export interface PublishOptions extends Omit<BuildOptions, 'tag' | 'output'> {
  /** Image references: `[REGISTRY/]REPOSITORY[:TAG]`, at least one. */
  tags: string[];
  /** Load the host's image into the Docker engine (DOCKER_HOST) instead of pushing. */
  local?: boolean;
  insecureAllowHttp?: boolean;
  insecureSkipTlsVerify?: boolean;
  /** Blob uploads in flight at once per repository (default 4). */
  jobs?: number;
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

/** The SBOM files a build wrote, as attachments to the image or index each describes. */
function sbomAttachments(
  dir: string,
  summary: readonly BuildSummary[],
  names: readonly string[],
): SbomAttachment[] {
  const out: SbomAttachment[] = [];
  const subjects = new Map<string, string>([
    ['index', 'index'],
    ...summary.map((s) => [s.apkArch, s.manifestDigest] as [string, string]),
  ]);
  for (const name of names) {
    const m = /^sbom-(.+)\.(spdx|cdx)\.json$/.exec(name);
    const subject = m ? subjects.get(m[1]!) : undefined;
    if (!m || subject === undefined) continue;
    out.push({
      name,
      format: m[2] === 'spdx' ? 'spdx' : 'cyclonedx',
      bytes: readFileSync(join(dir, name)),
      subject,
    });
  }
  return out;
}

export async function publish(options: PublishOptions): Promise<PublishResult> {
  const logger = options.logger ?? silentLogger;
  const { references, targets } = publishTargets(options.tags);
  const cwd = options.cwd ?? process.cwd();
  const client = options.local
    ? undefined
    : new RegistryClient({
        keychain: createKeychain(options.env ?? process.env),
        insecureAllowHttp: options.insecureAllowHttp,
        insecureSkipTlsVerify: options.insecureSkipTlsVerify,
        logger,
      });
  // the registries answer (ping, credential helpers, tokens) while the image is built
  for (const t of targets) client?.session(t.repository, true).warmUp();
  // the image is built as `lading build` builds it; until outputs are pluggable, through a scratch layout
  const scratch = mkdtempSync(join(tmpdir(), 'lading-publish-'));
  try {
    const sbomDir = options.sbomPath === undefined ? scratch : resolvePath(cwd, options.sbomPath);
    mkdirSync(join(scratch, 'layout'));
    const result = await build({
      ...options,
      tag: options.tags[0]!,
      output: join(scratch, 'layout'),
      sbomPath: sbomDir,
      reuse: options.reuse ?? true,
    });
    const index = result.index;
    for (const a of result.summary)
      logger.info(`${a.apkArch}: ${a.packages} packages, image ${a.manifestDigest}`);
    if (options.local) {
      const image = hostImage(index.images);
      const tags = references.map(
        (r) => `${repositoryName(r.repository).replace(/^index\.docker\.io\//, '')}:${r.tag}`,
      );
      const engine = dockerEngine(options.env ?? process.env);
      const id = await loadImage(engine, image, tags);
      logger.info(
        `loaded ${platformKey(image.platform)} image ${id} into the Docker engine at ${engine.name} as ${tags.join(', ')}`,
      );
      return { printed: id, digest: result.digest, imageRefs: [], summary: result.summary };
    }
    const sbomNames = result.outputs.slice(1).map((p) => p.slice(p.lastIndexOf('/') + 1));
    const attachments = options.sbom === false ? [] : sbomAttachments(sbomDir, result.summary, sbomNames);
    const report = await push(client!, pushPlan(index, attachments), targets, { jobs: options.jobs });
    const repo = repositoryName(targets[0]!.repository);
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
    return {
      printed: `${repo}@${result.digest}`,
      digest: result.digest,
      imageRefs: [...index.images.map((i) => `${repo}@${i.manifest.digest}`), `${repo}@${result.digest}`],
      summary: result.summary,
      report,
    };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** The image for this machine's platform; the only image when there is one. */
function hostImage(images: readonly Image[]): Image {
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
