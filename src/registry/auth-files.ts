/**
 * The files registry credentials live in, read as docker, crane, skopeo and podman read them:
 * - Docker's config: `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json` — `auths` (entries with
 *   `auth` = base64(user:password), or `username`/`password`, `identitytoken`, `registrytoken`),
 *   `credHelpers` (registry → helper name) and `credsStore` (the helper for every registry);
 * - `$REGISTRY_AUTH_FILE` and containers' `auth.json` (`$XDG_RUNTIME_DIR/containers/auth.json`, then
 *   `$XDG_CONFIG_HOME/containers/auth.json` or `~/.config/containers/auth.json`): the same `auths` shape,
 *   whose keys may also name a repository or namespace (`host/team/app`, `host/team`).
 * The Docker config is also written here (login/logout): unknown keys kept, tab-indented as docker writes
 * it, mode 0600, through a temporary file and a rename.
 */
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { LadingError } from '../util/errors.ts';
import { tempPath } from '../util/write-file.ts';
import { RegistryCredential } from './credentials.ts';
import { DOCKER_HUB } from './reference.ts';

export type AuthFileKind = 'docker' | 'containers';

export interface AuthFile {
  path: string;
  kind: AuthFileKind;
  data: Record<string, unknown>;
}

function home(env: NodeJS.ProcessEnv): string {
  return env.HOME || homedir();
}

/** Where Docker's config is (whether or not it exists). */
export function dockerConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.DOCKER_CONFIG
    ? join(env.DOCKER_CONFIG, 'config.json')
    : join(home(env), '.docker', 'config.json');
}

/** The auth files to consult, in order, whether or not they exist. */
export function authFileCandidates(
  env: NodeJS.ProcessEnv = process.env,
): { path: string; kind: AuthFileKind }[] {
  const out: { path: string; kind: AuthFileKind }[] = [{ path: dockerConfigPath(env), kind: 'docker' }];
  if (env.REGISTRY_AUTH_FILE) out.push({ path: env.REGISTRY_AUTH_FILE, kind: 'containers' });
  if (env.XDG_RUNTIME_DIR)
    out.push({ path: join(env.XDG_RUNTIME_DIR, 'containers', 'auth.json'), kind: 'containers' });
  out.push({
    path: join(env.XDG_CONFIG_HOME || join(home(env), '.config'), 'containers', 'auth.json'),
    kind: 'containers',
  });
  return out;
}

/** Reads an auth file; undefined when it does not exist. */
export function readAuthFile(path: string, kind: AuthFileKind): AuthFile | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR')
      return undefined;
    throw new LadingError('REGISTRY_AUTH_FILE', `cannot read ${path}: ${(e as Error).message}`, {
      file: path,
      hint: 'check the file permissions',
    });
  }
  if (text.trim() === '') return { path, kind, data: {} };
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    // the message says where, never what: the file holds secrets
    const where = /position (\d+)/.exec((e as Error).message)?.[1];
    throw new LadingError(
      'REGISTRY_AUTH_FILE',
      `${path} is not valid JSON${where ? ` (at byte ${where})` : ''}`,
      {
        file: path,
        hint: 'fix the file, or move it away and log in again',
      },
    );
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new LadingError('REGISTRY_AUTH_FILE', `${path} is not a JSON object`, { file: path });
  }
  return { path, kind, data: data as Record<string, unknown> };
}

function objectField(file: AuthFile, key: string): Record<string, unknown> | undefined {
  const v = file.data[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) {
    throw new LadingError('REGISTRY_AUTH_FILE', `${file.path}: "${key}" must be an object`, {
      file: file.path,
    });
  }
  return v as Record<string, unknown>;
}

/**
 * The registry or repository an `auths` key names, normalised: no scheme, no trailing `/`, no `/v1` or `/v2`
 * API suffix, Docker Hub's aliases as `index.docker.io`.
 */
