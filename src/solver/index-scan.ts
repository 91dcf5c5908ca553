/**
 * The index scanner (apk-tools' apk_db_index_read): reads APKINDEX text records, keeping offsets into the
 * text and name ids only, and hands each record to the index (PackageIndex.dbPkgAdd, apk_db_pkg_add).
 *
 * Written by hand because it is the hot path of every resolve (Alpine main + community: 23,030 records,
 * 9.3 MB of text): no string or object is made per record or per word. It runs once per process, mostly
 * before V8 has optimised it, so loops avoid allocating (no for-of, no arrays emptied with `length = 0`).
 */
import { LadingError } from '../util/errors.ts';
import { FNV_OFFSET, FNV_PRIME, type NameTable } from './name-table.ts';

/** The fields the scanner reads in place; the others are only read through infoOf, which decodes UTF-8. */
const SCANNED_FIELDS = 'PVACIkDpi';
const [F_P, F_V, F_A, F_C, F_I, F_K, F_D, F_PROVIDES, F_INSTALL_IF] = [1, 2, 3, 4, 5, 6, 7, 8, 9];
/** By field letter: which scanned field it is (1…9, in SCANNED_FIELDS order), 0 for the others. */
const SCANNED_FIELD = new Int8Array(128);
for (let i = 0; i < SCANNED_FIELDS.length; i++) SCANNED_FIELD[SCANNED_FIELDS.charCodeAt(i)] = i + 1;

const NON_ASCII_ALL = /[^\x00-\x7f]/g;

/**
 * Whether the resolver may read this index text decoded as latin1 (one character per byte: half the memory
 * of UTF-16 and a plain copy to decode): true when every non-ASCII byte is in a field it does not read in
 * place (descriptions, maintainers, …), so names, versions and dependencies read the same either way.
 */
export function scannableAsLatin1(text: string): boolean {
  NON_ASCII_ALL.lastIndex = 0;
  for (let m = NON_ASCII_ALL.exec(text); m !== null; m = NON_ASCII_ALL.exec(text)) {
    const lineStart = text.lastIndexOf('\n', m.index) + 1;
    if (SCANNED_FIELDS.includes(text[lineStart]!) && text.charCodeAt(lineStart + 1) === 58 /* : */)
      return false;
    const nl = text.indexOf('\n', m.index);
    if (nl === -1) break;
    NON_ASCII_ALL.lastIndex = nl;
  }
  return true;
}

/**
 * One record as the scanner found it: offsets into the text (start -1: field absent) and name ids. The
 * same object is refilled for every record; the lists are used up to their counts.
 */
export class ScannedRecord {
  /** The record's number in its text. */
  index = 0;
  start = 0;
  end = 0;
  /** Name id of `P:`. */
  name = 0;
  verStart = 0;
  verEnd = 0;
  archStart = -1;
  archEnd = -1;
  ckStart = -1;
  ckEnd = -1;
  sizeStart = -1;
  sizeEnd = -1;
  /** `k:` (provider_priority). */
  priority = 0;
  /** Per provide: name id, version start (-2: unversioned), version end; `providedCount` numbers. */
  readonly provided: number[] = [];
  providedCount = 0;
  /** Name ids mentioned by `i:`. */
  readonly triggers: number[] = [];
  triggerCount = 0;
  /** `D:` lines as start, end pairs (`dependCount` numbers): apk joins repeated lines. */
  readonly dependLines: number[] = [];
  dependCount = 0;
  /** `i:` lines as start, end pairs. */
  readonly installIfLines: number[] = [];
  installIfCount = 0;
}

/** Where the scanner hands each record (an object, not a closure: one call site for every text). */
export interface ScanSink {
  dbPkgAdd(r: ScannedRecord): void;
}

/**
 * Scans index text `text` (source number `si` of the name table) and hands each record to `sink`, in order.
 * Throws LadingError (APKINDEX_BAD_LINE, APKINDEX_BAD_RECORD, APKINDEX_BAD_FIELD) naming file and line.
 */
