/**
 * A tar reader over an in-memory buffer: ustar, PAX (local and global) and GNU long names,
 * base-256 numbers, and the "cut" archives apk writes (no end-of-archive blocks).
 * Hand-written because apk needs the exact PAX records (checksums, xattrs) and byte offsets
 * of each entry's data, so files can be referenced without copying.
 */
import { LadingError } from '../util/errors.ts';

export type TarEntryType = 'file' | 'hardlink' | 'symlink' | 'chardev' | 'blockdev' | 'directory' | 'fifo';

export interface TarEntry {
  /** The full path as stored (PAX `path`, GNU long name or ustar prefix/name); not normalised. */
  name: string;
  type: TarEntryType;
  /** Permission bits including setuid/setgid/sticky (mode & 0o7777). */
  mode: number;
  uid: number;
  gid: number;
  uname: string;
  gname: string;
  /** Data size in bytes (0 for everything except regular files). */
  size: number;
  /** Modification time in whole seconds. */
  mtime: number;
  /** Target of a symlink or hardlink. */
  linkname: string;
  devmajor: number;
  devminor: number;
  /** PAX records that applied to this entry (global then local), excluding SCHILY.xattr.*. */
  pax: Record<string, string>;
  /** Extended attributes from `SCHILY.xattr.<name>` PAX records, raw bytes. */
  xattrs: Record<string, Buffer>;
  /** Offset of this entry's first header block (including any PAX/GNU headers before it). */
  headerOffset: number;
  /** Offset of the data in the buffer; the data is buf.subarray(dataOffset, dataOffset + size). */
  dataOffset: number;
}

const BLOCK = 512;

function corrupt(message: string, offset: number): LadingError {
  return new LadingError('TAR_CORRUPT', `tar: ${message} (at byte ${offset})`, {
    hint: 'the archive is damaged or not a tar file',
  });
}

function readString(buf: Buffer, off: number, len: number): string {
  let end = off;
  const max = off + len;
  while (end < max && buf[end] !== 0) end++;
  return buf.toString('utf8', off, end);
}

function readNumber(buf: Buffer, off: number, len: number, field: string, at: number): number {
  const first = buf[off]!;
  if (first & 0x80) {
    // base-256 (GNU): big-endian two's complement in the remaining bytes
    if (first === 0xff) throw corrupt(`negative ${field}`, at);
    let v = first & 0x7f;
    for (let i = 1; i < len; i++) {
      v = v * 256 + buf[off + i]!;
      if (v > Number.MAX_SAFE_INTEGER) throw corrupt(`${field} too large`, at);
    }
    return v;
  }
  let v = 0;
  let seen = false;
  for (let i = off; i < off + len; i++) {
    const c = buf[i]!;
    if (c === 0 || c === 32) {
      if (seen) break;
      continue;
    }
    if (c < 48 || c > 55) throw corrupt(`bad octal digit in ${field}`, at);
    v = v * 8 + (c - 48);
    seen = true;
  }
  return v;
}

function headerChecksumOk(buf: Buffer, off: number): boolean {
  const stored = readNumber(buf, off + 148, 8, 'checksum', off);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : buf[off + i]!;
  if (sum === stored) return true;
  // some old tars computed the sum with signed chars
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) signed += i >= 148 && i < 156 ? 32 : (buf[off + i]! << 24) >> 24;
  return signed === stored;
}

function isZeroBlock(buf: Buffer, off: number): boolean {
  for (let i = off; i < off + BLOCK; i++) if (buf[i] !== 0) return false;
  return true;
}

/** Parses PAX records `"<len> <key>=<value>\n"`; xattr values are kept as raw bytes. */
function parsePax(
  data: Buffer,
  at: number,
  into: Record<string, string>,
  xattrs: Record<string, Buffer>,
): void {
  let pos = 0;
  while (pos < data.length) {
    if (data[pos] === 0) break; // some writers pad with NULs
    const sp = data.indexOf(32, pos);
    if (sp < 0) throw corrupt('PAX record without length', at);
    const lenText = data.toString('latin1', pos, sp);
    if (!/^[0-9]+$/.test(lenText)) throw corrupt('PAX record length is not a number', at);
    const len = Number(lenText);
    if (len <= sp - pos + 1 || pos + len > data.length || data[pos + len - 1] !== 10) {
      throw corrupt('PAX record length out of range', at);
    }
    const eq = data.indexOf(61, sp + 1);
    if (eq < 0 || eq >= pos + len) throw corrupt('PAX record without "="', at);
    const key = data.toString('utf8', sp + 1, eq);
    const valueBytes = data.subarray(eq + 1, pos + len - 1);
    if (key.startsWith('SCHILY.xattr.')) xattrs[key.slice(13)] = Buffer.from(valueBytes);
    else into[key] = valueBytes.toString('utf8');
    pos += len;
  }
}

const TYPES: Record<string, TarEntryType> = {
  '0': 'file',
  '\0': 'file',
  '7': 'file',
  '1': 'hardlink',
  '2': 'symlink',
  '3': 'chardev',
  '4': 'blockdev',
  '5': 'directory',
  '6': 'fifo',
};

