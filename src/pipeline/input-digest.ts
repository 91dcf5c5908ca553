/**
 * The input digest: one SHA-256 over what decides an image's bytes, known right after resolution (before any
 * package is fetched), recorded on the index and every manifest as `dev.lading.input-digest`. It lets a
 * publisher ask a registry "is this already built from the same inputs?" with one GET (publish
 * --skip-unchanged), and lets `lading plan` say which images a repository change affects.
 *
 * What is in it (canonical JSON, keys sorted):
 * - the config after includes and command-line overrides, minus what does not reach the bytes: the keyring
 *   entries (paths differ between machines; the keys' contents are in), credentials in repository URLs;
 * - per architecture, the resolved packages as (name, version, control checksum), sorted: the checksum pins
 *   the control data, which pins the data; from a lock file the same triples, so a locked and an unlocked
 *   build of the same resolution agree;
 * - the build keys (name and SHA-256 of the contents), the build date inputs and the gzip level;
 * - OUTPUT_EPOCH, which stands for lading itself.
 * Not in it: the repository index digests (one new package anywhere would change every image), the tag and
 * the destination, the SBOM formats (SBOMs are attached beside the image, not part of it), Node's zlib, the
 * resolver's rules (--apk3-install-if: they only choose the packages, which are in it, so a build from a lock
 * made with the flag has the digest of the build that made it).
 *
 * Why OUTPUT_EPOCH and not lading's version or build id: a lading upgrade that writes the same bytes should
 * not make a catalogue of images look changed (and re-push all of them); one that changes bytes must. The
 * pinned-digests test pins the epoch beside the digests of the examples' images and refuses new digests
 * under an unchanged epoch, so a change that alters output has to bump it.
 */
import { createHash } from 'node:crypto';
import type { ImageConfig } from '../config/types.ts';
import { redactUrl } from '../util/redact.ts';

/** The annotation on the index and every manifest. */
export const INPUT_DIGEST_ANNOTATION = 'dev.lading.input-digest';

/** Bumped by every change to lading that changes the bytes it writes for the same inputs (see above). */
export const OUTPUT_EPOCH = 1;

export interface PinnedPackage {
  name: string;
  version: string;
  /** The index's (or lock's) `C:`: Q1 + base64 SHA-1 of the control member; '' when unknown. */
  checksum: string;
}

export interface InputDigestInput {
  config: ImageConfig;
  /** Per target architecture (apk name), the packages installed. */
  archs: readonly {
    apkArch: string;
    packages: readonly { name: string; version: string; checksum?: string }[];
  }[];
  keys: readonly { name: string; content: Buffer }[];
  /** Byte-affecting options: SOURCE_DATE_EPOCH, --build-date (seconds), the compression and its level. */
  options: { sourceDateEpoch?: string; buildDate?: number; compressionLevel?: number; compression?: 'zstd' };
}

/** JSON with object keys sorted at every level: the same value always gives the same text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v) || Buffer.isBuffer(v)) return v;
    const o = v as Record<string, unknown>;
    return Object.fromEntries(
      Object.keys(o)
        .sort()
        .map((k) => [k, o[k]]),
    );
  });
}

/** The resolved packages of one architecture as the digest sees them: sorted triples. */
export function pinnedPackages(
  packages: readonly { name: string; version: string; checksum?: string }[],
): PinnedPackage[] {
  return packages
    .map((p) => ({ name: p.name, version: p.version, checksum: p.checksum ?? '' }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.version < b.version ? -1 : 1));
}

/** The config as the digest sees it (see the top of this file). */
function configPart(config: ImageConfig): unknown {
  const redact = (xs: readonly string[]) => xs.map(redactUrl);
  const { keyring: _keyring, ...contents } = config.contents;
  return {
    ...config,
    contents: {
      ...contents,
      repositories: redact(contents.repositories),
      buildRepositories: redact(contents.buildRepositories),
      runtimeRepositories: redact(contents.runtimeRepositories),
    },
  };
}

/** `sha256:<hex>` over the inputs (see the top of this file). */
export function inputDigest(input: InputDigestInput): string {
  const doc = {
    lading: `input-digest/1 epoch ${OUTPUT_EPOCH}`,
    config: configPart(input.config),
    archs: [...input.archs]
      .map((a) => ({ arch: a.apkArch, packages: pinnedPackages(a.packages) }))
      .sort((a, b) => (a.arch < b.arch ? -1 : 1)),
    keys: input.keys
      .map((k) => ({ name: k.name, sha256: createHash('sha256').update(k.content).digest('hex') }))
      .sort((a, b) => (a.name < b.name ? -1 : 1)),
    options: {
      sourceDateEpoch: input.options.sourceDateEpoch ?? null,
      buildDate: input.options.buildDate ?? null,
      compressionLevel: input.options.compressionLevel ?? null,
      // only when set: gzip images keep the digests they had
      ...(input.options.compression === 'zstd' ? { compression: 'zstd' } : {}),
    },
  };
  return `sha256:${createHash('sha256').update(canonicalJson(doc)).digest('hex')}`;
}
