/** Saves the record of a finished build under the key of this command line (see record.ts). */
import { resolve } from 'node:path';
import { invocation } from '../cli/invocation.ts';
import { defaultCacheDir } from '../store/default-dir.ts';
import type { BuildResult } from './pipeline.ts';
import { describeInputs, recordKey, recordPath, writeRecord } from './record.ts';

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
