/**
 * Talking to an OCI distribution registry (go-containerregistry's `transport` in spirit, our own code):
 * - ping: `GET /v2/` without credentials decides the scheme and the auth challenge. HTTPS always first;
 *   plain HTTP only when HTTPS fails because the server does not speak TLS, and only for loopback
 *   registries or with `insecureAllowHttp`. `insecureSkipTlsVerify` skips certificate checks (never allows
 *   HTTP). Extra CAs come from NODE_EXTRA_CA_CERTS, as for every TLS connection of Node.
 * - auth per repository session: HTTP Basic from the keychain, or Bearer tokens from the challenge's realm
 *   (`service`, the session's scopes with push first, Basic credentials or an identity token, anonymous
 *   otherwise; a registry token is used as is). A 401 carrying a scope not held yet adds it, fetches a new
 *   token and resends the request once (this also renews an expired token).
 * - `Authorization` goes only to the registry's own origin: never to a redirect target on another host.
 * - responses are small on the push side (manifests, JSON errors, fallback indexes): they are read whole,
 *   capped; a stall of `timeoutMs` without progress (upload chunks or response bytes) aborts the attempt.
 * - 408, 429, 5xx and dropped connections are `Transient`; `retry()` repeats an operation with backoff,
 *   honouring Retry-After, bounded in attempts and in each wait.
 * Credentials never reach a message or a log line: messages name the credential's source, URLs lose
 * their query (upload Locations carry session state).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Credentials } from '../net/auth.ts';
import {
  createHttpClient,
  describeUrl,
  type HttpClient,
  type HttpResponse,
  parseRetryAfter,
  TransientHttpError,
} from '../net/http.ts';
import { LadingError } from '../util/errors.ts';
import { type Logger, silentLogger } from '../util/log.ts';
import { type Challenge, parseChallenges, scopeCovered } from './challenge.ts';
import type { RegistryCredential } from './credentials.ts';
import type { Keychain } from './keychain.ts';
import type { Repository } from './reference.ts';

export interface TransportOptions {
  keychain: Keychain;
  /** Allow plain HTTP to registries that are not on this machine (loopback always may). */
  insecureAllowHttp?: boolean;
  /** Do not verify TLS certificates. */
  insecureSkipTlsVerify?: boolean;
  logger?: Logger;
  userAgent?: string;
  /** Attempts per operation, including the first (default 4). */
  attempts?: number;
  /** First retry delay, doubled each time (default 500 ms). */
  retryDelayMs?: number;
  /** Longest wait for one retry, Retry-After included (default 30 s). */
  maxRetryWaitMs?: number;
  /** Longest time without progress in one request (default 60 s). */
  timeoutMs?: number;
}

/** A request body that can be sent again on a retry. */
export interface RequestBody {
  length: number;
  open(): Buffer | AsyncIterable<Uint8Array>;
}

export interface RegistryRequest {
  method: 'GET' | 'HEAD' | 'PUT' | 'POST' | 'PATCH' | 'DELETE';
  /** A path (`/v2/…`) on the registry, or an absolute URL it gave (an upload Location). */
  url: string;
  headers?: Record<string, string>;
  body?: RequestBody;
}

export interface RegistryResponse {
  status: number;
  headers: Headers;
  body: Buffer;
  /** The URL that answered (after redirects). */
  url: URL;
}

/** A failure worth another attempt of the whole operation. */
export class Transient extends Error {
  readonly retryAfterMs: number | undefined;
  constructor(message: string, retryAfterMs?: number) {
    super(message);
    this.retryAfterMs = retryAfterMs;
  }
}

type HostAuth = { kind: 'none' } | { kind: 'basic' } | { kind: 'bearer'; realm: string; service?: string };

interface RegistryHost {
  registry: string;
  /** `https://host[:port]` or `http://…`. */
  origin: string;
  auth: HostAuth;
}

const MAX_RESPONSE = 4 << 20; // distribution's manifest size limit
const MAX_TOKEN_RESPONSE = 64 << 10;

/** `localhost`, `*.localhost`, 127.0.0.0/8 and ::1: the registries plain HTTP may reach without a flag. */
export function isLoopback(hostname: string): boolean {
  const h = hostname.toLowerCase().replace(/^\[|\]$/g, '');
  return h === 'localhost' || h.endsWith('.localhost') || /^127\.\d+\.\d+\.\d+$/.test(h) || h === '::1';
}

