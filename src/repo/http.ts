/**
 * HTTP GET over Node's fetch, with the policies a package fetcher needs:
 * - `User-Agent: lading/<version>`, `Accept-Encoding: identity` (we want the stored bytes, not a re-encoding);
 * - basic auth from the caller (URL userinfo, sent only to the URL's own origin) or from HTTP_AUTH (by host);
 * - redirects followed by hand so credentials never go to another origin, and https → http is refused;
 * - retries with exponential backoff (no jitter: a CLI makes few requests) on 5xx, 429 (Retry-After honoured
 *   up to a cap), connection failures, resets, idle timeouts and bodies shorter than Content-Length;
 * - other 4xx fail at once; a size limit; a cap on concurrent requests.
 * Nothing here logs or throws a credential: requested URLs never carry userinfo, and URLs in messages drop
 * their query (a redirect may point at a pre-signed URL whose query is a credential).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import packageJson from '../../package.json' with { type: 'json' };
import { LadingError } from '../util/errors.ts';
import { type Logger, silentLogger } from '../util/log.ts';
import { type BasicCredentials, credentialsForHost, type HttpAuthEntry } from './auth.ts';
import { createLimiter, type Limiter } from './limit.ts';

export const DEFAULT_USER_AGENT = `lading/${packageJson.version}`;

export interface HttpClientOptions {
  userAgent?: string;
  /** Parsed HTTP_AUTH entries. */
  auth?: readonly HttpAuthEntry[];
  /** Total attempts per request, including the first (default 4). */
  attempts?: number;
  /** Delay before the first retry; doubled for each further retry (default 500 ms). */
  retryDelayMs?: number;
  /** Longest Retry-After we wait (default 30 s); a longer one is shortened to this. */
  maxRetryAfterMs?: number;
  /** Longest time without progress — connecting, waiting for headers, between body chunks (default 30 s). */
  timeoutMs?: number;
  /** Largest response body accepted (default 1 GiB), as apko's --max-http-response-size. */
  maxResponseBytes?: number;
  maxRedirects?: number;
  /** Requests in flight at once (default 8). */
  concurrency?: number;
  logger?: Logger;
}

/** Where a response body goes; a failed attempt discards it and the retry opens a new one. */
export interface BodySink {
  write(chunk: Uint8Array): Promise<void> | void;
  discard(): Promise<void> | void;
}

export interface GetOptions<S extends BodySink> {
  /** Credentials from the URL's userinfo; sent only to that URL's origin. */
  credentials?: BasicCredentials;
  /** Extra request headers (If-None-Match, If-Modified-Since). */
  headers?: Record<string, string>;
  /** Opens the sink for a 200 body. */
  sink: () => S | Promise<S>;
  /** What is fetched, for messages ("index of repository …"); defaults to "file". */
  what?: string;
}

export type GetResult<S> =
  | { status: 200; headers: Headers; sink: S; size: number }
  | { status: 304; headers: Headers };

export interface HttpClient {
  readonly logger: Logger;
  get<S extends BodySink>(url: string, options: GetOptions<S>): Promise<GetResult<S>>;
}

/** A failure worth another attempt. */
class Transient extends Error {
  readonly retryAfterMs: number | undefined;
  constructor(message: string, retryAfterMs?: number) {
    super(message);
    this.retryAfterMs = retryAfterMs;
  }
}

class SinkFailure extends Error {
  constructor(cause: unknown) {
    super('sink failed', { cause });
  }
}

/** `origin + path`, with any query replaced by `?…`; URLs we build never hold userinfo. */
export function describeUrl(url: string | URL): string {
  const u = typeof url === 'string' ? new URL(url) : url;
  return `${u.protocol}//${u.host}${u.pathname}${u.search ? '?…' : ''}`;
}

export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (value === null) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

