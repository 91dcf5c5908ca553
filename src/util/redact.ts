/** Credentials never reach a log line, an error message or an output. */

/**
 * Removes userinfo (user:password@) from every URL in a string so it can be logged or written.
 * The userinfo ends at the last `@` before the host's path, since passwords may contain `@`.
 */
export function redactUrl(s: string): string {
  return s.replace(/([a-zA-Z][a-zA-Z0-9+.-]*:\/\/)([^/?#\s]*)@/g, '$1');
}