/** IP literals a registry must not send us to on another host (SSRF guard); host names are never private. */
export function isPrivateAddress(hostname: string): boolean {
  const h = hostname.toLowerCase().replace(/^\[|\]$/g, '');
  const v4 = /^(\d{1,3})\.(\d{1,3})\.\d{1,3}\.\d{1,3}$/.exec(h);
  if (v4) {
    const [a, b] = [Number(v4[1]), Number(v4[2])];
    return (
      a === 127 ||
      a === 10 ||
      a === 0 ||
      (a === 192 && b === 168) ||
      (a === 169 && b === 254) ||
      (a === 172 && b >= 16 && b <= 31)
    );
  }
  return h.includes(':') && (h === '::1' || /^(f[cd][0-9a-f]{2}|fe80):/.test(h));
}

/** The server answered TLS with something else: it speaks plain HTTP. */
function isNotTls(text: string): boolean {
  return /wrong version number|packet length too long|ERR_SSL_WRONG_VERSION|unknown protocol|http request/i.test(
    text,
  );
}

/** `CODE: message` of a registry's JSON error body, or a short text body; '' when there is none. */
export function registryErrorText(body: Buffer): string {
  const text = body.subarray(0, 4096).toString('utf8').trim();
  try {
    const v = JSON.parse(text) as { errors?: { code?: string; message?: string }[] };
    if (Array.isArray(v.errors) && v.errors.length) {
      return v.errors.map((e) => [e.code, e.message].filter(Boolean).join(': ')).join('; ');
    }
  } catch {
    // not JSON
  }
  return /^[\x20-\x7e]{1,200}$/.test(text) ? text : '';
}

function statusText(res: RegistryResponse): string {
  const detail = registryErrorText(res.body);
  return `HTTP ${res.status}${detail ? ` (${detail})` : ''}`;
}

export class RegistryClient {
  readonly logger: Logger;
  readonly #options: TransportOptions;
  readonly #hosts = new Map<string, Promise<RegistryHost>>();
  readonly #sessions = new Map<string, RepositorySession>();
  readonly #http: HttpClient;

