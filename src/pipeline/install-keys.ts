/**
 * `lading install-keys`: apko's install-keys for a root directory (default `/`): the repositories its
 * `/etc/apk/repositories` lists, their keys discovered (repo/key-discovery.ts: Alpine's release keys and
 * Chainguard-style `apk-configuration`; apko's command does the second only), written to `/etc/apk/keys/<name>`
 * (mode 0644, each atomically). The architecture is the root's `/etc/apk/arch`, else this machine's.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { apkArch, hostArchitecture } from '../platform/arch.ts';
import { createFetchOptions } from '../repo/fetch.ts';
import { discoverKeys } from '../repo/key-discovery.ts';
import { parseRepositoryRef, type RepositoryRef } from '../repo/ref.ts';
import { LadingError } from '../util/errors.ts';
import { type Logger, silentLogger } from '../util/log.ts';
import { writeFileAtomic } from '../util/write-file.ts';

export interface InstallKeysOptions {
  /** The root whose /etc/apk is read and written (default `/`). */
  root?: string;
  cacheDir?: string;
  offline?: boolean;
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new LadingError('INSTALL_KEYS_READ', `cannot read ${path} (${(e as Error).message})`);
  }
}

/** The repositories of an `/etc/apk/repositories` text (comments and blank lines skipped). */
export function repositoriesOf(text: string, file: string): RepositoryRef[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => parseRepositoryRef(l, { file }));
}

/** Discovers the keys of the root's repositories and writes them; returns the files written. */
export async function installKeys(options: InstallKeysOptions = {}): Promise<string[]> {
  const root = options.root ?? '/';
  const logger = options.logger ?? silentLogger;
  const reposFile = join(root, 'etc/apk/repositories');
  const text = await readOptional(reposFile);
  if (text === undefined) {
    throw new LadingError('INSTALL_KEYS_NO_REPOSITORIES', `${reposFile} does not exist`, {
      hint: 'list the repositories there (one URL a line), or pass --root DIR for another root',
    });
  }
  const arch = (await readOptional(join(root, 'etc/apk/arch')))?.trim() || apkArch(hostArchitecture());
  const env = options.env ?? process.env;
  const fetch = await createFetchOptions({
    cacheDir: options.cacheDir,
    offline: options.offline,
    env,
    logger,
  });
  const keys = await discoverKeys(repositoriesOf(text, reposFile), [arch], { ...fetch, env });
  const written: string[] = [];
  for (const key of keys) {
    const path = join(root, 'etc/apk/keys', key.name);
    await mkdir(dirname(path), { recursive: true });
    await writeFileAtomic(path, key.content, { mode: 0o644 });
    written.push(path);
  }
  return written;
}
