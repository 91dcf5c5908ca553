import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { gunzipSync, zstdDecompressSync } from 'node:zlib';
import { ChunkPipeline } from '../../src/oci/pgzip.ts';
import { fixture } from '../helpers/paths.ts';
import { requireTool } from '../helpers/tools.ts';

const CHUNK = 64 * 1024;

/** Real bytes: an inflated package (binary + text), repeated and cut to `size`. */
function sample(size: number): Buffer {
  const base = gunzipSync(
    readFileSync(fixture('alpine', 'v3.19.1-iso-repo', 'x86_64', 'busybox-1.36.1-r15.apk')),
  );
  const out = Buffer.alloc(size);
  for (let off = 0; off < size; off += base.length) base.copy(out, off, 0, Math.min(base.length, size - off));
  return out;
}

async function compress(
  data: Buffer,
  options: { level?: number | 'store'; maxInFlight?: number; pieces?: number[]; codec?: 'zstd' } = {},
): Promise<{ out: Buffer; result: Awaited<ReturnType<ChunkPipeline['end']>> }> {
  const parts: Buffer[] = [];
  // the sink must copy: the pipeline reuses its buffers
  const p = new ChunkPipeline({
    level: options.level ?? 5,
    ...(options.codec ? { codec: options.codec } : {}),
    chunkSize: CHUNK,
    maxInFlight: options.maxInFlight,
    sink: (b) => {
      parts.push(Buffer.from(b));
    },
  });
  let off = 0;
  for (let i = 0; off < data.length; i++) {
    const n = options.pieces ? options.pieces[i % options.pieces.length]! : data.length;
    await p.write(data.subarray(off, off + n));
    off += n;
  }
  const result = await p.end();
  return { out: Buffer.concat(parts), result };
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

test('round-trips at chunk boundaries and reports digests and sizes', async () => {
  for (const size of [0, 1, 32767, 32768, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, 5 * CHUNK + 17]) {
    const data = sample(size);
    const { out, result } = await compress(data);
    assert.deepEqual(gunzipSync(out), data, `size ${size}`);
    assert.equal(result.uncompressedSize, size);
    assert.equal(result.uncompressedSha256, sha(data));
    assert.equal(result.outputSize, out.length);
    assert.equal(result.outputSha256, sha(out));
  }
});

test('the gzip header is fixed (MTIME 0, OS 255) and the real gzip accepts the stream', async () => {
  const data = sample(3 * CHUNK + 5);
  const { out } = await compress(data);
  assert.deepEqual([...out.subarray(0, 10)], [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
  const gzip = requireTool('gzip');
  const dc = spawnSync(gzip, ['-dc'], { input: out, maxBuffer: 64 << 20 });
  assert.equal(dc.status, 0, String(dc.stderr));
  assert.equal(sha(dc.stdout), sha(data));
});

test('output does not depend on how the input is split or how many chunks are in flight', async () => {
  const data = sample(7 * CHUNK + 1234);
  const whole = await compress(data);
  const pieces = await compress(data, { pieces: [1, 511, 512, 70_000, 13, CHUNK, 3] });
  const serial = await compress(data, { maxInFlight: 1 });
  const wide = await compress(data, { maxInFlight: 16, pieces: [100_000] });
  for (const other of [pieces, serial, wide]) assert.equal(sha(other.out), sha(whole.out));
});

test('levels change the bytes, not the content', async () => {
  const data = sample(4 * CHUNK);
  const l1 = await compress(data, { level: 1 });
  const l9 = await compress(data, { level: 9 });
  assert.notEqual(sha(l1.out), sha(l9.out));
  assert.deepEqual(gunzipSync(l1.out), gunzipSync(l9.out));
  assert.ok(l9.out.length < l1.out.length);
});

test('zstd: one frame per chunk, the real zstd reads the stream, the same bytes however it is fed', async () => {
  const data = sample(5 * CHUNK + 77);
  const whole = await compress(data, { codec: 'zstd', level: 3 });
  const split = await compress(data, { codec: 'zstd', level: 3, maxInFlight: 1, pieces: [9000] });
  assert.equal(sha(split.out), sha(whole.out));
  assert.deepEqual(zstdDecompressSync(whole.out), data);
  assert.equal(whole.result.outputSha256, sha(whole.out));
  assert.equal(whole.result.uncompressedSha256, sha(data));
  const cli = spawnSync(requireTool('zstd'), ['-dc'], { input: whole.out, maxBuffer: 1 << 26 });
  assert.equal(cli.status, 0, String(cli.stderr));
  assert.ok(cli.stdout.equals(data));
});

test('store mode passes bytes through; both digests are the content digest', async () => {
  const data = sample(3 * CHUNK + 99);
  const { out, result } = await compress(data, { level: 'store', pieces: [1000] });
  assert.deepEqual(out, data);
  assert.equal(result.outputSha256, sha(data));
  assert.equal(result.uncompressedSha256, sha(data));
  assert.equal(result.outputSize, data.length);
});

test('fill reads straight into the chunk buffers; a short read is an error', async () => {
  const data = sample(2 * CHUNK + 300);
  const parts: Buffer[] = [];
  const p = new ChunkPipeline({ level: 5, chunkSize: CHUNK, sink: (b) => void parts.push(Buffer.from(b)) });
  let pos = 0;
  await p.fill(data.length, (target, offset, max) => {
    const n = Math.min(max, 1000, data.length - pos);
    data.copy(target, offset, pos, pos + n);
    pos += n;
    return n;
  });
  await p.end();
  assert.deepEqual(gunzipSync(Buffer.concat(parts)), data);

  const q = new ChunkPipeline({ level: 5, chunkSize: CHUNK, sink: () => {} });
  await assert.rejects(
    q.fill(10, () => 0),
    /short read/,
  );
});