  constructor(options: TransportOptions) {
    this.#options = options;
    this.logger = options.logger ?? silentLogger;
    this.#http = createHttpClient({
      userAgent: options.userAgent,
      timeoutMs: options.timeoutMs ?? 60_000,
      maxResponseBytes: MAX_RESPONSE,
      insecureSkipTlsVerify: options.insecureSkipTlsVerify,
      // uploads are bounded by the pusher; small requests may overlap them
      concurrency: 16,
      logger: this.logger,
    });
  }

  get attempts(): number {
    return Math.max(1, this.#options.attempts ?? 4);
  }

  /** The session for pushing to (`push`) or reading from a repository; one per repository and mode. */
  session(repository: Repository, push: boolean): RepositorySession {
    const key = `${repository.registry}/${repository.path}#${push ? 'push' : 'pull'}`;
    let s = this.#sessions.get(key);
    if (!s) {
      s = new RepositorySession(this, repository, push, this.#options.keychain);
      this.#sessions.set(key, s);
    }
    return s;
  }

  /** Pings a registry once per run: its scheme and auth challenge. */
  host(registry: string): Promise<RegistryHost> {
    let h = this.#hosts.get(registry);
    if (!h) {
      // a failed ping (after its retries) stays failed for this run: later requests report it at once
      h = this.retry(`contacting registry ${registry}`, () => this.#ping(registry));
      this.#hosts.set(registry, h);
      h.catch(() => {});
    }
    return h;
  }

  async #ping(registry: string): Promise<RegistryHost> {
    const hostname = registry.replace(/:\d+$/, '');
    const mayHttp = isLoopback(hostname) || this.#options.insecureAllowHttp === true;
    let res: RegistryResponse;
    let origin = `https://${registry}`;
    try {
      res = await this.raw({ method: 'GET', url: `${origin}/v2/` }, origin, undefined);
    } catch (e) {
      if (!(e instanceof PlainHttpAnswer)) throw e;
      if (!mayHttp) throw e;
      origin = `http://${registry}`;
      res = await this.raw({ method: 'GET', url: `${origin}/v2/` }, origin, undefined);
    }
    if (res.status === 200) return { registry, origin, auth: { kind: 'none' } };
    if (res.status === 401) {
      const challenges = parseChallenges(res.headers.get('www-authenticate'));
      const bearer = challenges.find((c) => c.scheme === 'bearer' && c.params.realm);
      if (bearer) {
        const auth: HostAuth = {
          kind: 'bearer',
          realm: bearer.params.realm!,
          service: bearer.params.service,
        };
        checkRealm(registry, origin, auth.realm);
        return { registry, origin, auth };
      }
      if (challenges.some((c) => c.scheme === 'basic')) return { registry, origin, auth: { kind: 'basic' } };
      throw new LadingError(
        'REGISTRY_AUTH',
        `${registry} asks for an authentication scheme lading does not speak (${challenges.map((c) => c.scheme).join(', ') || 'none given'})`,
        { hint: 'lading speaks HTTP Basic and Bearer tokens, as docker does' },
      );
    }
    throw new LadingError(
      'REGISTRY_PROTOCOL',
      `${registry} does not answer as an OCI registry: GET /v2/ gave ${statusText(res)}`,
      {
        hint: 'check the registry host and port',
      },
    );
  }

  /**
   * One HTTP exchange (redirects followed by src/net, never retried there: operations are retried whole);
   * `authorization` goes only to `origin`. Throws Transient for dropped connections and 408/429/5xx.
   */
  async raw(
    req: RegistryRequest,
    origin: string,
    authorization: string | undefined,
  ): Promise<RegistryResponse> {
    const url = new URL(req.url, origin);
    const headers: Record<string, string> = { ...req.headers };
    const body = req.body;
    if (body) headers['content-length'] = String(body.length);
    else if (req.method === 'PUT' || req.method === 'POST' || req.method === 'PATCH')
      headers['content-length'] = '0';
    let res: HttpResponse;
    try {
      res = await this.#http.request(url.href, {
        method: req.method,
        headers,
        ...(body ? { body: () => body.open() } : {}),
        ...(authorization && url.origin === origin ? { credentials: headerCredentials(authorization) } : {}),
        accept: 'any',
        attempts: 1,
        what: 'the registry API',
      });
    } catch (e) {
      if (!(e instanceof LadingError)) throw e;
      const transient = e.cause instanceof TransientHttpError ? e.cause : undefined;
      if (transient && isNotTls(transient.message)) throw new PlainHttpAnswer(url.host, transient.message);
      if (transient)
        throw new Transient(
          `${req.method} ${describeUrl(url)}: ${transient.message}`,
          transient.retryAfterMs,
        );
      if (e.code === 'NET_TLS') {
        throw new LadingError('REGISTRY_TLS', e.message, {
          hint: 'trust the CA that signed it with NODE_EXTRA_CA_CERTS=CA.pem, or pass --insecure-skip-tls-verify to skip the check',
        });
      }
      throw new LadingError('REGISTRY_UNREACHABLE', `cannot reach the registry ${url.host}: ${e.message}`, {
        hint: 'check the registry name in the image reference and the network',
      });
    }
    let data: Buffer;
    try {
      if (req.method === 'HEAD') await res.cancel();
      data = req.method === 'HEAD' ? Buffer.alloc(0) : await res.bytes();
    } catch (e) {
      // the answer was cut short: the connection dropped
      if (e instanceof LadingError && e.code === 'NET_NETWORK') throw new Transient(e.message);
      throw e;
    }
    const answer: RegistryResponse = {
      status: res.status,
      headers: res.headers,
      body: data,
      url: new URL(res.url),
    };
    this.logger.debug(`${req.method} ${describeUrl(url)} → ${res.status}`);
    if (
      res.status === 408 ||
      res.status === 429 ||
      (res.status >= 500 && res.status !== 501 && res.status !== 505)
    ) {
      throw new Transient(
        `${req.method} ${describeUrl(url)} answered ${statusText(answer)}`,
        parseRetryAfter(res.headers.get('retry-after'), Date.now()),
      );
    }
    return answer;
  }

  /** Runs `operation` until it succeeds, fails for good, or has failed `attempts` times with Transient. */
  async retry<T>(what: string, operation: () => Promise<T>): Promise<T> {
    const attempts = this.attempts;
    const base = this.#options.retryDelayMs ?? 500;
    const cap = this.#options.maxRetryWaitMs ?? 30_000;
    for (let attempt = 1; ; attempt++) {
      try {
        return await operation();
      } catch (e) {
        if (!(e instanceof Transient)) throw e;
        if (attempt >= attempts) {
          throw new LadingError(
            'REGISTRY_UNAVAILABLE',
            `${what} failed ${attempts} times; the last answer: ${e.message}`,
            {
              hint: 'the registry or the network is failing; try again later, or check the registry',
            },
          );
        }
        const backoff = base * 2 ** (attempt - 1) * (0.9 + Math.random() * 0.2);
        const wait = Math.min(cap, e.retryAfterMs ?? backoff);
        this.logger.warn(
          `${what}: ${e.message}; retrying in ${(wait / 1000).toFixed(1)} s (attempt ${attempt + 1} of ${attempts})`,
        );
        await sleep(wait);
      }
    }
  }
}

