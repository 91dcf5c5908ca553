/**
 * Keys for apk inside the image, in `/etc/apk/keys/` (0644 root, build-date mtime):
 * - the build keyring (the keys that verified the repositories), named by their file basename, as
 *   apko copies them. A key file a package already installed (alpine-keys) is kept when identical;
 *   a different key under the same name is an error — it would silently change what apk trusts.
 * - `runtime_keyring` {name, content}: one PEM `PUBLIC KEY` block that must be RSA, written re-encoded
 *   (SPKI PEM). Names follow apko's rule; a name given twice, or one that collides with a different
 *   key already in the image, is an error (an identical file is accepted).
 */
import { createPublicKey } from 'node:crypto';
import { joinPath } from '../../fs/path.ts';
import type { ImageFS } from '../../fs/tree.ts';
import { isLadingError } from '../../util/errors.ts';
import {
  ensureDir,
  inContext,
  type SourceLocation,
  type StepTime,
  show,
  stepError,
  writeGeneratedFile,
} from './common.ts';

export const APK_KEYS_DIR = 'etc/apk/keys';
const RUNTIME_NAME = /^[a-zA-Z0-9_-]+[a-zA-Z0-9_.-]*$/;

export interface KeyFile {
  /** File name in /etc/apk/keys (the key's basename, e.g. alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub). */
  name: string;
  content: Buffer | string;
  at?: SourceLocation;
}

export interface RuntimeKeyInput {
  name: string;
  /** PEM text of an RSA public key. */
  content: string;
  at?: SourceLocation;
}

function asBuffer(b: Buffer | string): Buffer {
  return typeof b === 'string' ? Buffer.from(b) : b;
}

/** Writes one key file; identical content already there is fine, anything else at that name is an error. */
function placeKey(
  fs: ImageFS,
  name: string,
  data: Buffer,
  label: string,
  at: SourceLocation | undefined,
  mtime: number,
): string {
  const path = joinPath(APK_KEYS_DIR, name);
  const existing = fs.stat(path);
  if (existing !== undefined) {
    if (existing.type === 'file' && fs.readFile(path).equals(data)) return fs.resolve(path, true)!;
    throw stepError(
      'KEYRING_COLLISION',
      `${label}: ${show(path)} already exists in the image with different content`,
      at,
      'give the key another name; a different key under an existing name would change what apk trusts',
    );
  }
  return inContext(label, at, () => {
    ensureDir(fs, APK_KEYS_DIR, mtime);
    return writeGeneratedFile(fs, path, data, { mtime, mode: 0o644, uid: 0, gid: 0, forceAttrs: true });
  });
}

/** Copies the build keyring into /etc/apk/keys. Returns the paths written or kept. */
export function writeBuildKeyring(fs: ImageFS, keys: readonly KeyFile[], time: StepTime): string[] {
  const byName = new Map<string, Buffer>();
  const out: string[] = [];
  keys.forEach((k, i) => {
    const label = `keyring[${i}] (${k.name})`;
    if (k.name === '' || k.name === '.' || k.name === '..' || /[/\0\n]/.test(k.name)) {
      throw stepError(
        'KEYRING_BAD_NAME',
        `${label}: ${JSON.stringify(k.name)} cannot be a key file name`,
        k.at,
      );
    }
    const data = asBuffer(k.content);
    const earlier = byName.get(k.name);
    if (earlier !== undefined) {
      if (earlier.equals(data)) return;
      throw stepError(
        'KEYRING_DUPLICATE',
        `${label}: two different keys are both named ${k.name}`,
        k.at,
        'rename one of the key files',
      );
    }
    byName.set(k.name, data);
    out.push(placeKey(fs, k.name, data, label, k.at, time.mtime));
  });
  return out;
}

/** Validates and writes the runtime keyring. Returns the paths written or kept. */
export function writeRuntimeKeyring(fs: ImageFS, keys: readonly RuntimeKeyInput[], time: StepTime): string[] {
  const seen = new Map<string, number>();
  const out: string[] = [];
  keys.forEach((k, i) => {
    const label = `contents.runtime_keyring[${i}] (${k.name})`;
    if (!RUNTIME_NAME.test(k.name)) {
      throw stepError(
        'KEYRING_BAD_NAME',
        `${label}: name ${JSON.stringify(k.name)} cannot be a key file name`,
        k.at,
        'use letters, digits, "_", "-" and "." (not first), e.g. my-repo.rsa.pub',
      );
    }
    const earlier = seen.get(k.name);
    if (earlier !== undefined) {
      throw stepError(
        'KEYRING_DUPLICATE',
        `${label}: the name ${k.name} is used twice (also contents.runtime_keyring[${earlier}])`,
        k.at,
        'give each key its own name',
      );
    }
    seen.set(k.name, i);
    const blocks = k.content.split('-----BEGIN ').length - 1;
    const keyBlocks = k.content.split('-----BEGIN PUBLIC KEY-----').length - 1;
    if (blocks !== 1 || keyBlocks !== 1) {
      throw stepError(
        'KEYRING_NOT_ONE',
        `${label}: content must hold exactly one PEM "PUBLIC KEY" block, found ${blocks} PEM block(s)`,
        k.at,
        'paste the .rsa.pub file as it is (-----BEGIN PUBLIC KEY----- … -----END PUBLIC KEY-----)',
      );
    }
    let pem: string;
    try {
      const key = createPublicKey({ key: k.content, format: 'pem' });
      if (key.asymmetricKeyType !== 'rsa') {
        throw stepError(
          'KEYRING_NOT_RSA',
          `${label}: the key is ${key.asymmetricKeyType}, but apk only accepts RSA keys`,
          k.at,
          'use the RSA public key the repository is signed with',
        );
      }
      pem = key.export({ type: 'spki', format: 'pem' }).toString();
    } catch (e) {
      if (isLadingError(e)) throw e;
      throw stepError(
        'KEYRING_INVALID',
        `${label}: content is not a valid public key (${(e as Error).message})`,
        k.at,
        'paste the .rsa.pub file as it is',
      );
    }
    out.push(placeKey(fs, k.name, Buffer.from(pem), label, k.at, time.mtime));
  });
  return out;
}
