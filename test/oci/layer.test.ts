import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { layerCacheKey, writeLayer } from '../../src/oci/layer.ts';
import type { LayerEntry } from '../../src/oci/types.ts';
import { MediaType } from '../../src/oci/types.ts';
import { readTar } from '../../src/tar/reader.ts';
import { isLadingError } from '../../src/util/errors.ts';
import { alpineEntries } from '../helpers/oci-image.ts';
import { requireTool, run, tempDir } from '../helpers/tools.ts';

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
let tmp: { path: string; remove: () => void };
let cache: string;
let entries: LayerEntry[];

before(() => {
  tmp = tempDir('lading-oci-layer-');
  entries = alpineEntries(tmp.path);
  cache = tmp.path;
});
after(() => tmp.remove());

function outDir(name: string): string {
  const d = join(tmp.path, name);
  rmSync(d, { recursive: true, force: true });
  spawnSync('mkdir', ['-p', d]);
  return d;
}

test('the gzip layer is the tar stream: gunzip equals the uncompressed layer, diff ID is its sha256', async () => {
  const d = outDir('basic');
  const gz = await writeLayer(entries, join(d, 'layer.tar.gz'));
  const plain = await writeLayer(entries, join(d, 'layer.tar'), { compression: 'none' });
  const gzBytes = readFileSync(gz.file);
  const tarBytes = readFileSync(plain.file);
  assert.equal(gz.mediaType, MediaType.layerTarGzip);
  assert.equal(plain.mediaType, MediaType.layerTar);
  assert.deepEqual(gunzipSync(gzBytes), tarBytes);
  assert.equal(gz.digest, sha(gzBytes));
  assert.equal(gz.size, gzBytes.length);
  assert.equal(gz.diffId, sha(tarBytes));
  assert.equal(gz.uncompressedSize, tarBytes.length);
  // uncompressed: the blob is the tar, digest = diff ID
  assert.equal(plain.digest, plain.diffId);
  assert.equal(plain.diffId, gz.diffId);
  // exactly two zero blocks at the end, nothing after
  assert.equal(tarBytes.length % 512, 0);
  assert.ok(tarBytes.subarray(-1024).every((b) => b === 0));
  assert.ok(!tarBytes.subarray(-1536, -1024).every((b) => b === 0));
  assert.deepEqual(readdirSync(d).sort(), ['layer.tar', 'layer.tar.gz']);
});

test('the tar holds exactly the entries, in order, with their metadata and contents', async () => {
  const d = outDir('content');
  const plain = await writeLayer(entries, join(d, 'layer.tar'), { compression: 'none' });
  const tar = readFileSync(plain.file);
  const got = [...readTar(tar)];
  assert.equal(got.length, entries.length);
  for (const [i, e] of entries.entries()) {
    const t = got[i]!;
    assert.equal(t.name, e.path);
    assert.equal(t.type, e.type);
    assert.equal(t.mode, e.mode, e.path);
    assert.equal(t.uid, e.uid);
    assert.equal(t.gid, e.gid);
    assert.equal(t.mtime, e.mtime);
    assert.equal(t.linkname, e.linkname ?? '');
    if (e.type === 'file' && e.content?.kind === 'file') {
      const src = readFileSync(e.content.path).subarray(e.content.offset, e.content.offset + e.size);
      assert.ok(tar.subarray(t.dataOffset, t.dataOffset + t.size).equals(src), e.path);
    }
  }
  // real tools read it: GNU tar and bsdtar list every member of the gzip layer
  const gz = await writeLayer(entries, join(d, 'layer.tar.gz'));
  for (const tool of ['tar', 'bsdtar']) {
    const r = run(requireTool(tool), ['-tzf', gz.file]);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(
      r.stdout.trim().split('\n'),
      entries.map((e) => e.path),
    );
  }
});

