/** Small deterministic identifiers used by both SBOM formats: SPDX ids, purls, UUIDs, dates, digests. */

import { createHash } from 'node:crypto';
import { compareBytes } from '../util/compare.ts';
import { LadingError } from '../util/errors.ts';
import { splitVcsUrl } from '../util/vcs.ts';
import type { OsRelease, SbomPackage } from './types.ts';

/**
 * The SPDX-id form of a string, as melange/apko write it (`:` → `-`, other characters outside
 * `[A-Za-z0-9.-]` → `C<code point>`), so ids of packages that carry their own SBOM line up with ours.
 */
export function spdxIdPart(text: string): string {
  let out = '';
  for (const ch of text.replaceAll(':', '-')) out += /[A-Za-z0-9.-]/.test(ch) ? ch : `C${ch.codePointAt(0)}`;
  return out;
}

/** Byte order, the same on every machine and locale (localeCompare is not). */
export const byString = compareBytes;

/** Hands out SPDX ids, making a collision (two names that sanitise alike) unique with a counter. */
export class IdAllocator {
  private readonly used = new Set<string>();
  take(wanted: string): string {
    let id = wanted;
    for (let n = 2; this.used.has(id); n++) id = `${wanted}-${n}`;
    this.used.add(id);
    return id;
  }
  has(id: string): boolean {
    return this.used.has(id);
  }
}

