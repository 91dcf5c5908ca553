import assert from 'node:assert/strict';
import { chmodSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  createFetchOptions,
  type FetchOptions,
  fetchIndex,
  fetchKey,
  fetchPackage,
  forgetPackage,
} from '../../src/repo/fetch.ts';
import { parseRepositoryRef } from '../../src/repo/ref.ts';
import { verifyCache } from '../../src/store/maintenance.ts';
import { LadingError } from '../../src/util/errors.ts';
import { createLogger } from '../../src/util/log.ts';
import { keysDir, type RepoServer, repoDir, startRepoServer } from '../helpers/repo-server.ts';
import { tempDir } from '../helpers/tools.ts';

const ARCH = 'x86_64';
const KEY = 'alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub';
const busybox = { name: 'busybox', version: '1.36.1-r15' };
const busyboxBytes = readFileSync(join(repoDir, ARCH, 'busybox-1.36.1-r15.apk'));
const indexBytes = readFileSync(join(repoDir, ARCH, 'APKINDEX.tar.gz'));
const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;

/** Every package in the fixture repository, split into name and version. */
const allPackages = readdirSync(join(repoDir, ARCH))
  .filter((f) => f.endsWith('.apk'))
  .map((f) => {
    const m = /^(.*)-([^-]+-r\d+)\.apk$/.exec(f)!;
    return { name: m[1]!, version: m[2]! };
  });

