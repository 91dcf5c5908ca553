/**
 * Atomic output: write to a temporary name in the destination directory, then rename, so readers never
 * see a half-written file and a failure leaves nothing behind.
 */
import { readdirSync, rmSync } from 'node:fs';
import { access, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { removeOnExit } from './cleanup.ts';
import { LadingError } from './errors.ts';

export interface WriteFileAtomicOptions {
  /** File mode (default 0o644). */
  mode?: number;
  /** Fail if the destination exists (default false: replace it). */
  exclusive?: boolean;
}

export async function writeFileAtomic(
  path: string,
  data: Buffer | string,
  options: WriteFileAtomicOptions = {},
): Promise<void> {
  sweepAbandonedTemps(path);
  const tmp = tempPath(path);
  try {
    const fh = await open(tmp, 'wx', options.mode ?? 0o644);
    try {
      await fh.writeFile(data);
      await fh.chmod(options.mode ?? 0o644); // open's mode is filtered by the umask
      await fh.sync();
    } finally {
      await fh.close();
    }
    if (options.exclusive) {
      // rename would replace an existing file silently
      const exists = await access(path).then(
        () => true,
        () => false,
      );
      if (exists) {
        throw new LadingError('OUTPUT_EXISTS', 'file exists; refusing to overwrite it', {
          file: path,
          hint: 'remove it first or choose another name',
        });
      }
    }
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    if (e instanceof LadingError) throw e;
    throw new LadingError(
      'OUTPUT_FAILED',
      `cannot write output (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
      {
        file: path,
        hint: 'check that the directory exists and is writable',
      },
    );
  }
}

/**
 * A temporary name beside `path` (same directory, so the final rename is atomic): `.NAME.tmp-PID-RANDOM`.
 * The pid lets a later run tell a crashed writer's leftovers from a live writer's file.
 */
export function tempPath(path: string): string {
  // node:crypto when first needed: the no-op rebuild reads this module and never writes (it costs ~6 ms to load)
  const random = process.getBuiltinModule('node:crypto').randomBytes(4).toString('hex');
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${random}`);
  // an interrupted writer leaves nothing behind (renamed into place, it is simply gone by then)
  removeOnExit(tmp);
  return tmp;
}

/** Temporary files of ours (see tempPath). */
export const TEMP_NAME = /^\..+\.tmp-(\d+)-[0-9a-f]{8}$/;

/** A temporary file of ours whose writer process is gone (a crash); a live writer's temp is left alone. */
export function isAbandonedTemp(name: string): boolean {
  const m = TEMP_NAME.exec(name);
  if (!m) return false;
  try {
    process.kill(Number(m[1]), 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** Removes temporary files that crashed writers left beside `path`. */
export function sweepAbandonedTemps(path: string): void {
  const dir = dirname(path);
  const prefix = `.${basename(path)}.tmp-`;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (name.startsWith(prefix) && isAbandonedTemp(name)) rmSync(join(dir, name), { force: true });
  }
}
