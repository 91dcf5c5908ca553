/**
 * Shared caches beside the local one (see cache.ts for how they are consulted):
 * - read-only tiers, asked in order when the local cache lacks a reference or a blob: `--cache-from`, and a
 *   `--cache-dir` this process cannot write;
 * - one sink written through (`--cache-to`).
 * A tier is a directory in lading's own layout (another machine's cache, a read-only volume, a warm cache baked
 * into a runner image) or an http(s) URL speaking Bazel's remote cache protocol: blobs at `/cas/<sha256 hex>`,
 * references at `/ac/<hex>` (the SHA-256 of `lading-cache <layout>`, the namespace and the key) with the
 * reference's JSON as the body. nginx with WebDAV, Apache mod_dav, bazel-remote (with --disable_http_ac_validation)
 * and S3 gateways serve it.
 *
 * Nothing read from a tier is trusted: the caller hashes every blob before use and drops the references' stat
 * fingerprints. Over HTTP only the namespaces whose keys name their content completely are shared (packages,
 * expanded packages, layers, resolutions). A tier or sink that fails is turned off for the rest of the process
 * with one warning: a failing cache only slows the build.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { BasicCredentials } from '../net/auth.ts';
import { createHttpClient, type HttpClient } from '../net/http.ts';
import type { Logger } from '../util/log.ts';
import { redactUrl } from '../util/redact.ts';
import { blobFile, CACHE_LAYOUT, refFile } from './layout.ts';

export interface DirectoryTier {
  readonly kind: 'directory';
  /** The cache directory (what --cache-dir would name). */
  readonly dir: string;
  readonly location: string;
}

export interface HttpTier {
  readonly kind: 'http';
  /** Where things are, for messages (credentials removed). */
  readonly location: string;
  /** The reference's JSON text, or undefined when the server has none. */
  refText(namespace: string, keyText: string): Promise<string | undefined>;
  /** Streams the blob into `write`; false when the server has none. */
  fetchBlob(digest: string, write: (chunk: Uint8Array) => Promise<void>): Promise<boolean>;
  /** Stores a blob (unless the server has it) and a reference. */
  putBlob(digest: string, size: number, open: () => Readable): Promise<void>;
  putRef(namespace: string, keyText: string, text: string): Promise<void>;
}

export type CacheTier = DirectoryTier | HttpTier;

/** The reference file's text in a directory tier, or undefined. */
export async function directoryRefText(
  tier: DirectoryTier,
  namespace: string,
  keyText: string,
): Promise<string | undefined> {
  try {
    return await readFile(refFile(tier.dir, namespace, keyText), 'utf8');
  } catch {
    return undefined;
  }
}

/** Where a directory tier would hold a blob. */
export function directoryBlobPath(tier: DirectoryTier, digest: string): string {
  return blobFile(tier.dir, digest);
}

/** The `/ac/` name of a reference: no key text (URLs) appears on the wire. */
export function actionKey(namespace: string, keyText: string): string {
  return createHash('sha256').update(`lading-cache ${CACHE_LAYOUT}\0${namespace}\0${keyText}`).digest('hex');
}

/** A tier from a --cache-from / --cache-to value: an http(s) URL, or a directory. */
export function parseTier(
  value: string,
  options: { logger: Logger; resolveDir: (dir: string) => string; http?: HttpClient },
): CacheTier {
  if (/^https?:\/\//i.test(value)) return httpTier(value, options.http ?? cacheHttpClient(options.logger));
  const dir = options.resolveDir(value);
  return { kind: 'directory', dir, location: dir };
}

/** Short timeouts and one retry: a slow cache must cost less than building without it. */
function cacheHttpClient(logger: Logger): HttpClient {
  return createHttpClient({ attempts: 2, retryDelayMs: 200, timeoutMs: 10_000, logger });
}

/** Credentials in the URL (`https://user:token@cache/…`) become the requests' Basic credentials. */
function httpTier(value: string, http: HttpClient): HttpTier {
  const url = new URL(value);
  const credentials =
    url.username || url.password
      ? new BasicCredentials(decodeURIComponent(url.username), decodeURIComponent(url.password))
      : undefined;
  url.username = '';
  url.password = '';
  const base = url.href.endsWith('/') ? url.href : `${url.href}/`;
  const location = redactUrl(value);
  const common = { ...(credentials ? { credentials } : {}), what: 'a shared cache entry' };
  return {
    kind: 'http',
    location,
    async refText(namespace, keyText) {
      const res = await http.request(`${base}ac/${actionKey(namespace, keyText)}`, {
        ...common,
        accept: [404],
      });
      if (res.status === 404) {
        await res.cancel();
        return undefined;
      }
      return (await res.bytes()).toString('utf8');
    },
    async fetchBlob(digest, write) {
      const res = await http.request(`${base}cas/${digest.slice('sha256:'.length)}`, {
        ...common,
        accept: [404],
      });
      if (res.status === 404) {
        await res.cancel();
        return false;
      }
      for await (const chunk of res.stream()) await write(chunk as Uint8Array);
      return true;
    },
    async putBlob(digest, size, open) {
      const url = `${base}cas/${digest.slice('sha256:'.length)}`;
      const head = await http.request(url, { ...common, method: 'HEAD', accept: [404] });
      await head.cancel();
      if (head.status === 200) return;
      const res = await http.request(url, {
        ...common,
        method: 'PUT',
        headers: { 'content-type': 'application/octet-stream', 'content-length': String(size) },
        body: open,
      });
      await res.cancel();
    },
    async putRef(namespace, keyText, text) {
      const res = await http.request(`${base}ac/${actionKey(namespace, keyText)}`, {
        ...common,
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: () => text,
      });
      await res.cancel();
    },
  };
}
