/**
 * A deterministic parallel gzip (or zstd) encoder, pigz-style: the uncompressed stream is cut into fixed-size chunks,
 * each chunk is raw-deflated on the libuv pool with the previous 32 KiB as its dictionary and ends with a
 * Z_SYNC_FLUSH (the last one with Z_FINISH), and the pieces are concatenated in order between a fixed gzip
 * header (MTIME 0) and a CRC32/ISIZE trailer. Every chunk's bytes depend only on its own input and its
 * dictionary, so the output is the same whatever the thread count or scheduling. Hand-written because
 * node:zlib's streams compress on one core, and the layer is the hot path of a build.
 *
 * The same chunk pipeline with `level: 'store'` passes chunks through unchanged (uncompressed layers).
 */
import { createHash, type Hash } from 'node:crypto';
import { constants, crc32, deflateRaw, type ZlibOptions, zstdCompress } from 'node:zlib';

/** 10-byte gzip header: no name, MTIME 0, XFL 0, OS 255 ("unknown", as Go's compress/gzip writes). */
const GZIP_HEADER = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0xff]);
const WINDOW = 32 * 1024;

export const DEFAULT_CHUNK_SIZE = 1024 * 1024;

export interface ChunkPipelineOptions {
  /** zlib level 1–9 (zstd: 1–19), or 'store' to pass the bytes through without framing. */
  level: number | 'store';
  /**
   * 'gzip' (default): one gzip member. 'zstd': one zstd frame per chunk, concatenated (a valid zstd stream
   * every decoder reads); no dictionary between chunks, so each is compressed on its own.
   */
  codec?: 'gzip' | 'zstd';
  /** Bytes per independently compressed chunk; part of the output's identity. */
  chunkSize?: number;
  /** Chunks compressed or waiting to be written at once (memory bound: ~2 × chunkSize each). */
  maxInFlight?: number;
  /** Receives the output in order; may be asynchronous. It must not keep `bytes` once it has returned
   * (resolved): buffers are reused. */
  sink: (bytes: Buffer) => void | Promise<void>;
}

export interface ChunkPipelineResult {
  /** sha256 of the uncompressed stream, hex. */
  uncompressedSha256: string;
  uncompressedSize: number;
  /** sha256 of the bytes given to the sink, hex. */
  outputSha256: string;
  outputSize: number;
}

function zstdChunk(data: Buffer, level: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    zstdCompress(
      data,
      { params: { [constants.ZSTD_c_compressionLevel]: level, [constants.ZSTD_c_checksumFlag]: 1 } },
      (err, out) => (err ? reject(err) : resolve(out)),
    );
  });
}

function deflateChunk(data: Buffer, options: ZlibOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    deflateRaw(data, options, (err, out) => (err ? reject(err) : resolve(out)));
  });
}

/**
 * Accepts the uncompressed stream through `write` (copies) or `fill` (reads straight into the chunk
 * buffer), compresses full chunks concurrently and hands the output to the sink in order, hashing both
 * sides on the way. `end` flushes and returns the digests and sizes.
 */
export class ChunkPipeline {
  readonly #level: number | 'store';
  readonly #zstd: boolean;
  readonly #chunkSize: number;
  readonly #maxInFlight: number;
  readonly #sink: (bytes: Buffer) => void | Promise<void>;
  readonly #inHash: Hash = createHash('sha256');
  readonly #outHash: Hash = createHash('sha256');
  #crc = 0;
  #inSize = 0;
  #outSize = 0;
  #cur: Buffer | null = null;
  #curLen = 0;
  /** Last WINDOW bytes of the previous chunk: the dictionary of the next. */
  #prevTail: Buffer | null = null;
  readonly #pending: { job: Promise<Buffer>; chunk: Buffer }[] = [];
  /** Chunk buffers whose jobs (own and next-chunk dictionary) are done, for reuse: keeps RSS flat. */
  readonly #free: Buffer[] = [];
  /** The last flushed chunk: still the dictionary of the next job until that job is flushed. */
  #dictOf: Buffer | null = null;
  #started = false;

