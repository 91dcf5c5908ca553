/**
 * HTTP over Node's fetch, with the policies package repositories and registries need:
 * - `User-Agent: lading/<version>`, `Accept-Encoding: identity` (we want the stored bytes, not a re-encoding);
 * - auth from the caller (URL userinfo, a registry token: sent only to the URL's own origin) or from HTTP_AUTH
 *   (by host);
 * - redirects followed by hand so credentials never go to another origin, and https → http is refused;
 * - retries with exponential backoff (no jitter: a CLI makes few requests) on 5xx, 429 (Retry-After honoured
 *   up to a cap), connection failures, resets, idle timeouts and bodies shorter than Content-Length;
 * - other 4xx fail at once, unless the caller accepts them (a registry answers 401 with a token challenge and
 *   404 for a blob it lacks); a size limit; a cap on concurrent requests.
 * `get` reads the body into a sink inside the retried attempt, so a broken download is fetched again.
 * `request` sends any method, with a body opened again for each attempt, and hands the response to the caller.
 * Nothing here logs or throws a credential: requested URLs never carry userinfo, and URLs in messages drop
 * their query (a redirect may point at a pre-signed URL whose query is a credential).
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import packageJson from '../../package.json' with { type: 'json' };
import { LadingError } from '../util/errors.ts';
import { type Logger, silentLogger } from '../util/log.ts';
import { type Credentials, credentialsForHost, type HttpAuthEntry } from './auth.ts';
import { describeUrl, reason, tooLarge } from './describe.ts';
import { createLimiter, type Limiter } from './limit.ts';
import { deadlineExceeded, type HttpResponse, IdleTimer, RateFloor, respond } from './response.ts';

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
  /**
   * Longest a request may take in all: every attempt, the waits between them and reading the body (default:
   * none). A server that never stops sending slowly cannot hold a build forever.
   */
  deadlineMs?: number;
  /**
   * Slowest body accepted, in bytes per second over `rateWindowMs` (default: none): a slower attempt fails and
   * is tried again.
   */
  minBytesPerSecond?: number;
  /** The window the transfer rate is measured over (default 30 s). */
  rateWindowMs?: number;
  /** Largest response body accepted (default 1 GiB), as apko's --max-http-response-size. */
  maxResponseBytes?: number;
  maxRedirects?: number;
  /** Requests in flight at once (default 8). */
  concurrency?: number;
  /** Do not verify TLS certificates (a registry's --insecure-skip-tls-verify); never allows plain HTTP. */
  insecureSkipTlsVerify?: boolean;
  logger?: Logger;
}

/** Where a response body goes; a failed attempt discards it and the retry opens a new one. */
export interface BodySink {
  write(chunk: Uint8Array): Promise<void> | void;
  discard(): Promise<void> | void;
}

interface CommonOptions {
  /** Credentials for this request (URL userinfo, a registry token); sent only to the URL's own origin. */
  credentials?: Credentials;
  /** Extra request headers (If-None-Match, Accept, Content-Type, …). */
  headers?: Record<string, string>;
  /** What is fetched or sent, for messages ("the index of repository …"); defaults to "file". */
  what?: string;
  /** What to do when the server has no such file (404, 410); the default says to check the URL. */
  notFoundHint?: string;
}

export interface GetOptions<S extends BodySink> extends CommonOptions {
  /** Opens the sink for a 200 body. */
  sink: () => S | Promise<S>;
}

export type GetResult<S> =
  | { status: 200; headers: Headers; sink: S; size: number }
  | { status: 304; headers: Headers };

/** A request body: bytes, or a stream (a registry client streams layer blobs). */
export type RequestBody = Uint8Array | string | Readable | AsyncIterable<Uint8Array>;

export type HttpMethod = 'GET' | 'HEAD' | 'PUT' | 'POST' | 'PATCH' | 'DELETE';

export interface RequestOptions extends CommonOptions {
  /** Default GET. */
  method?: HttpMethod;
  /** Opens the body; called again for each attempt and for a 307/308 redirect, so a retry sends it whole. */
  body?: () => RequestBody;
  /**
   * Statuses answered to the caller as they are, besides 2xx (e.g. 401 with a token challenge, 404 for a
   * blob a registry lacks), or `'any'`. Others fail: 5xx and 429 after the retries, the rest at once.
   */
  accept?: readonly number[] | 'any';
  /** Attempts for this request (default: the client's). 1 lets the caller retry a larger operation. */
  attempts?: number;
}

export { describeUrl } from './describe.ts';
export type { HttpResponse } from './response.ts';

