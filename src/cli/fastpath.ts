/**
 * The no-op rebuild: `lading build …` run again with nothing changed answers from its build record without
 * loading the rest of lading (see build-record.ts for what makes a record valid); `lading publish …` likewise,
 * after asking the registry whether every tag still names the image (publish-record.ts). Any doubt — another
 * command, an unreadable record, a changed input or output — falls through to the real command.
 */
import { isAbsolute, resolve } from 'node:path';
import { defaultCacheDir } from '../store/default-dir.ts';
import { checkRecord, recordKey, recordPath } from './build-record.ts';
import { invocation } from './invocation.ts';

/** The --cache-dir value, or the default; undefined when the command line is not a plain `command`. */
function cacheDirOf(args: readonly string[], command = 'build'): string | undefined {
  const i = args.indexOf(command);
  if (i < 0 || args.slice(0, i).some((a) => !a.startsWith('-'))) return undefined;
  if (args.includes('--help') || args.includes('-h') || args.includes('-C') || args.includes('--workdir'))
    return undefined;
  for (let j = i + 1; j < args.length; j++) {
    const a = args[j]!;
    if (a === '--cache-dir') return args[j + 1] && resolve(invocation.cwd, args[j + 1]!);
    if (a.startsWith('--cache-dir=')) return resolve(invocation.cwd, a.slice(12));
  }
  try {
    const dir = defaultCacheDir();
    return isAbsolute(dir) ? dir : undefined;
  } catch {
    return undefined;
  }
}

/** Replays a valid record and returns true, or returns false to run the command. */
export function tryNoopBuild(): boolean {
  const cacheDir = cacheDirOf(invocation.args);
  if (cacheDir === undefined) return false;
  const key = recordKey(invocation.args, invocation.cwd, process.env, invocation.buildId);
  const record = checkRecord(recordPath(cacheDir, key), key);
  if (record === undefined) return false;
  process.stderr.write(record.stderr);
  process.stdout.write(record.stdout);
  return true;
}

/** The same for `lading publish`: a valid record whose tags all still name its image. */
export async function tryNoopPublish(): Promise<boolean> {
  const cacheDir = cacheDirOf(invocation.args, 'publish');
  if (cacheDir === undefined) return false;
  const { tryNoopPublish: replay } = await import('./publish-record.ts');
  return replay(cacheDir);
}
