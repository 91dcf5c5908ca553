/**
 * The metadata apko puts on images, so users migrating from apko see the same fields: annotations
 * (user annotations + `source`/`revision` from a `url@commit` vcs-url + `created`), which are also the
 * config Labels, and one history entry per layer.
 */
import { redactUrl } from '../util/redact.ts';
import { splitVcsUrl } from '../util/vcs.ts';
import { rfc3339 } from './image.ts';
import type { HistoryEntry } from './types.ts';

export const ANNOTATION = {
  created: 'org.opencontainers.image.created',
  source: 'org.opencontainers.image.source',
  revision: 'org.opencontainers.image.revision',
  title: 'org.opencontainers.image.title',
  vendor: 'org.opencontainers.image.vendor',
} as const;

export interface AnnotationInput {
  /** Config `annotations` with CLI `--annotations` already applied. */
  annotations?: Record<string, string>;
  /** `vcs-url`; only a `url@revision` value adds `source` and `revision` (credentials removed). */
  vcsUrl?: string;
  /** Build date: seconds since the epoch (for an index: the newest over all architectures). */
  created: number | string;
}

/**
 * Annotations for manifests and the index, and the config Labels. Credentials in URLs are removed from
 * every value: CI variables that end up here (GitLab's CI_REPOSITORY_URL) carry job tokens.
 */
export function imageAnnotations(input: AnnotationInput): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(input.annotations ?? {})) out[k] = redactUrl(v);
  const vcs = input.vcsUrl ? splitVcsUrl(input.vcsUrl) : undefined;
  if (vcs?.revision !== undefined) {
    out[ANNOTATION.source] = vcs.url;
    out[ANNOTATION.revision] = vcs.revision;
  }
  out[ANNOTATION.created] = rfc3339(input.created);
  return out;
}

export interface HistoryInput {
  layerCount: number;
  created: number | string;
  annotations?: Record<string, string>;
  /** Written as history `author` and `created_by` (apko: "apko"). */
  tool?: string;
}

/**
 * One history entry per layer, as apko writes them: the comment is `<title> by <vendor>` when both
 * annotations are set, else `This is a <tool> single-layer image` for one layer, else empty.
 */
export function imageHistory(input: HistoryInput): HistoryEntry[] {
  const tool = input.tool ?? 'lading';
  const title = input.annotations?.[ANNOTATION.title];
  const vendor = input.annotations?.[ANNOTATION.vendor];
  let comment = '';
  if (title && vendor) comment = `${title} by ${vendor}`;
  else if (input.layerCount === 1)
    comment = `This is ${/^[aeiou]/i.test(tool) ? 'an' : 'a'} ${tool} single-layer image`;
  const created = rfc3339(input.created);
  return Array.from({ length: input.layerCount }, () => ({
    author: tool,
    created,
    created_by: tool,
    comment: comment || undefined,
  }));
}