/** The server answered TLS with plain HTTP: the ping then tries http:// where that is allowed. */
class PlainHttpAnswer extends LadingError {
  constructor(host: string, why: string) {
    super('REGISTRY_TLS', `${host} does not speak HTTPS (${why})`, {
      hint: `if ${host} is a plain-HTTP registry you trust, pass --insecure-allow-http`,
    });
  }
}

/** An `Authorization` value as src/net's credentials; it prints as <redacted>. */
function headerCredentials(value: string): Credentials {
  return {
    authorization: () => value,
    toString: () => '<redacted>',
    toJSON: () => '<redacted>',
  } as Credentials;
}

function checkRealm(registry: string, origin: string, realm: string): void {
  const u = URL.parse(realm);
  if (u === null || (u.protocol !== 'https:' && u.protocol !== 'http:')) {
    throw new LadingError('REGISTRY_AUTH', `${registry} names a token service that is not a URL`, {
      hint: 'check the registry configuration (auth.token.realm)',
    });
  }
  if (
    u.protocol === 'http:' &&
    !origin.startsWith('http:') &&
    !(isLoopback(u.hostname) && isLoopback(registry.replace(/:\d+$/, '')))
  ) {
    throw new LadingError(
      'REGISTRY_AUTH',
      `${registry} sends credentials to a token service over plain HTTP (${describeUrl(u)}); refused`,
      {
        hint: 'the registry must name an https:// token realm',
      },
    );
  }
}

/**
 * Requests to one repository with the auth it needs: the registry's Basic credentials, or a Bearer token
 * for the session's scopes (the repository's `push,pull` or `pull` first, then any other repository whose
 * blobs are mounted from).
 */
export class RepositorySession {
  readonly client: RegistryClient;
  readonly repository: Repository;
  readonly #keychain: Keychain;
  #scopes: string[];
  #credential: Promise<RegistryCredential | undefined> | undefined;
  #token: Promise<string | undefined> | undefined;
  /** An OAuth2 refresh token a token service handed back, used for later token requests. */
  #refreshToken: string | undefined;

  constructor(client: RegistryClient, repository: Repository, push: boolean, keychain: Keychain) {
    this.client = client;
    this.repository = repository;
    this.#keychain = keychain;
    this.#scopes = [`repository:${repository.path}:${push ? 'push,pull' : 'pull'}`];
  }

  get name(): string {
    return `${this.repository.registry}/${this.repository.path}`;
  }

  credential(): Promise<RegistryCredential | undefined> {
    this.#credential ??= this.#keychain.resolve(this.repository);
    return this.#credential;
  }