export interface HttpClient {
  readonly logger: Logger;
  /** GET into a sink: 200, or 304 for a conditional request. The body is part of the retried attempt. */
  get<S extends BodySink>(url: string, options: GetOptions<S>): Promise<GetResult<S>>;
  /** Any request, retried until a response arrives; the caller reads its body. */
  request(url: string, options?: RequestOptions): Promise<HttpResponse>;
}

/**
 * A failure worth another attempt: a dropped connection, a timeout, 429 or 5xx. When the attempts run out it
 * is the `cause` of the LadingError thrown, so a caller that retries whole operations can recognise it.
 */
export class TransientHttpError extends Error {
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
    deadlineMs: options.deadlineMs,
    minBytesPerSecond: options.minBytesPerSecond,
    rateWindowMs: options.rateWindowMs ?? 30_000,
    fetch: options.insecureSkipTlsVerify ? unverifiedFetch() : undefined,
    skipTlsVerify: options.insecureSkipTlsVerify === true,
  };

  /** Runs attempts until one does not fail transiently, or none are left. */
  async function withRetries<T>(
    method: HttpMethod,
    url: string,
    what: string | undefined,
    attempt: (start: URL, deadline: number) => Promise<T>,
    tries = attempts,
  ): Promise<T> {
    const start = new URL(url);
    const deadline =
      settings.deadlineMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + settings.deadlineMs;
    if (start.username !== '' || start.password !== '') {
      throw new Error('bug: URLs given to the HTTP client must not carry credentials; pass them as options');
    }
    const shown = describeUrl(start);
    let retried = false;
    for (let n = 1; ; n++) {
      try {
        logger.debug(`${method} ${shown}${n > 1 ? ` (attempt ${n} of ${attempts})` : ''}`);
        const result = await limit(() => attempt(start, deadline));
        if (retried) retries.end(start.host, true);
        return result;
      } catch (e) {
        if (!(e instanceof TransientHttpError)) {
          if (retried) retries.end(start.host, false);
          throw e;
        }
        if (n >= tries) {
          if (retried) retries.end(start.host, false);
          const verb = method === 'GET' || method === 'HEAD' ? 'fetch' : 'send';
          throw new LadingError(
            'NET_NETWORK',
            `could not ${verb} ${what ?? 'file'} ${verb === 'fetch' ? 'from' : 'to'} ${shown} after ${tries} attempt${tries === 1 ? '' : 's'}: ${e.message}`,
            { hint: 'check the network and the repository; --offline builds from the cache alone', cause: e },
          );
        }
        const backoff = retryDelayMs * 2 ** (n - 1);
        const delay = e.retryAfterMs === undefined ? backoff : Math.min(e.retryAfterMs, maxRetryAfterMs);
        if (Date.now() + delay >= deadline) {
          if (retried) retries.end(start.host, false);
          throw deadlineExceeded(start, what ?? 'file', settings.deadlineMs!);
        }
        retries.retry(
          start.host,
          `${method} ${shown}: ${e.message}; retrying in ${delay} ms (attempt ${n + 1} of ${tries})`,
          e.message,
          !retried,
        );
        retried = true;
        await sleep(delay);
      }
    }
  }
  const retries = new RetryLog(logger);

  return {
    logger,
    get: (url, opts) =>
      withRetries('GET', url, opts.what, (start, deadline) => attemptGet(start, opts, settings, deadline)),
    request: (url, opts = {}) =>
      withRetries(
        opts.method ?? 'GET',
        url,
        opts.what,
        (start, deadline) => attemptRequest(start, opts, settings, deadline),
        Math.max(1, opts.attempts ?? attempts),
      ),
  };
}

/**
 * Retries are said once per host, not once per request: when a host fails, every package fetched from it
 * fails the same way, and 75 identical warnings bury the one error that matters. The first retry of an episode
 * (from the first retried request to the moment none is retrying) is a warning, the others are debug lines,
 * and the episode ends with a one-line summary when it held more than one retry.
 */
class RetryLog {
  readonly #logger: Logger;
  readonly #hosts = new Map<
    string,
    { retrying: number; retries: number; requests: number; failed: number; why: Map<string, number> }
  >();

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  /** A request to `host` is retried; `first` when it is that request's first retry. */
  retry(host: string, line: string, why: string, first: boolean): void {
    let h = this.#hosts.get(host);
    const shown = h === undefined;
    if (h === undefined) {
      h = { retrying: 0, retries: 0, requests: 0, failed: 0, why: new Map() };
      this.#hosts.set(host, h);
    }
    if (first) {
      h.retrying++;
      h.requests++;
    }
    h.retries++;
    h.why.set(why, (h.why.get(why) ?? 0) + 1);
    if (shown) this.#logger.warn(`${line}; further retries from ${host} are summed up, not shown one by one`);
    else this.#logger.debug(line);
  }

