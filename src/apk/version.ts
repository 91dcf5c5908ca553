/**
 * apk package versions: validity, ordering and constraint matching, ported token by token from
 * apk-tools' src/version.c, because every tie-break of the resolver depends on the exact order.
 *
 * Two rule sets exist and they disagree on corner cases:
 * - `apk-tools-2` (2.14.4, the reference for Alpine users): a run of leading zeros after a dot is a
 *   token worth minus its length (`8.2.0 > 8.2.001`), a digit may follow a letter (`0.1a1` is valid),
 *   `~hash` is not allowed, and fuzzy `~` matching is symmetric (`3.8 ~ 3.8.1` holds both ways).
 * - `apk-tools-3` (3.0): leading-zero components compare as strings, `~hash` commit suffixes are valid,
 *   fuzzy matching only accepts versions that start with the required one.
 * Both pass apk-tools 2.14.4's version vectors; only `apk-tools-3` passes 3.0's additions.
 */

export type VersionRules = 'apk-tools-2' | 'apk-tools-3';

/** apk's comparison result bits; a dependency's mask is a set of them (apk_version.h). */
export const VERSION_EQUAL = 1;
export const VERSION_LESS = 2;
export const VERSION_GREATER = 4;
export const VERSION_FUZZY = 8;
/** Any version (no constraint). */
export const DEPMASK_ANY = VERSION_EQUAL | VERSION_LESS | VERSION_GREATER;
/** `><` / `<>`: the "version" is a package checksum, not a version. */
export const DEPMASK_CHECKSUM = VERSION_LESS | VERSION_GREATER;

export const DEFAULT_VERSION_RULES: VersionRules = 'apk-tools-2';

const isDigit = (c: number): boolean => c >= 48 && c <= 57;
const isLower = (c: number): boolean => c >= 97 && c <= 122;

// ---------------------------------------------------------------------------------------------
// apk-tools 2.x: get_token()/next_token() over a cursor.

const T2_INVALID = -1;
const T2_DIGIT_OR_ZERO = 0;
const T2_DIGIT = 1;
const T2_LETTER = 2;
const T2_SUFFIX = 3;
const T2_SUFFIX_NO = 4;
const T2_REVISION_NO = 5;
const T2_END = 6;

const PRE_SUFFIXES = ['alpha', 'beta', 'pre', 'rc'];
const POST_SUFFIXES = ['cvs', 'svn', 'git', 'hg', 'p'];

interface Cursor2 {
  s: string;
  pos: number;
  type: number;
}

function nextToken2(c: Cursor2): void {
  let n = T2_INVALID;
  const ch = c.pos < c.s.length ? c.s.charCodeAt(c.pos) : 0;
  if (ch === 0) {
    n = T2_END;
  } else if ((c.type === T2_DIGIT || c.type === T2_DIGIT_OR_ZERO) && isLower(ch)) {
    n = T2_LETTER;
  } else if (c.type === T2_LETTER && isDigit(ch)) {
    n = T2_DIGIT;
  } else if (c.type === T2_SUFFIX && isDigit(ch)) {
    n = T2_SUFFIX_NO;
  } else {
    if (ch === 46 /* . */) n = T2_DIGIT_OR_ZERO;
    else if (ch === 95 /* _ */) n = T2_SUFFIX;
    else if (ch === 45 /* - */) {
      if (c.pos + 1 < c.s.length && c.s.charCodeAt(c.pos + 1) === 114 /* r */) {
        n = T2_REVISION_NO;
        c.pos++;
      }
    }
    c.pos++;
  }
  if (n < c.type) {
    if (
      !(
        (n === T2_DIGIT_OR_ZERO && c.type === T2_DIGIT) ||
        (n === T2_SUFFIX && c.type === T2_SUFFIX_NO) ||
        (n === T2_DIGIT && c.type === T2_LETTER)
      )
    ) {
      n = T2_INVALID;
    }
  }
  c.type = n;
}

function matchSuffix(s: string, pos: number, list: readonly string[]): number {
  for (let v = 0; v < list.length; v++) if (s.startsWith(list[v]!, pos)) return v;
  return -1;
}

