/**
 * APK v2 signatures: a leading gzip member holding a tar of `.SIGN.<ALG>.<keyname>` entries, each an RSA
 * PKCS#1 v1.5 signature (RSA = SHA-1, RSA256 = SHA-256, RSA512 = SHA-512) over the bytes that follow —
 * the control member of a package, or everything after the signature of an index.
 */
import { constants, createPrivateKey, generateKeyPair, type KeyObject, sign, verify } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { promisify } from 'node:util';
import { entryData, readTar } from '../tar/reader.ts';
import { encodeTarHeader, tarPadding } from '../tar/writer.ts';
import { LadingError } from '../util/errors.ts';
import { gzipDeterministic } from './gzip-members.ts';
import { findKey, type Keyring } from './keyring.ts';

export type DigestName = 'sha1' | 'sha256' | 'sha512';

export interface ApkSignature {
  /** The tar entry name, e.g. `.SIGN.RSA.alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub`. */
  entryName: string;
  /** `RSA`, `RSA256`, `RSA512`, `DSA` or whatever the entry says. */
  algorithm: string;
  /** The key file name the signature refers to. */
  keyName: string;
  /** The digest it signs, or undefined for algorithms lading does not verify (DSA, unknown). */
  digest?: DigestName;
  signature: Buffer;
}

/** OK: a trusted key's signature verifies. BAD: trusted key(s) but no signature verifies. */
export type VerifyStatus = 'OK' | 'BAD' | 'UNTRUSTED' | 'UNSIGNED';

export interface VerifyResult {
  status: VerifyStatus;
  /** The key that verified (OK) or failed (BAD). */
  keyName?: string;
  algorithm?: string;
  /** One line for people: `OK (key …, RSA256)`, `BAD signature (key …)`, `UNTRUSTED (no key …)`. */
  message: string;
}

const DIGESTS: Record<string, DigestName> = { RSA: 'sha1', RSA256: 'sha256', RSA512: 'sha512' };
const MAX_SIGNATURE = 64 * 1024;

/** Parses the tar of a signature member. Every entry must be a `.SIGN.*` file. */
export function parseSignatureTar(tar: Buffer, file?: string): ApkSignature[] {
  const out: ApkSignature[] = [];
  for (const e of readTar(tar)) {
    const m = /^\.SIGN\.([A-Za-z0-9]+)\.(.+)$/.exec(e.name);
    if (!m || e.type !== 'file') {
      throw new LadingError(
        'APK_BAD_SIGNATURE_PART',
        `signature part holds ${JSON.stringify(e.name)}, not a .SIGN.* file`,
        {
          file,
          hint: 'the file is damaged or was assembled wrongly',
        },
      );
    }
    if (e.size > MAX_SIGNATURE) {
      throw new LadingError('APK_BAD_SIGNATURE_PART', `signature ${e.name} is ${e.size} bytes, too big`, {
        file,
      });
    }
    const algorithm = m[1]!;
    out.push({
      entryName: e.name,
      algorithm,
      keyName: m[2]!,
      digest: DIGESTS[algorithm],
      signature: Buffer.from(entryData(tar, e)),
    });
  }
  return out;
}

/**
 * Checks signatures over `signed`. One verifying signature by a trusted key suffices; signatures by
 * unknown keys or with unsupported algorithms are skipped.
 */
export function verifySignatures(
  signatures: readonly ApkSignature[],
  signed: Buffer,
  keyring: Keyring,
): VerifyResult {
  if (signatures.length === 0) return { status: 'UNSIGNED', message: 'UNSIGNED' };
  let failed: ApkSignature | undefined;
  for (const s of signatures) {
    if (s.digest === undefined) continue;
    const key = findKey(keyring, s.keyName);
    if (!key) continue;
    let ok = false;
    try {
      ok = verify(s.digest, signed, { key: key.key, padding: constants.RSA_PKCS1_PADDING }, s.signature);
    } catch {
      ok = false; // a malformed signature blob is a bad signature
    }
    if (ok) {
      return {
        status: 'OK',
        keyName: key.name,
        algorithm: s.algorithm,
        message: `OK (key ${key.name}, ${s.algorithm})`,
      };
    }
    failed ??= s;
  }
  if (failed) {
    return {
      status: 'BAD',
      keyName: failed.keyName,
      algorithm: failed.algorithm,
      message: `BAD signature (key ${failed.keyName}, ${failed.algorithm})`,
    };
  }
  const names = signatures.map((s) => s.keyName).join(', ');
  return { status: 'UNTRUSTED', message: `UNTRUSTED (no trusted key for ${names})` };
}

