/**
 * A real CNCF distribution registry (Debian's `docker-registry` 2.8.2) on 127.0.0.1 for one test file, all state
 * in a temp dir (oci-tooling recipes 03 and 04):
 * - plain HTTP, no auth;
 * - `auth: 'htpasswd'`: HTTP Basic against a bcrypt htpasswd file (usually with `tls: true`);
 * - `auth: 'token'`: Bearer tokens from a small token server run in this process (ES256 JWTs whose `x5c`
 *   chains to the test CA), which logs every token request;
 * - `tls: true`: HTTPS with a server certificate signed by a CA made for this registry (`caFile`, `certDir`).
 * The token server lives in the test process: run clients with the async helpers (runAsync/ladingAsync),
 * never the blocking ones, while it must answer.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createSign, X509Certificate } from 'node:crypto';
import { copyFileSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { memoryTempDir, requireTool, run, stopChild, tempDir } from './tools.ts';

export interface TokenRequest {
  service: string | null;
  scopes: string[];
  /** The user the request authenticated as; '' when anonymous; undefined when the credentials were wrong. */
  user: string | undefined;
  /** `refresh_token` for the OAuth2 POST of an identity token. */
  grant?: string;
}

export interface TestRegistry {
  /** `127.0.0.1:PORT`, the registry part of a reference. */
  host: string;
  /** `http://host` or `https://host`. */
  url: string;
  /** The CA that signed the server certificate (TLS only). */
  caFile?: string;
  /** A directory holding the CA as `ca.crt`, for skopeo's --cert-dir (TLS only). */
  certDir?: string;
  user: string;
  password: string;
  /** Token requests the token server answered, in order (token auth only). */
  tokenRequests: TokenRequest[];
  /** The token service name the registry expects. */
  service: string;
  /** An identity (refresh) token the token server accepts for `user` (token auth). */
  refreshToken: string;
  dataDir: string;
  stop(): Promise<void>;
}

export interface RegistryOptions {
  auth?: 'htpasswd' | 'token';
  tls?: boolean;
  user?: string;
  password?: string;
  /** Storage on disk, as a registry is deployed (benchmarks); by default in memory when there is room. */
  onDisk?: boolean;
}

const SERVICE = 'test-registry';
const ISSUER = 'test-issuer';

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function openssl(args: string[]): void {
  const r = run('openssl', args);
  if (r.status !== 0) throw new Error(`openssl ${args[0]} failed: ${r.stderr}`);
}