/** Reads one token at the cursor, returns its value and leaves the cursor on the next token's type. */
function getToken2(c: Cursor2): number {
  const { s } = c;
  const len = s.length - c.pos;
  let v = 0;
  let i = 0;
  let nt = T2_INVALID;
  if (len <= 0) {
    c.type = T2_END;
    return 0;
  }
  let type = c.type;
  if (type === T2_DIGIT_OR_ZERO) {
    if (s.charCodeAt(c.pos) === 48) {
      // Leading zeros are a token of their own, worth minus their count not counting the last one
      // (which is then read as a digit run); probed against the real apk-tools 2.14.4.
      while (i + 1 < len && s.charCodeAt(c.pos + i + 1) === 48) i++;
      nt = T2_DIGIT;
      v = -i;
      type = T2_END; // handled
    } else {
      type = T2_DIGIT;
    }
  }
  switch (type) {
    case T2_END:
      break;
    case T2_DIGIT:
    case T2_SUFFIX_NO:
    case T2_REVISION_NO:
      while (i < len && isDigit(s.charCodeAt(c.pos + i))) i++;
      // apk 2.14 keeps numbers in 64 bits and calls a run of 18 or more digits invalid (probed).
      if (i >= 18) {
        c.type = T2_INVALID;
        return -1;
      }
      // Up to 15 digits are exact as a double; 16-17 need a BigInt (compared with < and >).
      v =
        i === 0
          ? 0
          : i <= 15
            ? Number(s.slice(c.pos, c.pos + i))
            : (BigInt(s.slice(c.pos, c.pos + i)) as unknown as number);
      break;
    case T2_LETTER:
      v = s.charCodeAt(c.pos);
      i = 1;
      break;
    case T2_SUFFIX: {
      const pre = matchSuffix(s, c.pos, PRE_SUFFIXES);
      if (pre >= 0) {
        i = PRE_SUFFIXES[pre]!.length;
        v = pre - PRE_SUFFIXES.length;
        break;
      }
      const post = matchSuffix(s, c.pos, POST_SUFFIXES);
      if (post >= 0) {
        i = POST_SUFFIXES[post]!.length;
        v = post;
        break;
      }
      c.type = T2_INVALID;
      return -1;
    }
    default:
      c.type = T2_INVALID;
      return -1;
  }
  c.pos += i;
  if (c.pos >= s.length) c.type = T2_END;
  else if (nt !== T2_INVALID) c.type = nt;
  else nextToken2(c);
  return v;
}

function compare2(a: string, b: string, fuzzy: boolean): number {
  const ca: Cursor2 = { s: a, pos: 0, type: T2_DIGIT };
  const cb: Cursor2 = { s: b, pos: 0, type: T2_DIGIT };
  let av = 0;
  let bv = 0;
  // `av == bv` written as two comparisons: a value may be a BigInt (see getToken2).
  while (ca.type === cb.type && ca.type !== T2_END && ca.type !== T2_INVALID && !(av < bv) && !(av > bv)) {
    av = getToken2(ca);
    bv = getToken2(cb);
  }
  if (av < bv) return VERSION_LESS;
  if (av > bv) return VERSION_GREATER;
  if (ca.type === cb.type || fuzzy) return VERSION_EQUAL;
  // Equal so far: the longer version is greater unless what follows is a pre-release suffix.
  if (ca.type === T2_SUFFIX && getToken2({ s: a, pos: ca.pos, type: ca.type }) < 0) return VERSION_LESS;
  if (cb.type === T2_SUFFIX && getToken2({ s: b, pos: cb.pos, type: cb.type }) < 0) return VERSION_GREATER;
  if (ca.type > cb.type) return VERSION_LESS;
  if (cb.type > ca.type) return VERSION_GREATER;
  return VERSION_EQUAL;
}

/** The shape of nearly every real version; anything it matches is valid under both rule sets (fast path). */
const COMMON_VERSION =
  /^\d{1,17}(?:\.\d{1,17})*[a-z]?(?:_(?:alpha|beta|pre|rc|cvs|svn|git|hg|p)\d{0,17})*(?:-r\d{1,17})?$/;

function valid2(v: string): boolean {
  if (COMMON_VERSION.test(v)) return true;
  const c: Cursor2 = { s: v, pos: 0, type: T2_DIGIT };
  // An empty string reads as "end" at once in apk 2.x; no caller wants that to be a version.
  if (v.length === 0) return false;
  while (c.type !== T2_END && c.type !== T2_INVALID) getToken2(c);
  return c.type === T2_END;
}

// ---------------------------------------------------------------------------------------------
// apk-tools 3.x: token_first()/token_next() with typed tokens; values are string slices.

const T3_INITIAL_DIGIT = 0;
const T3_DIGIT = 1;
const T3_LETTER = 2;
const T3_SUFFIX = 3;
const T3_SUFFIX_NO = 4;
const T3_COMMIT_HASH = 5;
const T3_REVISION_NO = 6;
const T3_END = 7;
const T3_INVALID = 8;

// SUFFIX_INVALID=0, alpha..rc = 1..4, NONE=5, cvs..p = 6..10
const SUFFIX3: Record<string, number> = {
  alpha: 1,
  beta: 2,
  pre: 3,
  rc: 4,
  cvs: 6,
  svn: 7,
  git: 8,
  hg: 9,
  p: 10,
};
const SUFFIX3_NONE = 5;