export function normaliseAuthKey(key: string): string {
  let k = key
    .trim()
    .replace(/^https?:\/\//i, '')
    .replace(/\/+$/, '');
  k = k.replace(/\/v[12]$/, '');
  const slash = k.indexOf('/');
  const host = (slash < 0 ? k : k.slice(0, slash)).toLowerCase();
  const rest = slash < 0 ? '' : k.slice(slash);
  const canonical = host === 'docker.io' || host === 'registry-1.docker.io' ? DOCKER_HUB : host;
  return canonical + rest;
}

/** Lookup keys, most specific first: `host/team/app`, `host/team`, `host`. */
export function lookupKeys(registry: string, path: string): string[] {
  const parts = path.split('/');
  const out: string[] = [];
  for (let n = parts.length; n > 0; n--) out.push(`${registry}/${parts.slice(0, n).join('/')}`);
  out.push(registry);
  return out;
}

export type AuthsLookup = { key: string; entry: Record<string, unknown> } | undefined;

/** The `auths` entry for the most specific key that has one. */
export function findAuthsEntry(file: AuthFile, keys: readonly string[]): AuthsLookup {
  const auths = objectField(file, 'auths');
  if (!auths) return undefined;
  const byKey = new Map<string, { key: string; entry: Record<string, unknown> }>();
  for (const [k, v] of Object.entries(auths)) {
    if (typeof v !== 'object' || v === null) continue;
    const n = normaliseAuthKey(k);
    // an exact key wins over one written as a URL
    if (!byKey.has(n) || k === n) byKey.set(n, { key: k, entry: v as Record<string, unknown> });
  }
  for (const k of keys) {
    const hit = byKey.get(k);
    if (hit) return hit;
  }
  return undefined;
}

/** The credential an `auths` entry holds; undefined when it holds none (docker writes `{}` with a helper). */
export function decodeAuthsEntry(
  file: AuthFile,
  found: NonNullable<AuthsLookup>,
): RegistryCredential | undefined {
  const { key, entry } = found;
  const source = `auths["${key}"] in ${file.path}`;
  const str = (name: string) => (typeof entry[name] === 'string' ? (entry[name] as string) : '');
  let username = str('username');
  let password = str('password');
  const auth = str('auth');
  if (auth !== '') {
    const decoded = Buffer.from(auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) {
      throw new LadingError('REGISTRY_AUTH_FILE', `${source}: "auth" is not base64 of USER:PASSWORD`, {
        file: file.path,
        hint: 'log in again to rewrite it',
      });
    }
    username = decoded.slice(0, colon);
    password = decoded.slice(colon + 1);
  }
  if (str('registrytoken') !== '') return RegistryCredential.registryToken(str('registrytoken'), source);
  if (str('identitytoken') !== '')
    return RegistryCredential.identityToken(username, str('identitytoken'), source);
  if (username === '' && password === '') return undefined;
  return RegistryCredential.basic(username, password, source);
}

/** The credential helper the Docker config names for a registry: `credHelpers[registry]`, else `credsStore`. */
export function helperFor(file: AuthFile, registry: string): { name: string; origin: string } | undefined {
  const helpers = objectField(file, 'credHelpers');
  if (helpers) {
    for (const [k, v] of Object.entries(helpers)) {
      if (typeof v === 'string' && v !== '' && normaliseAuthKey(k) === registry) {
        return { name: v, origin: `credHelpers["${k}"] in ${file.path}` };
      }
    }
  }
  const store = file.data.credsStore;
  if (typeof store === 'string' && store !== '') return { name: store, origin: `credsStore in ${file.path}` };
  return undefined;
}

/**
 * Writes Docker's config as docker does: tab-indented JSON, mode 0600, a temporary file renamed over the
 * target (through a symlink to its real file).
 */
export function writeDockerConfig(path: string, data: Record<string, unknown>): void {
  let target = path;
  try {
    target = realpathSync(path);
  } catch {
    // a new file
  }
  const tmp = tempPath(target);
  try {
    mkdirSync(dirname(target), { recursive: true, mode: 0o700 });
    writeFileSync(tmp, `${JSON.stringify(data, null, '\t')}\n`, { mode: 0o600 });
    chmodSync(tmp, 0o600);
    renameSync(tmp, target);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw new LadingError('REGISTRY_AUTH_FILE', `cannot write ${target}: ${(e as Error).message}`, {
      file: target,
      hint: 'check that the directory is writable (DOCKER_CONFIG chooses another one)',
    });
  }
}

/** Docker's config as an object to change (empty when the file does not exist yet). */
export function loadDockerConfigForUpdate(path: string): Record<string, unknown> {
  return existsSync(path) ? (readAuthFile(path, 'docker')?.data ?? {}) : {};
}
