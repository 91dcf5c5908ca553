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

export { compareBytes } from '../util/compare.ts';
