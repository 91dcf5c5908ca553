/**
 * Credentials (basic and bearer) and the HTTP_AUTH variable.
 *
 * HTTP_AUTH (apko's variable): `basic:HOST:USER:PASS`. lading also accepts several entries separated by
 * whitespace (spaces or newlines): a new entry starts where whitespace is followed by `basic:`.
 * PASS is everything after the third `:` up to the next entry, so it may contain `:` (as in apko).
 * HOST is a host name matched case-insensitively against the request's host (any port), or
 * `*.example.com`, which matches every subdomain of example.com (not example.com itself).
 * Host names with a port or IPv6 literals cannot be written (the `:` separates fields).
 *
 * Credentials live in objects whose string, JSON and inspect forms are "<redacted>", so logging or
 * serialising a repository reference or a registry session can never leak them (apko CVE-2024-36127).
 */
import { inspect } from 'node:util';
import { LadingError } from '../util/errors.ts';

/** What the HTTP client sends as `Authorization`; implementations never print their secret. */
export interface Credentials {
  /** The `Authorization` header value. */
  authorization(): string;
}

/** Credentials whose string, JSON and inspect forms are `<redacted>`. */
abstract class RedactedCredentials implements Credentials {
  abstract authorization(): string;

  toString(): string {
    return '<redacted>';
  }

  toJSON(): string {
    return '<redacted>';
  }

  [inspect.custom](): string {
    return 'Credentials <redacted>';
  }
}

export class BasicCredentials extends RedactedCredentials {
  readonly #username: string;
  readonly #password: string;

  constructor(username: string, password: string) {
    super();
    this.#username = username;
    this.#password = password;
  }

  /** The `Authorization` header value. */
  authorization(): string {
    return `Basic ${Buffer.from(`${this.#username}:${this.#password}`, 'utf8').toString('base64')}`;
  }

  equals(other: BasicCredentials | undefined): boolean {
    return other !== undefined && other.authorization() === this.authorization();
  }
}

/** A bearer token (a registry's token service hands these out). */
export class BearerToken extends RedactedCredentials {
  readonly #token: string;

  constructor(token: string) {
    super();
    this.#token = token;
  }

  authorization(): string {
    return `Bearer ${this.#token}`;
  }
}

export interface HttpAuthEntry {
  /** Lower-case host name, or `*.domain` for every subdomain. */
  host: string;
  credentials: BasicCredentials;
}

export interface ParsedHttpAuth {
  entries: HttpAuthEntry[];
  /** Entries that were skipped (another scheme than basic); safe to print. */
  warnings: string[];
}

const HOST = /^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*\.?$/;

/** Parses HTTP_AUTH. Messages name entries by position only, never by content. */
export function parseHttpAuth(value: string | undefined): ParsedHttpAuth {
  const result: ParsedHttpAuth = { entries: [], warnings: [] };
  const text = value?.trim() ?? '';
  if (text === '') return result;
  const pieces = text.split(/\s+(?=basic:)/i);
  pieces.forEach((piece, i) => {
    const n = i + 1;
    const first = piece.indexOf(':');
    const scheme = first < 0 ? piece : piece.slice(0, first);
    if (scheme.toLowerCase() !== 'basic') {
      // apko ignores other schemes too; the scheme word itself is not secret.
      const shown = /^[A-Za-z0-9_-]{1,20}$/.test(scheme) ? `"${scheme}"` : 'an unknown scheme';
      result.warnings.push(`HTTP_AUTH entry ${n} uses ${shown}, not "basic"; ignored`);
      return;
    }
    const second = piece.indexOf(':', first + 1);
    const third = second < 0 ? -1 : piece.indexOf(':', second + 1);
    if (second < 0 || third < 0) {
      throw new LadingError('NET_HTTP_AUTH', `HTTP_AUTH entry ${n} is not of the form basic:HOST:USER:PASS`, {
        hint: 'separate several entries with spaces or newlines: "basic:a.example.com:u:p basic:*.example.org:u:p"',
      });
    }
    const host = piece.slice(first + 1, second).toLowerCase();
    if (!HOST.test(host)) {
      throw new LadingError(
        'NET_HTTP_AUTH',
        `HTTP_AUTH entry ${n} has an invalid host ${JSON.stringify(host)}`,
        {
          hint: 'HOST is a host name without port (example.com) or *.example.com for all its subdomains',
        },
      );
    }
    const credentials = new BasicCredentials(piece.slice(second + 1, third), piece.slice(third + 1));
    result.entries.push({ host: host.replace(/\.$/, ''), credentials });
  });
  return result;
}

/** The HTTP_AUTH credentials for a host: an exact entry first, then the longest matching `*.` entry. */
export function credentialsForHost(
  hostname: string,
  entries: readonly HttpAuthEntry[],
): BasicCredentials | undefined {
  const host = hostname.toLowerCase().replace(/\.$/, '');
  const exact = entries.find((e) => e.host === host);
  if (exact) return exact.credentials;
  let best: HttpAuthEntry | undefined;
  for (const e of entries) {
    if (!e.host.startsWith('*.')) continue;
    const suffix = e.host.slice(1);
    if (host.endsWith(suffix) && host.length > suffix.length && (!best || e.host.length > best.host.length)) {
      best = e;
    }
  }
  return best?.credentials;
}
