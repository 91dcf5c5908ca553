/**
 * A server that never stops sending slowly: the idle timeout (per read) never fires, so only an overall
 * deadline and a minimum transfer rate end the request. Against a real server on 127.0.0.1 dribbling a byte
 * at a time; and `lading build` ending with a clear error under LADING_HTTP_DEADLINE.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createHttpClient } from '../../src/net/http.ts';
import { httpLimits } from '../../src/repo/fetch.ts';
import { alpineKey } from '../helpers/build.ts';
import { ladingAsync, tempDir } from '../helpers/tools.ts';

/**
 * The bound the ended requests are checked against: far below what the body would take (1,000,000 bytes at one
 * per 20 ms) and the default limits, far above the limits set here, so a loaded machine cannot fail it.
 */
const WELL_BEFORE = 20_000;

/** A sink that keeps nothing. */
const nowhere = () => ({ write: () => {}, discard: () => {} });

describe('HTTP deadline and minimum rate', { timeout: 120_000 }, () => {
  const tmp = tempDir('lading-deadline-');
  let server: Server;
  let base: string;
  let requests = 0;
  before(async () => {
    server = createServer((req, res) => {
      requests++;
      if (req.url === '/unavailable') {
        res.writeHead(503).end();
        return;
      }
      // a large body, one byte every 20 ms: never idle, never done
      res.writeHead(200, { 'content-length': '1000000' });
      const timer = setInterval(() => res.write('x'), 20);
      res.on('close', () => clearInterval(timer));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    tmp.remove();
  });

  it('a transfer slower than the minimum rate fails the attempt, each attempt, with the rate said', async () => {
    requests = 0;
    const http = createHttpClient({
      minBytesPerSecond: 1000,
      rateWindowMs: 200,
      attempts: 2,
      retryDelayMs: 10,
    });
    const t = Date.now();
    await assert.rejects(http.get(`${base}/slow`, { sink: nowhere, what: 'the slow file' }), {
      code: 'NET_NETWORK',
      message: /after 2 attempts: too slow: \d+ bytes in 0\.\d s, below the minimum of 1000 bytes\/s/,
    });
    assert.equal(requests, 2);
    assert.ok(Date.now() - t < WELL_BEFORE);
  });

  it('the deadline covers every attempt, the waits between them and the body; it is not retried', async () => {
    requests = 0;
    const slow = createHttpClient({ deadlineMs: 400, attempts: 4 });
    const t = Date.now();
    await assert.rejects(slow.get(`${base}/slow`, { sink: nowhere, what: 'the slow file' }), {
      code: 'NET_NETWORK',
      message:
        /gave up on the slow file from http:\/\/127\.0\.0\.1:\d+\/slow: it took longer than the deadline of 0\.4 s/,
    });
    assert.equal(requests, 1);
    assert.ok(Date.now() - t < WELL_BEFORE);
    const body = await createHttpClient({ deadlineMs: 300 }).request(`${base}/slow`);
    await assert.rejects(body.bytes(), { message: /deadline of 0\.3 s/ });
    // a retry that would start after the deadline is not waited for
    const unavailable = createHttpClient({ deadlineMs: 300, attempts: 5, retryDelayMs: 250 });
    await assert.rejects(unavailable.get(`${base}/unavailable`, { sink: nowhere }), {
      message: /deadline of 0\.3 s/,
    });
  });

  it('LADING_HTTP_DEADLINE and LADING_HTTP_MIN_RATE configure repository downloads; bad values are errors', async () => {
    assert.deepEqual(httpLimits({}), { deadlineMs: 1_800_000, minBytesPerSecond: 1024 });
    assert.deepEqual(httpLimits({ LADING_HTTP_DEADLINE: '2.5', LADING_HTTP_MIN_RATE: '0' }), {
      deadlineMs: 2500,
      minBytesPerSecond: 0,
    });
    assert.throws(() => httpLimits({ LADING_HTTP_DEADLINE: 'soon' }), {
      message: /LADING_HTTP_DEADLINE="soon"/,
    });
    const config = join(tmp.path, 'c.yaml');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(
      config,
      `contents:\n  repositories: [${base}/repo]\n  keyring: [${alpineKey()}]\n  packages: [busybox]\narchs: [x86_64]\n`,
    );
    const t = Date.now();
    const r = await ladingAsync(
      ['build', config, 'x:1', join(tmp.path, 'x.tar'), '--cache-dir', join(tmp.path, 'c')],
      {
        env: { ...process.env, LADING_HTTP_DEADLINE: '0.5' },
      },
    );
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /gave up on the index of repository .* it took longer than the deadline of 0.5 s/);
    assert.match(r.stderr, /LADING_HTTP_DEADLINE=SECONDS/);
    assert.ok(Date.now() - t < WELL_BEFORE);
  });
});
