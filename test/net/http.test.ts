import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { BasicCredentials, BearerToken, credentialsForHost, parseHttpAuth } from '../../src/net/auth.ts';
import {
  type BodySink,
  createHttpClient,
  DEFAULT_USER_AGENT,
  type HttpClientOptions,
} from '../../src/net/http.ts';
import { LadingError } from '../../src/util/errors.ts';
import { createLogger } from '../../src/util/log.ts';
import { type RepoServer, repoDir, startRepoServer } from '../helpers/repo-server.ts';

const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
const INDEX = '/repo/x86_64/APKINDEX.tar.gz';
const BUSYBOX = '/repo/x86_64/busybox-1.36.1-r15.apk';
const busybox = readFileSync(join(repoDir, 'x86_64/busybox-1.36.1-r15.apk'));

function memorySink(): BodySink & { bytes(): Buffer } {
  const chunks: Buffer[] = [];
  return {
    write: (c) => void chunks.push(Buffer.from(c)),
    discard: () => void chunks.splice(0),
    bytes: () => Buffer.concat(chunks),
  };
}

/** A client with fast retries and a log we can search for secrets. */
function client(options: HttpClientOptions = {}) {
  const log: string[] = [];
  const http = createHttpClient({
    retryDelayMs: 5,
    logger: createLogger('debug', (s) => log.push(s)),
    ...options,
  });
  return { http, log };
}

async function getBytes(
  http: ReturnType<typeof client>['http'],
  url: string,
  credentials?: BasicCredentials,
) {
  const res = await http.get(url, { sink: memorySink, credentials, what: 'test file' });
  assert.equal(res.status, 200);
  return res.status === 200 ? res.sink.bytes() : Buffer.alloc(0);
}

describe('HTTP_AUTH', () => {
  it('parses one entry as apko does, keeping ":" in the password', () => {
    const { entries, warnings } = parseHttpAuth('basic:Repo.Example.com:user:pa:ss word');
    assert.deepEqual(warnings, []);
    assert.equal(entries.length, 1);
    assert.equal(entries[0]!.host, 'repo.example.com');
    assert.equal(entries[0]!.credentials.authorization(), basic('user', 'pa:ss word'));
  });

  it('parses several entries separated by whitespace, with wildcard hosts', () => {
    const { entries } = parseHttpAuth(
      'basic:a.example.com:u1:p1\n  basic:*.example.org:u2:p:2 basic:b.example.org:u3:p3\n',
    );
    assert.deepEqual(
      entries.map((e) => e.host),
      ['a.example.com', '*.example.org', 'b.example.org'],
    );
    assert.equal(credentialsForHost('A.example.com', entries)?.authorization(), basic('u1', 'p1'));
    assert.equal(credentialsForHost('x.y.example.org', entries)?.authorization(), basic('u2', 'p:2'));
    assert.equal(credentialsForHost('b.example.org', entries)?.authorization(), basic('u3', 'p3'));
    assert.equal(credentialsForHost('example.org', entries), undefined);
    assert.equal(credentialsForHost('example.com', entries), undefined);
  });

  it('warns about other schemes and rejects malformed entries without echoing them', () => {
    assert.deepEqual(parseHttpAuth('bearer:host:tok').warnings, [
      'HTTP_AUTH entry 1 uses "bearer", not "basic"; ignored',
    ]);
    assert.deepEqual(parseHttpAuth('').entries, []);
    for (const bad of ['basic:host-only-secret', 'basic:bad_host!:u:secretpw']) {
      assert.throws(
        () => parseHttpAuth(bad),
        (e: unknown) =>
          e instanceof LadingError && e.code === 'NET_HTTP_AUTH' && !e.message.includes('secret'),
      );
    }
  });

  it('credentials never print', () => {
    const c = new BasicCredentials('user', 'pw-123');
    assert.equal(`${c}`, '<redacted>');
    assert.equal(JSON.stringify({ c }), '{"c":"<redacted>"}');
  });
});

