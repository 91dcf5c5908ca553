/**
 * Build records: what a successful `lading build` read and wrote, so that running the same command again
 * with unchanged inputs can answer at once (the "no-op rebuild") instead of building. A record is keyed by
 * the command line (so each output has its own), working directory, SOURCE_DATE_EPOCH and lading's build id;
 * it is valid only while every input file still has the recorded content (config, includes, indexes and keys
 * by their hash; package files, which are large, by size, mtime and inode) and every output is the file we
 * wrote. A small output another build replaced (a layout's index.json naming another tag, the SBOMs beside it)
 * is written again from the record; a changed large one (a layer, a tarball) means building again. Builds
 * using remote repositories or keys never get a record: the network is an input that cannot be checked
 * without asking it.
 * This module and its imports are small and load no node:crypto (~6 ms): the fast path loads it before
 * anything else. An input is hashed again only when its stat changed since the record was written.
 */
import { mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { BuildResult } from '../pipeline/build.ts';
import { defaultCacheDir } from '../store/default-dir.ts';
import { buildRecordFile } from '../store/layout.ts';
import { tempPath } from '../util/write-file.ts';
import { invocation } from './invocation.ts';

const FORMAT = 2;
/** Outputs up to this size are kept in the record, to be written again when another build replaced them. */
const RESTORABLE = 1 << 20;
/** A hashed input whose mtime is this close to the record's time is hashed again on every check (racy stat). */
const RACY_MS = 2000;

export interface RecordedInput {
  path: string;
  /** Hex SHA-256 of the content the build used (small files). */
  sha256?: string;
  /** Stat fingerprint: the check for a big file; for a hashed one, the stat its hash was last seen to match. */
  stat?: string;
}

export interface RecordedOutput {
  path: string;
  stat: string;
  /** The content of a small output, base64. */
  bytes?: string;
}

export interface BuildRecord {
  format: number;
  /** What the record is keyed by, in full (its file name is a short hash of it). */
  key: string;
  inputs: RecordedInput[];
  outputs: RecordedOutput[];
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

/** SHA-256 of a file, hex; node:crypto is loaded only when a check needs it. */
function sha256File(path: string): string | undefined {
  try {
    const { createHash } = process.getBuiltinModule('node:crypto');
    return createHash('sha256').update(readFileSync(path)).digest('hex');
  } catch {
    return undefined;
  }
}

/** The full text a record is keyed by. */
export function recordKey(
  args: readonly string[],
  cwd: string,
  env: NodeJS.ProcessEnv,
  buildId: string,
): string {
  return JSON.stringify({ f: FORMAT, buildId, args, cwd, sde: env.SOURCE_DATE_EPOCH ?? null });
}

/** FNV-1a, 64 bits, hex: the record's file name (collisions are harmless: the record holds its key). */
function shortHash(text: string): string {
  let h = 0xcbf29ce484222325n;
  for (const b of Buffer.from(text)) h = ((h ^ BigInt(b)) * 0x100000001b3n) & 0xffffffffffffffffn;
  return h.toString(16).padStart(16, '0');
}

export function recordPath(cacheDir: string, key: string): string {
  return buildRecordFile(cacheDir, shortHash(key));
}

/** Writes a file under a temporary name and renames it into place. */
function writeAtomic(path: string, bytes: string | Buffer): void {
  const tmp = tempPath(path);
  try {
    writeFileSync(tmp, bytes);
    renameSync(tmp, path);
  } finally {
    rmSync(tmp, { force: true });
  }
}

/**
 * The record's replay output when every input is as recorded and every output is, or is small and written
 * again from the record; else undefined (then the command runs).
 */
export function checkRecord(path: string, key: string): BuildRecord | undefined {
  let record: BuildRecord;
  try {
    record = JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return undefined;
  }
  if (record.format !== FORMAT || record.key !== key) return undefined;
  let changed = false;
  for (const i of record.inputs) {
    if (i.sha256 === undefined) {
      if (fingerprint(i.path) !== i.stat) return undefined;
      continue;
    }
    if (i.stat !== undefined && fingerprint(i.path) === i.stat) continue;
    // touched, copied back, checked out again: the same content is still the same input
    const seen = hashedStat(i.path, i.sha256);
    if (seen === null) return undefined;
    if (seen !== undefined) {
      i.stat = seen;
      changed = true;
    }
  }
  const replaced = record.outputs.filter((o) => fingerprint(o.path) !== o.stat);
  if (replaced.some((o) => o.bytes === undefined)) return undefined;
  try {
    for (const o of replaced) {
      writeAtomic(o.path, Buffer.from(o.bytes!, 'base64'));
      o.stat = fingerprint(o.path)!;
      changed = true;
    }
    // the next check then needs no hashing and no writing
    if (changed) writeAtomic(path, JSON.stringify(record));
  } catch {
    return undefined;
  }
  return record;
}

/**
 * Whether a file has the content `sha256`: null when not; else its stat fingerprint to trust from now on, or
 * undefined when the stat is too recent to trust (a change within the same clock tick keeps the mtime).
 */
function hashedStat(path: string, sha256: string, now = Date.now()): string | null | undefined {
  const st = statSync(path, { bigint: true, throwIfNoEntry: false });
  if (st === undefined || sha256File(path) !== sha256) return null;
  return Number(st.mtimeMs) < now - RACY_MS ? `${st.ino}:${st.size}:${st.mtimeNs}` : undefined;
}

/**
 * Describes inputs: small files by the hash of the bytes the build used, with the stat they have now when
 * they still hash to it (and are not racy: changed so recently that a change within the same clock tick would
 * keep their mtime), big files by stat.
 */
export function describeInputs(
  hashed: Iterable<RecordedInput & { sha256: string }>,
  statted: Iterable<string>,
  now = Date.now(),
): RecordedInput[] {
  const out: RecordedInput[] = [];
  const seen = new Set<string>();
  for (const h of hashed) {
    if (seen.has(h.path)) continue;
    seen.add(h.path);
    const input: RecordedInput = { path: h.path, sha256: h.sha256 };
    const stat = hashedStat(h.path, h.sha256, now);
    if (stat) input.stat = stat;
    out.push(input);
  }
  for (const path of new Set(statted)) {
    const stat = fingerprint(path);
    if (stat !== undefined) out.push({ path, stat });
  }
  return out;
}

export function writeRecord(
  path: string,
  key: string,
  inputs: RecordedInput[],
  outputs: readonly string[],
  stdout: string,
  stderr: string,
  extra?: Record<string, unknown>,
): void {
  const record: BuildRecord = {
    ...(extra ? { extra } : {}),
    format: FORMAT,
    key,
    inputs,
    outputs: outputs.flatMap((p) => {
      const stat = fingerprint(p);
      if (stat === undefined) return [];
      // a layout's blobs are named by their content: never replaced by another image's, only removed
      const small = Number(stat.split(':')[1]) <= RESTORABLE && !/\/blobs\/sha256\/[0-9a-f]{64}$/.test(p);
      return small ? [{ path: p, stat, bytes: readFileSync(p).toString('base64') }] : [{ path: p, stat }];
    }),
    stdout,
    stderr,
  };
  mkdirSync(join(path, '..'), { recursive: true });
  writeAtomic(path, JSON.stringify(record));
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
      key,
      describeInputs(result.inputs.hashed, result.inputs.statted),
      result.outputFiles,
      stdout,
      stderr,
    );
  } catch {
    // a record is only an optimisation: never fail a finished build over it
  }
}
