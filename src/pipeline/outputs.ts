/**
 * The destination phase: the image (an OCI layout for a directory or a path ending in `/`, else a docker
 * archive) and the SBOMs beside it, written so that a failure leaves nothing half-written.
 */
import { existsSync, mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve as resolvePath } from 'node:path';
import { writeDockerArchive } from '../oci/docker-archive.ts';
import { writeLayout } from '../oci/layout.ts';
import type { ImageIndex } from '../oci/types.ts';
import { LadingError } from '../util/errors.ts';
import type { Logger } from '../util/log.ts';
import { tempPath } from '../util/write-file.ts';
import type { SbomFile } from './sbom.ts';

export interface OutputOptions {
  /** As given: an existing directory or a path ending in `/` is a layout, anything else a docker archive. */
  output: string;
  /** `NAME[:TAG]` recorded in the outputs. */
  tag: string;
  /** Where the SBOMs go (default: beside the output). */
  sbomPath?: string;
  cwd: string;
}

export interface WrittenOutputs {
  /** The image output (a file or a layout directory), then the SBOMs. */
  outputs: string[];
  /** Every file written (for a layout: its index.json, oci-layout and blobs). */
  outputFiles: string[];
}

/**
 * Writes the image (a layout into an existing directory, else a docker archive) and the SBOMs. The SBOMs are
 * written first under temporary names, so a bad --sbom-path fails before anything else is written; they get
 * their names only after the image is in place.
 */
export async function writeOutputs(
  index: ImageIndex,
  sbomFiles: readonly SbomFile[],
  options: OutputOptions,
  logger: Logger,
): Promise<WrittenOutputs> {
  const output = resolvePath(options.cwd, options.output);
  const sbomDir = resolvePath(options.cwd, options.sbomPath ?? dirname(output));
  const staged: { tmp: string; path: string }[] = [];
  const outputs = [output];
  const outputFiles: string[] = [];
  try {
    if (sbomFiles.length) {
      try {
        mkdirSync(sbomDir, { recursive: true });
        for (const f of sbomFiles) {
          const path = join(sbomDir, f.name);
          const tmp = tempPath(path);
          staged.push({ tmp, path });
          writeFileSync(tmp, f.text);
        }
      } catch (e) {
        throw new LadingError(
          'OUTPUT_FAILED',
          `cannot write the SBOMs to ${sbomDir}: ${(e as Error).message}`,
          {
            hint: 'choose a writable directory with --sbom-path, or --sbom=false',
            cause: e,
          },
        );
      }
    }
    // after the SBOMs: an OUT that --sbom-path just created is a directory, so it gets a layout
    if (prepareOutputPath(options.output, output, logger)) {
      await writeLayout(output, index, { tag: options.tag });
      outputFiles.push(join(output, 'index.json'), join(output, 'oci-layout'));
      for (const d of layoutBlobDigests(index)) outputFiles.push(join(output, 'blobs', 'sha256', d.slice(7)));
    } else {
      await writeDockerArchive(output, index, { tag: options.tag });
      outputFiles.push(output);
    }
    for (const s of staged) {
      renameSync(s.tmp, s.path);
      outputs.push(s.path);
      outputFiles.push(s.path);
    }
  } catch (e) {
    for (const s of staged) rmSync(s.tmp, { force: true });
    throw e;
  }
  return { outputs, outputFiles };
}

/**
 * Whether `given` asks for an OCI layout: an existing directory, or a path ending in `/` (created when missing);
 * anything else is a tarball. A path ending in `/` that names a file is refused.
 */
export function isLayoutOutput(given: string, output: string): boolean {
  const existing = statSync(output, { throwIfNoEntry: false });
  if (existing?.isDirectory()) return true;
  if (!/[\\/]$/.test(given)) return false;
  if (existing) {
    throw new LadingError('OUTPUT_NOT_DIRECTORY', `${given} ends in / but ${output} is not a directory`, {
      hint: 'name a directory for an OCI layout, or drop the / to write a tarball',
    });
  }
  return true;
}

/**
 * Makes the output's place: a missing layout directory, or a tarball's missing parent directories. Each
 * creation is said, so a mistyped path does not go unnoticed. Returns whether the output is a layout.
 */
function prepareOutputPath(given: string, output: string, logger: Logger): boolean {
  const layout = isLayoutOutput(given, output);
  const dir = layout ? output : dirname(output);
  if (existsSync(dir)) return layout;
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new LadingError('OUTPUT_FAILED', `cannot create ${dir} for the output: ${(e as Error).message}`, {
      hint: 'choose a writable location for OUT',
      cause: e,
    });
  }
  logger.info(layout ? `created ${dir}/ for the OCI layout` : `created ${dir}/ for ${basename(output)}`);
  return layout;
}

/** Every blob a layout of this index holds. */
function layoutBlobDigests(index: ImageIndex): string[] {
  const out = new Set<string>([index.index.digest]);
  for (const img of index.images) {
    out.add(img.manifest.digest);
    out.add(img.config.digest);
    for (const l of img.layers) out.add(l.digest);
  }
  return [...out];
}