  /**
   * Pings the registry, finds the credentials and fetches a token now, while other work goes on (a build);
   * a failure is not reported here but by the first request that needs what failed.
   */
  warmUp(): void {
    this.client
      .host(this.repository.registry)
      .then((host) => this.#authorization(host))
      .catch(() => {});
  }

  /** Asks for `scope` too from now on (a mount source's `repository:<path>:pull`). */
  addScope(scope: string): void {
    if (scopeCovered(this.#scopes, scope)) return;
    this.#scopes = [...this.#scopes, scope];
    this.#token = undefined;
  }

  /** One request with auth (one token renewal on a 401 that asks for it). Transient errors propagate. */
  async send(req: RegistryRequest): Promise<RegistryResponse> {
    const host = await this.client.host(this.repository.registry);
    let authorization = await this.#authorization(host);
    let res = await this.client.raw(req, host.origin, authorization);
    if (res.status === 401 && host.auth.kind === 'bearer') {
      const challenges = parseChallenges(res.headers.get('www-authenticate'));
      const wanted = challenges
        .filter((c: Challenge) => c.scheme === 'bearer')
        .flatMap((c) => (c.params.scope ?? '').split(' '))
        .filter((s) => s !== '' && !scopeCovered(this.#scopes, s));
      // a new scope goes first: some token services read only the first
      this.#scopes = [...wanted, ...this.#scopes];
      this.#token = undefined;
      authorization = await this.#authorization(host);
      res = await this.client.raw(req, host.origin, authorization);
    }
    return res;
  }

  async #authorization(host: RegistryHost): Promise<string | undefined> {
    const auth = host.auth;
    if (auth.kind === 'none') return undefined;
    const credential = await this.credential();
    if (auth.kind === 'basic') return credential?.basicAuthorization();
    this.#token ??= this.#fetchToken(host, auth, credential);
    const p = this.#token;
    p.catch(() => {
      if (this.#token === p) this.#token = undefined;
    });
    const token = await p;
    return token === undefined ? undefined : `Bearer ${token}`;
  }

  async #fetchToken(
    host: RegistryHost,
    auth: { realm: string; service?: string },
    credential: RegistryCredential | undefined,
  ): Promise<string | undefined> {
    const direct = credential?.bearerToken();
    if (direct) return direct;
    const realm = new URL(auth.realm);
    const refresh = this.#refreshToken ?? credential?.refreshToken();
    let res: RegistryResponse | undefined;
    if (refresh) {
      const form = new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: refresh,
        client_id: 'lading',
      });
      if (auth.service) form.set('service', auth.service);
      form.set('scope', this.#scopes.join(' '));
      const body = Buffer.from(form.toString());
      res = await this.client.raw(
        {
          method: 'POST',
          url: realm.href,
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: { length: body.length, open: () => body },
        },
        realm.origin,
        undefined,
      );
      if (res.status === 404) res = undefined; // not every token service speaks OAuth2: GET below
    }
    if (!res) {
      const u = new URL(realm.href);
      for (const s of this.#scopes) u.searchParams.append('scope', s);
      if (auth.service) u.searchParams.set('service', auth.service);
      res = await this.client.raw(
        { method: 'GET', url: u.href },
        realm.origin,
        credential?.basicAuthorization(),
      );
    }
    if (res.status === 401 || res.status === 403) {
      throw credential
        ? new LadingError(
            'REGISTRY_AUTH',
            `${host.registry} rejected the credentials from ${credential.source} (its token service answered HTTP ${res.status})`,
            { hint: `check the user and password, then log in again: lading login ${host.registry}` },
          )
        : noCredentials(host.registry, this.repository);
    }
    if (res.status !== 200) {
      throw new LadingError(
        'REGISTRY_AUTH',
        `the token service of ${host.registry} answered ${statusText(res)}`,
        {
          hint: 'check the registry and its token service',
        },
      );
    }
    if (res.body.length > MAX_TOKEN_RESPONSE) {
      throw new LadingError(
        'REGISTRY_AUTH',
        `the token service of ${host.registry} answered more than ${MAX_TOKEN_RESPONSE} bytes`,
      );
    }
    let parsed: { token?: unknown; access_token?: unknown; refresh_token?: unknown };
    try {
      parsed = JSON.parse(res.body.toString('utf8'));
    } catch {
      throw new LadingError(
        'REGISTRY_AUTH',
        `the token service of ${host.registry} answered something that is not JSON`,
      );
    }
    if (typeof parsed.refresh_token === 'string' && parsed.refresh_token !== '')
      this.#refreshToken = parsed.refresh_token;
    const token = typeof parsed.token === 'string' && parsed.token ? parsed.token : parsed.access_token;
    if (typeof token !== 'string' || token === '') {
      throw new LadingError(
        'REGISTRY_AUTH',
        `the token service of ${host.registry} answered without a token`,
      );
    }
    return token;
  }

  /** The error for a final (non-transient) answer that the caller did not expect. */
  async failure(res: RegistryResponse, what: string): Promise<LadingError> {
    const registry = this.repository.registry;
    const credential = await this.credential();
    if (res.status === 401 || (res.status === 403 && !credential)) {
      if (!credential) return noCredentials(registry, this.repository, what);
      return new LadingError(
        'REGISTRY_AUTH',
        `${registry} rejected the credentials from ${credential.source} for ${what} (${statusText(res)})`,
        { hint: `check the user and password, then log in again: lading login ${registry}` },
      );
    }
    if (res.status === 403) {
      return new LadingError('REGISTRY_DENIED', `${registry} denied ${what} (${statusText(res)})`, {
        hint: `the credentials from ${credential?.source} may not write to ${this.name}`,
      });
    }
    return new LadingError('REGISTRY_PROTOCOL', `${registry} answered ${what} with ${statusText(res)}`, {
      hint: 'the registry refused the request; its answer above says why',
    });
  }
}

function noCredentials(registry: string, repository: Repository, what?: string): LadingError {
  return new LadingError(
    'REGISTRY_AUTH',
    `${registry} requires credentials${what ? ` for ${what}` : ` to push to ${repository.path}`} and none were found`,
    {
      hint: `log in with: lading login ${registry} -u USER --password-stdin (or docker login), or set REGISTRY_AUTH_FILE`,
    },
  );
}