export function dbIndexRead(text: string, file: string, si: number, names: NameTable, sink: ScanSink): void {
  const len = text.length;
  const r = new ScannedRecord();
  const { provided, triggers, dependLines, installIfLines } = r;
  // Scratch list, reused by every record through a count (see ScannedRecord).
  const pLines: number[] = [];
  let nP = 0;
  let nI = 0;
  let nD = 0;
  let nProvided = 0;
  let nTriggers = 0;
  let index = 0;
  let pos = 0;
  while (pos < len) {
    if (text.charCodeAt(pos) === 10) {
      pos++;
      continue;
    }
    const start = pos;
    let nameStart = -1;
    let nameEnd = -1;
    let verStart = -1;
    let verEnd = -1;
    let archStart = -1;
    let archEnd = -1;
    let ckStart = -1;
    let ckEnd = -1;
    let sizeStart = -1;
    let sizeEnd = -1;
    let priority = 0;
    nP = nI = nD = 0;
    while (pos < len) {
      let nl = text.indexOf('\n', pos);
      if (nl === -1) nl = len;
      if (nl === pos) break;
      if (nl - pos < 2 || text.charCodeAt(pos + 1) !== 58 /* : */) badLine(text, pos, nl, file);
      // Half the lines are fields read only through infoOf: one table lookup skips them.
      const c = text.charCodeAt(pos);
      switch (c < 128 ? SCANNED_FIELD[c]! : 0) {
        case 0:
          break;
        case F_P:
          nameStart = pos + 2;
          nameEnd = nl;
          break;
        case F_V:
          verStart = pos + 2;
          verEnd = nl;
          break;
        case F_A:
          archStart = pos + 2;
          archEnd = nl;
          break;
        case F_C:
          ckStart = pos + 2;
          ckEnd = nl;
          break;
        case F_I:
          sizeStart = pos + 2;
          sizeEnd = nl;
          break;
        case F_K:
          priority = readUint(text, pos + 2, nl, file);
          break;
        case F_D:
          dependLines[nD++] = pos + 2;
          dependLines[nD++] = nl;
          break;
        case F_PROVIDES:
          pLines[nP++] = pos + 2;
          pLines[nP++] = nl;
          break;
        case F_INSTALL_IF:
          installIfLines[nI++] = pos + 2;
          installIfLines[nI++] = nl;
          break;
      }
      pos = nl + 1;
    }
    const end = Math.min(pos, len);
    const recordIndex = index++;
    if (nameStart === -1 || verStart === -1 || nameEnd === nameStart || verEnd === verStart) {
      throw new LadingError(
        'APKINDEX_BAD_RECORD',
        `record without ${nameStart === -1 || nameEnd === nameStart ? 'P:' : 'V:'} field`,
        { file, line: lineOf(text, start), hint: 'the index is corrupt; rebuild it with `lading index`' },
      );
    }
    // apk creates names as it reads a record: P, then the D, p and i entries (Alpine's field order). That
    // order decides apk's hash-table order, which orders install_if and reverse dependencies, so names
    // are interned in the same order here, before the record may be skipped. Words are split in place
    // (no closure or string per word: this runs for every record).
    const name = names.intern(si, text, nameStart, nameEnd);
    nProvided = 0;
    for (let l = 0; l < nP; l += 2) {
      const to = pLines[l + 1]!;
      for (let ws = pLines[l]!; ws < to; ) {
        // A provide is `name` or `name=version`: one pass hashes the name and finds where it ends.
        let h = FNV_OFFSET;
        let ne = ws;
        let c = 0;
        while (ne < to && (c = text.charCodeAt(ne)) !== 32 && c !== 61 /* = */) {
          h = Math.imul(h ^ c, FNV_PRIME);
          ne++;
        }
        let we = ne;
        if (c === 61) while (we < to && text.charCodeAt(we) !== 32) we++;
        if (we > ws) {
          provided[nProvided++] = names.internHashed(si, text, ws, ne, h);
          provided[nProvided++] = ne === we ? -2 : ne + 1;
          provided[nProvided++] = we;
        }
        ws = we + 1;
      }
    }
    nTriggers = 0;
    for (let l = 0; l < nI; l += 2) {
      const to = installIfLines[l + 1]!;
      for (let ws = installIfLines[l]!; ws < to; ) {
        let we = ws;
        while (we < to && text.charCodeAt(we) !== 32) we++;
        let ns = ws;
        if (text.charCodeAt(ns) === 33 /* ! */) ns++;
        let ne = ns;
        while (ne < we && !isNameEnd(text.charCodeAt(ne))) ne++;
        // (an empty name is reported when the install_if is parsed)
        if (ne > ns) triggers[nTriggers++] = names.intern(si, text, ns, ne);
        ws = we + 1;
      }
    }
    r.index = recordIndex;
    r.start = start;
    r.end = end;
    r.name = name;
    r.verStart = verStart;
    r.verEnd = verEnd;
    r.archStart = archStart;
    r.archEnd = archEnd;
    r.ckStart = ckStart;
    r.ckEnd = ckEnd;
    r.sizeStart = sizeStart;
    r.sizeEnd = sizeEnd;
    r.priority = priority;
    r.providedCount = nProvided;
    r.triggerCount = nTriggers;
    r.dependCount = nD;
    r.installIfCount = nI;
    sink.dbPkgAdd(r);
  }
}

/** Characters that end the name part of a dependency (`@tag`, an operator). */
export const isNameEnd = (c: number): boolean => c === 64 || c === 60 || c === 61 || c === 62 || c === 126;

function lineOf(text: string, pos: number): number {
  let line = 1;
  for (let i = text.indexOf('\n'); i !== -1 && i < pos; i = text.indexOf('\n', i + 1)) line++;
  return line;
}

function badLine(text: string, pos: number, nl: number, file: string): never {
  throw new LadingError(
    'APKINDEX_BAD_LINE',
    `malformed line ${JSON.stringify(text.slice(pos, Math.min(nl, pos + 60)))} (expected X:value)`,
    {
      file,
      line: lineOf(text, pos),
      hint: 'the index is corrupt; rebuild it with `lading index`',
    },
  );
}

/** The decimal number text[from, to) (a `k:` or `I:` field); throws APKINDEX_BAD_FIELD naming the line. */
export function readUint(text: string, from: number, to: number, file: string): number {
  let v = 0;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i) - 48;
    if (c < 0 || c > 9 || i - from > 15) {
      throw new LadingError(
        'APKINDEX_BAD_FIELD',
        `field ${text[from - 2]}: is not a number: ${JSON.stringify(text.slice(from, Math.min(to, from + 40)))}`,
        {
          file,
          line: lineOf(text, from),
          hint: 'the index is corrupt; rebuild it with `lading index`',
        },
      );
    }
    v = v * 10 + c;
  }
  return v;
}

/** Joins the text ranges (start, end pairs, `count` numbers) with spaces: repeated `D:`/`i:` lines. */
export function joinRanges(text: string, ranges: readonly number[], count: number): string {
  const parts: string[] = [];
  for (let i = 0; i < count; i += 2) parts.push(text.slice(ranges[i], ranges[i + 1]));
  return parts.join(' ');
}
