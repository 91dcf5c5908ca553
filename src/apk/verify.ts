/**
 * Checking a file as `apk verify` does, for packages and indexes alike: is it well formed, and who signed
 * it. The signature and the data hash are judged first, on the compressed bytes; only a package signed by a
 * trusted key is then inflated (as a stream, under the limit its declared size allows) and checked
 * completely: the package content rules and every file checksum. An untrusted or unsigned package is
 * reported as such without inflating anything, so a bomb cannot knock verify over.
 */
import { readFile } from 'node:fs/promises';
import { LadingError } from '../util/errors.ts';
import { checkApkDataHash, peekFirstEntryName, readApk, readApkData, verifyApk } from './apk-reader.ts';
import { readApkIndexAsync, verifyApkIndex } from './apkindex.ts';
import { inflateGzipMember } from './gzip-members.ts';
import type { Keyring } from './keyring.ts';
import { checkPackageIdentity } from './rules.ts';
import type { VerifyStatus } from './signature.ts';

export type FileKind = 'package' | 'index';

export interface FileCheck {
  file: string;
  kind?: FileKind;
  status: VerifyStatus | 'CORRUPT';
  /** `OK (key …, RSA)`, `BAD signature (…)`, `UNTRUSTED (…)`, `UNSIGNED` or `corrupt: <reason>`. */
  message: string;
}

/** Package or index, from the first entry after the signature. */
export function detectKind(buf: Buffer, file?: string): FileKind {
  let name = peekFirstEntryName(buf, 0, { file });
  if (name?.startsWith('.SIGN.')) {
    const sig = inflateGzipMember(buf, 0, { maxOutput: 1024 * 1024, what: 'signature part', file });
    if (sig.end < buf.length) name = peekFirstEntryName(buf, sig.end, { file });
  }
  return name === 'DESCRIPTION' || name === 'APKINDEX' ? 'index' : 'package';
}

/** Reads and checks one file. Damage is reported in the result (CORRUPT), not thrown. */
export async function checkFile(path: string, keyring: Keyring): Promise<FileCheck> {
  let kind: FileKind | undefined;
  try {
    let buf: Buffer;
    try {
      buf = await readFile(path);
    } catch (e) {
      throw new LadingError('READ_FAILED', `cannot read file (${(e as NodeJS.ErrnoException).code})`, {
        file: path,
      });
    }
    kind = detectKind(buf, path);
    if (kind === 'index') {
      const index = await readApkIndexAsync(buf, { file: path });
      const r = verifyApkIndex(index, keyring);
      return { file: path, kind, status: r.status, message: r.message };
    }
    // as apk-tools: the signature is judged before the data, so a re-signed or tampered package says BAD
    const apk = readApk(buf, { file: path, verifyDataHash: false });
    const r = verifyApk(apk, keyring);
    if (r.status === 'BAD') return { file: path, kind, status: r.status, message: r.message };
    checkApkDataHash(apk);
    checkPackageIdentity(apk.info, path);
    if (r.status === 'OK') await readApkData(apk, { checkChecksums: true, keepEntries: false });
    return { file: path, kind, status: r.status, message: r.message };
  } catch (e) {
    if (!(e instanceof LadingError)) throw e;
    return { file: path, kind, status: 'CORRUPT', message: `corrupt: ${e.message}` };
  }
}