describe('HTTP client against a real server', () => {
  let server: RepoServer;
  let other: RepoServer;
  before(async () => {
    server = await startRepoServer();
    other = await startRepoServer();
  });
  after(async () => {
    await server.close();
    await other.close();
  });
  const reset = () => {
    server.requests.length = 0;
    server.faults.length = 0;
    delete server.requireAuthorization;
    other.requests.length = 0;
  };

  it('sends the user agent and asks for the stored bytes', async () => {
    reset();
    const { http } = client();
    assert.deepEqual(await getBytes(http, server.url + BUSYBOX), busybox);
    assert.equal(server.requests[0]!.headers['user-agent'], DEFAULT_USER_AGENT);
    assert.match(DEFAULT_USER_AGENT, /^lading\/\d+\.\d+\.\d+/);
    assert.equal(server.requests[0]!.headers['accept-encoding'], 'identity');
    assert.equal(server.requests[0]!.headers.authorization, undefined);
  });

  it('sends basic auth from userinfo and from HTTP_AUTH, exactly', async () => {
    reset();
    server.requireAuthorization = basic('alice', 'pa:ss@w/rd');
    const { http } = client();
    assert.deepEqual(
      await getBytes(http, server.url + INDEX, new BasicCredentials('alice', 'pa:ss@w/rd')),
      readFileSync(join(repoDir, 'x86_64/APKINDEX.tar.gz')),
    );
    assert.equal(server.requests.at(-1)!.headers.authorization, basic('alice', 'pa:ss@w/rd'));

    server.requireAuthorization = basic('bob', 'tok:en');
    const viaEnv = client({
      auth: parseHttpAuth('basic:example.com:x:y basic:127.0.0.1:bob:tok:en').entries,
    });
    assert.deepEqual(await getBytes(viaEnv.http, server.url + BUSYBOX), busybox);
    assert.equal(server.requests.at(-1)!.headers.authorization, basic('bob', 'tok:en'));
  });

  it('401: says credentials are missing or rejected, never shows the password', async () => {
    reset();
    server.requireAuthorization = basic('alice', 'right');
    const { http, log } = client();
    await assert.rejects(getBytes(http, server.url + INDEX), (e: unknown) => {
      assert.ok(e instanceof LadingError);
      assert.equal(e.code, 'NET_AUTH');
      assert.match(e.message, /requires credentials \(HTTP 401/);
      assert.match(e.hint ?? '', /HTTP_AUTH=basic:127\.0\.0\.1:USER:PASS/);
      return true;
    });
    await assert.rejects(
      getBytes(http, server.url + INDEX, new BasicCredentials('alice', 'wrong-Pw-42')),
      (e: unknown) => {
        assert.ok(e instanceof LadingError);
        assert.match(e.message, /rejected the credentials \(HTTP 401/);
        assert.ok(!`${e.message} ${e.hint} ${e.stack}`.includes('wrong-Pw-42'));
        return true;
      },
    );
    assert.equal(server.requests.length, 2, '401 is not retried');
    assert.ok(log.length > 0);
    assert.ok(!log.join('').includes('wrong-Pw-42'));
    assert.ok(!log.join('').includes(Buffer.from('alice:wrong-Pw-42').toString('base64')));
  });

  it('retries 503 twice, then succeeds', async () => {
    reset();
    server.faults.push({ path: BUSYBOX, fault: { kind: 'status', status: 503 } });
    server.faults.push({ path: BUSYBOX, fault: { kind: 'status', status: 503 } });
    const { http, log } = client();
    assert.deepEqual(await getBytes(http, server.url + BUSYBOX), busybox);
    assert.equal(server.requests.length, 3);
    assert.equal(log.filter((l) => l.includes('HTTP 503') && l.includes('retrying')).length, 2);
  });

  it('honours Retry-After on 429, up to the cap', async () => {
    reset();
    server.faults.push({
      path: BUSYBOX,
      fault: { kind: 'status', status: 429, headers: { 'retry-after': '3600' } },
    });
    const { http, log } = client({ maxRetryAfterMs: 15 });
    assert.deepEqual(await getBytes(http, server.url + BUSYBOX), busybox);
    assert.ok(
      log.some((l) => l.includes('HTTP 429') && l.includes('retrying in 15 ms')),
      log.join(''),
    );
  });

  it('retries a connection destroyed mid-body and a body shorter than Content-Length', async () => {
    for (const kind of ['destroy-mid-body', 'truncate'] as const) {
      reset();
      server.faults.push({ path: BUSYBOX, fault: { kind } });
      const { http, log } = client();
      assert.deepEqual(await getBytes(http, server.url + BUSYBOX), busybox, kind);
      assert.equal(server.requests.length, 2, kind);
      assert.ok(
        log.some((l) => /connection lost|body ended/.test(l)),
        log.join(''),
      );
    }
  });

  it('retries after an idle timeout', async () => {
    reset();
    server.faults.push({ path: BUSYBOX, fault: { kind: 'stall' } });
    const { http, log } = client({ timeoutMs: 500 });
    assert.deepEqual(await getBytes(http, server.url + BUSYBOX), busybox);
    assert.equal(server.requests.length, 2);
    assert.ok(
      log.some((l) => l.includes('no data for 500 ms')),
      log.join(''),
    );
  });

  it('gives up after the last attempt with a clear message', async () => {
    reset();
    for (let i = 0; i < 3; i++) server.faults.push({ path: BUSYBOX, fault: { kind: 'status', status: 502 } });
    const { http } = client({ attempts: 3 });
    await assert.rejects(getBytes(http, server.url + BUSYBOX), {
      code: 'NET_NETWORK',
      message: `could not fetch test file from ${server.url}${BUSYBOX} after 3 attempts: HTTP 502 Bad Gateway`,
    });
    assert.equal(server.requests.length, 3);
  });

  it('retries refused connections, then names the URL', async () => {
    const gone = await startRepoServer();
    await gone.close();
    const { http } = client({ attempts: 2 });
    await assert.rejects(getBytes(http, gone.url + INDEX), (e: unknown) => {
      assert.ok(e instanceof LadingError && e.code === 'NET_NETWORK');
      assert.match(e.message, /after 2 attempts: connection failed \(ECONNREFUSED/);
      return true;
    });
  });

  it('a host that is down: one warning and one summary, not one line per retry', async () => {
    const gone = await startRepoServer();
    await gone.close();
    const warnings: string[] = [];
    const http = createHttpClient({
      retryDelayMs: 2,
      logger: createLogger('warn', (s) => warnings.push(s)),
    });
    // what an alpine-base build asks for: its 25 packages, 8 at a time
    const files = Array.from({ length: 25 }, (_, i) => `${gone.url}/repo/x86_64/p${i}-1.0-r0.apk`);
    const results = await Promise.allSettled(files.map((f) => getBytes(http, f)));
    assert.ok(results.every((r) => r.status === 'rejected'));
    const host = new URL(gone.url).host;
    assert.equal(warnings.length, 2, warnings.join(''));
    assert.match(
      warnings[0]!,
      new RegExp(`^warn: GET ${gone.url}/repo/x86_64/p\\d+-1\\.0-r0\\.apk: connection failed`),
    );
    assert.match(
      warnings[0]!,
      new RegExp(`further retries from ${host} are summed up, not shown one by one\n$`),
    );
    assert.match(
      warnings[1]!,
      new RegExp(
        `^warn: ${host}: 75 retries of 25 requests \\(connection failed \\(ECONNREFUSED[^)]*\\) ×75\\); 25 failed\n$`,
      ),
    );
  });

  it('404 fails at once', async () => {
    reset();
    const { http } = client();
    await assert.rejects(getBytes(http, `${server.url}/repo/x86_64/nope-1.0-r0.apk`), {
      code: 'NET_NOT_FOUND',
      message: `test file not found at ${server.url}/repo/x86_64/nope-1.0-r0.apk (HTTP 404 Not Found)`,
    });
    assert.equal(server.requests.length, 1);
  });

  it('enforces the size limit without retrying', async () => {
    reset();
    const { http } = client({ maxResponseBytes: 1000 });
    await assert.rejects(getBytes(http, server.url + BUSYBOX), { code: 'NET_TOO_LARGE' });
    assert.equal(server.requests.length, 1);
  });

  it('follows a redirect to another origin without the credentials', async () => {
    reset();
    server.faults.push({
      path: BUSYBOX,
      fault: { kind: 'redirect', location: `${other.url}${BUSYBOX}?sig=secret-query` },
    });
    const { http, log } = client();
    assert.deepEqual(
      await getBytes(http, server.url + BUSYBOX, new BasicCredentials('alice', 'pw')),
      busybox,
    );
    assert.equal(server.requests[0]!.headers.authorization, basic('alice', 'pw'));
    assert.equal(other.requests.length, 1);
    assert.equal(other.requests[0]!.headers.authorization, undefined);

    // Same origin keeps them.
    reset();
    server.faults.push({ path: INDEX, fault: { kind: 'redirect', location: BUSYBOX } });
    assert.deepEqual(await getBytes(http, server.url + INDEX, new BasicCredentials('alice', 'pw')), busybox);
    assert.equal(server.requests[1]!.headers.authorization, basic('alice', 'pw'));
    assert.ok(!log.join('').includes('secret-query'));

    // Only http(s) locations are followed.
    reset();
    server.faults.push({ path: INDEX, fault: { kind: 'redirect', location: 'data:,not-an-index' } });
    await assert.rejects(getBytes(http, server.url + INDEX), {
      code: 'NET_HTTP',
      message: `${server.url}${INDEX} redirects to an unusable location (test file)`,
    });
  });
});

describe('request(): any method, for the registry client', () => {
  /** A server that records each request's method, path, Authorization and body, and answers from a script. */
  type Seen = { method: string; path: string; auth?: string; body: string };
  type Answer = { status: number; headers?: Record<string, string>; body?: string };
  let seen: Seen[] = [];
  let answers: ((s: Seen) => Answer)[] = [];
  let server: Server;
  let url = '';
  before(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const s = {
          method: req.method!,
          path: req.url!,
          auth: req.headers.authorization,
          body: Buffer.concat(chunks).toString(),
        };
        seen.push(s);
        const a: Answer = answers.shift()?.(s) ?? { status: 200 };
        res.writeHead(a.status, a.headers).end(a.body);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));
  const reset = (...script: typeof answers) => {
    seen = [];
    answers = script;
  };

  it('sends a streamed body again on each attempt and hands back the response', async () => {
    reset(
      () => ({ status: 503 }),
      () => ({ status: 201, headers: { location: '/v2/x/blobs/sha256:1' }, body: 'made' }),
    );
    const { http } = client();
    let opened = 0;
    const res = await http.request(`${url}/v2/x/blobs/uploads/1?digest=sha256:1`, {
      method: 'PUT',
      body: () => {
        opened++;
        return Readable.from([Buffer.from('layer '), Buffer.from('bytes')]);
      },
      credentials: new BearerToken('tok-secret'),
      what: 'blob sha256:1',
    });
    assert.equal(res.status, 201);
    assert.equal(res.headers.get('location'), '/v2/x/blobs/sha256:1');
    assert.equal((await res.bytes()).toString(), 'made');
    assert.equal(opened, 2);
    assert.deepEqual(
      seen.map((s) => [s.method, s.body, s.auth]),
      [
        ['PUT', 'layer bytes', 'Bearer tok-secret'],
        ['PUT', 'layer bytes', 'Bearer tok-secret'],
      ],
    );
    assert.equal(`${new BearerToken('tok-secret')}`, '<redacted>');
  });

  it('answers accepted statuses and fails on the others', async () => {
    const { http } = client();
    reset(() => ({ status: 404 }));
    const head = await http.request(`${url}/v2/x/blobs/sha256:2`, { method: 'HEAD', accept: [404] });
    assert.equal(head.status, 404);
    await head.cancel();
    reset(() => ({ status: 401, headers: { 'www-authenticate': 'Bearer realm="x"' } }));
    const challenge = await http.request(`${url}/v2/`, { accept: [401] });
    assert.equal(challenge.headers.get('www-authenticate'), 'Bearer realm="x"');
    assert.equal((await challenge.bytes()).length, 0);
    reset(() => ({ status: 404 }));
    await assert.rejects(http.request(`${url}/v2/x/manifests/1`, { what: 'manifest' }), {
      code: 'NET_NOT_FOUND',
    });
  });

  it('follows 307 with the method and body, and 303 as a GET', async () => {
    const { http } = client();
    reset(
      () => ({ status: 307, headers: { location: '/elsewhere' } }),
      () => ({ status: 202, headers: { location: '/v2/x/blobs/uploads/2' } }),
    );
    const res = await http.request(`${url}/v2/x/blobs/uploads/`, { method: 'POST', body: () => 'b' });
    assert.equal(res.status, 202);
    assert.deepEqual(
      seen.map((s) => [s.method, s.path, s.body]),
      [
        ['POST', '/v2/x/blobs/uploads/', 'b'],
        ['POST', '/elsewhere', 'b'],
      ],
    );
    reset(
      () => ({ status: 303, headers: { location: '/done' } }),
      () => ({ status: 200, body: 'ok' }),
    );
    const after303 = await http.request(`${url}/form`, { method: 'POST', body: () => 'x' });
    assert.equal((await after303.bytes()).toString(), 'ok');
    assert.deepEqual(
      seen.map((s) => [s.method, s.body]),
      [
        ['POST', 'x'],
        ['GET', ''],
      ],
    );
  });
});
