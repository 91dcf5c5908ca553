/**
 * What the HTTP client says about URLs and failures: never a credential (requested URLs carry no userinfo, and
 * a query, which may be a pre-signed URL's signature, is shown as `?…`).
 */
import { LadingError } from '../util/errors.ts';

/** `origin + path`, with any query replaced by `?…`; URLs we build never hold userinfo. */
export function describeUrl(url: string | URL): string {
  const u = typeof url === 'string' ? new URL(url) : url;
  return `${u.protocol}//${u.host}${u.pathname}${u.search ? '?…' : ''}`;
}

export function tooLarge(url: URL, what: string | undefined, max: number): LadingError {
  return new LadingError(
    'NET_TOO_LARGE',
    `${what ?? 'file'} at ${describeUrl(url)} is larger than the limit of ${max} bytes`,
    { hint: 'the limit protects against runaway downloads; check that the URL names the intended file' },
  );
}

/** The most specific reason from fetch's wrapped errors (`fetch failed` → ECONNREFUSED …). */
export function reason(e: unknown): string {
  let cur: unknown = e;
  let text = 'unknown error';
  for (let depth = 0; cur instanceof Error && depth < 4; depth++) {
    const code = (cur as NodeJS.ErrnoException).code;
    text = code
      ? `${code}${cur.message && !cur.message.includes(code) ? ` ${cur.message}` : ''}`
      : cur.message;
    cur = cur.cause;
  }
  return text;
}
