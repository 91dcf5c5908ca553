/**
 * APKINDEX.tar.gz: a signature member (`.SIGN.*` entries signing every byte after it) followed by a tar
 * holding DESCRIPTION and APKINDEX. Reading splits off the signature member (tiny), inflates the rest in
 * one pass and parses the text; writing produces what `apk index` + abuild-sign produce.
 */

import { isAscii } from 'node:buffer';
import { gunzip, gunzipSync } from 'node:zlib';
import { entryData, readTar } from '../tar/reader.ts';
import { encodeTarHeader, TAR_END, tarPadding } from '../tar/writer.ts';
import { compareBytes } from '../util/compare.ts';
import { LadingError, withFile } from '../util/errors.ts';
import { peekFirstEntryName, readApkData, readApkFile } from './apk-reader.ts';
import { formatApkIndexText, parseApkIndexText } from './apkindex-text.ts';
import { gzipDeterministic, inflateGzipMember, zlibError } from './gzip-members.ts';
import type { Keyring } from './keyring.ts';
import { checkPackageIdentity } from './rules.ts';
import {
  type ApkSignature,
  createSignatureMember,
  parseSignatureTar,
  type SignatureAlgorithm,
  type SigningKey,
  type VerifyResult,
  verifySignatures,
} from './signature.ts';
import type { PackageInfo } from './types.ts';

/** Refuse indexes that inflate beyond this (the Alpine community index is 7.6 MB). */
export const MAX_INDEX_SIZE = 512 * 1024 * 1024;

export interface ApkIndex {
  file?: string;
  signatures: ApkSignature[];
  /** The bytes the signatures cover: everything after the signature member. */
  signedBytes: Buffer;
  /** DESCRIPTION (e.g. `v3.19.1-643-gec825d20535`), empty when absent. */
  description: string;
  packages: PackageInfo[];
}

export interface ReadApkIndexOptions {
  file?: string;
  /** Limit for the inflated index (default MAX_INDEX_SIZE). */
  maxSize?: number;
}

/** An index split into its signatures and the bytes they sign, before the content is inflated. */
export interface ApkIndexParts {
  signatures: ApkSignature[];
  /** Everything after the signature member: the gzip stream of the tar holding DESCRIPTION and APKINDEX. */
  signedBytes: Buffer;
}

/**
 * Splits off the signature member (a few hundred bytes to inflate) without touching the content, so the
 * signature can be checked, and a result derived from the exact bytes reused, before the index is inflated.
 */
export function splitApkIndex(buf: Buffer, options: ReadApkIndexOptions = {}): ApkIndexParts {
  try {
    return splitIndex(buf, options);
  } catch (e) {
    throw options.file === undefined ? e : withFile(e, options.file);
  }
}

function splitIndex(buf: Buffer, options: ReadApkIndexOptions): ApkIndexParts {
  const file = options.file;
  if (!peekFirstEntryName(buf, 0, { what: 'index', file })?.startsWith('.SIGN.')) {
    return { signatures: [], signedBytes: buf };
  }
  const first = inflateGzipMember(buf, 0, { maxOutput: 1024 * 1024, what: 'signature part', file });
  const signatures = parseSignatureTar(first.data, file);
  if (first.end >= buf.length) {
    throw new LadingError('APKINDEX_EMPTY', 'index has a signature but no content', {
      file,
      hint: 'the file is truncated; download or rebuild it',
    });
  }
  return { signatures, signedBytes: buf.subarray(first.end) };
}

function parseIndexTar(tar: Buffer, parts: ApkIndexParts, file?: string): ApkIndex {
  let description = '';
  let packages: PackageInfo[] | undefined;
  for (const e of readTar(tar)) {
    if (e.name === 'DESCRIPTION') description = entryData(tar, e).toString('utf8').trim();
    else if (e.name === 'APKINDEX') packages = parseApkIndexText(entryData(tar, e).toString('utf8'), file);
    else if (e.name === '.PKGINFO') {
      throw new LadingError('APKINDEX_IS_PACKAGE', 'this is a package (.apk), not an APKINDEX', { file });
    }
    // anything else (apko's test index even carries a .SIGN entry here) is ignored, as apk-tools does
  }
  if (packages === undefined) {
    throw new LadingError('APKINDEX_MISSING', 'index archive has no APKINDEX entry', {
      file,
      hint: 'the file is not an APKINDEX.tar.gz; rebuild it with `lading index`',
    });
  }
  return { file, signatures: parts.signatures, signedBytes: parts.signedBytes, description, packages };
}