test('file sources, in-memory sources and async iterables give the same blob', async () => {
  const d = outDir('sources');
  const fromFiles = await writeLayer(entries, join(d, 'a'));
  const fromMemory = await writeLayer(alpineEntries(cache, { inMemory: true }), join(d, 'b'));
  async function* slowly() {
    for (const e of entries) {
      await new Promise((r) => setImmediate(r));
      yield e;
    }
  }
  const fromAsync = await writeLayer(slowly(), join(d, 'c'), { maxInFlight: 1 });
  assert.equal(fromMemory.digest, fromFiles.digest);
  assert.equal(fromAsync.digest, fromFiles.digest);
});

function child(out: string, options: object, env: Record<string, string> = {}, shellPrefix = '') {
  const script = join(import.meta.dirname, 'write-layer-child.ts');
  const args = [script, cache, out, JSON.stringify(options)];
  const r = shellPrefix
    ? spawnSync('sh', ['-c', `${shellPrefix}; exec "$0" "$@"`, process.execPath, ...args], {
        encoding: 'utf8',
        env: { ...process.env, ...env },
      })
    : spawnSync(process.execPath, args, { encoding: 'utf8', env: { ...process.env, ...env } });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as { digest?: string; diffId?: string; error?: string; message?: string };
}

test('deterministic across processes, thread-pool sizes and in-flight limits', async () => {
  const d = outDir('determinism');
  const here = await writeLayer(entries, join(d, 'here'));
  const one = child(join(d, 'one'), {}, { UV_THREADPOOL_SIZE: '1' });
  const four = child(join(d, 'four'), { maxInFlight: 12 }, { UV_THREADPOOL_SIZE: '4' });
  assert.equal(one.digest, here.digest);
  assert.equal(four.digest, here.digest);
  assert.ok(readFileSync(join(d, 'one')).equals(readFileSync(here.file)));
  // the level is part of the identity, the diff ID is not affected
  const l1 = child(join(d, 'l1'), { level: 1 }, { UV_THREADPOOL_SIZE: '2' });
  assert.notEqual(l1.digest, here.digest);
  assert.equal(l1.diffId, here.diffId);
});

test('a sink error (file size limit) leaves no output file behind', () => {
  const d = outDir('sink-error');
  // 256 KiB limit: the ~900 KB layer cannot be written; Node ignores SIGXFSZ, so the write fails with EFBIG
  const r = child(join(d, 'layer.tar.gz'), {}, {}, 'ulimit -f 256');
  assert.equal(r.error, 'OCI_WRITE', r.message);
  assert.deepEqual(readdirSync(d), []);
});

test('a content file missing mid-write fails with the entry named and leaves nothing behind', async () => {
  const d = outDir('missing');
  const broken = entries.map((e) =>
    e.path === 'lib/ld-musl-x86_64.so.1' && e.content?.kind === 'file'
      ? { ...e, content: { ...e.content, path: join(tmp.path, 'gone.tar') } }
      : e,
  );
  await assert.rejects(writeLayer(broken, join(d, 'layer.tar.gz')), (e: unknown) => {
    assert.ok(isLadingError(e));
    assert.equal(e.code, 'OCI_LAYER_CONTENT');
    assert.match(e.message, /lib\/ld-musl-x86_64\.so\.1.*gone\.tar/);
    return true;
  });
  // a truncated content file: the short read is detected
  const short = entries.map((e) =>
    e.path === 'bin/busybox' && e.content?.kind === 'file'
      ? { ...e, content: { ...e.content, offset: e.content.offset + 10 ** 9 } }
      : e,
  );
  await assert.rejects(writeLayer(short, join(d, 'layer.tar.gz')), /OCI_LAYER_CONTENT|bin\/busybox/);
  assert.deepEqual(readdirSync(d), []);
});

test('malformed entries are refused before anything is written', async () => {
  const d = outDir('bad');
  const base: LayerEntry = { path: 'x', type: 'directory', mode: 0o755, uid: 0, gid: 0, mtime: 0, size: 0 };
  const bad: LayerEntry[] = [
    { ...base, path: '/abs' },
    { ...base, path: 'a/../b' },
    { ...base, path: 'dir/' },
    { ...base, path: '' },
    { ...base, mode: 0o10755 },
    { ...base, type: 'symlink' },
    { ...base, type: 'file', size: 3, content: { kind: 'bytes', data: Buffer.from('ab') } },
    { ...base, type: 'file', size: 3 },
    { ...base, size: 5 },
  ];
  for (const e of bad) {
    await assert.rejects(
      writeLayer([e], join(d, 'l')),
      (err: unknown) => isLadingError(err) && err.code === 'OCI_LAYER_ENTRY',
      JSON.stringify(e.path),
    );
  }
  await assert.rejects(writeLayer([], join(d, 'l'), { level: 0 }), /level 0/);
  assert.deepEqual(readdirSync(d), []);
});

