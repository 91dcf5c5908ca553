import assert from 'node:assert/strict';
import {
  chmodSync,
  existsSync,
  readdirSync,
  readFileSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openCache, refNamespace } from '../../src/store/cache.ts';
import { defaultCacheDir } from '../../src/store/default-dir.ts';
import { layoutPaths } from '../../src/store/layout.ts';
import { cacheUsage, cleanCache, pruneCache, verifyCache } from '../../src/store/maintenance.ts';
import { INDEXES } from '../../src/store/namespaces.ts';
import { digestOf } from '../../src/util/digest.ts';
import { createLogger } from '../../src/util/log.ts';
import { repoDir } from '../helpers/repo-server.ts';
import { tempDir } from '../helpers/tools.ts';

/** Namespaces of this test's own (the store's real ones are round-tripped in namespaces.test.ts). */
const DATA = refNamespace<string, { n: number }>('apk-data', (k) => k);
const NAMED = refNamespace<string>('package', (k) => k);

const musl = readFileSync(join(repoDir, 'x86_64/musl-1.2.4_git20230717-r4.apk'));

async function withCache(t: { after: (fn: () => void) => void }) {
  const dir = tempDir('lading-cache-');
  t.after(dir.remove);
  const log: string[] = [];
  const cache = await openCache(dir.path, { logger: createLogger('debug', (s) => log.push(s)) });
  return { cache, dir: dir.path, log };
}

/** Overwrites a (read-only) blob in place, keeping its inode. */
function scribble(path: string, bytes: Buffer) {
  chmodSync(path, 0o644);
  writeFileSync(path, bytes);
}

