/**
 * A small HTTP proxy in front of a plain-HTTP test registry, for what docker-registry 2.8.2 cannot show:
 * - a log of every request (method, path, query, status, the request's body framing and content type, the
 *   auth scheme used — never a credential), to check order, idempotence and request hygiene;
 * - injected faults: a status (503, 429 + Retry-After, 500 …), or a dropped connection, chosen per request;
 * - the OCI 1.1 referrers API (`referrers: true`): remembers manifests pushed with a `subject`, answers
 *   `GET /v2/<name>/referrers/<digest>[?artifactType=]` and sets `OCI-Subject` on those pushes, as a registry
 *   that supports referrers does. Without it, referrers requests reach the registry (404, no API).
 * The proxy runs in the test process: run clients with the async helpers while it must answer.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, request, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ProxyRequest {
  method: string;
  /** The URL path, e.g. `/v2/demo/app/blobs/uploads/<uuid>`. */
  path: string;
  /** The query string including `?`, or ''. */
  query: string;
  /** Set once the answer is sent; 0 for a dropped connection. */
  status: number;
  contentLength: string | undefined;
  transferEncoding: string | undefined;
  contentType: string | undefined;
  /** `basic`, `bearer` or undefined: never the credential. */
  authScheme: string | undefined;
  /** Whether the proxy answered it itself (a fault or the referrers API). */
  injected: boolean;
}

export type ProxyFault =
  | { kind: 'status'; status: number; headers?: Record<string, string>; body?: string }
  /** Destroys the connection without an answer. */
  | { kind: 'drop' };

export interface RegistryProxy {
  host: string;
  url: string;
  log: ProxyRequest[];
  /** Decides a fault for each request (undefined: forward it). Settable at any time. */
  fault?: (r: ProxyRequest) => ProxyFault | undefined;
  /** Answer the referrers API and set OCI-Subject (default false). */
  referrers: boolean;
  /** Manifests remembered for the referrers API: `<repository>@<subject digest>` → descriptors. */
  referrerIndex: Map<string, Record<string, unknown>[]>;
  stop(): Promise<void>;
}

const ROUTE = /^\/v2\/(.+)\/(manifests|blobs|referrers|tags)\/(.*)$/;

export async function startRegistryProxy(
  upstream: string,
  options: { referrers?: boolean } = {},
): Promise<RegistryProxy> {
  const up = new URL(upstream);
  const state: RegistryProxy = {
    host: '',
    url: '',
    log: [],
    referrers: options.referrers ?? false,
    referrerIndex: new Map(),
    stop: async () => {},
  };

  const server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    const authz = req.headers.authorization;
    const entry: ProxyRequest = {
      method: req.method ?? 'GET',
      path: u.pathname,
      query: u.search,
      status: 0,
      contentLength: req.headers['content-length'],
      transferEncoding: req.headers['transfer-encoding'],
      contentType: req.headers['content-type'],
      authScheme: authz ? authz.split(' ')[0]!.toLowerCase() : undefined,
      injected: false,
    };
    state.log.push(entry);
    const fault = state.fault?.(entry);
    if (fault) {
      entry.injected = true;
      if (fault.kind === 'drop') {
        req.socket.destroy();
        return;
      }
      entry.status = fault.status;
      req.resume();
      res.writeHead(fault.status, { 'content-type': 'application/json', ...fault.headers });
      res.end(fault.body ?? `{"errors":[{"code":"UNAVAILABLE","message":"injected ${fault.status}"}]}`);
      return;
    }
    const route = ROUTE.exec(u.pathname);
    if (state.referrers && route && route[2] === 'referrers' && entry.method === 'GET') {
      entry.injected = true;
      answerReferrers(state, route[1]!, route[3]!, u.searchParams.get('artifactType'), entry, res);
      return;
    }
    const isManifestPut = route !== null && route[2] === 'manifests' && entry.method === 'PUT';
    if (state.referrers && isManifestPut) {
      // small: buffer it to read its subject
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        forward(req, res, entry, body, (headers, status) => {
          if (status === 201) rememberReferrer(state, route[1]!, body, headers);
        });
      });
      return;
    }
    forward(req, res, entry, undefined);
  });

  function forward(
    req: IncomingMessage,
    res: ServerResponse,
    entry: ProxyRequest,
    body: Buffer | undefined,
    onAnswer?: (headers: Record<string, string | string[] | undefined>, status: number) => void,
  ): void {
    const headers = { ...req.headers, host: up.host };
    if (body) {
      delete headers['transfer-encoding'];
      headers['content-length'] = String(body.length);
    }
    const out = request(
      { host: up.hostname, port: up.port, method: req.method, path: req.url, headers },
      (answer) => {
        const h = { ...answer.headers };
        // the registry names its own address in upload Locations: keep the client talking to the proxy
        if (typeof h.location === 'string') h.location = h.location.replace(up.origin, state.url);
        onAnswer?.(h, answer.statusCode ?? 0);
        if (onAnswer && state.referrers && answer.statusCode === 201 && body) {
          const m = parseJson(body);
          const subject = (m?.subject as { digest?: string } | undefined)?.digest;
          if (subject) h['oci-subject'] = subject;
        }
        entry.status = answer.statusCode ?? 0;
        res.writeHead(answer.statusCode ?? 502, h);
        answer.pipe(res);
      },
    );
    out.on('error', () => {
      entry.status = 502;
      if (!res.headersSent) res.writeHead(502).end();
      else res.destroy();
    });
    req.on('error', () => out.destroy());
    if (body) out.end(body);
    else req.pipe(out);
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.url = `http://${state.host}`;
  state.stop = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return state;
}

