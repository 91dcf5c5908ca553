/**
 * `WWW-Authenticate` (RFC 7235): one or more challenges, `Scheme param="value", param=token, Other …`.
 * Hand-written (40 lines) because the npm parsers read one challenge per header, and fetch joins repeated
 * headers with ", ". Also the scope strings of the Docker token spec (`repository:team/app:push,pull`).
 */

export interface Challenge {
  /** Lower-case: `basic`, `bearer`, … */
  scheme: string;
  /** Lower-case parameter names. */
  params: Record<string, string>;
}

export function parseChallenges(header: string | null): Challenge[] {
  if (!header) return [];
  const out: Challenge[] = [];
  let i = 0;
  const n = header.length;
  const skip = (chars: string) => {
    while (i < n && chars.includes(header[i]!)) i++;
  };
  const token = () => {
    const m = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+/.exec(header.slice(i));
    if (!m) return '';
    i += m[0].length;
    return m[0];
  };
  let current: Challenge | undefined;
  while (i < n) {
    skip(' \t,');
    if (i >= n) break;
    const name = token();
    if (name === '') {
      i++; // a stray character: skip it
      continue;
    }
    skip(' \t');
    if (header[i] === '=') {
      i++;
      skip(' \t');
      let value = '';
      if (header[i] === '"') {
        i++;
        while (i < n && header[i] !== '"') {
          if (header[i] === '\\' && i + 1 < n) i++;
          value += header[i];
          i++;
        }
        i++; // closing quote
      } else {
        value = token();
      }
      // a parameter before any scheme is ignored
      if (current) current.params[name.toLowerCase()] = value;
    } else {
      current = { scheme: name.toLowerCase(), params: {} };
      out.push(current);
      // token68 (e.g. `Negotiate abc==`) is not used by registries: leave it
    }
  }
  return out;
}

/** `repository:team/app:push,pull` → resource `repository:team/app`, actions {push, pull}. */
export function splitScope(scope: string): { resource: string; actions: Set<string> } {
  const last = scope.lastIndexOf(':');
  if (last < 0) return { resource: scope, actions: new Set() };
  return {
    resource: scope.slice(0, last),
    actions: new Set(
      scope
        .slice(last + 1)
        .split(',')
        .filter(Boolean),
    ),
  };
}

/** Whether the scopes held already grant everything `wanted` asks (actions compared as sets). */
export function scopeCovered(held: readonly string[], wanted: string): boolean {
  const w = splitScope(wanted);
  const have = new Set<string>();
  for (const s of held) {
    const h = splitScope(s);
    if (h.resource === w.resource) for (const a of h.actions) have.add(a);
  }
  for (const a of w.actions) if (!have.has(a) && !have.has('*')) return false;
  return true;
}
