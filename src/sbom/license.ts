/**
 * apk license strings (`L:` / `license =`) → valid SPDX license expressions.
 *
 * Alpine's strings are mostly SPDX already, but thousands are not: whitespace- or comma-separated
 * lists (`MIT Apache-2.0`), lowercase operators (`GPL-2.0 or Artistic`), deprecated ids
 * (`GPL-2.0`, `LGPL-2.1`), GNU shorthands (`GPL-2.0+`, `GPLv2+`, `GPL-2-or-later`), case slips
 * (`ZLib`, `LLVM-Exception`), exceptions glued into ids (`LGPL-2.1-or-later-WITH-linking-exception`),
 * unbalanced parentheses and free text (`Public Domain`, `custom:wxWidgets`). A hand-written
 * tolerant parser is needed because no SPDX parser accepts these; anything not on the SPDX list
 * becomes a `LicenseRef-…` whose original spelling is returned so documents can define it.
 */
import exceptionList from 'spdx-exceptions/index.json' with { type: 'json' };
import deprecatedList from 'spdx-license-ids/deprecated.json' with { type: 'json' };
import licenseList from 'spdx-license-ids/index.json' with { type: 'json' };

export interface NormalizedLicense {
  /** A valid SPDX license expression. */
  expression: string;
  /** Every `LicenseRef-…` (without a `DocumentRef-` prefix) in `expression` → the original strings it stands for, sorted. */
  refs: Map<string, string[]>;
}

const current = new Set<string>(licenseList);
const deprecated = new Set<string>(deprecatedList);
const exceptions = new Set<string>(exceptionList);

const lowerIndex = (ids: Iterable<string>, into = new Map<string, string>()): Map<string, string> => {
  for (const id of ids) if (!into.has(id.toLowerCase())) into.set(id.toLowerCase(), id);
  return into;
};
/** Lowercase → canonical id; current ids win over deprecated ones with the same spelling. */
const licenseByLower = lowerIndex(deprecated, lowerIndex(current));
const exceptionByLower = lowerIndex(exceptions);

/** Deprecated ids whose replacement is not just `<id>-only` (SPDX license list deprecation notes). */
const DEPRECATED_REPLACEMENTS = new Map<string, [string, string?]>(
  Object.entries({
    'GPL-2.0-with-GCC-exception': ['GPL-2.0-only', 'GCC-exception-2.0'],
    'GPL-2.0-with-autoconf-exception': ['GPL-2.0-only', 'Autoconf-exception-2.0'],
    'GPL-2.0-with-bison-exception': ['GPL-2.0-only', 'Bison-exception-2.2'],
    'GPL-2.0-with-classpath-exception': ['GPL-2.0-only', 'Classpath-exception-2.0'],
    'GPL-2.0-with-font-exception': ['GPL-2.0-only', 'Font-exception-2.0'],
    'GPL-3.0-with-GCC-exception': ['GPL-3.0-only', 'GCC-exception-3.1'],
    'GPL-3.0-with-autoconf-exception': ['GPL-3.0-only', 'Autoconf-exception-3.0'],
    'eCos-2.0': ['GPL-2.0-or-later', 'eCos-exception-2.0'],
    wxWindows: ['LGPL-2.0-or-later', 'WxWindows-exception-3.1'],
    'BSD-2-Clause-FreeBSD': ['BSD-2-Clause-Views'],
    'BSD-2-Clause-NetBSD': ['BSD-2-Clause'],
    Nunit: ['zlib-acknowledgement'],
    'StandardML-NJ': ['SMLNJ'],
    'bzip2-1.0.5': ['bzip2-1.0.6'],
  } satisfies Record<string, [string, string?]>),
);
/** Lowercase deprecated exception → its replacement. */
const DEPRECATED_EXCEPTIONS = new Map([['nokia-qt-exception-1.1', 'Qt-LGPL-exception-1.1']]);