  constructor(options: ChunkPipelineOptions) {
    this.#level = options.level;
    this.#zstd = options.codec === 'zstd' && options.level !== 'store';
    this.#chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
    if (this.#chunkSize < WINDOW) throw new RangeError(`chunkSize must be at least ${WINDOW}`);
    this.#maxInFlight = Math.max(1, options.maxInFlight ?? 8);
    this.#sink = options.sink;
  }

  /** Appends bytes to the stream (copied; the caller may reuse `data` afterwards). */
  async write(data: Buffer): Promise<void> {
    let off = 0;
    while (off < data.length) {
      const target = await this.#space();
      const n = Math.min(target.length - this.#curLen, data.length - off);
      data.copy(target, this.#curLen, off, off + n);
      this.#curLen += n;
      off += n;
    }
  }

  /**
   * Appends `length` bytes produced by `read(target, offset, max)`, which must write up to `max` bytes into
   * `target` at `offset` and return how many it wrote (0 = premature end, an error). Saves a copy for file
   * contents.
   */
  async fill(length: number, read: (target: Buffer, offset: number, max: number) => number): Promise<void> {
    let left = length;
    while (left > 0) {
      const target = await this.#space();
      const max = Math.min(target.length - this.#curLen, left);
      const n = read(target, this.#curLen, max);
      if (!(n > 0)) throw new Error(`short read: ${left} of ${length} bytes missing`);
      this.#curLen += n;
      left -= n;
    }
  }

  /** Finishes the stream: compresses the last chunk with Z_FINISH, writes the trailer, returns digests. */
  async end(): Promise<ChunkPipelineResult> {
    await this.#start();
    const last = this.#cur ? this.#cur.subarray(0, this.#curLen) : Buffer.alloc(0);
    this.#cur = null;
    this.#curLen = 0;
    this.#submit(last, true);
    while (this.#pending.length > 0) await this.#flushOne();
    if (this.#level !== 'store' && !this.#zstd) {
      const trailer = Buffer.alloc(8);
      trailer.writeUInt32LE(this.#crc >>> 0, 0);
      trailer.writeUInt32LE(this.#inSize % 2 ** 32, 4);
      await this.#emit(trailer);
    }
    const uncompressedSha256 = this.#inHash.digest('hex');
    return {
      uncompressedSha256,
      uncompressedSize: this.#inSize,
      // stored output is the input: hash it once
      outputSha256: this.#level === 'store' ? uncompressedSha256 : this.#outHash.digest('hex'),
      outputSize: this.#outSize,
    };
  }

  /** The current chunk with free space; a full chunk is submitted only once more data arrives, so that
   * the final chunk (and only it) gets Z_FINISH. */
  async #space(): Promise<Buffer> {
    if (this.#cur && this.#curLen < this.#cur.length) return this.#cur;
    await this.#start();
    if (this.#cur) {
      this.#submit(this.#cur, false);
      while (this.#pending.length >= this.#maxInFlight) await this.#flushOne();
    }
    this.#cur = this.#free.pop() ?? Buffer.allocUnsafe(this.#chunkSize);
    this.#curLen = 0;
    return this.#cur;
  }

  async #start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    if (this.#level !== 'store' && !this.#zstd) await this.#emit(GZIP_HEADER);
  }

  #submit(chunk: Buffer, last: boolean): void {
    this.#inHash.update(chunk);
    this.#inSize += chunk.length;
    let job: Promise<Buffer>;
    if (this.#level === 'store') {
      job = Promise.resolve(chunk);
    } else if (this.#zstd) {
      job = zstdChunk(chunk, this.#level);
    } else {
      this.#crc = crc32(chunk, this.#crc);
      const options: ZlibOptions = {
        level: this.#level,
        finishFlush: last ? constants.Z_FINISH : constants.Z_SYNC_FLUSH,
        // one output buffer per chunk: fewer round trips between the pool and the main thread
        chunkSize: Math.max(64 * 1024, chunk.length + (chunk.length >> 3) + 1024),
      };
      if (this.#prevTail) options.dictionary = this.#prevTail;
      job = deflateChunk(chunk, options);
    }
    // Rejections are observed when the job is flushed; avoid an unhandled-rejection crash before that.
    job.catch(() => {});
    this.#pending.push({ job, chunk });
    this.#prevTail = chunk.length >= WINDOW ? chunk.subarray(chunk.length - WINDOW) : null;
  }

  async #flushOne(): Promise<void> {
    const { job, chunk } = this.#pending.shift()!;
    await this.#emit(await job);
    if (chunk.length !== this.#chunkSize) return; // the final, partial chunk
    if (this.#level === 'store' || this.#zstd) {
      this.#free.push(chunk); // the sink is done with it (zstd chunks are no dictionary to the next)
    } else {
      if (this.#dictOf) this.#free.push(this.#dictOf);
      this.#dictOf = chunk;
    }
  }

  async #emit(bytes: Buffer): Promise<void> {
    if (this.#level !== 'store') this.#outHash.update(bytes);
    this.#outSize += bytes.length;
    await this.#sink(bytes);
  }
}