/** A CA and the certificates it signs: the server's (127.0.0.1, localhost) and the token signer's (EC P-256). */
function makeCertificates(
  dir: string,
  parts: { server: boolean; signer: boolean },
): { ca: string; server: [string, string]; signer: [string, string] } {
  requireTool('openssl');
  mkdirSync(dir, { recursive: true });
  const p = (name: string) => join(dir, name);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  openssl([
    'req',
    '-x509',
    ...ec,
    '-days',
    '2',
    '-subj',
    '/CN=lading-test-ca',
    '-keyout',
    p('ca.key'),
    '-out',
    p('ca.crt'),
  ]);
  writeFileSync(p('server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  const issue = (name: string, subject: string, ext: string[], keyArgs: string[]) => {
    openssl(['req', ...keyArgs, '-subj', subject, '-keyout', p(`${name}.key`), '-out', p(`${name}.csr`)]);
    openssl([
      'x509',
      '-req',
      '-in',
      p(`${name}.csr`),
      '-CA',
      p('ca.crt'),
      '-CAkey',
      p('ca.key'),
      '-CAcreateserial',
      '-days',
      '2',
      ...ext,
      '-out',
      p(`${name}.crt`),
    ]);
  };
  if (parts.server) issue('server', '/CN=localhost', ['-extfile', p('server.ext')], ec);
  if (parts.signer) issue('signer', '/CN=token-signer', [], ec);
  return {
    ca: p('ca.crt'),
    server: [p('server.crt'), p('server.key')],
    signer: [p('signer.crt'), p('signer.key')],
  };
}

/** The token server of the Docker token auth spec: GET /token?service=&scope=… with optional Basic. */
async function startTokenServer(
  signer: [string, string],
  user: string,
  password: string,
  log: TokenRequest[],
  refreshToken: string,
): Promise<{ server: Server; url: string }> {
  const x5c = [new X509Certificate(readFileSync(signer[0])).raw.toString('base64')];
  const key = readFileSync(signer[1]);
  const b64u = (s: string) => Buffer.from(s).toString('base64url');
  const expected = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () =>
      answer(
        req.method ?? 'GET',
        new URL(req.url ?? '/', 'http://x'),
        req.headers.authorization,
        Buffer.concat(chunks),
        res,
      ),
    );
  });
  /** GET with optional Basic credentials, or the OAuth2 POST with a refresh token (an identity token). */
  function answer(
    method: string,
    u: URL,
    authz: string | undefined,
    body: Buffer,
    res: import('node:http').ServerResponse,
  ): void {
    let who = authz === undefined ? '' : authz === expected ? user : undefined;
    let params = u.searchParams;
    let grant: string | undefined;
    if (method === 'POST') {
      params = new URLSearchParams(body.toString('utf8'));
      grant = params.get('grant_type') ?? undefined;
      who = grant === 'refresh_token' && params.get('refresh_token') === refreshToken ? user : undefined;
    }
    const scopes = params.getAll('scope').flatMap((s) => s.split(' ').filter(Boolean));
    log.push({ service: params.get('service'), scopes, user: who, ...(grant ? { grant } : {}) });
    if (u.pathname !== '/token' || who === undefined) {
      res.writeHead(401, { 'content-type': 'application/json' }).end('{"details":"wrong credentials"}');
      return;
    }
    const access = scopes.map((s) => {
      const parts = s.split(':');
      const actions = (parts.pop() ?? '').split(',');
      const [type, ...name] = parts;
      // anonymous users may pull, never push
      return { type, name: name.join(':'), actions: actions.filter((a) => who !== '' || a === 'pull') };
    });
    const now = Math.floor(Date.now() / 1000);
    const claims = {
      iss: ISSUER,
      sub: who,
      aud: params.get('service'),
      exp: now + 300,
      nbf: now - 10,
      iat: now,
      jti: `${now}-${log.length}`,
      access,
    };
    const input = `${b64u(JSON.stringify({ typ: 'JWT', alg: 'ES256', x5c }))}.${b64u(JSON.stringify(claims))}`;
    // JWS wants the raw r||s form of an ECDSA signature
    const signature = createSign('sha256')
      .update(input)
      .sign({ key, dsaEncoding: 'ieee-p1363' })
      .toString('base64url');
    const token = `${input}.${signature}`;
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(
        JSON.stringify({ token, access_token: token, expires_in: 300, issued_at: new Date().toISOString() }),
      );
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/token` };
}

export async function startRegistry(options: RegistryOptions = {}): Promise<TestRegistry> {
  const binary = requireTool('docker-registry');
  const tmp = (options.onDisk ? tempDir : memoryTempDir)('lading-registry-');
  const d = tmp.path;
  const user = options.user ?? 'alice';
  const password = options.password ?? 's3cret-p4ss';
  const tokenRequests: TokenRequest[] = [];
  const refreshToken = `refresh-${password}`;
  const needCerts = options.tls || options.auth === 'token';
  const certs = needCerts
    ? makeCertificates(join(d, 'certs'), { server: options.tls === true, signer: options.auth === 'token' })
    : undefined;
  let certDir: string | undefined;
  if (options.tls && certs) {
    certDir = join(d, 'cert-dir');
    mkdirSync(certDir);
    copyFileSync(certs.ca, join(certDir, 'ca.crt'));
  }

  let tokenServer: Server | undefined;
  let auth = '';
  if (options.auth === 'htpasswd') {
    requireTool('htpasswd');
    const h = run('htpasswd', ['-Bbn', user, password]);
    if (h.status !== 0) throw new Error(`htpasswd failed: ${h.stderr}`);
    writeFileSync(join(d, 'htpasswd'), h.stdout);
    auth = `auth:\n  htpasswd: {realm: lading-test, path: ${join(d, 'htpasswd')}}\n`;
  } else if (options.auth === 'token' && certs) {
    const t = await startTokenServer(certs.signer, user, password, tokenRequests, refreshToken);
    tokenServer = t.server;
    auth = `auth:\n  token:\n    realm: ${t.url}\n    service: ${SERVICE}\n    issuer: ${ISSUER}\n    rootcertbundle: ${certs.ca}\n`;
  }

  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const tls =
    options.tls && certs ? `  tls: {certificate: ${certs.server[0]}, key: ${certs.server[1]}}\n` : '';
  writeFileSync(
    join(d, 'config.yml'),
    `version: 0.1
log: {level: warn, accesslog: {disabled: true}}
storage:
  filesystem: {rootdirectory: ${join(d, 'data')}}
  delete: {enabled: true}
http:
  addr: ${host}
  secret: lading-test-secret
${tls}${auth}`,
  );
  const logFd = openSync(join(d, 'registry.log'), 'w');
  const proc: ChildProcess = spawn(binary, ['serve', join(d, 'config.yml')], {
    stdio: ['ignore', logFd, logFd],
  });
  const url = `${options.tls ? 'https' : 'http'}://${host}`;
  const stop = async () => {
    await stopChild(proc);
    if (tokenServer) {
      tokenServer.closeAllConnections();
      await new Promise<void>((resolve) => tokenServer!.close(() => resolve()));
    }
    tmp.remove();
  };
  // readiness: the port accepts a TLS or plain connection and answers /v2/ (401 counts)
  const ca = certs ? readFileSync(certs.ca) : undefined;
  for (let i = 0; i < 200; i++) {
    if (proc.exitCode !== null) break;
    if (await answers(url, ca)) {
      return {
        host,
        url,
        caFile: options.tls ? certs?.ca : undefined,
        certDir,
        user,
        password,
        tokenRequests,
        service: SERVICE,
        refreshToken,
        dataDir: join(d, 'data'),
        stop,
      };
    }
    await sleep(25);
  }
  const why = readFileSync(join(d, 'registry.log'), 'utf8').slice(-2000);
  await stop();
  throw new Error(`docker-registry did not start:\n${why}`);
}

async function answers(url: string, ca: Buffer | undefined): Promise<boolean> {
  const { request } = url.startsWith('https') ? await import('node:https') : await import('node:http');
  return new Promise((resolve) => {
    const req = request(`${url}/v2/`, { ca, timeout: 1000 }, (res: import('node:http').IncomingMessage) => {
      res.resume();
      resolve(true);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}