/** Common non-SPDX spellings of listed licenses (lowercase key). Maps, not objects: keys come from package metadata (`__proto__`). */
const ALIASES = new Map(
  Object.entries({
    'gpl+': 'GPL-1.0-or-later',
    perlartistic: 'Artistic-1.0-Perl',
    'artistic-perl-1.0': 'Artistic-1.0-Perl',
    cc0: 'CC0-1.0',
    bsd2: 'BSD-2-Clause',
    'bsd-2': 'BSD-2-Clause',
    bsd3: 'BSD-3-Clause',
    'bsd-3': 'BSD-3-Clause',
    bsd4: 'BSD-4-Clause',
    'bsd-4': 'BSD-4-Clause',
  }),
);
/** Spellings of "public domain" share one reference. */
const PUBLIC_DOMAIN = /^public[-_]?domain$/i;

type Node =
  | { kind: 'license'; id: string; plus: boolean; exception?: string }
  | { kind: 'ref'; id: string }
  | { kind: 'and' | 'or'; children: Node[] };

type Token = { type: 'word'; text: string } | { type: 'op'; op: 'AND' | 'OR' | 'WITH' } | { type: '(' | ')' };

/** Splits on whitespace, commas and semicolons; `(`…`)` glued to the end of a word (`osf-1990(variant)`) stays in the word. */
function tokenize(text: string): Token[] {
  const raw: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (/[\s,;]/.test(c)) {
      i++;
    } else if (c === '(' || c === ')') {
      raw.push({ type: c });
      i++;
    } else {
      let word = '';
      while (i < text.length && !/[\s,;)]/.test(text[i]!)) {
        if (text[i] === '(') {
          const close = text.indexOf(')', i);
          if (word.length === 0 || close < 0) break;
          word += text.slice(i, close + 1);
          i = close + 1;
          continue;
        }
        word += text[i];
        i++;
      }
      const upper = word.toUpperCase();
      raw.push(
        upper === 'AND' || upper === 'OR' || upper === 'WITH'
          ? { type: 'op', op: upper }
          : { type: 'word', text: word },
      );
    }
  }
  return joinPhrases(raw);
}

/**
 * Word-level repairs before parsing: "Public Domain" is one name, a bare version joins the name
 * before it (`LGPL 2.1`), a trailing "license" is noise (`Apache-2.0 license`), and `custom:`
 * names run until the next operator (`custom:Ubuntu Font License 1.0`).
 */
function joinPhrases(tokens: Token[]): Token[] {
  const out: Token[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    const prev = out[out.length - 1];
    if (t.type === 'word' && prev?.type === 'word') {
      if (/^custom:/i.test(prev.text) && resolveKnown(t.text) === undefined) {
        prev.text += ` ${t.text}`;
        continue;
      }
      if (/^(license|licence)$/i.test(t.text)) continue;
      if (/^v?\d+(\.\d+)*\+?$/i.test(t.text)) {
        prev.text += `-${t.text}`;
        continue;
      }
      if (/^domain$/i.test(t.text) && /^public$/i.test(prev.text)) {
        prev.text += ` ${t.text}`;
        continue;
      }
    }
    out.push(t.type === 'word' ? { ...t } : t);
  }
  return out;
}

