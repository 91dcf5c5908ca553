/**
 * Reading an APK v2 package: [signature member] control member, data member(s).
 *
 * readApk does the cheap part in one pass over the small members: it finds the member boundaries,
 * parses the signature and control tars and .PKGINFO, computes the package checksum (C:) and the data
 * hash, and checks the data hash against .PKGINFO. The data is left compressed (`apk.data`, a view into
 * the input) so the expensive inflate can run later, as a stream and only once the package is trusted
 * (readApkData).
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { entryData, readTar, type TarEntry } from '../tar/reader.ts';
import { LadingError, withFile } from '../util/errors.ts';
import {
  dataSizeLimit,
  type InflateApkDataOptions,
  type InflatedApkData,
  inflateApkData,
} from './apk-data.ts';
import { type InflateMemberOptions, inflateGzipMember, peekGzipMember, zlibError } from './gzip-members.ts';
import type { Keyring } from './keyring.ts';
import { type PkgInfo, parsePkgInfo } from './pkginfo.ts';
import { type ApkSignature, parseSignatureTar, type VerifyResult, verifySignatures } from './signature.ts';
import type { PackageInfo } from './types.ts';

/** apko's limit on the control part, inflated; a bigger .PKGINFO is refused. */
export const MAX_CONTROL_SIZE = 10 * 1024 * 1024;

/** Control-tar files apk-tools runs as scripts. */
export const APK_SCRIPT_NAMES: ReadonlySet<string> = new Set([
  '.pre-install',
  '.post-install',
  '.pre-upgrade',
  '.post-upgrade',
  '.pre-deinstall',
  '.post-deinstall',
  '.trigger',
]);

export interface ApkControlFile {
  /** `.post-install`, `.melange.yaml`, … */
  name: string;
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  data: Buffer;
}

export interface ApkFile {
  file?: string;
  /** Size of the whole .apk in bytes (the index's S:). */
  size: number;
  signatures: ApkSignature[];
  /** Raw signature member, when the package is signed. */
  signatureMember?: Buffer;
  /** Raw control gzip member: what C: hashes and (with a datahash) what the signature signs. */
  control: Buffer;
  /** The inflated control tar. */
  controlTar: Buffer;
  /** Raw data gzip member(s), still compressed: everything after the control member. */
  data: Buffer;
  /** The bytes the signature covers: the control member, or control + data for packages without datahash. */
  signedBytes: Buffer;
  /** `Q1` + base64(SHA-1(control member)). */
  checksum: string;
  /** Hex SHA-256 of `data`. */
  dataHash: string;
  pkginfo: PkgInfo;
  /** The .PKGINFO fields plus `checksum` and `size`, ready for an index record. */
  info: PackageInfo;
  /** .PKGINFO `triggers`. */
  triggers: string[];
  /** Every control-tar entry except .PKGINFO, in archive order. */
  controlFiles: ApkControlFile[];
  /** The control files apk-tools treats as scripts (APK_SCRIPT_NAMES). */
  scripts: ApkControlFile[];
}

export interface ReadApkOptions {
  /** Names the file in errors. */
  file?: string;
  /** Limit for the inflated signature and control parts (default MAX_CONTROL_SIZE). */
  maxControlSize?: number;
  /** Compare the data hash with .PKGINFO `datahash` (default true). */
  verifyDataHash?: boolean;
}

function corrupt(code: string, message: string, file?: string, hint?: string): LadingError {
  return new LadingError(code, message, {
    file,
    hint: hint ?? 'the package is damaged; download or rebuild it',
  });
}

function firstEntryName(tar: Buffer): string | undefined {
  for (const e of readTar(tar)) return e.name;
  return undefined;
}

/**
 * The name of the first tar entry in the gzip member at `start`, inflating only its beginning;
 * undefined when it cannot be told that way.
 */
export function peekFirstEntryName(
  buf: Buffer,
  start: number,
  options: InflateMemberOptions = {},
): string | undefined {
  const head = peekGzipMember(buf, start, options);
  try {
    for (const e of readTar(head, { allowTruncated: true })) return e.name;
  } catch {
    return undefined;
  }
  // the first entry's data runs past what was inflated: its plain ustar name is still readable
  if (head.length >= 512 && head[156] !== 0x78 /* x */ && head[156] !== 0x4c /* L */) {
    const nul = head.indexOf(0);
    return head.toString('utf8', 0, nul >= 0 && nul < 100 ? nul : 100);
  }
  return undefined;
}

/** `Q1` + base64 SHA-1: apk's checksum notation (C:, Z:). */
export function q1(sha1: Buffer): string {
  return `Q1${sha1.toString('base64')}`;
}

export function readApk(buf: Buffer, options: ReadApkOptions = {}): ApkFile {
  const file = options.file;
  try {
    return readApkUnchecked(buf, options);
  } catch (e) {
    throw file === undefined ? e : withFile(e, file);
  }
}

