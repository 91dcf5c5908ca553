/**
 * Trusted public keys. apk looks a signature's key up by file name (`.SIGN.RSA.<name>` → keys/<name>);
 * proxies and JWKS-derived key sets sometimes drop the `.rsa.pub` suffix, so lookups also try the name
 * with the suffix added or removed. Keys must be PEM PKIX ("BEGIN PUBLIC KEY") RSA keys.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { LadingError } from '../util/errors.ts';

export interface TrustedKey {
  /** The key's file name, e.g. `alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub`. */
  name: string;
  key: KeyObject;
  /** Where it was loaded from, for messages. */
  file?: string;
}

export interface Keyring {
  /** Keys by file name, in load order. */
  readonly keys: ReadonlyMap<string, TrustedKey>;
}

const SUFFIX = '.rsa.pub';
const MAX_KEY_FILE = 64 * 1024;

/** Parses a PEM RSA public key; throws a LadingError naming `where` for anything else. */
export function parsePublicKey(pem: string | Buffer, where: string): KeyObject {
  const text = typeof pem === 'string' ? pem : pem.toString('latin1');
  if (!text.includes('-----BEGIN PUBLIC KEY-----')) {
    const what = text.includes('PRIVATE KEY')
      ? 'is a private key, not a public key'
      : text.includes('-----BEGIN')
        ? 'is not a PKIX public key ("BEGIN PUBLIC KEY")'
        : 'is not a PEM public key';
    throw new LadingError('KEY_INVALID', `key ${what}`, {
      file: where,
      hint: 'APK keys are PEM RSA public keys (NAME.rsa.pub, as written by `lading keygen` or abuild-keygen)',
    });
  }
  let key: KeyObject;
  try {
    key = createPublicKey({ key: text, format: 'pem' });
  } catch (e) {
    throw new LadingError('KEY_INVALID', `key cannot be read: ${(e as Error).message}`, {
      file: where,
      hint: 'the key file is damaged; fetch it again',
    });
  }
  if (key.asymmetricKeyType !== 'rsa') {
    throw new LadingError(
      'KEY_NOT_RSA',
      `key is ${key.asymmetricKeyType ?? 'not'} RSA; APK signatures need RSA keys`,
      {
        file: where,
        hint: 'use an RSA key (`lading keygen NAME`)',
      },
    );
  }
  return key;
}

/** Builds a keyring from keys already in memory (e.g. fetched by the repository layer). */
export function createKeyring(
  entries: Iterable<{ name: string; pem: string | Buffer; file?: string }>,
): Keyring {
  const keys = new Map<string, TrustedKey>();
  for (const e of entries) {
    if (keys.has(e.name)) continue; // the first key of a name wins, as in a directory search path
    keys.set(e.name, { name: e.name, key: parsePublicKey(e.pem, e.file ?? e.name), file: e.file });
  }
  return { keys };
}

/** The key a signature names, by exact name or with the `.rsa.pub` suffix added or removed. */
export function findKey(keyring: Keyring, name: string): TrustedKey | undefined {
  const exact = keyring.keys.get(name);
  if (exact) return exact;
  const alt = name.endsWith(SUFFIX) ? name.slice(0, -SUFFIX.length) : name + SUFFIX;
  return keyring.keys.get(alt);
}

/**
 * Loads every regular file of each directory (sorted by name; subdirectories, dotfiles and private keys
 * skipped) and each file given
 * directly. A file that is not an RSA public key is an error naming it.
 */
export async function loadKeyring(paths: readonly string[]): Promise<Keyring> {
  const entries: { name: string; pem: Buffer; file: string }[] = [];
  for (const p of paths) {
    let st: Awaited<ReturnType<typeof stat>>;
    try {
      st = await stat(p);
    } catch (e) {
      throw new LadingError(
        'KEYRING_NOT_FOUND',
        `keyring path does not exist or cannot be read (${(e as NodeJS.ErrnoException).code})`,
        {
          file: p,
          hint: 'pass a directory of .rsa.pub files or a key file',
        },
      );
    }
    const files: string[] = [];
    const fromDirectory = st.isDirectory();
    if (fromDirectory) {
      for (const name of (await readdir(p)).sort()) {
        if (name.startsWith('.')) continue; // .gitkeep and the like
        const f = join(p, name);
        const s = await stat(f).catch(() => undefined);
        if (s?.isFile()) files.push(f);
      }
    } else files.push(p);
    for (const f of files) {
      const s = await stat(f);
      if (s.size > MAX_KEY_FILE) {
        throw new LadingError('KEY_INVALID', `key file is ${s.size} bytes, too big to be a public key`, {
          file: f,
          hint: 'a keyring directory must hold only .rsa.pub files',
        });
      }
      const pem = await readFile(f);
      // `lading keygen` puts NAME.rsa beside NAME.rsa.pub: a private key in a keys directory is not a trusted key
      if (fromDirectory && pem.includes('PRIVATE KEY-----')) continue;
      entries.push({ name: basename(f), pem, file: f });
    }
  }
  return createKeyring(entries);
}
