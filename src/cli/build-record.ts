/**
 * Build records: what a successful `lading build` read and wrote, so that running the same command again
 * with unchanged inputs can answer at once (the "no-op rebuild") instead of building. A record is keyed by
 * the command line, working directory, SOURCE_DATE_EPOCH and lading's build id; it is valid only while
 * every input file still has the recorded content (config, includes, indexes and keys are hashed; package
 * files, which are large, are checked by size, mtime and inode) and every output is the file we wrote
 * (size, mtime, inode). Builds using remote repositories or keys never get a record: the network is an
 * input that cannot be checked without asking it.
 * This module and its imports are small: the fast path loads it before anything else.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { BuildResult } from '../pipeline/build.ts';
import { defaultCacheDir } from '../store/default-dir.ts';
import { buildRecordFile } from '../store/layout.ts';
import { tempPath } from '../util/write-file.ts';
import { invocation } from './invocation.ts';

const FORMAT = 1;

export interface RecordedInput {
  path: string;
  /** Hex SHA-256 of the content (small files), or a stat fingerprint for big files. */
  sha256?: string;
  stat?: string;
}

export interface BuildRecord {
  format: number;
  inputs: RecordedInput[];
  /** Output files with their stat fingerprints. */
  outputs: { path: string; stat: string }[];
  /** What the build printed, replayed by a no-op run. */
  stdout: string;
  stderr: string;
  /** What a command's record adds (publish: the tags to ask the registry about). */
  extra?: Record<string, unknown>;
}

function fingerprint(path: string): string | undefined {
  const st = statSync(path, { bigint: true, throwIfNoEntry: false });
  return st ? `${st.ino}:${st.size}:${st.mtimeNs}` : undefined;
}

function sha256File(path: string): string | undefined {
  try {
    return createHash('sha256').update(readFileSync(path)).digest('hex');
  } catch {
    return undefined;
  }
}

export function recordKey(
  args: readonly string[],
  cwd: string,
  env: NodeJS.ProcessEnv,
  buildId: string,
): string {
  return createHash('sha256')
    .update(JSON.stringify({ f: FORMAT, buildId, args, cwd, sde: env.SOURCE_DATE_EPOCH ?? null }))
    .digest('hex');
}

export function recordPath(cacheDir: string, key: string): string {
  return buildRecordFile(cacheDir, key);
}

/** The record's replay output when every input and output is as recorded, else undefined. */
export function checkRecord(path: string): BuildRecord | undefined {
  let record: BuildRecord;
  try {
    record = JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return undefined;
  }
  if (record.format !== FORMAT) return undefined;
  for (const o of record.outputs) if (fingerprint(o.path) !== o.stat) return undefined;
  for (const i of record.inputs) {
    if (i.stat !== undefined && fingerprint(i.path) !== i.stat) return undefined;
    if (i.sha256 !== undefined && sha256File(i.path) !== i.sha256) return undefined;
  }
  return record;
}

/**
 * Describes inputs: small files by the hash of the bytes the build used (not re-read now: a file changed
 * during the build must not look unchanged), big files by stat.
 */
export function describeInputs(
  hashed: Iterable<RecordedInput & { sha256: string }>,
  statted: Iterable<string>,
): RecordedInput[] {
  const out: RecordedInput[] = [];
  const seen = new Set<string>();
  for (const h of hashed) {
    if (seen.has(h.path)) continue;
    seen.add(h.path);
    out.push({ path: h.path, sha256: h.sha256 });
  }
  for (const path of new Set(statted)) {
    const stat = fingerprint(path);
    if (stat !== undefined) out.push({ path, stat });
  }
  return out;
}

export function writeRecord(
  path: string,
  inputs: RecordedInput[],
  outputs: readonly string[],
  stdout: string,
  stderr: string,
  extra?: Record<string, unknown>,
): void {
  const record: BuildRecord = {
    ...(extra ? { extra } : {}),
    format: FORMAT,
    inputs,
    outputs: outputs.flatMap((p) => {
      const stat = fingerprint(p);
      return stat === undefined ? [] : [{ path: p, stat }];
    }),
    stdout,
    stderr,
  };
  mkdirSync(join(path, '..'), { recursive: true });
  const tmp = tempPath(path);
  try {
    writeFileSync(tmp, JSON.stringify(record));
    renameSync(tmp, path);
  } finally {
    rmSync(tmp, { force: true });
  }
}

/** Saves the record of a finished build under the key of this command line. */
export function saveBuildRecord(
  result: BuildResult,
  cacheDirFlag: string | undefined,
  stdout: string,
  stderr: string,
): void {
  const cacheDir = cacheDirFlag ? resolve(invocation.cwd, cacheDirFlag) : defaultCacheDir();
  const key = recordKey(invocation.args, invocation.cwd, process.env, invocation.buildId);
  try {
    writeRecord(
      recordPath(cacheDir, key),
      describeInputs(result.inputs.hashed, result.inputs.statted),
      result.outputFiles,
      stdout,
      stderr,
    );
  } catch {
    // a record is only an optimisation: never fail a finished build over it
  }
}
