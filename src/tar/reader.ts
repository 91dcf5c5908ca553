/**
 * A tar reader over an in-memory buffer: ustar, PAX (local and global) and GNU long names,
 * base-256 numbers, and the "cut" archives apk writes (no end-of-archive blocks).
 * Hand-written because apk needs the exact PAX records (checksums, xattrs) and byte offsets
 * of each entry's data, so files can be referenced without copying. Large archives are read as a stream
 * (stream.ts); both decode headers with header.ts.
 */
import {
  applyExtendedHeader,
  BLOCK,
  decodeEntry,
  headerBlock,
  isExtendedHeader,
  isZeroBlock,
  PendingHeaders,
  type TarEntry,
  tarCorrupt,
} from './header.ts';

export type { TarEntry, TarEntryType } from './header.ts';

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
  const pending = new PendingHeaders();
  while (off + BLOCK <= buf.length) {
    if (isZeroBlock(buf, off)) {
      // end of archive (one or two zero blocks)
      return;
    }
    if (pending.entryStart < 0) pending.entryStart = off;
    const { typeflag, size } = headerBlock(buf, off);
    const dataOffset = off + BLOCK;
    const padded = Math.ceil(size / BLOCK) * BLOCK;
    if (dataOffset + size > buf.length) {
      if (options.allowTruncated) return;
      throw tarCorrupt(`entry data runs past the end of the archive (${size} bytes)`, off);
    }
    const next = dataOffset + padded;
    if (isExtendedHeader(typeflag)) {
      applyExtendedHeader(typeflag, buf.subarray(dataOffset, dataOffset + size), off, pending);
      off = next;
      continue;
    }
    const entry = decodeEntry(buf, off, typeflag, size, pending, off, dataOffset);
    if (entry.size !== size && entry.type === 'file' && dataOffset + entry.size > buf.length) {
      throw tarCorrupt('PAX size runs past the end of the archive', off);
    }
    yield entry;
    const consumed = entry.type === 'file' ? Math.ceil(entry.size / BLOCK) * BLOCK : padded;
    off = dataOffset + consumed;
  }
  if (off < buf.length && off + BLOCK > buf.length && !options.allowTruncated) {
    // trailing garbage shorter than a block: tolerated only if it is all zeros
    for (let i = off; i < buf.length; i++)
      if (buf[i] !== 0) throw tarCorrupt('trailing bytes after the last entry', off);
  }
  if (pending.entryStart >= 0)
    throw tarCorrupt('extended header without the entry it describes', pending.entryStart);
}

/** The data of a regular-file entry, without copying. */
export function entryData(buf: Buffer, entry: TarEntry): Buffer {
  return buf.subarray(entry.dataOffset, entry.dataOffset + entry.size);
}