interface Token3 {
  s: string;
  pos: number;
  token: number;
  suffix: number;
  /** value = s.slice(start, end) */
  start: number;
  end: number;
}

const isHex = (c: number): boolean => isDigit(c) || (c >= 97 && c <= 102);
const isSuffixChar = (c: number): boolean => isLower(c);

function parseDigits3(t: Token3): void {
  t.start = t.pos;
  while (t.pos < t.s.length && isDigit(t.s.charCodeAt(t.pos))) t.pos++;
  t.end = t.pos;
  if (t.end === t.start) t.token = T3_INVALID;
}

function tokenFirst3(s: string): Token3 {
  const t: Token3 = { s, pos: 0, token: T3_INITIAL_DIGIT, suffix: 0, start: 0, end: 0 };
  parseDigits3(t);
  return t;
}

function tokenNext3(t: Token3): void {
  const { s } = t;
  if (t.pos >= s.length) {
    t.token = T3_END;
    return;
  }
  const ch = s.charCodeAt(t.pos);
  if (isLower(ch)) {
    if (t.token > T3_DIGIT) {
      t.token = T3_INVALID;
      return;
    }
    t.start = t.pos;
    t.end = ++t.pos;
    t.token = T3_LETTER;
    return;
  }
  if (ch === 46 /* . */ || isDigit(ch)) {
    if (ch === 46) {
      if (t.token > T3_DIGIT) {
        t.token = T3_INVALID;
        return;
      }
      t.pos++;
    }
    if (t.token === T3_INITIAL_DIGIT || t.token === T3_DIGIT) t.token = T3_DIGIT;
    else if (t.token === T3_SUFFIX) t.token = T3_SUFFIX_NO;
    else {
      t.token = T3_INVALID;
      return;
    }
    parseDigits3(t);
    return;
  }
  if (ch === 95 /* _ */) {
    if (t.token > T3_SUFFIX_NO) {
      t.token = T3_INVALID;
      return;
    }
    t.pos++;
    t.start = t.pos;
    while (t.pos < s.length && isSuffixChar(s.charCodeAt(t.pos))) t.pos++;
    t.end = t.pos;
    const suffix = SUFFIX3[s.slice(t.start, t.end)];
    if (suffix === undefined) {
      t.token = T3_INVALID;
      return;
    }
    t.suffix = suffix;
    t.token = T3_SUFFIX;
    return;
  }
  if (ch === 126 /* ~ */) {
    if (t.token >= T3_COMMIT_HASH) {
      t.token = T3_INVALID;
      return;
    }
    t.pos++;
    t.start = t.pos;
    while (t.pos < s.length && isHex(s.charCodeAt(t.pos))) t.pos++;
    t.end = t.pos;
    t.token = t.end === t.start ? T3_INVALID : T3_COMMIT_HASH;
    return;
  }
  if (ch === 45 /* - */) {
    if (t.token >= T3_REVISION_NO || s.charCodeAt(t.pos + 1) !== 114 /* r */) {
      t.token = T3_INVALID;
      return;
    }
    t.pos += 2;
    t.token = T3_REVISION_NO;
    parseDigits3(t);
    return;
  }
  t.token = T3_INVALID;
}

/** Compares digit strings as unsigned 64-bit numbers would (apk_blob_pull_uint saturates nothing; beyond 2^64 is theory). */
function compareDigitStrings(a: string, b: string): number {
  const x = a.replace(/^0+/, '');
  const y = b.replace(/^0+/, '');
  if (x.length !== y.length) return x.length < y.length ? -1 : 1;
  return x < y ? -1 : x > y ? 1 : 0;
}

function tokenCmp3(ta: Token3, tb: Token3): number {
  const va = ta.s.slice(ta.start, ta.end);
  const vb = tb.s.slice(tb.start, tb.end);
  let r: number;
  switch (ta.token) {
    case T3_DIGIT:
      // A leading zero on either side means Gentoo-style string comparison.
      if (va.charCodeAt(0) === 48 || vb.charCodeAt(0) === 48) {
        r = va < vb ? -1 : va > vb ? 1 : 0;
        break;
      }
      r = compareDigitStrings(va, vb);
      break;
    case T3_INITIAL_DIGIT:
    case T3_SUFFIX_NO:
    case T3_REVISION_NO:
      r = compareDigitStrings(va, vb);
      break;
    case T3_LETTER:
      r = va.charCodeAt(0) - vb.charCodeAt(0);
      break;
    case T3_SUFFIX:
      r = ta.suffix - tb.suffix;
      break;
    default:
      r = va < vb ? -1 : va > vb ? 1 : 0;
  }
  return r < 0 ? VERSION_LESS : r > 0 ? VERSION_GREATER : VERSION_EQUAL;
}