describe('content cache', () => {
  it('stores blobs by SHA-256, read-only, and reads them back verified', async (t) => {
    const { cache } = await withCache(t);
    const info = await cache.putBytes(musl);
    assert.equal(info.digest, digestOf(musl));
    assert.equal(info.size, musl.length);
    const path = cache.blobPath(info.digest);
    assert.equal(path.split('/').at(-2), info.digest.slice(7, 9));
    assert.equal(statSync(path).mode & 0o777, 0o444);
    assert.deepEqual(await cache.readBlob(info), musl);
    assert.equal(await cache.hasBlob(info.digest), true);
  });

  it('detects a corrupt or truncated blob, removes it and reports it missing', async (t) => {
    const { cache, log } = await withCache(t);
    for (const damage of [
      (b: Buffer) => Buffer.concat([b.subarray(0, 10), Buffer.from('X'), b.subarray(11)]),
      (b: Buffer) => b.subarray(0, b.length - 100),
    ]) {
      const info = await cache.putBytes(musl);
      const path = cache.blobPath(info.digest);
      scribble(path, damage(musl));
      assert.equal(await cache.readBlob(info), undefined);
      assert.equal(existsSync(path), false);
    }
    assert.equal(log.filter((l) => l.includes('is corrupt')).length, 2);
  });

  it('named references: set, get, attachments, damaged files ignored', async (t) => {
    const { cache, log } = await withCache(t);
    const blob = await cache.putBytes(musl);
    const index = await cache.putBytes(Buffer.from('{"entries":[]}'));
    await cache.setRef(DATA, 'datahash-1', { blob, attachments: { index }, meta: { n: 1 } });
    const got = await cache.readRef(DATA, 'datahash-1');
    assert.ok(got);
    assert.deepEqual(got.bytes, musl);
    assert.deepEqual(got.ref.attachments, { index: { digest: index.digest, size: index.size } });
    assert.deepEqual(await cache.readAttachment(got.ref, 'index'), Buffer.from('{"entries":[]}'));
    assert.equal(await cache.getRef(DATA, 'other'), undefined);

    // The key (a URL, say) is hashed into the file name and never appears in a path.
    const refPath = cache.refPath(INDEXES, 'https://repo.example.com/x86_64/APKINDEX.tar.gz');
    assert.ok(!refPath.includes('example'));

    writeFileSync(cache.refPath(DATA, 'datahash-1'), '{"key": trunc');
    assert.equal(await cache.getRef(DATA, 'datahash-1'), undefined);
    assert.ok(log.some((l) => l.includes('damaged reference')));
  });

  it('large blobs: hashed once, then trusted by stat fingerprint until the file changes', async (t) => {
    const { cache, log } = await withCache(t);
    const w = await cache.createWriter();
    await w.write(musl.subarray(0, 1000));
    await w.write(musl.subarray(1000));
    const blob = await w.commit();
    assert.ok(blob.fingerprint);
    await cache.setRef(DATA, 'dh', { blob });
    assert.equal((await cache.getRef(DATA, 'dh'))?.verified?.[blob.digest], blob.fingerprint);

    const opened = await cache.openRef(DATA, 'dh');
    assert.ok(opened);
    assert.deepEqual(await opened.file.read(100, 50), musl.subarray(100, 150));
    const streamed: Buffer[] = [];
    for await (const c of opened.file.stream(1000, 70000)) streamed.push(c as Buffer);
    assert.deepEqual(Buffer.concat(streamed), musl.subarray(1000, 70000));
    assert.deepEqual(
      await opened.file.read(0, 4),
      musl.subarray(0, 4),
      'the handle stays open after a stream',
    );
    assert.equal(opened.file.size, musl.length);
    await opened.file.close();

    // Appending changes size and mtime: detected without hashing, blob removed.
    chmodSync(cache.blobPath(blob.digest), 0o644);
    writeFileSync(cache.blobPath(blob.digest), 'x', { flag: 'a' });
    assert.equal(await cache.openRef(DATA, 'dh'), undefined);
    assert.ok(log.some((l) => l.includes('is corrupt')));

    // A rewritten blob (new inode) is re-hashed once, and the new fingerprint remembered.
    const again = await cache.putBytes(musl);
    const before = (await cache.getRef(DATA, 'dh'))!.verified![blob.digest];
    assert.notEqual(again.fingerprint, before);
    const reopened = await cache.openRef(DATA, 'dh');
    assert.ok(reopened);
    await reopened.file.close();
    assert.equal((await cache.getRef(DATA, 'dh'))!.verified![blob.digest], again.fingerprint);

    // In-place damage that restores size and mtime passes the stat check; verifyCache finds it.
    const path = cache.blobPath(blob.digest);
    const st = statSync(path);
    scribble(path, Buffer.concat([Buffer.from('Y'), musl.subarray(1)]));
    utimesSync(path, st.atime, st.mtime);
    const result = await verifyCache(cache.dir, { repair: true });
    assert.equal(result.problems.length, 2, result.problems.join('\n'));
    assert.match(result.problems[0]!, /corrupt/);
    assert.match(result.problems[1]!, /refers to missing blob/);
    assert.equal(existsSync(path), false);
  });

  it('removes stale temporary files when opened; keeps fresh ones', async (t) => {
    const { dir } = await withCache(t);
    const { tmp } = layoutPaths(dir);
    writeFileSync(join(tmp, 'old-partial'), 'x');
    const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
    utimesSync(join(tmp, 'old-partial'), twoHoursAgo, twoHoursAgo);
    writeFileSync(join(tmp, 'in-progress'), 'y');
    await openCache(dir);
    assert.deepEqual(readdirSync(tmp), ['in-progress']);
  });

  it('prunes references unused for a while and the blobs only they needed', async (t) => {
    const { cache, dir } = await withCache(t);
    const oldBlob = await cache.putBytes(Buffer.from('old'));
    const newBlob = await cache.putBytes(Buffer.from('new'));
    const orphan = await cache.putBytes(Buffer.from('orphan, recent'));
    await cache.setRef(NAMED, 'old', { blob: oldBlob });
    await cache.setRef(NAMED, 'new', { blob: newBlob });
    const past = new Date(Date.now() - 10 * 86400_000);
    utimesSync(cache.refPath(NAMED, 'old'), past, past);
    utimesSync(cache.blobPath(oldBlob.digest), past, past);

    const oldRefSize = statSync(cache.refPath(NAMED, 'old')).size;
    const result = await pruneCache(dir, { olderThanMs: 86400_000 });
    assert.deepEqual(result.removed, { files: 2, bytes: oldRefSize + 3 });
    assert.equal(await cache.getRef(NAMED, 'old'), undefined);
    assert.equal(await cache.hasBlob(oldBlob.digest), false);
    assert.deepEqual(await cache.readRef(NAMED, 'new').then((r) => r?.bytes), Buffer.from('new'));
    assert.equal(
      await cache.hasBlob(orphan.digest),
      true,
      'young unreferenced blobs may belong to a download in progress',
    );
    assert.deepEqual((await verifyCache(dir)).problems, []);
  });

  it('clean removes everything lading owns, reports the size, and nothing else', async (t) => {
    const { cache, dir } = await withCache(t);
    await cache.putBytes(musl);
    writeFileSync(join(dir, 'not-ours.txt'), 'keep me');
    const usage = await cacheUsage(dir);
    assert.equal(usage.blobs.count, 1);
    assert.equal(usage.blobs.bytes, musl.length);
    const removed = await cleanCache(dir);
    assert.deepEqual(removed, usage);
    assert.deepEqual(readdirSync(dir), ['not-ours.txt']);
    // The cache object still works afterwards: directories are recreated.
    const info = await cache.putBytes(musl);
    assert.deepEqual(await cache.readBlob(info), musl);
  });

  it('default location follows XDG_CACHE_HOME, else ~/.cache', () => {
    assert.equal(defaultCacheDir({ XDG_CACHE_HOME: '/x/cache' }, '/home/u'), '/x/cache/lading');
    assert.equal(defaultCacheDir({ XDG_CACHE_HOME: 'relative' }, '/home/u'), '/home/u/.cache/lading');
    assert.equal(defaultCacheDir({}, '/home/u'), '/home/u/.cache/lading');
    assert.throws(() => defaultCacheDir({}, ''), { code: 'STORE_NO_DIR' });
  });
});