function readApkUnchecked(buf: Buffer, options: ReadApkOptions): ApkFile {
  const file = options.file;
  const maxOutput = options.maxControlSize ?? MAX_CONTROL_SIZE;
  const first = inflateGzipMember(buf, 0, { maxOutput, what: 'first part', file });
  const firstName = firstEntryName(first.data);
  let signatures: ApkSignature[] = [];
  let signatureMember: Buffer | undefined;
  let controlMember = first;
  if (firstName?.startsWith('.SIGN.')) {
    signatures = parseSignatureTar(first.data, file);
    signatureMember = buf.subarray(0, first.end);
    if (first.end >= buf.length)
      throw corrupt('APK_NO_CONTROL', 'package has a signature but no control part', file);
    controlMember = inflateGzipMember(buf, first.end, { maxOutput, what: 'control part', file });
  }
  const controlTar = controlMember.data;
  const control = buf.subarray(controlMember.start, controlMember.end);
  const data = buf.subarray(controlMember.end);

  let pkginfoText: string | undefined;
  const controlFiles: ApkControlFile[] = [];
  for (const e of readTar(controlTar)) {
    if (e.name === 'DESCRIPTION' || e.name === 'APKINDEX') {
      throw corrupt('APK_NOT_PACKAGE', 'this is an APKINDEX, not a package', file, 'read it as an index');
    }
    if (!e.name.startsWith('.') || e.name.includes('/')) {
      throw corrupt(
        'APK_BAD_CONTROL',
        `control part holds ${JSON.stringify(e.name)}; package data must be in its own gzip member`,
        file,
      );
    }
    if (e.name === '.PKGINFO') {
      pkginfoText = entryData(controlTar, e).toString('utf8');
    } else if (e.type === 'file') {
      controlFiles.push(controlFile(controlTar, e));
    }
  }
  if (pkginfoText === undefined) {
    throw corrupt('APK_NO_PKGINFO', 'control part has no .PKGINFO; this is not an APK package', file);
  }
  const pkginfo = parsePkgInfo(pkginfoText, file);
  const checksum = q1(createHash('sha1').update(control).digest());
  const dataHash = createHash('sha256').update(data).digest('hex');
  const apk: ApkFile = {
    file,
    size: buf.length,
    signatures,
    signatureMember,
    control,
    controlTar,
    data,
    signedBytes: pkginfo.datahash !== undefined ? control : buf.subarray(controlMember.start),
    checksum,
    dataHash,
    pkginfo,
    info: { ...pkginfo.package, checksum, size: buf.length },
    triggers: pkginfo.triggers,
    controlFiles,
    scripts: controlFiles.filter((f) => APK_SCRIPT_NAMES.has(f.name)),
  };
  if (options.verifyDataHash !== false) checkApkDataHash(apk);
  return apk;
}

/** Throws unless the data part matches .PKGINFO `datahash` (packages without one pass). */
export function checkApkDataHash(apk: ApkFile): void {
  const expected = apk.pkginfo.datahash;
  if (expected !== undefined && expected !== apk.dataHash) {
    throw corrupt(
      'APK_DATAHASH_MISMATCH',
      `data part does not match .PKGINFO datahash: the file is truncated or was altered (expected ${expected}, got ${apk.dataHash})`,
      apk.file,
    );
  }
}

function controlFile(tar: Buffer, e: TarEntry): ApkControlFile {
  return { name: e.name, mode: e.mode, uid: e.uid, gid: e.gid, mtime: e.mtime, data: entryData(tar, e) };
}

export async function readApkFile(
  path: string,
  options: Omit<ReadApkOptions, 'file'> = {},
): Promise<ApkFile> {
  let buf: Buffer;
  try {
    buf = await readFile(path);
  } catch (e) {
    throw new LadingError('APK_READ_FAILED', `cannot read package (${(e as NodeJS.ErrnoException).code})`, {
      file: path,
    });
  }
  return readApk(buf, { ...options, file: path });
}

/** Checks the package signature against trusted keys. */
export function verifyApk(apk: ApkFile, keyring: Keyring): VerifyResult {
  return verifySignatures(apk.signatures, apk.signedBytes, keyring);
}

/** The most bytes the package's data may inflate to, from its declared installed size (dataSizeLimit). */
export function apkDataLimit(apk: ApkFile): number {
  return dataSizeLimit(apk.pkginfo.package.installedSize);
}

/**
 * Inflates and checks the data part as a stream (apk-data.ts), under the limit the package's declared installed
 * size allows. Call it only after the signature and data hash were checked: nothing untrusted is inflated.
 */
export function readApkData(
  apk: ApkFile,
  options: Omit<InflateApkDataOptions, 'maxSize' | 'file'> & { maxSize?: number } = {},
): Promise<InflatedApkData> {
  return inflateApkData(apk.data, {
    ...options,
    maxSize: options.maxSize ?? apkDataLimit(apk),
    file: apk.file,
  });
}

/**
 * The whole data tar in one buffer, for small packages held in memory (tests, tools); limited like
 * readApkData. Builds and commands use readApkData, which never holds it.
 */
export function inflateApkDataSync(apk: ApkFile, options: { maxSize?: number } = {}): Buffer {
  if (apk.data.length === 0) return Buffer.alloc(0);
  const maxSize = options.maxSize ?? apkDataLimit(apk);
  try {
    return gunzipSync(apk.data, { maxOutputLength: maxSize });
  } catch (e) {
    throw zlibError(e, { what: 'data part', file: apk.file }, maxSize);
  }
}
