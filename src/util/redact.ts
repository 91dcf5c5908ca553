/**
 * Credentials never reach a log line, an error message or an output.
 *
 * Hand-written because the WHATWG parser (`new URL`) and RFC 3986 both end the authority at the first `/`,
 * `?` or `#`, while people write passwords and tokens holding those characters unencoded
 * (`https://user:tok/EN@host/…`): such a URL fails to parse, and a regex that stops at them leaves the
 * token in the text. The rule here:
 *
 * - the authority runs from `//` to the first `/`, `?` or `#`; when it holds an `@`, the userinfo ends at
 *   its last `@` (so `@` may appear in a password);
 * - when it holds none and is not a plain `host[:port]` (`user:tok` has a port that is not a number), a
 *   password continues past that character, and the userinfo ends at the first later `@` followed by a
 *   `host[:port]` and the end of the authority.
 *
 * - when it holds one but what follows it is a name without a dot (`user:p@ss/w@host.example/…`: `ss`), and
 *   a later `@` is followed by a host with a dot, an IP address or `localhost`, the password held `@` and
 *   `/` and the userinfo ends at that later `@`.
 *
 * A URL whose authority looks like `host:port` and holds no `@` has no userinfo, so `…/repo@SHA` revisions
 * and `@` in paths are left alone.
 */

/** The placeholder hints use to show where credentials go; it is not a secret and stays in messages. */
const PLACEHOLDER = 'USER:PASS';

const SCHEME_START = /[a-zA-Z][a-zA-Z0-9+.-]*:\/\//g;
/** A reg-name, IPv4 or bracketed IPv6 literal, then an optional numeric port. */
const HOST_PORT = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~%!$&'()*+,;=-]+)(?::[0-9]*)?$/;
/** Characters that end a URL written in prose or quoted in a message. */
const TEXT_END = /[\s"<>`\\]/;

function isHostPort(text: string): boolean {
  return HOST_PORT.test(text);
}

/** A host people would not mistake for a word: a dotted name or IPv4 address, an IPv6 literal, localhost. */
function isRealHost(text: string): boolean {
  if (!HOST_PORT.test(text)) return false;
  const host = text.startsWith('[') ? text : text.replace(/:[0-9]*$/, '');
  return host.startsWith('[') || host.includes('.') || host.toLowerCase() === 'localhost';
}

/** The first `@` at or after `from` followed by a host (by `accept`) that ends the authority. */
function atBeforeHost(s: string, from: number, end: number, accept: (host: string) => boolean): number {
  for (let a = s.indexOf('@', from); a >= 0 && a < end; a = s.indexOf('@', a + 1)) {
    const hostEnd = indexOfAny(s, '/?#@', a + 1, end);
    if (s[hostEnd] !== '@' && accept(s.slice(a + 1, hostEnd))) return a;
  }
  return -1;
}

function indexOfAny(s: string, chars: string, from: number, end: number): number {
  for (let i = from; i < end; i++) if (chars.includes(s[i]!)) return i;
  return end;
}

/** End of the URL token starting at `start` (whitespace, a quote or a bracket ends it). */
function tokenEnd(s: string, start: number): number {
  for (let i = start; i < s.length; i++) if (TEXT_END.test(s[i]!)) return i;
  return s.length;
}

/**
 * Where the userinfo of the URL whose authority starts at `start` (just after `//`) ends: the index of its
 * closing `@`, or -1 when the URL has none.
 */
export function userinfoEnd(s: string, start: number, end = tokenEnd(s, start)): number {
  const authorityEnd = indexOfAny(s, '/?#', start, end);
  const at = s.lastIndexOf('@', authorityEnd - 1);
  if (at >= start) {
    if (authorityEnd === end || isRealHost(s.slice(at + 1, authorityEnd))) return at;
    const later = atBeforeHost(s, authorityEnd, end, isRealHost);
    return later >= 0 ? later : at;
  }
  if (authorityEnd === start || authorityEnd === end || isHostPort(s.slice(start, authorityEnd))) return -1;
  return atBeforeHost(s, authorityEnd, end, isHostPort);
}

/** Removes the userinfo (`user:password@`) of every URL in a string, so it can be logged or written. */
export function redactUrl(s: string): string {
  if (!s.includes('://')) return s;
  let out = '';
  let copied = 0;
  for (const m of s.matchAll(SCHEME_START)) {
    const start = m.index + m[0].length;
    if (start < copied) continue;
    const at = userinfoEnd(s, start);
    if (at < 0 || s.slice(start, at) === PLACEHOLDER) continue;
    out += s.slice(copied, start);
    copied = at + 1;
  }
  return copied === 0 ? s : out + s.slice(copied);
}

/**
 * A URL split into its raw userinfo (undefined when there is none) and the URL without it, by the rule
 * above; for parsers that take credentials out of repository and key URLs.
 */
export function splitUserinfo(url: string): { userinfo?: string; rest: string } {
  const m = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//.exec(url);
  if (!m) return { rest: url };
  const start = m[0].length;
  const at = userinfoEnd(url, start, url.length);
  if (at < 0) return { rest: url };
  return { userinfo: url.slice(start, at), rest: url.slice(0, start) + url.slice(at + 1) };
}