  /** A request that was retried has ended (`ok`: it succeeded in the end). */
  end(host: string, ok: boolean): void {
    const h = this.#hosts.get(host);
    if (h === undefined) return;
    if (!ok) h.failed++;
    if (--h.retrying > 0) return;
    this.#hosts.delete(host);
    if (h.retries < 2) return;
    const why = [...h.why].map(([w, n]) => (n > 1 ? `${w} ×${n}` : w)).join(', ');
    const outcome = h.failed === 0 ? 'all then succeeded' : `${h.failed} failed`;
    const files = h.requests === 1 ? '1 request' : `${h.requests} requests`;
    this.#logger.warn(`${host}: ${h.retries} retries of ${files} (${why}); ${outcome}`);
  }
}

interface AttemptSettings {
  userAgent: string;
  auth: readonly HttpAuthEntry[];
  timeoutMs: number;
  maxResponseBytes: number;
  maxRedirects: number;
  deadlineMs: number | undefined;
  minBytesPerSecond: number | undefined;
  rateWindowMs: number;
  /** A fetch that skips certificate checks (lazily loaded), instead of the global one. */
  fetch: Promise<FetchWithDispatcher> | undefined;
  skipTlsVerify: boolean;
}

interface FetchWithDispatcher {
  fetch: (url: URL, init: RequestInit & { dispatcher: object }) => Promise<Response>;
  dispatcher: object;
}

/**
 * undici's own fetch with an Agent that skips certificate checks: a dispatcher must come from the same undici
 * as the fetch it is given to (Node's bundled undici may be another major version than the package's).
 */
async function unverifiedFetch(): Promise<FetchWithDispatcher> {
  const loaded = await import('undici');
  // bundled, the CommonJS module's exports arrive as `default`
  const undici = (
    loaded.Agent ? loaded : (loaded as unknown as { default: typeof loaded }).default
  ) as typeof loaded;
  return {
    fetch: undici.fetch as unknown as FetchWithDispatcher['fetch'],
    dispatcher: new undici.Agent({ connect: { rejectUnauthorized: false } }),
  };
}

/** An error of a streamed body's source (a file being read), not of the network: passed on as it is. */
class SourceFailure extends Error {}

/**
 * A request with a streamed body, over node:http(s) rather than fetch: fetch reads a streamed request body
 * ahead of the socket and holds it (measured: a 1 GB upload took 1.1 GB of memory), node's request honours
 * backpressure (flat at ~150 MB). Every chunk read re-arms the idle timer, so a long upload that makes
 * progress is never cut off. The answer comes back as a fetch Response, like the others.
 */
function sendStreamed(
  url: URL,
  method: HttpMethod,
  headers: Record<string, string>,
  body: RequestBody,
  timer: IdleTimer,
  skipTlsVerify: boolean,
): Promise<Response> {
  const source = body as AsyncIterable<Uint8Array>;
  async function* progress(): AsyncGenerator<Uint8Array> {
    const it = source[Symbol.asyncIterator]();
    for (;;) {
      let r: IteratorResult<Uint8Array>;
      try {
        r = await it.next();
      } catch (e) {
        throw new SourceFailure('reading the request body failed', { cause: e });
      }
      if (r.done) return;
      timer.arm();
      yield r.value;
    }
  }
  return new Promise((resolve, reject) => {
    const options = {
      method,
      headers,
      signal: timer.controller.signal,
      ...(skipTlsVerify ? { rejectUnauthorized: false } : {}),
    };
    const onAnswer = (res: IncomingMessage) => {
      const status = res.statusCode ?? 0;
      const answerHeaders = new Headers();
      for (const [k, v] of Object.entries(res.headers)) {
        if (v === undefined) continue;
        for (const value of Array.isArray(v) ? v : [v]) answerHeaders.append(k, value);
      }
      const empty = method === 'HEAD' || status === 204 || status === 304;
      if (empty) res.resume();
      resolve(
        new Response(empty ? null : (Readable.toWeb(res) as ReadableStream<Uint8Array>), {
          status,
          statusText: res.statusMessage ?? '',
          headers: answerHeaders,
        }),
      );
    };
    const req =
      url.protocol === 'https:' ? httpsRequest(url, options, onAnswer) : httpRequest(url, options, onAnswer);
    req.on('error', reject);
    pipeline(Readable.from(progress(), { objectMode: false }), req).catch((e: unknown) => {
      req.destroy();
      reject(e);
    });
  });
}