/** A listed license id for a word (case-insensitive, aliases, version completion, deprecations), else undefined. */
function resolveKnown(word: string): { id: string; plus: boolean; exception?: string } | undefined {
  let w = word;
  let plus = false;
  if (
    w.endsWith('+') &&
    w.length > 1 &&
    !ALIASES.has(w.toLowerCase()) &&
    !licenseByLower.has(w.toLowerCase())
  ) {
    plus = true;
    w = w.slice(0, -1);
  }
  let id = ALIASES.get(w.toLowerCase()) ?? licenseByLower.get(w.toLowerCase());
  if (id === undefined) {
    const gnu = /^(A?GPL|LGPL)v(\d+(?:\.\d+)?)$/i.exec(w);
    if (gnu) w = `${gnu[1]!.toUpperCase()}-${gnu[2]}`;
    // `GPL-2`, `Apache-2`, `GPL-3-or-later`: a whole-number version means `.0`
    const completed = w.replace(/-(\d+)(-only|-or-later)?$/i, '-$1.0$2');
    id = licenseByLower.get(w.toLowerCase()) ?? licenseByLower.get(completed.toLowerCase());
  }
  if (id === undefined) return undefined;
  let exception: string | undefined;
  if (deprecated.has(id)) {
    const replacement = DEPRECATED_REPLACEMENTS.get(id);
    if (
      replacement &&
      current.has(replacement[0]) &&
      (replacement[1] === undefined || exceptions.has(replacement[1]))
    ) {
      [id, exception] = replacement;
    } else if (current.has(`${id}-only`)) {
      id = `${id}-only`;
    }
  }
  if (plus) {
    const base = id.replace(/-only$/, '');
    if (current.has(`${base}-or-later`)) {
      id = `${base}-or-later`;
      plus = false;
    } else if (id.endsWith('-or-later')) {
      plus = false;
    }
  }
  return { id, plus, exception };
}

function resolveException(word: string): string | undefined {
  const id = exceptionByLower.get(word.toLowerCase());
  if (id !== undefined) return id;
  const replaced = DEPRECATED_EXCEPTIONS.get(word.toLowerCase());
  return replaced !== undefined && exceptions.has(replaced) ? replaced : undefined;
}

const REF = /^(DocumentRef-[A-Za-z0-9.-]+:)?LicenseRef-[A-Za-z0-9.-]+$/;

class Normalizer {
  readonly refs = new Map<string, Set<string>>();

  ref(original: string): Node {
    if (REF.test(original)) {
      if (!original.startsWith('DocumentRef-')) this.note(original, original);
      return { kind: 'ref', id: original };
    }
    let body = original
      .replace(/[^A-Za-z0-9.-]+/g, '-')
      .replace(/-{2,}/g, '-')
      .replace(/^-+|-+$/g, '');
    if (body.length === 0) body = 'unknown';
    if (PUBLIC_DOMAIN.test(body)) body = 'Public-Domain';
    const id = `LicenseRef-${body}`;
    this.note(id, original);
    return { kind: 'ref', id };
  }

  private note(id: string, original: string): void {
    let set = this.refs.get(id);
    if (set === undefined) this.refs.set(id, (set = new Set()));
    set.add(original);
  }

  /** One operand word → a leaf (or a small AND for `<license>-with-<unlisted exception>`). */
  word(text: string): Node {
    const known = resolveKnown(text);
    if (known) return { kind: 'license', ...known };
    if (REF.test(text)) return this.ref(text);
    const glued = /^(.+?)-with-(.+)$/i.exec(text);
    if (glued) {
      const left = resolveKnown(glued[1]!);
      if (left && left.exception === undefined)
        return this.withException({ kind: 'license', ...left }, glued[2]!);
    }
    // an exception used as if it were a license (`… AND Qt-GPL-exception-1.0`) is kept as a reference
    return this.ref(text);
  }

  /** `<node> WITH <word>`: listed exceptions attach to each license; unlisted ones become `AND LicenseRef-…`. */
  withException(node: Node, word: string): Node {
    const exception = resolveException(word);
    if (exception !== undefined) {
      const attach = (n: Node): Node | undefined => {
        if (n.kind === 'license' && n.exception === undefined) return { ...n, exception };
        if (n.kind === 'ref' && !n.id.startsWith('DocumentRef-'))
          return { kind: 'license', id: n.id, plus: false, exception };
        if (n.kind === 'and' || n.kind === 'or') {
          const children = n.children.map(attach);
          return children.every((c) => c !== undefined)
            ? { kind: n.kind, children: children as Node[] }
            : undefined;
        }
        return undefined;
      };
      const attached = attach(node);
      if (attached) return attached;
    }
    return combine('and', [node, this.ref(word)])!;
  }
}