export function createHttpClient(options: HttpClientOptions = {}): HttpClient {
  const logger = options.logger ?? silentLogger;
  const attempts = Math.max(1, options.attempts ?? 4);
  const retryDelayMs = options.retryDelayMs ?? 500;
  const maxRetryAfterMs = options.maxRetryAfterMs ?? 30_000;
  const limit: Limiter = createLimiter(options.concurrency ?? 8);
  const settings: AttemptSettings = {
    userAgent: options.userAgent ?? DEFAULT_USER_AGENT,
    auth: options.auth ?? [],
    timeoutMs: options.timeoutMs ?? 30_000,
    maxResponseBytes: options.maxResponseBytes ?? 1024 ** 3,
    maxRedirects: options.maxRedirects ?? 5,
  };

  async function get<S extends BodySink>(url: string, opts: GetOptions<S>): Promise<GetResult<S>> {
    const start = new URL(url);
    if (start.username !== '' || start.password !== '') {
      throw new Error('bug: URLs given to the HTTP client must not carry credentials; pass them as options');
    }
    const shown = describeUrl(start);
    for (let attempt = 1; ; attempt++) {
      try {
        logger.debug(`GET ${shown}${attempt > 1 ? ` (attempt ${attempt} of ${attempts})` : ''}`);
        return await limit(() => attemptGet(start, opts, settings));
      } catch (e) {
        if (!(e instanceof Transient)) throw e;
        if (attempt >= attempts) {
          throw new LadingError(
            'repo.network',
            `could not fetch ${opts.what ?? 'file'} from ${shown} after ${attempts} attempts: ${e.message}`,
            { hint: 'check the network and the repository; --offline builds from the cache alone' },
          );
        }
        const backoff = retryDelayMs * 2 ** (attempt - 1);
        const delay = e.retryAfterMs === undefined ? backoff : Math.min(e.retryAfterMs, maxRetryAfterMs);
        logger.warn(
          `GET ${shown}: ${e.message}; retrying in ${delay} ms (attempt ${attempt + 1} of ${attempts})`,
        );
        await sleep(delay);
      }
    }
  }

  return { logger, get };
}

interface AttemptSettings {
  userAgent: string;
  auth: readonly HttpAuthEntry[];
  timeoutMs: number;
  maxResponseBytes: number;
  maxRedirects: number;
}

/** One attempt: follows redirects, then reads a 200 body into a fresh sink. Throws Transient to retry. */
async function attemptGet<S extends BodySink>(
  start: URL,
  opts: GetOptions<S>,
  settings: AttemptSettings,
): Promise<GetResult<S>> {
  const what = opts.what ?? 'file';
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => controller.abort(), settings.timeoutMs);
  };
  const timedOut = () => new Transient(`no data for ${settings.timeoutMs} ms`);
  try {
    let url = start;
    for (let hop = 0; ; hop++) {
      const headers: Record<string, string> = {
        'user-agent': settings.userAgent,
        'accept-encoding': 'identity',
        ...opts.headers,
      };
      const credentials =
        opts.credentials !== undefined && url.origin === start.origin
          ? opts.credentials
          : credentialsForHost(url.hostname, settings.auth);
      if (credentials) headers.authorization = credentials.authorization();

      arm();
      let res: Response;
      try {
        res = await fetch(url, { headers, redirect: 'manual', signal: controller.signal });
      } catch (e) {
        if (controller.signal.aborted) throw timedOut();
        throw connectionFailure(e, url, what);
      }

      const location = res.headers.get('location');
      if ([301, 302, 303, 307, 308].includes(res.status) && location !== null) {
        await res.body?.cancel().catch(() => {});
        if (hop >= settings.maxRedirects) {
          throw new LadingError(
            'repo.http',
            `too many redirects fetching ${what} from ${describeUrl(start)}`,
          );
        }
        const next = URL.parse(location, url.href);
        if (next === null || (next.protocol !== 'http:' && next.protocol !== 'https:')) {
          throw new LadingError(
            'repo.http',
            `${describeUrl(url)} redirects to an unusable location (${what})`,
          );
        }
        next.username = '';
        next.password = '';
        if (url.protocol === 'https:' && next.protocol !== 'https:') {
          throw new LadingError(
            'repo.http',
            `refusing redirect from ${describeUrl(url)} to insecure ${describeUrl(next)} (${what})`,
            {
              hint: 'ask the repository operator to redirect to https, or configure the http:// URL directly',
            },
          );
        }
        url = next;
        continue;
      }
      if (res.status === 304) {
        await res.body?.cancel().catch(() => {});
        return { status: 304, headers: res.headers };
      }
      if (res.status !== 200) {
        await res.body?.cancel().catch(() => {});
        throw statusFailure(res, url, what, credentials !== undefined);
      }
      const body = await readBody(res, url, opts, settings, arm, () => controller.signal.aborted);
      return { status: 200, headers: res.headers, ...body };
    }
  } finally {
    clearTimeout(timer);
  }
}

