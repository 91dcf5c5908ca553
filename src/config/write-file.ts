/** Writes a file atomically: a temporary name in the same directory, then rename (nothing left on failure). */
import { randomBytes } from 'node:crypto';
import { rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { LadingError } from '../util/errors.ts';

export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  // The random suffix only names the temporary file; it never reaches the output.
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await writeFile(tmp, data, { mode: 0o644 });
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw new LadingError('WRITE_FAILED', `cannot write ${path}: ${(e as Error).message}`, { cause: e });
  }
}