export interface SigningKey {
  /** Key name written into the signature entry: the public key's file name (`NAME.rsa.pub`). */
  name: string;
  key: KeyObject;
}

/** Parses a PEM RSA private key. The key name defaults to `<file name>.pub`, as abuild names it. */
export function signingKeyFromPem(pem: string | Buffer, where: string, name?: string): SigningKey {
  const text = typeof pem === 'string' ? pem : pem.toString('latin1');
  if (text.includes('BEGIN PUBLIC KEY')) {
    throw new LadingError('KEY_INVALID', 'this is a public key; signing needs the private key', {
      file: where,
      hint: 'pass NAME.rsa (the private half written by `lading keygen NAME`), not NAME.rsa.pub',
    });
  }
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: text, format: 'pem' });
  } catch (e) {
    throw new LadingError('KEY_INVALID', `private key cannot be read: ${(e as Error).message}`, {
      file: where,
      hint: 'pass an unencrypted PEM RSA private key (`lading keygen NAME` writes NAME.rsa)',
    });
  }
  if (key.asymmetricKeyType !== 'rsa') {
    throw new LadingError('KEY_NOT_RSA', `private key is ${key.asymmetricKeyType}, APK signatures need RSA`, {
      file: where,
      hint: 'create an RSA key with `lading keygen NAME`',
    });
  }
  return { name: name ?? `${basename(where)}.pub`, key };
}

export async function loadSigningKey(path: string, name?: string): Promise<SigningKey> {
  let pem: Buffer;
  try {
    pem = await readFile(path);
  } catch (e) {
    throw new LadingError(
      'KEY_NOT_FOUND',
      `cannot read the signing key (${(e as NodeJS.ErrnoException).code})`,
      {
        file: path,
        hint: 'create one with `lading keygen NAME` and pass --key NAME.rsa',
      },
    );
  }
  return signingKeyFromPem(pem, path, name);
}

export type SignatureAlgorithm = 'RSA' | 'RSA256' | 'RSA512';

/**
 * A complete signature gzip member signing `signed`: a tar holding one `.SIGN.<ALG>.<key name>` entry,
 * cut (no end-of-archive blocks) as abuild writes it, so it concatenates with the signed part.
 */
export function createSignatureMember(
  signed: Buffer,
  key: SigningKey,
  options: { algorithm?: SignatureAlgorithm; mtime?: number } = {},
): Buffer {
  const algorithm = options.algorithm ?? 'RSA256';
  const digest = DIGESTS[algorithm]!;
  const signature = sign(digest, signed, { key: key.key, padding: constants.RSA_PKCS1_PADDING });
  const header = encodeTarHeader({
    name: `.SIGN.${algorithm}.${key.name}`,
    type: 'file',
    mode: 0o644,
    uid: 0,
    gid: 0,
    uname: 'root',
    gname: 'root',
    size: signature.length,
    mtime: options.mtime ?? 0,
  });
  return gzipDeterministic(Buffer.concat([header, signature, tarPadding(signature.length)]));
}

export interface GeneratedKeyPair {
  /** PEM PKCS#1 RSA private key (as `openssl genrsa` and abuild-keygen write). */
  privatePem: string;
  /** PEM PKIX public key, the form apk's keys directory needs. */
  publicPem: string;
}

export async function generateRsaKeyPair(bits = 4096): Promise<GeneratedKeyPair> {
  const { privateKey, publicKey } = await promisify(generateKeyPair)('rsa', {
    modulusLength: bits,
    publicExponent: 0x10001,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
  });
  return { privatePem: privateKey, publicPem: publicKey };
}