/**
 * Sends the request and follows redirects (by hand: credentials stay with their origin, https never goes to
 * http). Returns the final response, whatever its status. Throws Transient for a connection failure or timeout.
 */
async function send(
  start: URL,
  method: HttpMethod,
  opts: CommonOptions & { body?: () => RequestBody },
  settings: AttemptSettings,
  timer: IdleTimer,
): Promise<{ res: Response; url: URL; sentCredentials: boolean }> {
  const what = opts.what ?? 'file';
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

    timer.arm();
    let res: Response;
    try {
      const body = opts.body?.();
      const streamed = body !== undefined && typeof body !== 'string' && !(body instanceof Uint8Array);
      if (streamed) {
        res = await sendStreamed(url, method, headers, body, timer, settings.skipTlsVerify);
      } else {
        const init = {
          method,
          headers,
          redirect: 'manual',
          signal: timer.controller.signal,
          ...(body === undefined ? {} : { body: body as NonNullable<RequestInit['body']> }),
          ...(streamed ? { duplex: 'half' } : {}),
        } as RequestInit;
        const unverified = settings.fetch && (await settings.fetch);
        res = unverified
          ? await unverified.fetch(url, { ...init, dispatcher: unverified.dispatcher } as RequestInit & {
              dispatcher: object;
            })
          : await fetch(url, init);
      }
    } catch (e) {
      if (e instanceof SourceFailure) throw e.cause;
      if (timer.expired) throw deadlineExceeded(start, what, settings.deadlineMs!);
      if (timer.aborted) throw new TransientHttpError(`no data for ${settings.timeoutMs} ms`);
      throw connectionFailure(e, url, what);
    }

    const location = res.headers.get('location');
    if ([301, 302, 303, 307, 308].includes(res.status) && location !== null) {
      await res.body?.cancel().catch(() => {});
      if (hop >= settings.maxRedirects) {
        throw new LadingError('NET_HTTP', `too many redirects fetching ${what} from ${describeUrl(start)}`);
      }
      const next = URL.parse(location, url.href);
      if (next === null || (next.protocol !== 'http:' && next.protocol !== 'https:')) {
        throw new LadingError('NET_HTTP', `${describeUrl(url)} redirects to an unusable location (${what})`);
      }
      next.username = '';
      next.password = '';
      if (url.protocol === 'https:' && next.protocol !== 'https:') {
        throw new LadingError(
          'NET_HTTP',
          `refusing redirect from ${describeUrl(url)} to insecure ${describeUrl(next)} (${what})`,
          {
            hint: 'ask the repository operator to redirect to https, or configure the http:// URL directly',
          },
        );
      }
      // 303 (and 301/302 after a POST, as browsers do) turn into a GET without a body
      if (res.status === 303 || ((res.status === 301 || res.status === 302) && method === 'POST')) {
        method = 'GET';
        opts = { ...opts, body: undefined };
      }
      url = next;
      continue;
    }
    return { res, url, sentCredentials: credentials !== undefined };
  }
}

/** One GET attempt: follows redirects, then reads a 200 body into a fresh sink. Throws Transient to retry. */
async function attemptGet<S extends BodySink>(
  start: URL,
  opts: GetOptions<S>,
  settings: AttemptSettings,
  deadline: number,
): Promise<GetResult<S>> {
  const what = opts.what ?? 'file';
  const timer = new IdleTimer(settings.timeoutMs, deadline);
  try {
    const { res, url, sentCredentials } = await send(start, 'GET', opts, settings, timer);
    if (res.status === 304) {
      await res.body?.cancel().catch(() => {});
      return { status: 304, headers: res.headers };
    }
    if (res.status !== 200) {
      await res.body?.cancel().catch(() => {});
      throw statusFailure(res, url, what, sentCredentials, opts.notFoundHint);
    }
    const body = await readBody(res, url, opts, settings, timer);
    return { status: 200, headers: res.headers, ...body };
  } finally {
    timer.clear();
  }
}

