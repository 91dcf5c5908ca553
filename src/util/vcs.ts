/** `vcs-url`: `URL@REVISION` (apko's form), read the same way for annotations and SBOMs. */
import { redactUrl } from './redact.ts';

/**
 * The repository URL (credentials removed) and the revision after the last `@` that follows the host — so
 * `https://user:token@github.com/org/repo@abc` gives `https://github.com/org/repo` and `abc`.
 */
export function splitVcsUrl(vcsUrl: string): { url: string; revision?: string } {
  const clean = redactUrl(vcsUrl);
  const at = clean.lastIndexOf('@');
  const slash = clean.indexOf('/', clean.indexOf('//') + 2);
  if (at > slash && slash > 0) return { url: clean.slice(0, at), revision: clean.slice(at + 1) };
  return { url: clean };
}
