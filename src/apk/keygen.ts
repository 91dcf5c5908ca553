/** `lading keygen`: an RSA key pair written as NAME.rsa (private, 0600) and NAME.rsa.pub (PKIX PEM). */
import { access, rm } from 'node:fs/promises';
import { LadingError } from '../util/errors.ts';
import { writeFileAtomic } from '../util/write-file.ts';
import { generateRsaKeyPair } from './signature.ts';

export interface WriteKeyPairOptions {
  /** RSA modulus size (default 4096, minimum 2048). */
  bits?: number;
  /** Replace existing key files (default: refuse). */
  force?: boolean;
}

export interface WrittenKeyPair {
  privateKeyFile: string;
  publicKeyFile: string;
}

export async function writeKeyPair(name: string, options: WriteKeyPairOptions = {}): Promise<WrittenKeyPair> {
  const bits = options.bits ?? 4096;
  if (!Number.isInteger(bits) || bits < 2048 || bits > 16384) {
    throw new LadingError('KEYGEN_BAD_BITS', `key size ${bits} is not supported`, {
      hint: 'use a whole number of bits between 2048 and 16384 (4096 is the default)',
    });
  }
  const privateKeyFile = `${name}.rsa`;
  const publicKeyFile = `${name}.rsa.pub`;
  if (!options.force) {
    for (const f of [privateKeyFile, publicKeyFile]) {
      const exists = await access(f).then(
        () => true,
        () => false,
      );
      if (exists) {
        throw new LadingError('KEYGEN_EXISTS', 'key file already exists; refusing to overwrite it', {
          file: f,
          hint: 'choose another NAME, or pass --force to replace the key pair',
        });
      }
    }
  }
  const pair = await generateRsaKeyPair(bits);
  await writeFileAtomic(privateKeyFile, pair.privatePem, { mode: 0o600 });
  try {
    await writeFileAtomic(publicKeyFile, pair.publicPem, { mode: 0o644 });
  } catch (e) {
    await rm(privateKeyFile, { force: true }); // never leave half a pair behind
    throw e;
  }
  return { privateKeyFile, publicKeyFile };
}
