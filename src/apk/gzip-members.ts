/**
 * Gzip members with exact byte ranges. An .apk or APKINDEX.tar.gz is several gzip members glued
 * together, and checksums and signatures cover the raw bytes of single members, so we must know where
 * each member ends. Node's gunzip treats concatenated members as one stream, so we parse the gzip header
 * by hand and let raw inflate tell us how many input bytes the deflate stream used.
 */
import { constants, crc32, gzipSync, inflateRawSync } from 'node:zlib';
import { LadingError } from '../util/errors.ts';

export interface InflatedMember {
  /** Offset of the member's first byte (the 1f 8b magic). */
  start: number;
  /** Offset just past the member's 8-byte trailer: the raw member is buf.subarray(start, end). */
  end: number;
  /** The inflated content. */
  data: Buffer;
}

export interface InflateMemberOptions {
  /** Refuse to inflate more than this many bytes (zip-bomb guard). Default 1 GiB. */
  maxOutput?: number;
  /** Names the part in error messages, e.g. "control part". */
  what?: string;
  /** The file being read, for error messages. */
  file?: string;
}

const DEFAULT_MAX_OUTPUT = 1 << 30;

function corrupt(message: string, options: InflateMemberOptions, code = 'GZIP_CORRUPT'): LadingError {
  return new LadingError(code, options.what ? `${options.what}: ${message}` : message, {
    file: options.file,
    hint: 'the file is damaged or not an APK/gzip file; download or rebuild it',
  });
}

/** True when a gzip member starts at `start`. */
export function isGzipAt(buf: Buffer, start = 0): boolean {
  return buf.length >= start + 3 && buf[start] === 0x1f && buf[start + 1] === 0x8b && buf[start + 2] === 8;
}

/** Length of the gzip header at `start` (RFC 1952: fixed 10 bytes plus optional fields). */
export function gzipHeaderLength(buf: Buffer, start: number, options: InflateMemberOptions = {}): number {
  if (buf.length - start < 10) {
    throw corrupt(
      start === 0 ? 'file too short to be gzip' : `truncated gzip header at byte ${start}`,
      options,
      'GZIP_TRUNCATED',
    );
  }
  if (!isGzipAt(buf, start)) throw corrupt(`not gzip data at byte ${start}`, options);
  const flags = buf[start + 3]!;
  if (flags & 0xe0) throw corrupt(`reserved gzip header flags set at byte ${start}`, options);
  let p = start + 10;
  const need = (n: number) => {
    if (p + n > buf.length)
      throw corrupt(`truncated gzip header at byte ${start}`, options, 'GZIP_TRUNCATED');
  };
  if (flags & 4) {
    need(2);
    const xlen = buf.readUInt16LE(p);
    p += 2;
    need(xlen);
    p += xlen;
  }
  for (const bit of [8, 16]) {
    if (flags & bit) {
      const nul = buf.indexOf(0, p);
      if (nul < 0) throw corrupt(`truncated gzip header at byte ${start}`, options, 'GZIP_TRUNCATED');
      p = nul + 1;
    }
  }
  if (flags & 2) {
    need(2);
    p += 2;
  }
  return p - start;
}

interface InflateInfo {
  buffer: Buffer;
  engine: { bytesWritten: number };
}

/**
 * Inflates the single gzip member starting at `start` and finds where it ends. Checks the trailer
 * (CRC-32 and size), so a damaged member is an error, not wrong data.
 */
export function inflateGzipMember(
  buf: Buffer,
  start: number,
  options: InflateMemberOptions = {},
): InflatedMember {
  const headerLength = gzipHeaderLength(buf, start, options);
  const bodyStart = start + headerLength;
  const maxOutput = options.maxOutput ?? DEFAULT_MAX_OUTPUT;
  let result: InflateInfo;
  try {
    result = inflateRawSync(buf.subarray(bodyStart), {
      info: true,
      maxOutputLength: Math.max(1, maxOutput),
    }) as unknown as InflateInfo;
  } catch (e) {
    throw zlibError(e, options, maxOutput);
  }
  const consumed = result.engine.bytesWritten;
  const trailer = bodyStart + consumed;
  if (trailer + 8 > buf.length)
    throw corrupt('truncated gzip data (missing trailer)', options, 'GZIP_TRUNCATED');
  const data = result.buffer;
  if (buf.readUInt32LE(trailer) !== crc32(data) || buf.readUInt32LE(trailer + 4) !== data.length >>> 0) {
    throw corrupt('gzip checksum mismatch', options);
  }
  return { start, end: trailer + 8, data };
}

/** Turns a zlib failure into a LadingError that says what happened. */
export function zlibError(e: unknown, options: InflateMemberOptions, maxOutput?: number): LadingError {
  const err = e as { code?: string; message?: string };
  if (err?.code === 'ERR_BUFFER_TOO_LARGE' || e instanceof RangeError) {
    return corrupt(
      `inflates to more than ${maxOutput ?? 'the allowed'} bytes; refusing (size limit)`,
      options,
      'GZIP_TOO_LARGE',
    );
  }
  if (err?.code === 'Z_BUF_ERROR' || /unexpected end/i.test(err?.message ?? '')) {
    return corrupt('truncated gzip data', options, 'GZIP_TRUNCATED');
  }
  return corrupt(`invalid gzip data (${err?.message ?? String(e)})`, options);
}

/**
 * The first bytes of the member starting at `start`, inflated from at most `inputBytes` of its input:
 * enough to see the first tar header without inflating a big member. May return less than a header
 * when the start compresses badly; callers then fall back to a full inflate.
 */
export function peekGzipMember(
  buf: Buffer,
  start: number,
  options: InflateMemberOptions = {},
  inputBytes = 4096,
): Buffer {
  const bodyStart = start + gzipHeaderLength(buf, start, options);
  try {
    // Z_SYNC_FLUSH: return what the partial input gives instead of failing at its end
    return inflateRawSync(buf.subarray(bodyStart, bodyStart + inputBytes), {
      finishFlush: constants.Z_SYNC_FLUSH,
      maxOutputLength: 64 * inputBytes,
    });
  } catch (e) {
    if (e instanceof RangeError) return Buffer.alloc(0);
    throw zlibError(e, options);
  }
}

/**
 * Splits a buffer into all of its gzip members, inflating each (every member must be inflated to find
 * where it ends). Trailing bytes that are not a gzip member are an error.
 */
export function splitGzipMembers(buf: Buffer, options: InflateMemberOptions = {}): InflatedMember[] {
  const out: InflatedMember[] = [];
  let pos = 0;
  let budget = options.maxOutput ?? DEFAULT_MAX_OUTPUT;
  do {
    const m = inflateGzipMember(buf, pos, { ...options, maxOutput: budget });
    budget -= m.data.length;
    out.push(m);
    pos = m.end;
  } while (pos < buf.length);
  return out;
}

/**
 * Deterministic gzip: level 9 and a fixed header (mtime 0, OS byte 3 = Unix), so the same input gives the
 * same bytes with the same zlib. apk signatures and checksums cover these bytes.
 */
export function gzipDeterministic(data: Buffer): Buffer {
  const out = gzipSync(data, { level: 9 });
  out.writeUInt32LE(0, 4);
  out[9] = 3;
  return out;
}
