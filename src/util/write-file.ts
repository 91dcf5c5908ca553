/**
 * Atomic output: write to a temporary name in the destination directory, then rename, so readers never
 * see a half-written file and a failure leaves nothing behind.
 */
import { randomBytes } from 'node:crypto';
import { access, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
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
  const dir = dirname(path);
  // the random part only names the temporary file; it never reaches the output
  const tmp = join(dir, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
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