/** Lenient recursive descent: OR < AND < WITH, juxtaposition is AND, stray operators and parentheses are dropped. */
function parse(tokens: Token[], n: Normalizer): Node | undefined {
  let pos = 0;
  const peek = (): Token | undefined => tokens[pos];
  const parseOr = (): Node | undefined => {
    const parts: Node[] = [];
    for (;;) {
      const part = parseAnd();
      if (part) parts.push(part);
      const t = peek();
      if (t?.type === 'op' && t.op === 'OR') {
        pos++;
        continue;
      }
      if (t === undefined || t.type === ')') break;
      // a stray operator where an operand should start
      pos++;
    }
    return combine('or', parts);
  };
  const parseAnd = (): Node | undefined => {
    const parts: Node[] = [];
    for (;;) {
      const t = peek();
      if (t === undefined || t.type === ')' || (t.type === 'op' && t.op === 'OR')) break;
      if (t.type === 'op') {
        pos++; // AND (explicit) or a WITH with nothing before it
        continue;
      }
      const primary = parseWith();
      if (primary) parts.push(primary);
    }
    return combine('and', parts);
  };
  const parseWith = (): Node | undefined => {
    let node = parsePrimary();
    for (;;) {
      const t = peek();
      const next = tokens[pos + 1];
      if (!(t?.type === 'op' && t.op === 'WITH')) break;
      pos++;
      if (next?.type !== 'word') break;
      pos++;
      node = node === undefined ? n.ref(next.text) : n.withException(node, next.text);
    }
    return node;
  };
  const parsePrimary = (): Node | undefined => {
    const t = peek();
    if (t === undefined) return undefined;
    pos++;
    if (t.type === 'word') return n.word(t.text);
    if (t.type === '(') {
      const inner = parseOr();
      if (peek()?.type === ')') pos++; // a missing `)` is closed at the end
      return inner;
    }
    return undefined;
  };
  const parts: Node[] = [];
  while (pos < tokens.length) {
    const part = parseOr();
    if (part) parts.push(part);
    if (peek()?.type === ')') pos++; // unmatched `)`
  }
  return combine('and', parts);
}

function render(node: Node, parent?: 'and' | 'or'): string {
  switch (node.kind) {
    case 'license':
      return `${node.id}${node.plus ? '+' : ''}${node.exception ? ` WITH ${node.exception}` : ''}`;
    case 'ref':
      return node.id;
    default: {
      const text = node.children
        .map((c) => render(c, node.kind))
        .join(node.kind === 'and' ? ' AND ' : ' OR ');
      return parent === 'and' && node.kind === 'or' ? `(${text})` : text;
    }
  }
}

/** Joins parts with `kind`, flattening nested nodes of the same kind and dropping repeats (A AND A = A). */
function combine(kind: 'and' | 'or', parts: Node[]): Node | undefined {
  const flat: Node[] = [];
  const seen = new Set<string>();
  const add = (c: Node): void => {
    if (c.kind === kind) {
      for (const child of c.children) add(child);
      return;
    }
    const key = render(c, kind);
    if (seen.has(key)) return;
    seen.add(key);
    flat.push(c);
  };
  for (const p of parts) add(p);
  if (flat.length === 0) return undefined;
  return flat.length === 1 ? flat[0] : { kind, children: flat };
}

/** Normalises an apk license string; undefined when there is none (empty or whitespace). */
export function normalizeLicense(text: string | undefined): NormalizedLicense | undefined {
  if (text === undefined) return undefined;
  const n = new Normalizer();
  const node = parse(tokenize(text), n);
  if (node === undefined) return undefined;
  const refs = new Map<string, string[]>();
  for (const id of [...n.refs.keys()].sort()) refs.set(id, [...n.refs.get(id)!].sort());
  return { expression: render(node), refs };
}

/** Whether `id` is a current SPDX license id (for callers that want to emit `license.id` rather than an expression). */
export function isListedLicense(id: string): boolean {
  return current.has(id);
}
