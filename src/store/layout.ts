/**
 * Where everything lives under a cache directory. Every path the store (and the no-op build records) uses is
 * made here, from the layout version down; nothing else builds `v1/…` paths by hand.
 *
 *   v1/blobs/sha256/<aa>/<hex>          immutable bytes named by their SHA-256 (mode 0444)
 *   v1/refs/<namespace>/<aa>/<h>.json   named references: key → blob digest (+ ETag, attachments, …);
 *                                       <h> = sha256(key), so no key text (URLs) appears in a path
 *   v1/build-records/<key>.json         no-op build records (read at start-up by the fast path)
 *   v1/tmp/                             files being written; renamed into place when complete
 *   v1/CACHEDIR.TAG                     tells backup tools to skip the cache
 *   v1.pins/<writer>/                   a running build's hard links to the blobs it uses, and its temporary
 *                                       files (outside v1/, which a full clean renames away)
 *   v1.trash-<pid>-<random>/            a layout being removed by `lading clean`
 *
 * Only Node built-ins: the no-op fast path loads this module at start-up.
 */
import { join } from 'node:path';

export const CACHE_LAYOUT = 'v1';

export interface StoreLayout {
  root: string;
  blobs: string;
  refs: string;
  tmp: string;
  buildRecords: string;
  pins: string;
}

export function layoutPaths(dir: string): StoreLayout {
  const root = join(dir, CACHE_LAYOUT);
  return {
    root,
    blobs: join(root, 'blobs', 'sha256'),
    refs: join(root, 'refs'),
    tmp: join(root, 'tmp'),
    buildRecords: join(root, 'build-records'),
    pins: join(dir, `${CACHE_LAYOUT}.pins`),
  };
}

const DIGEST = /^sha256:([0-9a-f]{64})$/;

/** The file of blob `sha256:<hex>`. */
export function blobFile(dir: string, digest: string): string {
  const hex = DIGEST.exec(digest)?.[1];
  if (hex === undefined) throw new Error(`bug: not a sha256 digest: ${JSON.stringify(digest)}`);
  return join(layoutPaths(dir).blobs, hex.slice(0, 2), hex);
}

const NAMESPACE = /^[a-z0-9][a-z0-9-]*$/;

/** The file of the reference `key` in `namespace`: named by the key's hash, never by its text. */
export function refFile(dir: string, namespace: string, key: string): string {
  if (!NAMESPACE.test(namespace)) throw new Error(`bug: bad cache namespace ${JSON.stringify(namespace)}`);
  const h = crypto().createHash('sha256').update(key).digest('hex');
  return join(layoutPaths(dir).refs, namespace, h.slice(0, 2), `${h}.json`);
}

/** The no-op build record with this key. */
export function buildRecordFile(dir: string, key: string): string {
  return join(layoutPaths(dir).buildRecords, `${key}.json`);
}

/** Directories a clean renamed `v1/` to before deleting it; removed by the next sweep if a clean was killed. */
export const TRASH_PREFIX = `${CACHE_LAYOUT}.trash-`;

export function trashName(): string {
  return `${TRASH_PREFIX}${process.pid}-${crypto().randomBytes(4).toString('hex')}`;
}

/** node:crypto when first needed: the no-op rebuild reads this module and never hashes (loading it costs ~6 ms). */
function crypto(): typeof import('node:crypto') {
  return process.getBuiltinModule('node:crypto');
}
