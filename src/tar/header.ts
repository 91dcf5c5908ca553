/**
 * Decoding tar header blocks: ustar, PAX (local and global) and GNU long names, base-256 numbers. Shared by
 * the in-memory reader (reader.ts) and the streaming parser (stream.ts), so both read every archive alike.
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
  /** Offset of the data in the archive; in memory, the data is buf.subarray(dataOffset, dataOffset + size). */
  dataOffset: number;
}

export const BLOCK = 512;

export function tarCorrupt(message: string, offset: number): LadingError {
  return new LadingError('TAR_CORRUPT', `tar: ${message} (at byte ${offset})`, {
    hint: 'the archive is damaged or not a tar file',
  });
}

export function readString(buf: Buffer, off: number, len: number): string {
  let end = off;
  const max = off + len;
  while (end < max && buf[end] !== 0) end++;
  return buf.toString('utf8', off, end);
}

function readNumber(buf: Buffer, off: number, len: number, field: string, at: number): number {
  const first = buf[off]!;
  if (first & 0x80) {
    // base-256 (GNU): big-endian two's complement in the remaining bytes
    if (first === 0xff) throw tarCorrupt(`negative ${field}`, at);
    let v = first & 0x7f;
    for (let i = 1; i < len; i++) {
      v = v * 256 + buf[off + i]!;
      if (v > Number.MAX_SAFE_INTEGER) throw tarCorrupt(`${field} too large`, at);
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
    if (c < 48 || c > 55) throw tarCorrupt(`bad octal digit in ${field}`, at);
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

export function isZeroBlock(buf: Buffer, off: number): boolean {
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
    if (sp < 0) throw tarCorrupt('PAX record without length', at);
    const lenText = data.toString('latin1', pos, sp);
    if (!/^[0-9]+$/.test(lenText)) throw tarCorrupt('PAX record length is not a number', at);
    const len = Number(lenText);
    if (len <= sp - pos + 1 || pos + len > data.length || data[pos + len - 1] !== 10) {
      throw tarCorrupt('PAX record length out of range', at);
    }
    const eq = data.indexOf(61, sp + 1);
    if (eq < 0 || eq >= pos + len) throw tarCorrupt('PAX record without "="', at);
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

/** Extended headers seen since the last entry: they describe the next one. */
export class PendingHeaders {
  globalPax: Record<string, string> = {};
  localPax: Record<string, string> = {};
  localXattrs: Record<string, Buffer> = {};
  longName: string | undefined;
  longLink: string | undefined;
  /** Offset of the first header block of the entry being assembled; -1 between entries. */
  entryStart = -1;

  reset(): void {
    this.localPax = {};
    this.localXattrs = {};
    this.longName = undefined;
    this.longLink = undefined;
    this.entryStart = -1;
  }
}

/** The type flag and data size of the header block at `off` (its checksum checked). */
export function headerBlock(buf: Buffer, off: number): { typeflag: string; size: number } {
  if (!headerChecksumOk(buf, off)) throw tarCorrupt('header checksum mismatch', off);
  return {
    typeflag: String.fromCharCode(buf[off + 156]!),
    size: readNumber(buf, off + 124, 12, 'size', off),
  };
}

/** True for the type flags of extended headers (PAX `x`/`g`, GNU `L`/`K`), whose data describes the next entry. */
export function isExtendedHeader(typeflag: string): boolean {
  return typeflag === 'x' || typeflag === 'g' || typeflag === 'L' || typeflag === 'K';
}

/** Records an extended header's data (`at` is its header's offset, for messages). */
export function applyExtendedHeader(
  typeflag: string,
  data: Buffer,
  at: number,
  pending: PendingHeaders,
): void {
  switch (typeflag) {
    case 'x':
      parsePax(data, at, pending.localPax, pending.localXattrs);
      return;
    case 'g': {
      const g = { ...pending.globalPax };
      parsePax(data, at, g, {});
      pending.globalPax = g;
      return;
    }
    case 'L':
      pending.longName = readString(data, 0, data.length);
      return;
    case 'K':
      pending.longLink = readString(data, 0, data.length);
      return;
  }
}

/**
 * The entry whose (non-extended) header block is at `off` in `buf`, with the pending extended headers applied.
 * `at` is the block's offset in the whole archive (for messages), `dataOffset` where its data starts there.
 */
export function decodeEntry(
  buf: Buffer,
  off: number,
  typeflag: string,
  size: number,
  pending: PendingHeaders,
  at: number,
  dataOffset: number,
): TarEntry {
  const type = TYPES[typeflag];
  if (type === undefined) throw tarCorrupt(`unsupported entry type ${JSON.stringify(typeflag)}`, at);
  const magic = buf.toString('latin1', off + 257, off + 263);
  let name = readString(buf, off, 100);
  if (magic.startsWith('ustar')) {
    const prefix = readString(buf, off + 345, magic === 'ustar\0' ? 155 : 0);
    if (prefix) name = `${prefix}/${name}`;
  }
  const pax = { ...pending.globalPax, ...pending.localPax };
  if (pending.longName !== undefined) name = pending.longName;
  if (pax.path !== undefined) name = pax.path;
  let linkname = readString(buf, off + 157, 100);
  if (pending.longLink !== undefined) linkname = pending.longLink;
  if (pax.linkpath !== undefined) linkname = pax.linkpath;
  // PAX numbers are decimal: "1e23", "0x10" or " 5" are not numbers a tar writer produces
  const numOr = (key: string, fallback: number, fraction = false): number => {
    const v = pax[key];
    if (v === undefined) return fallback;
    if (!(fraction ? /^[0-9]+(\.[0-9]*)?$/ : /^[0-9]+$/).test(v)) throw tarCorrupt(`bad PAX ${key}`, at);
    const n = Math.floor(Number(v));
    if (!Number.isSafeInteger(n)) throw tarCorrupt(`PAX ${key} ${v.slice(0, 40)} is too large`, at);
    return n;
  };
  const device = type === 'chardev' || type === 'blockdev';
  const entry: TarEntry = {
    name,
    type,
    mode: readNumber(buf, off + 100, 8, 'mode', at) & 0o7777,
    uid: numOr('uid', readNumber(buf, off + 108, 8, 'uid', at)),
    gid: numOr('gid', readNumber(buf, off + 116, 8, 'gid', at)),
    uname: pax.uname ?? readString(buf, off + 265, 32),
    gname: pax.gname ?? readString(buf, off + 297, 32),
    size: type === 'file' ? numOr('size', size) : 0,
    mtime: numOr('mtime', readNumber(buf, off + 136, 12, 'mtime', at), true),
    linkname,
    devmajor: device ? readNumber(buf, off + 329, 8, 'devmajor', at) : 0,
    devminor: device ? readNumber(buf, off + 337, 8, 'devminor', at) : 0,
    pax,
    xattrs: pending.localXattrs,
    headerOffset: pending.entryStart >= 0 ? pending.entryStart : at,
    dataOffset,
  };
  pending.reset();
  return entry;
}
