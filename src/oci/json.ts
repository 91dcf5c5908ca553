/**
 * Compact JSON exactly as Go's encoding/json writes it (what apko and go-containerregistry produce):
 * struct fields in declaration order (plain objects keep their insertion order here; undefined fields are
 * omitted), map keys sorted by bytes (pass a `Map`), and `<`, `>`, `&`, U+2028, U+2029 escaped as \uXXXX.
 * Hand-written because digests are computed over these exact bytes, and JSON.stringify orders
 * integer-like keys numerically.
 */

import { compareBytes } from '../util/compare.ts';

export type GoJson =
  | null
  | boolean
  | number
  | string
  | GoJson[]
  | Map<string, GoJson>
  | { [k: string]: GoJson | undefined };

/** Byte order of the UTF-8 encodings, as Go sorts map keys. */
export const compareUtf8 = compareBytes;

function str(s: string): string {
  return JSON.stringify(s).replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

export function goJson(value: GoJson): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new RangeError(`cannot encode ${value} as JSON`);
      return JSON.stringify(value);
    case 'string':
      return str(value);
  }
  if (Array.isArray(value)) return `[${value.map(goJson).join(',')}]`;
  if (value instanceof Map) {
    const keys = [...value.keys()].sort(compareUtf8);
    return `{${keys.map((k) => `${str(k)}:${goJson(value.get(k)!)}`).join(',')}}`;
  }
  const parts: string[] = [];
  for (const [k, v] of Object.entries(value)) if (v !== undefined) parts.push(`${str(k)}:${goJson(v)}`);
  return `{${parts.join(',')}}`;
}

/** A Go `map[string]string` (sorted keys when encoded). */
export function stringMap(record: Record<string, string>): Map<string, GoJson> {
  return new Map(Object.entries(record));
}