function compare3(a: string, b: string, fuzzy: boolean): number {
  const ta = tokenFirst3(a);
  const tb = tokenFirst3(b);
  while (ta.token === tb.token && ta.token < T3_END) {
    const r = tokenCmp3(ta, tb);
    if (r !== VERSION_EQUAL) return r;
    tokenNext3(ta);
    tokenNext3(tb);
  }
  if (ta.token === tb.token) return VERSION_EQUAL;
  if (tb.token === T3_END && fuzzy) return VERSION_EQUAL;
  if (ta.token === T3_SUFFIX && ta.suffix < SUFFIX3_NONE) return VERSION_LESS;
  if (tb.token === T3_SUFFIX && tb.suffix < SUFFIX3_NONE) return VERSION_GREATER;
  if (ta.token > tb.token) return VERSION_LESS;
  if (tb.token > ta.token) return VERSION_GREATER;
  return VERSION_EQUAL;
}

function valid3(v: string): boolean {
  const t = tokenFirst3(v);
  while (t.token < T3_END) tokenNext3(t);
  return t.token === T3_END;
}

// ---------------------------------------------------------------------------------------------
// Public API

/**
 * apk's raw comparison of `a` against `b`: VERSION_LESS, VERSION_EQUAL or VERSION_GREATER.
 * With `fuzzy`, a version that matches the other's leading tokens is EQUAL (the `~` operator).
 * Invalid versions still compare (apk falls back to the order of the tokens read so far).
 */
export function versionCompareMask(
  a: string,
  b: string,
  fuzzy = false,
  rules: VersionRules = DEFAULT_VERSION_RULES,
): number {
  return rules === 'apk-tools-3' ? compare3(a, b, fuzzy) : compare2(a, b, fuzzy);
}

/** -1, 0 or 1 as `a` sorts before, with or after `b` (for Array.prototype.sort). */
export function compareVersions(
  a: string,
  b: string,
  rules: VersionRules = DEFAULT_VERSION_RULES,
): -1 | 0 | 1 {
  const r = versionCompareMask(a, b, false, rules);
  return r === VERSION_LESS ? -1 : r === VERSION_GREATER ? 1 : 0;
}

/** Whether apk accepts `version` as a package version. */
export function isValidVersion(version: string, rules: VersionRules = DEFAULT_VERSION_RULES): boolean {
  return rules === 'apk-tools-3' ? valid3(version) : valid2(version);
}

/**
 * apk_version_match: does `a` stand in relation `mask` (VERSION_* bits, as from versionOpMask) to `b`?
 * The fuzzy bit in the mask turns on prefix matching.
 */
export function versionMatches(
  a: string,
  mask: number,
  b: string,
  rules: VersionRules = DEFAULT_VERSION_RULES,
): boolean {
  if ((mask & DEPMASK_ANY) === DEPMASK_ANY) return true;
  return (versionCompareMask(a, b, (mask & VERSION_FUZZY) !== 0, rules) & mask) !== 0;
}

/** The VERSION_* mask of an operator made of `<`, `>`, `=`, `~` (apk_version_result_mask); 0 if it is not one. */
export function versionOpMask(op: string): number {
  if (op.length === 0) return 0;
  let r = 0;
  for (let i = 0; i < op.length; i++) {
    switch (op.charCodeAt(i)) {
      case 60 /* < */:
        r |= VERSION_LESS;
        break;
      case 62 /* > */:
        r |= VERSION_GREATER;
        break;
      case 61 /* = */:
        r |= VERSION_EQUAL;
        break;
      case 126 /* ~ */:
        r |= VERSION_FUZZY | VERSION_EQUAL;
        break;
      default:
        return 0;
    }
  }
  return r;
}

/** apk's canonical spelling of a mask (apk_version_op_string): `<`, `<=`, `~`, `=`, `>=`, `>`, `><`, `<~`, `>~`. */
export function versionOpString(mask: number): string {
  switch (mask) {
    case VERSION_LESS:
      return '<';
    case VERSION_LESS | VERSION_EQUAL:
      return '<=';
    case VERSION_LESS | VERSION_EQUAL | VERSION_FUZZY:
      return '<~';
    case VERSION_EQUAL | VERSION_FUZZY:
    case VERSION_FUZZY:
      return '~';
    case VERSION_EQUAL:
      return '=';
    case VERSION_GREATER | VERSION_EQUAL:
      return '>=';
    case VERSION_GREATER | VERSION_EQUAL | VERSION_FUZZY:
      return '>~';
    case VERSION_GREATER:
      return '>';
    case DEPMASK_CHECKSUM:
      return '><';
    case DEPMASK_ANY:
      return '';
    default:
      return '?';
  }
}