/** Reads an APKINDEX.tar.gz held in memory. Does not check signatures: see verifyApkIndex. */
export function readApkIndex(buf: Buffer, options: ReadApkIndexOptions = {}): ApkIndex {
  const file = options.file;
  try {
    const parts = splitIndex(buf, options);
    let tar: Buffer;
    try {
      tar = gunzipSync(parts.signedBytes, { maxOutputLength: options.maxSize ?? MAX_INDEX_SIZE });
    } catch (e) {
      throw zlibError(e, { what: 'index content', file }, options.maxSize ?? MAX_INDEX_SIZE);
    }
    return parseIndexTar(tar, parts, file);
  } catch (e) {
    throw file === undefined ? e : withFile(e, file);
  }
}

/** As readApkIndex, with the inflate on the libuv thread pool. */
export async function readApkIndexAsync(buf: Buffer, options: ReadApkIndexOptions = {}): Promise<ApkIndex> {
  const file = options.file;
  try {
    const parts = splitIndex(buf, options);
    const max = options.maxSize ?? MAX_INDEX_SIZE;
    const tar = await new Promise<Buffer>((resolve, reject) =>
      gunzip(parts.signedBytes, { maxOutputLength: max }, (err, out) =>
        err ? reject(zlibError(err, { what: 'index content', file }, max)) : resolve(out),
      ),
    );
    return parseIndexTar(tar, parts, file);
  } catch (e) {
    throw file === undefined ? e : withFile(e, file);
  }
}

/** The text members of an index, unparsed. */
export interface ApkIndexText {
  /** DESCRIPTION (e.g. `v3.19.1-643-gec825d20535`), empty when absent. */
  description: string;
  /** The APKINDEX member as text: what the resolver scans (see parseApkIndexText for records). */
  text: string;
  /** `text` was read as latin1 (one character per byte) and has non-ASCII bytes: UTF-8 still to decode. */
  latin1: boolean;
}

export interface ReadApkIndexTextOptions extends ReadApkIndexOptions {
  /**
   * Read APKINDEX as latin1 (a plain copy, one byte per character) instead of UTF-8 (which doubles the
   * memory of a whole index when one maintainer's name has an accent). Pure ASCII reads the same either way.
   */
  latin1?: boolean;
}

/**
 * The inflated size the content's gzip trailer announces (ISIZE): about the size of the APKINDEX text, known
 * before inflating. Only a hint: nothing checks it until the content is inflated.
 */
export function announcedSize(parts: ApkIndexParts): number {
  const bytes = parts.signedBytes;
  return bytes.length >= 18 ? bytes.readUInt32LE(bytes.length - 4) : 0;
}

/**
 * The APKINDEX text of an index without parsing its records (the resolver scans the text itself), with the
 * inflate on the libuv thread pool so several indexes inflate at once. Signatures are not checked here.
 */
export async function readApkIndexTextAsync(
  parts: ApkIndexParts,
  options: ReadApkIndexTextOptions = {},
): Promise<ApkIndexText> {
  const file = options.file;
  const max = options.maxSize ?? MAX_INDEX_SIZE;
  try {
    // Inflating into one buffer of the size the gzip trailer announces (ISIZE, capped) saves zlib's hundreds
    // of 16 KiB chunks and their concatenation: half the peak memory. zlib checks ISIZE at the end.
    const chunkSize = Math.max(64 * 1024, Math.min(announcedSize(parts) + 1, 64 * 1024 * 1024, max + 1));
    const tar = await new Promise<Buffer>((resolve, reject) =>
      gunzip(parts.signedBytes, { maxOutputLength: max, chunkSize }, (err, out) =>
        err ? reject(zlibError(err, { what: 'index content', file }, max)) : resolve(out),
      ),
    );
    let description = '';
    let text: string | undefined;
    let latin1 = false;
    for (const e of readTar(tar)) {
      if (e.name === 'DESCRIPTION') description = entryData(tar, e).toString('utf8').trim();
      else if (e.name === 'APKINDEX') {
        const data = entryData(tar, e);
        latin1 = options.latin1 === true && !isAscii(data);
        text = data.toString(options.latin1 ? 'latin1' : 'utf8');
      } else if (e.name === '.PKGINFO') {
        throw new LadingError('APKINDEX_IS_PACKAGE', 'this is a package (.apk), not an APKINDEX', { file });
      }
    }
    if (text === undefined) {
      throw new LadingError('APKINDEX_MISSING', 'index archive has no APKINDEX entry', {
        file,
        hint: 'the file is not an APKINDEX.tar.gz; rebuild it with `lading index`',
      });
    }
    return { description, text, latin1 };
  } catch (e) {
    throw file === undefined ? e : withFile(e, file);
  }
}

