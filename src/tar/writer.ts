/**
 * Deterministic tar header encoding: ustar when every field fits, a PAX extended header before the
 * entry otherwise (long names, big ids/sizes, non-ASCII names, xattrs, extra records such as apk's
 * APK-TOOLS.checksum.SHA1). Hand-written because byte-exact, reproducible output is the point:
 * the same entry always encodes to the same bytes.
 */
import type { TarEntryType } from './reader.ts';

export interface TarHeaderInput {
  /** Relative path, no leading `/` or `./`; directories without a trailing `/`. */
  name: string;
  type: TarEntryType;
  mode: number;
  uid: number;
  gid: number;
  uname?: string;
  gname?: string;
  /** Data size (regular files only; 0 otherwise). */
  size: number;
  mtime: number;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  /** Extra PAX records written for this entry, e.g. { 'APK-TOOLS.checksum.SHA1': hex }. */
  pax?: Record<string, string>;
  /** Extended attributes, written as `SCHILY.xattr.<name>` PAX records. */
  xattrs?: Record<string, Buffer>;
}

const BLOCK = 512;
const TYPEFLAG: Record<TarEntryType, string> = {
  file: '0',
  hardlink: '1',
  symlink: '2',
  chardev: '3',
  blockdev: '4',
  directory: '5',
  fifo: '6',
};

/** Two zero blocks: the end-of-archive marker. */
export const TAR_END = Buffer.alloc(2 * BLOCK);

/** Zero bytes that pad `size` bytes of data to a whole block. */
export function tarPadding(size: number): Buffer {
  const rem = size % BLOCK;
  return rem === 0 ? Buffer.alloc(0) : Buffer.alloc(BLOCK - rem);
}

function fitsOctal(value: number, width: number): boolean {
  return Number.isInteger(value) && value >= 0 && value < 8 ** (width - 1);
}

function writeOctal(buf: Buffer, off: number, width: number, value: number): void {
  buf.write(value.toString(8).padStart(width - 1, '0'), off, width - 1, 'latin1');
  buf[off + width - 1] = 0;
}

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 127) return false;
  return true;
}

/** Splits a long name into ustar prefix (≤155) and name (≤100) at a `/`, if possible. */
function splitUstarName(name: string): [string, string] | null {
  if (Buffer.byteLength(name) <= 100) return ['', name];
  if (!isAscii(name) || name.length > 256) return null;
  for (let i = name.length - 1; i > 0; i--) {
    if (name[i] !== '/') continue;
    const prefix = name.slice(0, i);
    const rest = name.slice(i + 1);
    if (prefix.length <= 155 && rest.length <= 100 && rest.length > 0) return [prefix, rest];
    if (prefix.length <= 155) break;
  }
  return null;
}

