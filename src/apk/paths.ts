/**
 * Path safety for archive entries: whatever a package says, nothing it contains may land outside the
 * image root. Installers call safeEntryPath on every entry name and hardlink target.
 */
import { LadingError } from '../util/errors.ts';

function unsafe(name: string, reason: string, file?: string): LadingError {
  return new LadingError('APK_UNSAFE_PATH', `archive entry ${JSON.stringify(name)} ${reason}`, {
    file,
    hint: 'the package is broken or malicious; do not install it',
  });
}

/**
 * Normalises a tar entry name to a clean relative path (`usr/bin/x`: no leading `./` or `/`, no `.` or
 * empty components, no trailing `/`). Throws for absolute paths, any `..` component, NUL bytes and names
 * that are empty or name the root itself.
 */
export function safeEntryPath(name: string, file?: string): string {
  if (name.includes('\0')) throw unsafe(name, 'contains a NUL byte', file);
  if (name.startsWith('/')) throw unsafe(name, 'is an absolute path', file);
  const parts: string[] = [];
  for (const part of name.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') throw unsafe(name, 'contains a ".." component', file);
    parts.push(part);
  }
  if (parts.length === 0) throw unsafe(name, 'is empty or names the root directory', file);
  return parts.join('/');
}

/**
 * True when a relative symlink target climbs above the image root from where the link is
 * (`usr/x -> ../../etc` from `usr/`). Absolute targets are resolved inside the image, so they never escape.
 */
export function symlinkEscapes(linkPath: string, target: string): boolean {
  if (target.startsWith('/')) return false;
  let depth = linkPath.split('/').length - 1; // components of the link's directory
  for (const part of target.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      depth--;
      if (depth < 0) return true;
    } else depth++;
  }
  return false;
}