export function verifyApkIndex(index: ApkIndexParts, keyring: Keyring): VerifyResult {
  return verifySignatures(index.signatures, index.signedBytes, keyring);
}

/**
 * Throws unless the result is OK: the message says which keys were wanted and what to do. Use it where
 * an untrusted index or package must stop the build.
 */
export function requireTrusted(result: VerifyResult, file: string): void {
  if (result.status === 'OK') return;
  const hints: Record<string, string> = {
    BAD: 'the file was modified after signing, or the key of that name is a different key',
    UNTRUSTED: 'add the signing public key to the keyring (keys are looked up by file name)',
    UNSIGNED: 'sign it (`lading index --key`, `lading package --key`) or allow unsigned input explicitly',
  };
  throw new LadingError(`SIGNATURE_${result.status}`, `signature check failed: ${result.message}`, {
    file,
    hint: hints[result.status],
  });
}

export interface WriteApkIndexOptions {
  packages: readonly PackageInfo[];
  description?: string;
  /** Sign with this key (an unsigned index is written without it). */
  signingKey?: SigningKey;
  algorithm?: SignatureAlgorithm;
  /** mtime of the tar entries (default 0). */
  mtime?: number;
}

/** Sorts records by name, then version text, then checksum, so the output does not depend on input order. */
export function sortIndexRecords(packages: readonly PackageInfo[]): PackageInfo[] {
  const cmp = compareBytes;
  return [...packages].sort(
    (a, b) => cmp(a.name, b.name) || cmp(a.version, b.version) || cmp(a.checksum ?? '', b.checksum ?? ''),
  );
}

/** A complete APKINDEX.tar.gz: [signature member] + gzip(tar(DESCRIPTION, APKINDEX)). Records keep their order. */
export function writeApkIndex(options: WriteApkIndexOptions): Buffer {
  const mtime = options.mtime ?? 0;
  const entry = (name: string, content: Buffer) =>
    Buffer.concat([
      encodeTarHeader({
        name,
        type: 'file',
        mode: 0o644,
        uid: 0,
        gid: 0,
        uname: 'root',
        gname: 'root',
        size: content.length,
        mtime,
      }),
      content,
      tarPadding(content.length),
    ]);
  const description = options.description ?? '';
  if (/[\n\r]/.test(description)) {
    throw new LadingError('APKINDEX_BAD_DESCRIPTION', 'the index description must be a single line');
  }
  const tar = Buffer.concat([
    entry('DESCRIPTION', Buffer.from(description, 'utf8')),
    entry('APKINDEX', Buffer.from(formatApkIndexText(options.packages), 'utf8')),
    TAR_END,
  ]);
  const content = gzipDeterministic(tar);
  if (!options.signingKey) return content;
  const signature = createSignatureMember(content, options.signingKey, {
    algorithm: options.algorithm,
    mtime,
  });
  return Buffer.concat([signature, content]);
}

/**
 * Index records for package files: each is read and checked completely (data hash, then the data inflated as
 * a stream under its declared size's limit: the package content rules and file checksums — a repository
 * should not publish a broken package) and becomes a record with C: and S:.
 * Records are sorted (sortIndexRecords); two packages with the same name and version are an error.
 */
export async function indexRecordsFromFiles(paths: readonly string[]): Promise<PackageInfo[]> {
  const records: PackageInfo[] = [];
  const seen = new Map<string, string>();
  for (const path of paths) {
    const apk = await readApkFile(path);
    checkPackageIdentity(apk.info, path);
    await readApkData(apk, { checkChecksums: true, keepEntries: false });
    const id = `${apk.info.name}-${apk.info.version}`;
    const other = seen.get(id);
    if (other !== undefined) {
      throw new LadingError('APKINDEX_DUPLICATE', `${id} is given twice (also in ${other})`, {
        file: path,
        hint: 'an index lists each name and version once; drop one of the files',
      });
    }
    seen.set(id, path);
    records.push(apk.info);
  }
  return sortIndexRecords(records);
}