async function readBody<S extends BodySink>(
  res: Response,
  url: URL,
  opts: GetOptions<S>,
  settings: AttemptSettings,
  arm: () => void,
  aborted: () => boolean,
): Promise<{ sink: S; size: number }> {
  const declared = res.headers.get('content-length');
  const expected = declared !== null && /^\d+$/.test(declared) ? Number(declared) : undefined;
  const encoded = (res.headers.get('content-encoding') ?? 'identity').toLowerCase() !== 'identity';
  if (expected !== undefined && expected > settings.maxResponseBytes) {
    await res.body?.cancel().catch(() => {});
    throw tooLarge(url, opts.what, settings.maxResponseBytes);
  }
  const sink = await opts.sink();
  let size = 0;
  try {
    if (res.body) {
      for await (const chunk of res.body) {
        arm();
        size += chunk.byteLength;
        if (size > settings.maxResponseBytes) throw tooLarge(url, opts.what, settings.maxResponseBytes);
        // A failing sink (disk full) is not a network problem: pass its error on unchanged, not retried.
        await Promise.resolve(sink.write(chunk)).catch((e: unknown) => {
          throw new SinkFailure(e);
        });
      }
    }
    // fetch transparently decodes a Content-Encoding, after which Content-Length no longer applies.
    if (expected !== undefined && !encoded && size !== expected) {
      throw new Transient(`body ended after ${size} of ${expected} bytes`);
    }
    return { sink, size };
  } catch (e) {
    await sink.discard();
    if (e instanceof SinkFailure) throw e.cause;
    if (e instanceof LadingError || e instanceof Transient) throw e;
    if (res.body && !res.bodyUsed) await res.body.cancel().catch(() => {});
    if (aborted()) throw new Transient(`no data for ${settings.timeoutMs} ms after ${size} bytes`);
    throw new Transient(`connection lost after ${size} bytes (${reason(e)})`);
  }
}

function tooLarge(url: URL, what: string | undefined, max: number): LadingError {
  return new LadingError(
    'repo.too-large',
    `${what ?? 'file'} at ${describeUrl(url)} is larger than the limit of ${max} bytes`,
    { hint: 'the limit protects against runaway downloads; check that the URL names the intended file' },
  );
}

/** The most specific reason from fetch's wrapped errors (`fetch failed` → ECONNREFUSED …). */
function reason(e: unknown): string {
  let cur: unknown = e;
  let text = 'unknown error';
  for (let depth = 0; cur instanceof Error && depth < 4; depth++) {
    const code = (cur as NodeJS.ErrnoException).code;
    text = code
      ? `${code}${cur.message && !cur.message.includes(code) ? ` ${cur.message}` : ''}`
      : cur.message;
    cur = cur.cause;
  }
  return text;
}

const PERMANENT_NETWORK = new Set(['ENOTFOUND', 'ERR_INVALID_URL', 'ERR_TLS_CERT_ALTNAME_INVALID']);

function connectionFailure(e: unknown, url: URL, what: string): Error {
  const why = reason(e);
  const code = why.split(' ')[0]!;
  if (PERMANENT_NETWORK.has(code) || /certificate|self[- ]signed/i.test(why)) {
    return new LadingError('repo.network', `could not fetch ${what} from ${describeUrl(url)}: ${why}`, {
      hint: 'check the host name in the repository URL and the network',
    });
  }
  return new Transient(`connection failed (${why})`);
}

function statusFailure(res: Response, url: URL, what: string, sentCredentials: boolean): Error {
  const status = `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`;
  const shown = describeUrl(url);
  if (res.status === 429 || (res.status >= 500 && res.status !== 501 && res.status !== 505)) {
    return new Transient(status, parseRetryAfter(res.headers.get('retry-after'), Date.now()));
  }
  if (res.status === 404 || res.status === 410) {
    return new LadingError('repo.not-found', `${what} not found at ${shown} (${status})`, {
      hint: 'check the repository URL and architecture; a package missing from its repository means a stale index',
    });
  }
  if (res.status === 401 || res.status === 403) {
    const how = `put them in the repository URL (https://USER:PASS@${url.host}/…) or set HTTP_AUTH=basic:${url.hostname}:USER:PASS`;
    return sentCredentials
      ? new LadingError('repo.auth', `${shown} rejected the credentials (${status}) for ${what}`, {
          hint: `check the user and password; ${how}`,
        })
      : new LadingError(
          'repo.auth',
          `${shown} requires credentials (${status}) for ${what}; none were sent`,
          {
            hint: how,
          },
        );
  }
  return new LadingError('repo.http', `unexpected ${status} for ${what} from ${shown}`);
}
