/** Path handling for the image filesystem: every path is clean, relative to the image root, `''` = root. */
import { LadingError } from '../util/errors.ts';

/**
 * Normalises an image path (`/etc/passwd`, `./etc//passwd/`) to `etc/passwd`. `..` components are
 * rejected: nothing may point outside the image root.
 */
export function cleanPath(p: string, what = 'path'): string {
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      throw new LadingError(
        'FS_PATH_ESCAPES',
        `${what} ${JSON.stringify(p)} contains "..": paths must stay inside the image`,
      );
    }
    out.push(part);
  }
  return out.join('/');
}

export function parentOf(p: string): string {
  const i = p.lastIndexOf('/');
  return i < 0 ? '' : p.slice(0, i);
}

export function baseName(p: string): string {
  const i = p.lastIndexOf('/');
  return i < 0 ? p : p.slice(i + 1);
}

export function joinPath(dir: string, name: string): string {
  return dir === '' ? name : `${dir}/${name}`;
}

/** Byte-order comparison of UTF-8 strings (what `tar --sort=name` and Go's WalkDir use). */
export function compareBytes(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(i);
    if (ca !== cb) {
      if (ca < 0x80 && cb < 0x80) return ca - cb;
      return Buffer.compare(Buffer.from(a.slice(i)), Buffer.from(b.slice(i)));
    }
  }
  return a.length - b.length;
}