describe('fetching through the cache', () => {
  let server: RepoServer;
  const dirs: (() => void)[] = [];
  before(async () => {
    server = await startRepoServer();
  });
  after(async () => {
    await server.close();
    for (const remove of dirs) remove();
  });

  async function setup(
    extra: { env?: NodeJS.ProcessEnv; offline?: boolean; maxAgeSeconds?: number; cacheDir?: string } = {},
  ) {
    let cacheDir = extra.cacheDir;
    if (!cacheDir) {
      const d = tempDir('lading-fetch-');
      dirs.push(d.remove);
      cacheDir = d.path;
    }
    const log: string[] = [];
    const options = await createFetchOptions({
      cacheDir,
      env: extra.env ?? {},
      offline: extra.offline,
      maxAgeSeconds: extra.maxAgeSeconds,
      logger: createLogger('debug', (s) => log.push(s)),
      http: { retryDelayMs: 5, attempts: 2 },
    });
    server.requests.length = 0;
    server.faults.length = 0;
    delete server.requireAuthorization;
    return { options, log, cacheDir };
  }

  it('local and HTTP give identical bytes for index, package and key', async () => {
    const { options } = await setup();
    const local = parseRepositoryRef(repoDir);
    const remote = parseRepositoryRef(`${server.url}/repo/`);
    const li = await fetchIndex(local, ARCH, options);
    const ri = await fetchIndex(remote, ARCH, options);
    assert.equal(li.source, 'local');
    assert.equal(ri.source, 'network');
    assert.deepEqual(ri.bytes, li.bytes);
    assert.deepEqual(li.bytes, indexBytes);
    assert.equal(ri.digest, li.digest);
    assert.equal(ri.location, `${server.url}/repo/x86_64/APKINDEX.tar.gz`);

    const lp = await fetchPackage(local, ARCH, busybox, options);
    const rp = await fetchPackage(remote, ARCH, busybox, options);
    assert.deepEqual(rp.bytes, lp.bytes);
    assert.deepEqual(lp.bytes, busyboxBytes);

    const lk = await fetchKey(join(keysDir, KEY), options);
    const rk = await fetchKey(`${server.url}/keys/${KEY}`, options);
    const relative = await fetchKey(KEY, { ...options, cwd: keysDir });
    assert.deepEqual(rk.bytes, lk.bytes);
    assert.deepEqual(relative.bytes, lk.bytes);
    assert.equal(server.requests.length, 3);
    assert.deepEqual((await verifyCache(options.cache.dir)).problems, []);
  });

  it('authenticates with URL userinfo and with HTTP_AUTH', async () => {
    const { options, log } = await setup({ env: { HTTP_AUTH: 'basic:127.0.0.1:envuser:env:pass' } });
    server.requireAuthorization = basic('envuser', 'env:pass');
    await fetchIndex(parseRepositoryRef(`${server.url}/repo`), ARCH, options);
    assert.equal(server.requests.at(-1)!.headers.authorization, basic('envuser', 'env:pass'));

    server.requireAuthorization = basic('url-user', 's3cret:x');
    const repo = parseRepositoryRef(`${server.url.replace('//', '//url-user:s3cret%3Ax@')}/repo`);
    const p = await fetchPackage(repo, ARCH, busybox, options);
    assert.deepEqual(p.bytes, busyboxBytes);
    assert.equal(server.requests.at(-1)!.headers.authorization, basic('url-user', 's3cret:x'));
    assert.ok(!p.location.includes('s3cret'));
    assert.ok(!log.join('').includes('s3cret'));
  });

  it('a rejected password is named as such and appears nowhere', async () => {
    const { options, log } = await setup();
    server.requireAuthorization = basic('u', 'right');
    const repo = parseRepositoryRef(`${server.url.replace('//', '//u:Wr0ng-pass@')}/repo`);
    await assert.rejects(fetchIndex(repo, ARCH, options), (e: unknown) => {
      assert.ok(e instanceof LadingError && e.code === 'NET_AUTH');
      assert.match(e.message, /rejected the credentials/);
      assert.match(e.message, /index of repository http:\/\/127\.0\.0\.1:\d+\/repo \(x86_64\)/);
      assert.ok(!JSON.stringify({ m: e.message, h: e.hint, s: e.stack }).includes('Wr0ng'));
      return true;
    });
    assert.ok(!log.join('').includes('Wr0ng'));
    assert.equal(server.requests.length, 1);
  });

  it('warm index: no request within the freshness window, a conditional GET answered 304 after it', async () => {
    const { options } = await setup();
    const repo = parseRepositoryRef(`${server.url}/repo`);
    assert.equal((await fetchIndex(repo, ARCH, options)).source, 'network');
    assert.equal((await fetchIndex(repo, ARCH, options)).source, 'cache');
    assert.equal(server.requests.length, 1);

    const always: FetchOptions = { ...options, maxAgeSeconds: 0 };
    const again = await fetchIndex(repo, ARCH, always);
    assert.equal(again.source, 'revalidated');
    assert.deepEqual(again.bytes, indexBytes);
    assert.equal(server.requests.length, 2);
    assert.match(String(server.requests[1]!.headers['if-none-match']), /^"[0-9a-f]{16}"$/);
    assert.ok(server.requests[1]!.headers['if-modified-since']);

    // A later clock makes the window pass too.
    const later: FetchOptions = { ...options, now: () => Date.now() + 3600_000 };
    assert.equal((await fetchIndex(repo, ARCH, later)).source, 'revalidated');
  });

  it('warm package: served from the cache with no request', async () => {
    const { options } = await setup();
    const repo = parseRepositoryRef(`${server.url}/repo`);
    const first = await fetchPackage(repo, ARCH, { ...busybox, checksum: 'Q1whatever=' }, options);
    const second = await fetchPackage(repo, ARCH, { ...busybox, checksum: 'Q1whatever=' }, options);
    assert.equal(first.source, 'network');
    assert.equal(second.source, 'cache');
    assert.deepEqual(second.bytes, busyboxBytes);
    assert.equal(server.requests.length, 1);
    // Keyed by checksum, not URL: the same package from a mirror is a cache hit.
    const mirror = parseRepositoryRef('https://mirror.invalid/alpine');
    assert.equal(
      (await fetchPackage(mirror, ARCH, { ...busybox, checksum: 'Q1whatever=' }, options)).source,
      'cache',
    );
  });

  it('offline: a warm cache works with the server stopped; a cold one fails clearly', async () => {
    const stoppable = await startRepoServer();
    const warm = await setup();
    const repo = parseRepositoryRef(`${stoppable.url}/repo`);
    await fetchIndex(repo, ARCH, warm.options);
    await fetchPackage(repo, ARCH, busybox, warm.options);
    await fetchKey(`${stoppable.url}/keys/${KEY}`, warm.options);
    await stoppable.close();

    const offline = await setup({ offline: true, cacheDir: warm.cacheDir, maxAgeSeconds: 0 });
    assert.equal(offline.options.http, undefined);
    assert.deepEqual((await fetchIndex(repo, ARCH, offline.options)).bytes, indexBytes);
    assert.deepEqual((await fetchPackage(repo, ARCH, busybox, offline.options)).bytes, busyboxBytes);
    assert.equal((await fetchKey(`${stoppable.url}/keys/${KEY}`, offline.options)).source, 'cache');

    const cold = await setup({ offline: true });
    await assert.rejects(fetchIndex(repo, ARCH, cold.options), (e: unknown) => {
      assert.ok(e instanceof LadingError && e.code === 'REPO_OFFLINE');
      assert.equal(
        e.message,
        `--offline: the index of repository ${stoppable.url}/repo (x86_64) is not in the cache`,
      );
      assert.match(e.hint ?? '', /run once without --offline/);
      return true;
    });
    await assert.rejects(fetchPackage(repo, ARCH, busybox, cold.options), {
      code: 'REPO_OFFLINE',
      message: '--offline: package busybox-1.36.1-r15 is not in the cache',
    });

    // Online but unreachable, with a cached copy: used with a warning.
    const stale = await setup({ cacheDir: warm.cacheDir, maxAgeSeconds: 0 });
    const s = await fetchIndex(repo, ARCH, stale.options);
    assert.equal(s.source, 'stale');
    assert.ok(stale.log.some((l) => l.startsWith('warn:') && l.includes('using the cached copy')));
  });

  it('a corrupted cache blob is detected and fetched again', async () => {
    const { options, log } = await setup();
    const repo = parseRepositoryRef(`${server.url}/repo`);
    const first = await fetchPackage(repo, ARCH, busybox, options);
    const path = options.cache.blobPath(first.digest);
    chmodSync(path, 0o644);
    writeFileSync(
      path,
      Buffer.concat([busyboxBytes.subarray(0, 1000), Buffer.alloc(10), busyboxBytes.subarray(1010)]),
    );
    const again = await fetchPackage(repo, ARCH, busybox, options);
    assert.equal(again.source, 'network');
    assert.deepEqual(again.bytes, busyboxBytes);
    assert.equal(server.requests.length, 2);
    assert.ok(log.some((l) => l.includes('is corrupt')));
    assert.deepEqual((await verifyCache(options.cache.dir)).problems, []);
  });

  it("the caller's verification: a rejected cached copy is fetched again, a rejected download is not stored", async () => {
    const { options, log } = await setup();
    const repo = parseRepositoryRef(`${server.url}/repo`);
    await fetchPackage(repo, ARCH, busybox, options);
    let rejectNext = true;
    const verify = () => {
      if (rejectNext) {
        rejectNext = false;
        throw new LadingError('apk.checksum', 'control checksum does not match the index');
      }
    };
    const refetched = await fetchPackage(repo, ARCH, busybox, { ...options, verify });
    assert.equal(refetched.source, 'network');
    assert.ok(log.some((l) => l.includes('was rejected (control checksum does not match the index)')));

    const always = () => {
      throw new LadingError('apk.checksum', 'bad');
    };
    const other = { name: 'zlib', version: '1.3.1-r0' };
    await assert.rejects(fetchPackage(repo, ARCH, other, { ...options, verify: always }), { message: 'bad' });
    assert.equal(
      (await fetchPackage(repo, ARCH, other, options)).source,
      'network',
      'the rejected download was not kept',
    );

    await forgetPackage(repo, ARCH, other, options);
    assert.equal((await fetchPackage(repo, ARCH, other, options)).source, 'network');
    assert.equal(server.requests.length, 5);
  });

  it('fetches many packages in parallel, one request per package even when asked twice at once', async () => {
    const { options } = await setup();
    const repo = parseRepositoryRef(`${server.url}/repo`);
    let bytes = 0;
    const withProgress: FetchOptions = { ...options, onBytes: (n) => (bytes += n) };
    const results = await Promise.all(
      [...allPackages, ...allPackages].map((p) => fetchPackage(repo, ARCH, p, withProgress)),
    );
    assert.equal(server.requests.length, allPackages.length);
    const total = allPackages.reduce(
      (n, p) => n + readFileSync(join(repoDir, ARCH, `${p.name}-${p.version}.apk`)).length,
      0,
    );
    assert.equal(bytes, total);
    assert.equal(results.length, allPackages.length * 2);
  });

  it('a missing key, index or package: the URL once, and a hint about what is missing', async () => {
    const { options } = await setup();
    const keyUrl = `${server.url}/keys/nope.rsa.pub`;
    await assert.rejects(fetchKey(keyUrl, options), (e: unknown) => {
      assert.ok(e instanceof LadingError);
      assert.equal(e.message, `key nope.rsa.pub not found at ${keyUrl} (HTTP 404 Not Found)`);
      assert.equal(e.hint, 'check the key URL in contents.keyring (or --keyring-append)');
      return true;
    });
    // an index that is not there: a wrong URL or architecture, never a stale index
    await assert.rejects(
      fetchIndex(parseRepositoryRef(`${server.url}/repo`), 'aarch64', options),
      (e: unknown) => {
        assert.ok(e instanceof LadingError && e.code === 'NET_NOT_FOUND');
        assert.doesNotMatch(`${e.message} ${e.hint}`, /stale/);
        assert.match(e.hint ?? '', /has aarch64 packages \(aarch64\/APKINDEX\.tar\.gz\)/);
        return true;
      },
    );
    // a package its index lists that is not there: that is what a stale index means
    const gone = { name: 'busybox', version: '9.9-r0' };
    await assert.rejects(
      fetchPackage(parseRepositoryRef(`${server.url}/repo`), ARCH, gone, options),
      (e: unknown) => {
        assert.ok(e instanceof LadingError && e.code === 'NET_NOT_FOUND');
        assert.match(e.hint ?? '', /lists it but the repository does not have it: the index is stale/);
        return true;
      },
    );
  });

  it('a relative keyring path that is not there hints at the working directory and --workdir', async () => {
    const d = tempDir('lading-key-cwd-');
    dirs.push(d.remove);
    const { options } = await setup();
    await assert.rejects(fetchKey('keys/alpine.rsa.pub', { ...options, cwd: d.path }), (e: unknown) => {
      assert.ok(e instanceof LadingError && e.code === 'REPO_NOT_FOUND');
      assert.equal(e.message, `key keys/alpine.rsa.pub not found at ${join(d.path, 'keys/alpine.rsa.pub')}`);
      assert.match(e.hint ?? '', new RegExp(`start in the working directory \\(${d.path}\\).*--workdir DIR`));
      return true;
    });
  });

  it('names a missing local file', async () => {
    const { options } = await setup();
    const repo = parseRepositoryRef(repoDir);
    await assert.rejects(fetchIndex(repo, 'aarch64', options), {
      code: 'REPO_NOT_FOUND',
      message: `the index of repository ${repoDir} (aarch64) not found at ${join(repoDir, 'aarch64/APKINDEX.tar.gz')}`,
    });
    await assert.rejects(fetchKey('/nonexistent/key.rsa.pub', options), { code: 'REPO_NOT_FOUND' });
  });
});
