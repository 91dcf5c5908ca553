/**
 * `/etc/os-release` (os-release(5)): `KEY=value` lines, values optionally quoted with shell-style
 * escapes, `#` comments. Malformed lines are skipped, as systemd does.
 */
import type { OsRelease } from './types.ts';

export function parseOsRelease(text: string): OsRelease {
  const out: Record<string, string> = Object.create(null);
  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (!m) continue;
    out[m[1]!] = unquote(m[2]!);
  }
  return out;
}

function unquote(value: string): string {
  const q = value[0];
  if ((q === '"' || q === "'") && value.length >= 2 && value.endsWith(q)) {
    const inner = value.slice(1, -1);
    return q === '"' ? inner.replace(/\\([$"\\`])/g, '$1') : inner;
  }
  return value;
}