function parseJson(body: Buffer): Record<string, unknown> | undefined {
  try {
    const v = JSON.parse(body.toString('utf8'));
    return typeof v === 'object' && v !== null ? v : undefined;
  } catch {
    return undefined;
  }
}

function rememberReferrer(
  state: RegistryProxy,
  repository: string,
  body: Buffer,
  headers: Record<string, string | string[] | undefined>,
): void {
  const m = parseJson(body);
  const subject = (m?.subject as { digest?: string } | undefined)?.digest;
  if (!m || !subject) return;
  const digest =
    (headers['docker-content-digest'] as string | undefined) ??
    `sha256:${createHash('sha256').update(body).digest('hex')}`;
  const config = m.config as { mediaType?: string } | undefined;
  const descriptor: Record<string, unknown> = {
    mediaType: m.mediaType,
    digest,
    size: body.length,
    artifactType: m.artifactType ?? config?.mediaType,
  };
  if (m.annotations) descriptor.annotations = m.annotations;
  const key = `${repository}@${subject}`;
  const list = state.referrerIndex.get(key) ?? [];
  if (!list.some((d) => d.digest === digest)) list.push(descriptor);
  state.referrerIndex.set(key, list);
}

function answerReferrers(
  state: RegistryProxy,
  repository: string,
  digest: string,
  artifactType: string | null,
  entry: ProxyRequest,
  res: ServerResponse,
): void {
  if (!/^sha256:[0-9a-f]{64}$/.test(digest)) {
    entry.status = 400;
    res.writeHead(400, { 'content-type': 'application/json' }).end('{"errors":[{"code":"DIGEST_INVALID"}]}');
    return;
  }
  const all = state.referrerIndex.get(`${repository}@${digest}`) ?? [];
  const manifests = artifactType === null ? all : all.filter((d) => d.artifactType === artifactType);
  const headers: Record<string, string> = { 'content-type': 'application/vnd.oci.image.index.v1+json' };
  if (artifactType !== null) headers['oci-filters-applied'] = 'artifactType';
  entry.status = 200;
  res
    .writeHead(200, headers)
    .end(
      JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests }),
    );
}

/**
 * Faults on about `rate` of the requests (a seeded generator: the same sequence each run), cycling through
 * 503, 429 with Retry-After (1 s the first time, 0 after, to keep tests short) and a dropped connection.
 * A request (same method, path and query, upload session ids ignored) gets at most one fault, so an
 * operation of a few requests succeeds within as many retries, and the test is deterministic in outcome.
 */
export function randomFaults(rate: number, seed = 1): (r: ProxyRequest) => ProxyFault | undefined {
  let s = seed >>> 0;
  const next = () => {
    // mulberry32
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const failed = new Set<string>();
  let n = 0;
  return (r) => {
    const key = `${r.method} ${r.path.replace(/\/uploads\/[^/]+$/, '/uploads/*')} ${r.query.replace(/_state=[^&]*/, '')}`;
    if (failed.has(key) || next() >= rate) return undefined;
    failed.add(key);
    const kind = n++ % 3;
    if (kind === 0) return { kind: 'status', status: 503 };
    if (kind === 1)
      return {
        kind: 'status',
        status: 429,
        headers: { 'retry-after': n === 2 ? '1' : '0' },
        body: '{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}',
      };
    return { kind: 'drop' };
  };
}