function paxRecord(key: string, value: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`, 'utf8'), value, Buffer.from('\n')]);
  // the length prefix counts its own digits
  let len = body.length + 1;
  while (String(len).length + body.length > len) len++;
  return Buffer.concat([Buffer.from(String(len), 'latin1'), body]);
}

function ustarBlock(h: TarHeaderInput, name: string, prefix: string, typeflag: string, size: number): Buffer {
  const b = Buffer.alloc(BLOCK);
  b.write(name, 0, 100, 'utf8');
  writeOctal(b, 100, 8, fitsOctal(h.mode, 8) ? h.mode : 0);
  writeOctal(b, 108, 8, fitsOctal(h.uid, 8) ? h.uid : 0);
  writeOctal(b, 116, 8, fitsOctal(h.gid, 8) ? h.gid : 0);
  writeOctal(b, 124, 12, fitsOctal(size, 12) ? size : 0);
  writeOctal(b, 136, 12, fitsOctal(h.mtime, 12) ? h.mtime : 0);
  b[156] = typeflag.charCodeAt(0);
  const link = h.linkname ?? '';
  if (Buffer.byteLength(link) <= 100) b.write(link, 157, 100, 'utf8');
  b.write('ustar\u000000', 257, 8, 'latin1');
  const uname = h.uname ?? '';
  const gname = h.gname ?? '';
  if (Buffer.byteLength(uname) <= 32) b.write(uname, 265, 32, 'utf8');
  if (Buffer.byteLength(gname) <= 32) b.write(gname, 297, 32, 'utf8');
  writeOctal(b, 329, 8, h.devmajor ?? 0);
  writeOctal(b, 337, 8, h.devminor ?? 0);
  b.write(prefix, 345, 155, 'latin1');
  b.fill(32, 148, 156);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += b[i]!;
  b.write(sum.toString(8).padStart(6, '0'), 148, 6, 'latin1');
  b[154] = 0;
  b[155] = 32;
  return b;
}

/**
 * The header block(s) for one entry: an optional PAX header (typeflag `x`) followed by the ustar header.
 * The caller writes the data and `tarPadding(size)` after it.
 */
export function encodeTarHeader(h: TarHeaderInput): Buffer {
  for (const [field, v] of [
    ['uid', h.uid],
    ['gid', h.gid],
    ['size', h.size],
  ] as const) {
    // a number like 1e+23 in a header makes an archive tar tools refuse; inputs are checked before this
    if (!Number.isSafeInteger(v) || v < 0)
      throw new Error(`bug: tar ${field} ${v} for ${h.name} is not a whole number ≥ 0`);
  }
  const records: [string, Buffer][] = [];
  const split = splitUstarName(h.name);
  if (split === null) records.push(['path', Buffer.from(h.name, 'utf8')]);
  const link = h.linkname ?? '';
  if (Buffer.byteLength(link) > 100 || !isAscii(link)) records.push(['linkpath', Buffer.from(link, 'utf8')]);
  if (!fitsOctal(h.uid, 8)) records.push(['uid', Buffer.from(String(h.uid))]);
  if (!fitsOctal(h.gid, 8)) records.push(['gid', Buffer.from(String(h.gid))]);
  if (!fitsOctal(h.size, 12)) records.push(['size', Buffer.from(String(h.size))]);
  if (!fitsOctal(h.mtime, 12)) records.push(['mtime', Buffer.from(String(h.mtime))]);
  if (h.uname && (Buffer.byteLength(h.uname) > 32 || !isAscii(h.uname)))
    records.push(['uname', Buffer.from(h.uname)]);
  if (h.gname && (Buffer.byteLength(h.gname) > 32 || !isAscii(h.gname)))
    records.push(['gname', Buffer.from(h.gname)]);
  for (const [k, v] of Object.entries(h.pax ?? {})) records.push([k, Buffer.from(v, 'utf8')]);
  for (const [k, v] of Object.entries(h.xattrs ?? {})) records.push([`SCHILY.xattr.${k}`, v]);

  const [prefix, name] = split ?? ['', asciiTail(h.name, 100)];
  const main = ustarBlock(h, name, prefix, TYPEFLAG[h.type], h.size);
  if (records.length === 0) return main;

  records.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const paxData = Buffer.concat(records.map(([k, v]) => paxRecord(k, v)));
  const paxName = asciiTail(`PaxHeaders/${name}`, 100);
  const paxHeader = ustarBlock(
    {
      name: paxName,
      type: 'file',
      mode: 0o644,
      uid: 0,
      gid: 0,
      size: paxData.length,
      mtime: fitsOctal(h.mtime, 12) ? h.mtime : 0,
    },
    paxName,
    '',
    'x',
    paxData.length,
  );
  return Buffer.concat([paxHeader, paxData, tarPadding(paxData.length), main]);
}

/** The last `max` bytes of a name as ASCII, for the (informational) ustar name field when PAX carries the real one. */
function asciiTail(s: string, max: number): string {
  const ascii = s.replace(/[^\x20-\x7e]/g, '_');
  return ascii.length <= max ? ascii : ascii.slice(ascii.length - max);
}
