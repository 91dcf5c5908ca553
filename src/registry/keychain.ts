/**
 * Finding the credentials for a repository, as docker, crane and skopeo find them. The auth files are
 * consulted in order (see auth-files.ts): Docker's config first — its `credHelpers` entry for the registry,
 * else its `credsStore`, else its `auths` — then `$REGISTRY_AUTH_FILE`, then containers' `auth.json`; the
 * first that has credentials for the repository (most specific key first) wins. ggcr reads only the first
 * file that exists; lading goes on to the next when that one has nothing for the registry, so a
 * `REGISTRY_AUTH_FILE` set for one registry still works on a machine with a Docker config. Last, as apko:
 * `GITHUB_TOKEN` (user `GITHUB_ACTOR`, or `unset`) for ghcr.io.
 */
import { existsSync } from 'node:fs';
import {
  type AuthFile,
  authFileCandidates,
  decodeAuthsEntry,
  findAuthsEntry,
  helperFor,
  lookupKeys,
  readAuthFile,
} from './auth-files.ts';
import { helperGet } from './credential-helper.ts';
import { RegistryCredential } from './credentials.ts';
import { DOCKER_HUB, DOCKER_HUB_CONFIG_KEY, type Repository } from './reference.ts';

export interface Keychain {
  /** The credentials to use for `repository`, or undefined (anonymous). */
  resolve(repository: Repository): Promise<RegistryCredential | undefined>;
}

/** The server string a credential helper is asked about (Docker Hub's is a URL, as docker stores it). */
export function helperServer(registry: string): string {
  return registry === DOCKER_HUB ? DOCKER_HUB_CONFIG_KEY : registry;
}

export function createKeychain(env: NodeJS.ProcessEnv = process.env): Keychain {
  let files: AuthFile[] | undefined;
  const load = () => {
    files ??= authFileCandidates(env)
      .filter((c) => existsSync(c.path))
      .flatMap((c) => readAuthFile(c.path, c.kind) ?? []);
    return files;
  };
  const cache = new Map<string, Promise<RegistryCredential | undefined>>();

  async function lookup(repository: Repository): Promise<RegistryCredential | undefined> {
    const keys = lookupKeys(repository.registry, repository.path);
    for (const file of load()) {
      if (file.kind === 'docker') {
        const helper = helperFor(file, repository.registry);
        if (helper) {
          const c = await helperGet(helper.name, helperServer(repository.registry), helper.origin, env);
          if (c) return c;
        }
      }
      const found = findAuthsEntry(file, keys);
      const c = found && decodeAuthsEntry(file, found);
      if (c) return c;
    }
    if (repository.registry === 'ghcr.io' && env.GITHUB_TOKEN) {
      return RegistryCredential.basic(env.GITHUB_ACTOR || 'unset', env.GITHUB_TOKEN, 'GITHUB_TOKEN');
    }
    return undefined;
  }

  return {
    resolve(repository) {
      const key = `${repository.registry}/${repository.path}`;
      let hit = cache.get(key);
      if (!hit) {
        hit = lookup(repository);
        cache.set(key, hit);
      }
      return hit;
    },
  };
}
