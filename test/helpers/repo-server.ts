/**
 * A real HTTP server on 127.0.0.1 serving the fixture repository and keys (or directories a test made), with
 * ETag/Last-Modified, optional basic auth, a request log and injectable faults — for the repo tests.
 *   /repo/<arch>/<file>   → fixtures/alpine/v3.19.1-iso-repo (or `repo`)
 *   /keys/<file>          → fixtures/alpine/keys (or `keys`)
 */
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, normalize } from 'node:path';
import { fixture } from './paths.ts';

export const repoDir = fixture('alpine', 'v3.19.1-iso-repo');
export const keysDir = fixture('alpine', 'keys');

export type Fault =
  | { kind: 'status'; status: number; headers?: Record<string, string> }
  /** Sends the headers and half the body, then destroys the socket. */
  | { kind: 'destroy-mid-body' }
  /** Declares the full Content-Length but sends half the body and ends the response. */
  | { kind: 'truncate' }
  /** Sends the headers and half the body, then holds the connection open until the server closes. */
  | { kind: 'stall' }
  | { kind: 'redirect'; location: string; status?: number };

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
}

export interface RepoServer {
  url: string;
  requests: RecordedRequest[];
  /** Faults applied, in order, to the next requests whose path they match. */
  faults: { path: string; fault: Fault }[];
  /** When set, requests without exactly this Authorization header get 401. */
  requireAuthorization?: string;
  /** Delays every response by this many ms (so concurrent clients overlap). */
  delayMs?: number;
  /** Called with each request (after recording it); e.g. to notice the Nth request. */
  onRequest?: (r: RecordedRequest) => void;
  close(): Promise<void>;
}

/** The file a path names: under the directory of the longest route (URL path prefix ending in `/`) it starts with. */
function fileFor(path: string, routes: Record<string, string>): string | undefined {
  const clean = normalize(decodeURIComponent(path));
  const prefix = Object.keys(routes)
    .filter((p) => clean.startsWith(p))
    .sort((a, b) => b.length - a.length)[0];
  return prefix === undefined ? undefined : join(routes[prefix]!, clean.slice(prefix.length));
}

/**
 * Serves the fixture repository and keys, or the directories given; `routes` (URL path prefix → directory)
 * serves other directories too (e.g. a repository under /alpine/v3.22/main/).
 */
export async function startRepoServer(
  options: { repo?: string; keys?: string; routes?: Record<string, string> } = {},
): Promise<RepoServer> {
  const dirs = {
    '/repo/': options.repo ?? repoDir,
    '/keys/': options.keys ?? keysDir,
    ...options.routes,
  };
  const state: RepoServer = {
    url: '',
    requests: [],
    faults: [],
    close: async () => {},
  };
  const server = createServer((req, res) => {
    if (state.delayMs) setTimeout(() => handle(req, res), state.delayMs);
    else handle(req, res);
  });
  function handle(req: IncomingMessage, res: ServerResponse): void {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const record = { method: req.method ?? 'GET', path, headers: req.headers };
    state.requests.push(record);
    state.onRequest?.(record);
    if (
      state.requireAuthorization !== undefined &&
      req.headers.authorization !== state.requireAuthorization
    ) {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="test"', 'content-type': 'text/plain' });
      res.end('unauthorized');
      return;
    }
    const i = state.faults.findIndex((f) => f.path === path);
    const fault = i >= 0 ? state.faults.splice(i, 1)[0]!.fault : undefined;
    if (fault?.kind === 'status') {
      res.writeHead(fault.status, { 'content-type': 'text/plain', ...fault.headers });
      res.end(`status ${fault.status}`);
      return;
    }
    if (fault?.kind === 'redirect') {
      res.writeHead(fault.status ?? 302, { location: fault.location });
      res.end();
      return;
    }
    const file = fileFor(path, dirs);
    let body: Buffer;
    let mtime: Date;
    try {
      body = readFileSync(file ?? '/nonexistent');
      mtime = statSync(file!).mtime;
    } catch {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
      return;
    }
    const etag = `"${createHash('sha256').update(body).digest('hex').slice(0, 16)}"`;
    const headers = {
      'content-type': 'application/octet-stream',
      'content-length': String(body.length),
      etag,
      'last-modified': mtime.toUTCString(),
    };
    if (req.headers['if-none-match'] === etag) {
      res.writeHead(304, { etag });
      res.end();
      return;
    }
    send(res, headers, body, fault);
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return state;
}

function send(
  res: ServerResponse,
  headers: Record<string, string>,
  body: Buffer,
  fault: Fault | undefined,
): void {
  res.writeHead(200, headers);
  const half = body.subarray(0, Math.floor(body.length / 2));
  if (fault?.kind === 'destroy-mid-body') {
    res.write(half, () => res.destroy());
  } else if (fault?.kind === 'truncate') {
    // End the message early on a keep-alive-less socket so the client sees a short body.
    res.write(half, () => res.socket?.end());
  } else if (fault?.kind === 'stall') {
    res.write(half);
  } else {
    res.end(body);
  }
}