/** One attempt of any request: the response once its headers arrived; the idle timer runs on while it is read. */
async function attemptRequest(
  start: URL,
  opts: RequestOptions,
  settings: AttemptSettings,
  deadline: number,
): Promise<HttpResponse> {
  const what = opts.what ?? 'file';
  const timer = new IdleTimer(settings.timeoutMs, deadline);
  let handedOver = false;
  try {
    const { res, url, sentCredentials } = await send(start, opts.method ?? 'GET', opts, settings, timer);
    const ok =
      (res.status >= 200 && res.status < 300) || opts.accept === 'any' || opts.accept?.includes(res.status);
    if (!ok) {
      await res.body?.cancel().catch(() => {});
      throw statusFailure(res, url, what, sentCredentials, opts.notFoundHint);
    }
    handedOver = true;
    return respond(res, url, what, settings, timer);
  } finally {
    if (!handedOver) timer.clear();
  }
}

async function readBody<S extends BodySink>(
  res: Response,
  url: URL,
  opts: GetOptions<S>,
  settings: AttemptSettings,
  timer: IdleTimer,
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
  const floor = new RateFloor(settings.minBytesPerSecond ?? 0, settings.rateWindowMs);
  try {
    if (res.body) {
      for await (const chunk of res.body) {
        timer.arm();
        size += chunk.byteLength;
        if (size > settings.maxResponseBytes) throw tooLarge(url, opts.what, settings.maxResponseBytes);
        const slow = floor.add(chunk.byteLength);
        if (slow !== undefined) throw new TransientHttpError(slow);
        // A failing sink (disk full) is not a network problem: pass its error on unchanged, not retried.
        await Promise.resolve(sink.write(chunk)).catch((e: unknown) => {
          throw new SinkFailure(e);
        });
      }
    }
    // fetch transparently decodes a Content-Encoding, after which Content-Length no longer applies.
    if (expected !== undefined && !encoded && size !== expected) {
      throw new TransientHttpError(`body ended after ${size} of ${expected} bytes`);
    }
    return { sink, size };
  } catch (e) {
    await sink.discard();
    if (e instanceof SinkFailure) throw e.cause;
    if (e instanceof LadingError || e instanceof TransientHttpError) throw e;
    if (res.body && !res.bodyUsed) await res.body.cancel().catch(() => {});
    if (timer.expired) throw deadlineExceeded(url, opts.what ?? 'file', settings.deadlineMs!);
    if (timer.aborted)
      throw new TransientHttpError(`no data for ${settings.timeoutMs} ms after ${size} bytes`);
    throw new TransientHttpError(`connection lost after ${size} bytes (${reason(e)})`);
  }
}

const PERMANENT_NETWORK = new Set(['ENOTFOUND', 'ERR_INVALID_URL', 'ERR_TLS_CERT_ALTNAME_INVALID']);

function connectionFailure(e: unknown, url: URL, what: string): Error {
  const why = reason(e);
  const code = why.split(' ')[0]!;
  if (/certificate|self[- ]signed|CERT_|UNABLE_TO_VERIFY/i.test(why)) {
    return new LadingError(
      'NET_TLS',
      `the TLS certificate of ${url.host} is not trusted (${why}) fetching ${what}`,
      {
        hint: 'trust the CA that signed it with NODE_EXTRA_CA_CERTS=CA.pem',
      },
    );
  }
  if (PERMANENT_NETWORK.has(code)) {
    return new LadingError('NET_NETWORK', `could not fetch ${what} from ${describeUrl(url)}: ${why}`, {
      hint: 'check the host name in the repository URL and the network',
    });
  }
  return new TransientHttpError(`connection failed (${why})`);
}

function statusFailure(
  res: Response,
  url: URL,
  what: string,
  sentCredentials: boolean,
  notFoundHint = 'check the URL',
): Error {
  const status = `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`;
  const shown = describeUrl(url);
  if (res.status === 429 || (res.status >= 500 && res.status !== 501 && res.status !== 505)) {
    return new TransientHttpError(status, parseRetryAfter(res.headers.get('retry-after'), Date.now()));
  }
  if (res.status === 404 || res.status === 410) {
    return new LadingError('NET_NOT_FOUND', `${what} not found at ${shown} (${status})`, {
      hint: notFoundHint,
    });
  }
  if (res.status === 401 || res.status === 403) {
    const how = `put them in the repository URL (https://USER:PASS@${url.host}/…) or set HTTP_AUTH=basic:${url.hostname}:USER:PASS`;
    return sentCredentials
      ? new LadingError('NET_AUTH', `${shown} rejected the credentials (${status}) for ${what}`, {
          hint: `check the user and password; ${how}`,
        })
      : new LadingError('NET_AUTH', `${shown} requires credentials (${status}) for ${what}; none were sent`, {
          hint: how,
        });
  }
  return new LadingError('NET_HTTP', `unexpected ${status} for ${what} from ${shown}`);
}