test('long names, xattrs, big ids and devices go through PAX and read back', async () => {
  const d = outDir('pax');
  const long = `${'deep/'.repeat(40)}${'n'.repeat(120)}`;
  const list: LayerEntry[] = [
    { path: 'dev', type: 'directory', mode: 0o755, uid: 0, gid: 0, mtime: 1, size: 0 },
    {
      path: 'dev/null',
      type: 'chardev',
      mode: 0o666,
      uid: 0,
      gid: 0,
      mtime: 1,
      size: 0,
      devmajor: 1,
      devminor: 3,
    },
    {
      path: long,
      type: 'file',
      mode: 0o4755,
      uid: 3_000_000,
      gid: 0,
      mtime: 2,
      size: 2,
      content: { kind: 'bytes', data: Buffer.from('hi') },
    },
    {
      path: 'usr/bin/ping',
      type: 'file',
      mode: 0o755,
      uid: 0,
      gid: 0,
      mtime: 3,
      size: 1,
      content: { kind: 'bytes', data: Buffer.from('x') },
      xattrs: { 'security.capability': Buffer.from([1, 0, 0, 2, 0, 0x20, 0, 0]) },
    },
  ];
  const layer = await writeLayer(list, join(d, 'l.tar'), { compression: 'none' });
  const got = [...readTar(readFileSync(layer.file))];
  assert.deepEqual(
    got.map((t) => t.name),
    list.map((e) => e.path),
  );
  assert.equal(got[1]!.devminor, 3);
  assert.equal(got[2]!.uid, 3_000_000);
  assert.equal(got[2]!.mode, 0o4755);
  assert.deepEqual(got[3]!.xattrs['security.capability'], list[3]!.xattrs!['security.capability']);
  const r = run(requireTool('bsdtar'), ['-tvf', layer.file]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`${'n'.repeat(120)}\n`));
  assert.match(r.stdout, /-rwsr-xr-x/);
});

test('layer cache keys: stable, cover headers, contents and settings; null without content ids', async () => {
  const key = await layerCacheKey(entries);
  assert.match(key!, /^sha256:[0-9a-f]{64}$/);
  assert.equal(await layerCacheKey(entries), key);
  assert.equal(await layerCacheKey(alpineEntries(cache, { inMemory: true })), key);
  assert.notEqual(await layerCacheKey(entries, { level: 1 }), key);
  assert.notEqual(await layerCacheKey(entries, { compression: 'none' }), key);
  assert.notEqual(await layerCacheKey(entries, { chunkSize: 1 << 19 }), key);
  const touched = entries.map((e, i) => (i === 5 ? { ...e, mtime: e.mtime + 1 } : e));
  assert.notEqual(await layerCacheKey(touched), key);
  const i = entries.findIndex((e) => e.contentId);
  const otherContent = entries.map((e, j) => (j === i ? { ...e, contentId: 'other' } : e));
  assert.notEqual(await layerCacheKey(otherContent), key);
  const noId = entries.map((e, j) => (j === i ? { ...e, contentId: undefined } : e));
  assert.equal(await layerCacheKey(noId), null);
  // in-memory contents without ids are hashed
  const mem: LayerEntry = {
    path: 'f',
    type: 'file',
    mode: 0o644,
    uid: 0,
    gid: 0,
    mtime: 0,
    size: 1,
    content: { kind: 'bytes', data: Buffer.from('a') },
  };
  const memB = { ...mem, content: { kind: 'bytes' as const, data: Buffer.from('b') } };
  assert.notEqual(await layerCacheKey([mem]), await layerCacheKey([memB]));
});
