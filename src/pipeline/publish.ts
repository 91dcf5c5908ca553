/**
 * `lading publish`: build exactly what `lading build` builds (same bytes, same digests), then ship it —
 * every per-architecture image by digest and the index under every tag, with each SBOM attached to what it
 * describes — or, with `local`, load the host's image into the Docker engine under every tag.
 * Every reference is checked before anything is built or sent.
 */
import { DockerEngineDestination, dockerEngine } from '../engine/docker.ts';
import { RegistryDestination } from '../registry/destination.ts';
import { createKeychain } from '../registry/keychain.ts';
import { pushPlan, type SbomAttachment } from '../registry/plan.ts';
import { Publication, type PushReport, type PushTarget } from '../registry/push.ts';
import { parseReference, type Reference, repositoryName, sameRepository } from '../registry/reference.ts';
import { RegistryClient } from '../registry/transport.ts';
import { LadingError } from '../util/errors.ts';
import { silentLogger } from '../util/log.ts';
import { type BuildOptions, build } from './build.ts';
import type { SbomFile } from './sbom.ts';
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
    return { printed: engine.imageId!, digest: result.digest, imageRefs: [], summary: result.summary };
  }

  const client = new RegistryClient({
    keychain: createKeychain(env),
    insecureAllowHttp: options.insecureAllowHttp,
    insecureSkipTlsVerify: options.insecureSkipTlsVerify,
    logger,
  });
  const publication = new Publication(client, targets, { jobs: options.jobs });
  // the registries answer (ping, credential helpers, tokens) while the image is built
  publication.warmUp();
  const repo = repositoryName(targets[0]!.repository);
  const result = await build({ ...buildOptions, output: new RegistryDestination(publication, repo) });
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
  };
}