export interface TarReadOptions {
  /** Stop at the first entry whose data would run past the end (default: throw). */
  allowTruncated?: boolean;
}

/**
 * Iterates the entries of a tar held in `buf`. Stops at two zero blocks, a single zero block
 * followed by the end of the buffer, or the end of the buffer (apk's cut archives).
 */
export function* readTar(buf: Buffer, options: TarReadOptions = {}): Generator<TarEntry> {
  let off = 0;
  let globalPax: Record<string, string> = {};
  let localPax: Record<string, string> = {};
  let localXattrs: Record<string, Buffer> = {};
  let longName: string | undefined;
  let longLink: string | undefined;
  let entryStart = -1;
  while (off + BLOCK <= buf.length) {
    if (isZeroBlock(buf, off)) {
      // end of archive (one or two zero blocks)
      return;
    }
    if (entryStart < 0) entryStart = off;
    if (!headerChecksumOk(buf, off)) throw corrupt('header checksum mismatch', off);
    const typeflag = String.fromCharCode(buf[off + 156]!);
    const size = readNumber(buf, off + 124, 12, 'size', off);
    const dataOffset = off + BLOCK;
    const padded = Math.ceil(size / BLOCK) * BLOCK;
    if (dataOffset + size > buf.length) {
      if (options.allowTruncated) return;
      throw corrupt(`entry data runs past the end of the archive (${size} bytes)`, off);
    }
    const data = buf.subarray(dataOffset, dataOffset + size);
    const next = dataOffset + padded;
    switch (typeflag) {
      case 'x':
        parsePax(data, off, localPax, localXattrs);
        off = next;
        continue;
      case 'g': {
        const g = { ...globalPax };
        parsePax(data, off, g, {});
        globalPax = g;
        off = next;
        continue;
      }
      case 'L':
        longName = readString(data, 0, data.length);
        off = next;
        continue;
      case 'K':
        longLink = readString(data, 0, data.length);
        off = next;
        continue;
    }
    const type = TYPES[typeflag];
    if (type === undefined) throw corrupt(`unsupported entry type ${JSON.stringify(typeflag)}`, off);
    const magic = buf.toString('latin1', off + 257, off + 263);
    let name = readString(buf, off, 100);
    if (magic.startsWith('ustar')) {
      const prefix = readString(buf, off + 345, magic === 'ustar\0' ? 155 : 0);
      if (prefix) name = `${prefix}/${name}`;
    }
    const pax = { ...globalPax, ...localPax };
    if (longName !== undefined) name = longName;
    if (pax.path !== undefined) name = pax.path;
    let linkname = readString(buf, off + 157, 100);
    if (longLink !== undefined) linkname = longLink;
    if (pax.linkpath !== undefined) linkname = pax.linkpath;
    const numOr = (key: string, fallback: number): number => {
      const v = pax[key];
      if (v === undefined) return fallback;
      const n = Number(v);
      if (!Number.isFinite(n) || n < 0) throw corrupt(`bad PAX ${key}`, off);
      return Math.floor(n);
    };
    const entry: TarEntry = {
      name,
      type,
      mode: readNumber(buf, off + 100, 8, 'mode', off) & 0o7777,
      uid: numOr('uid', readNumber(buf, off + 108, 8, 'uid', off)),
      gid: numOr('gid', readNumber(buf, off + 116, 8, 'gid', off)),
      uname: pax.uname ?? readString(buf, off + 265, 32),
      gname: pax.gname ?? readString(buf, off + 297, 32),
      size: type === 'file' ? numOr('size', size) : 0,
      mtime: numOr('mtime', readNumber(buf, off + 136, 12, 'mtime', off)),
      linkname,
      devmajor:
        type === 'chardev' || type === 'blockdev' ? readNumber(buf, off + 329, 8, 'devmajor', off) : 0,
      devminor:
        type === 'chardev' || type === 'blockdev' ? readNumber(buf, off + 337, 8, 'devminor', off) : 0,
      pax,
      xattrs: localXattrs,
      headerOffset: entryStart,
      dataOffset,
    };
    if (entry.size !== size && type === 'file') {
      if (dataOffset + entry.size > buf.length)
        throw corrupt('PAX size runs past the end of the archive', off);
    }
    yield entry;
    const consumed = type === 'file' ? Math.ceil(entry.size / BLOCK) * BLOCK : padded;
    off = dataOffset + consumed;
    localPax = {};
    localXattrs = {};
    longName = undefined;
    longLink = undefined;
    entryStart = -1;
  }
  if (off < buf.length && off + BLOCK > buf.length && !options.allowTruncated) {
    // trailing garbage shorter than a block: tolerated only if it is all zeros
    for (let i = off; i < buf.length; i++)
      if (buf[i] !== 0) throw corrupt('trailing bytes after the last entry', off);
  }
  if (entryStart >= 0) throw corrupt('extended header without the entry it describes', entryStart);
}

/** The data of a regular-file entry, without copying. */
export function entryData(buf: Buffer, entry: TarEntry): Buffer {
  return buf.subarray(entry.dataOffset, entry.dataOffset + entry.size);
}
