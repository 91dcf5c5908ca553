/**
 * The destination phase: the image to its destination (a path names an OCI layout or a docker archive; a
 * library caller may pass any ImageDestination) and the SBOMs (beside a path output, named after it, or in
 * --sbom-path under apko's names), so that a failure leaves nothing half-written.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve as resolvePath } from 'node:path';
import { type ImageDestination, writeImage } from '../oci/destination.ts';
import { dockerArchiveDestination } from '../oci/docker-archive.ts';
import { layoutDestination } from '../oci/layout.ts';
import type { ImageIndex } from '../oci/types.ts';
import { describedImage, imageRepository } from '../sbom/described-image.ts';
import { LadingError } from '../util/errors.ts';
import type { Logger } from '../util/log.ts';
import { tempPath } from '../util/write-file.ts';
import { type SbomFile, type SbomFormat, sbomFileName } from './sbom-files.ts';

export interface OutputOptions {
  /**
   * Where the image goes: a destination, or a path as given on the command line (an existing directory or a
   * path ending in `/` is an OCI layout, anything else a docker archive).
   */
  output: string | ImageDestination;
  /** `NAME[:TAG]` recorded in the outputs. */
  tag: string;
  /**
   * Where the SBOMs go: into this directory under apko's names; by default beside a path output, named after
   * it (`OUT.sbom-<arch>.spdx.json`); none for another destination.
   */
  sbomPath?: string;
  cwd: string;
}

export interface WrittenOutputs {
  /** The image output (a file, a layout directory, or the destination's location), then the SBOMs. */
  outputs: string[];
  /** Every file written (for a layout: its index.json, oci-layout and blobs). */
  outputFiles: string[];
}

/**
 * Writes the image to its destination and the SBOMs. The SBOMs are written first under temporary names, so a
 * bad --sbom-path fails before anything else is written; they get their names only after the image is in place.
 */
export async function writeOutputs(
  index: ImageIndex,
  sbomFiles: readonly SbomFile[],
  options: OutputOptions,
  logger: Logger,
): Promise<WrittenOutputs> {
  const { output } = options;
  const path = typeof output === 'string' ? resolvePath(options.cwd, output) : undefined;
  const placement = sbomPlacement(options);
  const staged: { tmp: string; path: string }[] = [];
  const outputs: string[] = [];
  const outputFiles: string[] = [];
  try {
    if (sbomFiles.length && placement !== undefined) {
      try {
        mkdirSync(placement.dir, { recursive: true });
        for (const f of sbomFiles) {
          const path = join(placement.dir, placement.fileName(f.name));
          const tmp = tempPath(path);
          staged.push({ tmp, path });
          writeFileSync(tmp, f.text);
        }
      } catch (e) {
        throw new LadingError(
          'OUTPUT_FAILED',
          `cannot write the SBOMs to ${placement.dir}: ${(e as Error).message}`,
          {
            hint: 'choose a writable directory with --sbom-path, or --sbom=false',
            cause: e,
          },
        );
      }
    }
    // after the SBOMs: an OUT that --sbom-path just created is a directory, so it gets a layout
    const destination = typeof output === 'string' ? pathDestination(output, path!, logger) : output;
    const written = await writeImage(destination, index, { tag: options.tag });
    outputs.push(path ?? destination.location);
    outputFiles.push(...written.files);
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

/** The destination a path names: an OCI layout (made when missing) or a docker archive. */
export function pathDestination(given: string, path: string, logger: Logger): ImageDestination {
  return prepareOutputPath(given, path, logger) ? layoutDestination(path) : dockerArchiveDestination(path);
}

/**
 * Where the SBOMs go. Beside OUT, each named after it (`app.tar` → `app.tar.sbom-x86_64.spdx.json`, a layout
 * `app/` → `app.sbom-…`): two OUTs never share a name, so images built into one directory keep their own SBOMs,
 * and an SBOM is replaced only with its own output. With --sbom-path DIR, apko's names (`sbom-x86_64.spdx.json`)
 * in DIR, as apko writes them.
 */
function sbomPlacement(
  options: OutputOptions,
): { dir: string; fileName: (apkoName: string) => string } | undefined {
  if (options.sbomPath !== undefined)
    return { dir: resolvePath(options.cwd, options.sbomPath), fileName: (n) => n };
  if (typeof options.output !== 'string') return undefined;
  const output = resolvePath(options.cwd, options.output);
  return { dir: dirname(output), fileName: (n) => `${basename(output)}.${n}` };
}

/**
 * apko's SBOM names are the same for every image, so two images given one --sbom-path would replace each
 * other's SBOMs without a word. Refused, before anything is built or written, when a file there describes
 * another image (another repository: a new tag of the same image replaces its SBOM, as a rebuild does).
 */
export function refuseAnotherImagesSboms(
  options: OutputOptions,
  formats: readonly SbomFormat[] | false,
  apkArchs: readonly string[],
): void {
  if (formats === false || options.sbomPath === undefined) return;
  const dir = resolvePath(options.cwd, options.sbomPath);
  const ours = imageRepository(options.tag);
  for (const scope of [...apkArchs, 'index'])
    for (const format of formats) {
      const path = join(dir, sbomFileName(scope, format));
      let text: string;
      try {
        text = readFileSync(path, 'utf8');
      } catch {
        continue;
      }
      const theirs = describedImage(text, scope);
      if (theirs === ours) continue;
      throw new LadingError(
        'SBOM_OF_ANOTHER_IMAGE',
        `${path} is the SBOM of ${theirs === undefined ? 'something lading did not write' : `the image ${theirs}`}; building ${options.tag} with --sbom-path ${options.sbomPath} would replace it`,
        {
          hint: 'give each image its own --sbom-path directory, or leave --sbom-path out to name the SBOMs after OUT; remove the old file if it is no longer wanted',
        },
      );
    }
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
