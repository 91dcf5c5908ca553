/** Where the cache lives by default. Kept free of other imports: the no-op fast path loads it at start-up. */
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { LadingError } from '../util/errors.ts';

/** `$XDG_CACHE_HOME/lading`, else `~/.cache/lading`. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env, home: string = homedir()): string {
  const xdg = env.XDG_CACHE_HOME;
  // The XDG spec says relative values are invalid and must be ignored.
  if (xdg && isAbsolute(xdg)) return join(xdg, 'lading');
  if (!home) {
    throw new LadingError(
      'STORE_NO_DIR',
      'cannot find a cache directory: no home directory and no XDG_CACHE_HOME',
      {
        hint: 'pass --cache-dir DIR',
      },
    );
  }
  return join(home, '.cache', 'lading');
}
