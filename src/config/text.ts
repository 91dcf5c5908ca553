/** Small text helpers for config messages and deterministic ordering. */

import { compareBytes } from '../util/compare.ts';

export { compareBytes };

/** A copy with keys in byte order (Object.fromEntries keeps a `__proto__` key as data). */
export function sortedRecord(m: Readonly<Record<string, string>> | undefined): Record<string, string> {
  return Object.fromEntries(
    Object.keys(m ?? {})
      .sort(compareBytes)
      .map((k) => [k, m![k]!]),
  );
}

/** `contents.packages[3]`, `annotations["org.opencontainers.image.title"]`; empty path → "". */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else {
      const s = String(seg);
      if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(s)) out += out === '' ? s : `.${s}`;
      else out += `[${JSON.stringify(s)}]`;
    }
  }
  return out;
}
