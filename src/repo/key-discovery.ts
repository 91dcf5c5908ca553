/**
 * Key discovery, as apko does it (pkg/apk/apk/keyring), for repositories whose keys the config does not list:
 * - Alpine: a repository URL `http(s)://…/alpine/<branch>/<repo>` names a release branch; alpinelinux.org's
 *   releases data lists that branch's keys per architecture (`keys[<apk arch>][].url`, skipped once
 *   `deprecated_since` has passed; the published URLs spell `@` as `%20`, which apko turns back into `@`). A key
 *   is written into the image as the URL's unescaped file name.
 * - Chainguard-style: `GET <repository>/apk-configuration` (404: the repository does not do discovery) gives a
 *   `jwks_uri`, whose JSON Web Key Set holds RSA keys; each becomes `<kid>.rsa.pub` (PEM SPKI), its URL
 *   `<repository>/<kid>.rsa.pub`.
 * Every document goes through the cache like a key (fresh for a minute, then revalidated; a repository without
 * discovery is remembered too), so discovery works `--offline` once it has run. Where apko fails the build
 * when discovery fails, lading warns and goes on: the index signatures are still checked, and a key that is
 * really missing fails there, naming the key.
 */
import { createPublicKey, type JsonWebKey } from 'node:crypto';
import { LadingError } from '../util/errors.ts';
import { redactUrl } from '../util/redact.ts';
import { type FetchOptions, fetchDiscoveryDocument, fetchKey } from './fetch.ts';
import { assertSafeComponent, type RepositoryRef } from './ref.ts';

export const ALPINE_RELEASES_URL = 'https://alpinelinux.org/releases.json';

export interface DiscoveredKey {
  /** The file name in /etc/apk/keys (what signatures name). */
  name: string;
  /** Where the key is published (recorded in lock files). */
  url: string;
  content: Buffer;
}

export interface DiscoverOptions extends FetchOptions {
  /** Where Alpine's releases data is (default: LADING_ALPINE_RELEASES_URL from `env`, else ALPINE_RELEASES_URL). */
  alpineReleasesUrl?: string;
  env?: NodeJS.ProcessEnv;
  /** For deprecation dates (default: now). */
  date?: Date;
}

const ALPINE_REPOSITORY = /^https?:\/\/.+\/alpine\/([^/]+)\/[^/]+$/;

/** The Alpine release branch (`v3.19`, `edge`) a repository URL names, as apko reads it. */
export function alpineBranch(repositoryUrl: string): string | undefined {
  return ALPINE_REPOSITORY.exec(repositoryUrl)?.[1];
}

/**
 * Whether a key URL is one discovery finds for these repositories: a key under a repository (Chainguard-style)
 * or one of alpinelinux.org's keys for an Alpine repository. Lock files record discovered keys beside the
 * configured ones; these are not "keys added to the lock" when the config is checked against it.
 */
export function isDiscoverableKeyUrl(url: string, repositories: readonly RepositoryRef[]): boolean {
  const http = repositories.filter((r) => r.kind === 'http');
  if (http.some((r) => url.startsWith(`${r.base}/`) && !url.slice(r.base.length + 1).includes('/')))
    return true;
  return (
    http.some((r) => alpineBranch(r.base) !== undefined) &&
    /^https?:\/\/[^/]+\/keys\/[^/]+\.rsa\.pub$/.test(url)
  );
}

export interface AlpineReleases {
  release_branches?: {
    rel_branch?: string;
    keys?: Record<string, { url?: string; deprecated_since?: string | null }[]>;
  }[];
}

/** The key URLs alpinelinux.org's releases data gives for these branches and architectures. */
export function alpineKeyUrls(
  releases: AlpineReleases,
  branches: readonly string[],
  apkArchs: readonly string[],
  date: Date,
): string[] {
  const urls: string[] = [];
  for (const branch of branches) {
    const entry = releases.release_branches?.find((b) => b.rel_branch === branch);
    for (const arch of apkArchs) {
      for (const key of entry?.keys?.[arch] ?? []) {
        if (typeof key.url !== 'string') continue;
        const deprecated = key.deprecated_since ? Date.parse(key.deprecated_since) : Number.NaN;
        if (Number.isFinite(deprecated) && deprecated <= date.getTime()) continue;
        const url = key.url.replaceAll('%20', '@');
        if (!urls.includes(url)) urls.push(url);
      }
    }
  }
  return urls;
}