/** RFC 4122 name-based UUID (version 5, SHA-1): the same name always gives the same UUID. */
export function uuidV5(
  name: string,
  namespace = '6ba7b811-9dad-11d1-80b4-00c04fd430c8' /* URL namespace */,
): string {
  const hash = createHash('sha1')
    .update(Buffer.from(namespace.replaceAll('-', ''), 'hex'))
    .update(name, 'utf8')
    .digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Seconds since the epoch → `YYYY-MM-DDThh:mm:ssZ` (SPDX and CycloneDX both accept it). */
export function isoSeconds(seconds: number, what = 'build date'): string {
  if (!Number.isSafeInteger(seconds) || seconds < 0 || seconds > 253402300799) {
    throw new LadingError(
      'SBOM_BAD_INPUT',
      `${what} ${seconds} is not a whole number of seconds between 1970 and 9999`,
      {
        hint: 'set SOURCE_DATE_EPOCH to a valid unix time',
      },
    );
  }
  return new Date(seconds * 1000).toISOString().replace('.000Z', 'Z');
}

/** `sha256:<64 hex>` → the hex; throws for anything else (digests come from our own writers). */
export function digestHex(digest: string, what: string): string {
  const m = /^sha256:([0-9a-f]{64})$/.exec(digest);
  if (!m)
    throw new LadingError('SBOM_BAD_INPUT', `${what} ${JSON.stringify(digest)} is not a sha256:<hex> digest`);
  return m[1]!;
}

/** apk's `C:` (`Q1` + base64 SHA-1 of the control member) → hex SHA-1; undefined for other forms. */
export function apkChecksumSha1(checksum: string | undefined): string | undefined {
  if (checksum === undefined || !checksum.startsWith('Q1')) return undefined;
  const bytes = Buffer.from(checksum.slice(2), 'base64');
  return bytes.length === 20 ? bytes.toString('hex') : undefined;
}

export function isSha256Hex(text: string | undefined): text is string {
  return text !== undefined && /^[0-9a-f]{64}$/.test(text);
}

/**
 * Percent-encoding for purl components: everything but `A-Za-z0-9.-_~` and `:` (purl spec,
 * "Character encoding"); so `libstdc++` is `libstdc%2B%2B`, as Trivy and current Syft write it.
 */
export function purlEncode(text: string): string {
  return encodeURIComponent(text)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replaceAll('%3A', ':');
}

function purl(
  type: string,
  namespace: string | undefined,
  name: string,
  version: string,
  qualifiers: Record<string, string | undefined>,
): string {
  const q = Object.keys(qualifiers)
    .filter((k) => qualifiers[k] !== undefined && qualifiers[k] !== '')
    .sort()
    .map((k) => `${k}=${purlEncode(qualifiers[k]!)}`)
    .join('&');
  const ns = namespace === undefined ? '' : `${purlEncode(namespace)}/`;
  return `pkg:${type}/${ns}${purlEncode(name)}@${purlEncode(version)}${q ? `?${q}` : ''}`;
}

/** The distro namespace of apk purls: lowercase os-release `ID`; `unknown` (as melange writes) without one. */
export function distroNamespace(os: OsRelease | undefined): string {
  return os?.ID ? os.ID.toLowerCase() : 'unknown';
}

/**
 * `pkg:apk/<distro>/<name>@<version>?arch=<arch>&distro=<ID>-<VERSION_ID>&upstream=<origin>`: Syft's
 * qualifiers (distro falls back to BUILD_ID; upstream only when the origin differs from the name,
 * which lets Grype match Alpine's secdb by source package) in the purl spec's sorted order.
 */
export function apkPurl(pkg: SbomPackage, os: OsRelease | undefined): string {
  let distro: string | undefined;
  if (os?.ID) {
    const version = os.VERSION_ID || os.BUILD_ID;
    distro = version ? `${os.ID}-${version}` : os.ID;
  }
  return purl('apk', distroNamespace(os), pkg.name, pkg.version, {
    arch: pkg.arch,
    distro,
    upstream: pkg.origin !== undefined && pkg.origin !== pkg.name ? pkg.origin : undefined,
  });
}

/** An image reference split into what purls and names need. */
export interface ParsedReference {
  /** everything before the tag/digest, e.g. `registry.example.com/team/alpine-base` */
  repository: string;
  /** last path segment, lowercase (purl `oci` names are lowercase) */
  name: string;
  tag?: string;
}

export function parseReference(reference: string | undefined): ParsedReference {
  if (reference === undefined || reference.trim() === '') return { repository: 'image', name: 'image' };
  let repository = reference.trim().replace(/@.*$/, '');
  let tag: string | undefined;
  const colon = repository.lastIndexOf(':');
  if (colon > repository.lastIndexOf('/')) {
    tag = repository.slice(colon + 1);
    repository = repository.slice(0, colon);
  }
  const name = (repository.slice(repository.lastIndexOf('/') + 1) || 'image').toLowerCase();
  return { repository, name, tag: tag || undefined };
}

/**
 * `pkg:oci/<name>@sha256:<hex>?arch=…&mediaType=…&os=linux&repository_url=…&tag=…` (purl `oci` type;
 * apko writes the same without repository_url/tag). Layers are blobs and have no tag (`withTag: false`).
 */
export function ociPurl(
  ref: ParsedReference,
  digest: string,
  qualifiers: { arch?: string; variant?: string; mediaType: string; os?: string; withTag?: boolean },
): string {
  return purl('oci', undefined, ref.name, digest, {
    arch: qualifiers.arch,
    variant: qualifiers.variant,
    mediaType: qualifiers.mediaType,
    os: qualifiers.os,
    repository_url: ref.repository.includes('/') ? ref.repository : undefined,
    tag: qualifiers.withTag === false ? undefined : ref.tag,
  });
}

/** `github.com/org/repo@<commit>` style vcs-url → its parts (commit after the last `@` of the path). */
export function parseVcsUrl(vcsUrl: string): { url: string; commit?: string; purl?: string } {
  const { url, revision: commit } = splitVcsUrl(vcsUrl);
  // any scheme: `--vcs` gives git+ssh://github.com/… for an scp-style origin
  const gh = /^(?:[a-z][a-z0-9+.-]*:\/\/)?github\.com\/([^/]+)\/([^/]+?)(?:\.git)?\/?$/i.exec(url);
  return {
    url,
    commit,
    purl: gh && commit ? purl('github', gh[1]!.toLowerCase(), gh[2]!.toLowerCase(), commit, {}) : undefined,
  };
}

/** sha256 hex of text (content-derived names). */
export function sha256OfText(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