/** The RSA keys of a JSON Web Key Set as `<kid>.rsa.pub` PEM files published under `repository`. */
export function jwksKeys(jwks: unknown, repository: string, where: string): DiscoveredKey[] {
  const keys = (jwks as { keys?: unknown })?.keys;
  if (!Array.isArray(keys)) throw discoveryError(`${where} is not a JSON Web Key Set (no "keys" list)`);
  return keys.map((jwk: JsonWebKey & { kid?: unknown }) => {
    if (typeof jwk.kid !== 'string' || jwk.kid === '') throw discoveryError(`${where}: a key has no "kid"`);
    const name = `${jwk.kid}.rsa.pub`;
    assertSafeComponent('key name', name);
    let pem: string;
    try {
      const key = createPublicKey({ key: jwk, format: 'jwk' });
      if (key.asymmetricKeyType !== 'rsa') throw new Error(`a ${key.asymmetricKeyType} key, not RSA`);
      pem = key.export({ type: 'spki', format: 'pem' }).toString();
    } catch (e) {
      throw discoveryError(`${where}: key ${jwk.kid} cannot be used (${(e as Error).message})`);
    }
    return { name, url: `${repository}/${name}`, content: Buffer.from(pem) };
  });
}

function discoveryError(message: string): LadingError {
  return new LadingError('KEY_DISCOVERY', message, {
    hint: 'list the repository’s keys under contents.keyring instead',
  });
}

function parseJson(bytes: Buffer, where: string): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    throw discoveryError(`${where} is not JSON`);
  }
}

/** A key's file name: the URL's last path segment, unescaped (`alpine-devel@lists.alpinelinux.org-….rsa.pub`). */
export function keyFileName(url: string): string {
  const last = new URL(url).pathname.split('/').pop() ?? '';
  let name: string;
  try {
    name = decodeURIComponent(last);
  } catch {
    name = last;
  }
  assertSafeComponent('key name', name);
  return name;
}

/** Alpine's keys for the branches the repositories name. */
async function alpineKeys(
  repositories: readonly RepositoryRef[],
  apkArchs: readonly string[],
  options: DiscoverOptions,
): Promise<DiscoveredKey[]> {
  const branches = [...new Set(repositories.map((r) => alpineBranch(r.base)).filter((b) => b !== undefined))];
  if (branches.length === 0) return [];
  const where = options.alpineReleasesUrl ?? (options.env?.LADING_ALPINE_RELEASES_URL || ALPINE_RELEASES_URL);
  const doc = await fetchDiscoveryDocument(where, undefined, 'Alpine releases data', options);
  if (doc === undefined) throw discoveryError(`Alpine releases data not found at ${where}`);
  const urls = alpineKeyUrls(
    parseJson(doc.bytes, where) as AlpineReleases,
    branches,
    apkArchs,
    options.date ?? new Date(),
  );
  if (urls.length === 0) {
    options.logger?.debug(`no Alpine keys listed for ${branches.join(', ')} (${apkArchs.join(', ')})`);
    return [];
  }
  return Promise.all(
    urls.map(async (url) => ({
      name: keyFileName(url),
      url,
      content: (await fetchKey({ kind: 'http', url, display: url }, options)).bytes,
    })),
  );
}

/** Chainguard-style discovery for one repository: none when it has no apk-configuration. */
async function configuredKeys(repository: RepositoryRef, options: DiscoverOptions): Promise<DiscoveredKey[]> {
  const where = `${repository.base}/apk-configuration`;
  const doc = await fetchDiscoveryDocument(where, repository.credentials, 'key discovery document', options);
  if (doc === undefined) return [];
  const jwksUri = (parseJson(doc.bytes, where) as { jwks_uri?: unknown })?.jwks_uri;
  if (typeof jwksUri !== 'string' || jwksUri === '') throw discoveryError(`${where} has no "jwks_uri"`);
  let jwksUrl: string;
  try {
    jwksUrl = new URL(jwksUri, where).href;
  } catch {
    throw discoveryError(`${where}: jwks_uri ${JSON.stringify(jwksUri)} is not a URL`);
  }
  const jwks = await fetchDiscoveryDocument(jwksUrl, repository.credentials, 'key set (JWKS)', options);
  if (jwks === undefined)
    throw discoveryError(`the key set ${redactUrl(jwksUrl)} named by ${where} is not there`);
  return jwksKeys(parseJson(jwks.bytes, jwksUrl), repository.base, redactUrl(jwksUrl));
}

/**
 * The keys discovery finds for the http(s) repositories, first found first, one per file name. A discovery
 * that fails is a warning (see above); offline, what the cache does not hold is skipped.
 */
export async function discoverKeys(
  repositories: readonly RepositoryRef[],
  apkArchs: readonly string[],
  options: DiscoverOptions,
): Promise<DiscoveredKey[]> {
  const http = repositories.filter((r) => r.kind === 'http');
  if (http.length === 0) return [];
  const warn =
    (what: string) =>
    (e: unknown): DiscoveredKey[] => {
      if (!(e instanceof LadingError)) throw e;
      if (e.code === 'REPO_OFFLINE') options.logger?.debug(`${what}: ${e.message}`);
      else options.logger?.warn(`${what} failed: ${e.message}`);
      return [];
    };
  const found = await Promise.all([
    alpineKeys(http, apkArchs, options).catch(warn('Alpine key discovery')),
    ...http.map((r) => configuredKeys(r, options).catch(warn(`key discovery for ${r.display}`))),
  ]);
  const seen = new Set<string>();
  return found.flat().filter((k) => !seen.has(k.name) && seen.add(k.name));
}
