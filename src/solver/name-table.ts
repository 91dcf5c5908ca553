/**
 * The name table: every package name and provided name, interned to a small id (apk-tools' `db->available.names`
 * with apk_db_get_name / apk_db_query_name), with the heads of each name's provider and install_if lists
 * (apk_name.providers, apk_name.rinstall_if) and the order apk's hash table walks names in (hashOrder).
 *
 * Hand-written rather than a Map<string, …>: names are hashed and compared in place in the index text, so
 * scanning 52,000 names of Alpine main + community makes no string per name; ids index typed-array columns.
 */

/**
 * Hash of text[start, end) (FNV-1a over UTF-16 code units), as a signed 32-bit number: those are small
 * integers to V8, where an unsigned result above 2^31 would be a heap number in unoptimised code.
 */
export function hashRange(text: string, start: number, end: number): number {
  let h = FNV_OFFSET;
  for (let i = start; i < end; i++) h = Math.imul(h ^ text.charCodeAt(i), FNV_PRIME);
  return h;
}
export const FNV_OFFSET = 0x811c9dc5 | 0;
export const FNV_PRIME = 0x01000193;

/** A body of text names can point into (index texts, by source number). */
export interface NameSource {
  readonly text: string;
}

export class NameTable {
  /** Names interned so far; ids are below this. */
  count = 0;
  private cap = 1 << 12;
  /** Per name: source index, or -1 when the string is in `strings`. */
  private source = new Int32Array(this.cap);
  private start = new Int32Array(this.cap);
  private end = new Int32Array(this.cap);
  private hash = new Int32Array(this.cap);
  /** Per name: first/last provider entry and first install_if trigger entry of the index (-1: none). */
  providerHead = new Int32Array(this.cap);
  providerTail = new Int32Array(this.cap);
  triggerHead = new Int32Array(this.cap);
  /** hashOrder keys by name id (-1: not computed). */
  private orderKeys = new Float64Array(this.cap);
  /** Open addressing over ids. */
  private slots = new Int32Array(1 << 17).fill(-1);
  /** The names as strings, made on first use (a hole reads as undefined). */
  private strings = new Array<string | undefined>(this.cap);
  private readonly sources: readonly NameSource[];

  /** `sources`: the texts names may point into, by source number (the caller appends to it). */
  constructor(sources: readonly NameSource[]) {
    this.sources = sources;
  }

  /** Room for ids below this without growing. */
  get capacity(): number {
    return this.cap;
  }

  /** The id of text[start, end) of source `src` (-1: `text` is a string to keep), interning it when new. */
  intern(src: number, text: string, start: number, end: number): number {
    return this.internHashed(src, text, start, end, hashRange(text, start, end));
  }

  /** intern with the hash of text[start, end) already computed (while splitting words). */
  internHashed(src: number, text: string, start: number, end: number, h: number): number {
    const mask = this.slots.length - 1;
    const len = end - start;
    for (let s = h & mask; ; s = (s + 1) & mask) {
      const id = this.slots[s]!;
      if (id === -1) {
        const nid = this.count++;
        if (nid === this.cap) this.grow(nid * 2);
        this.source[nid] = src;
        this.start[nid] = start;
        this.end[nid] = end;
        this.hash[nid] = h;
        this.providerHead[nid] = -1;
        this.providerTail[nid] = -1;
        this.triggerHead[nid] = -1;
        this.orderKeys[nid] = -1;
        if (src === -1) this.strings[nid] = text.slice(start, end);
        this.slots[s] = nid;
        if (this.count * 2 > this.slots.length) this.rehash(this.slots.length * 2);
        return nid;
      }
      if (this.hash[id] !== h || this.end[id]! - this.start[id]! !== len) continue;
      if (this.sameText(id, text, start, len)) return id;
    }
  }

  /** The id of a name, or -1 when nothing mentions it. */
  find(name: string): number {
    const h = hashRange(name, 0, name.length);
    const mask = this.slots.length - 1;
    for (let s = h & mask; ; s = (s + 1) & mask) {
      const id = this.slots[s]!;
      if (id === -1) return -1;
      if (
        this.hash[id] === h &&
        this.end[id]! - this.start[id]! === name.length &&
        this.sameText(id, name, 0, name.length)
      )
        return id;
    }
  }

  /** The name with this id. */
  string(id: number): string {
    let s = this.strings[id];
    if (s === undefined) {
      s = this.sources[this.source[id]!]!.text.slice(this.start[id], this.end[id]);
      this.strings[id] = s;
    }
    return s;
  }

  private sameText(id: number, text: string, start: number, len: number): boolean {
    const src = this.source[id]!;
    const other = src === -1 ? this.strings[id]! : this.sources[src]!.text;
    const os = src === -1 ? 0 : this.start[id]!;
    for (let i = 0; i < len; i++) if (other.charCodeAt(os + i) !== text.charCodeAt(start + i)) return false;
    return true;
  }

  /** Makes room for `names` names in all, so the columns grow once instead of doubling many times. */
  reserve(names: number): void {
    if (names > this.cap) this.grow(names);
    let slots = this.slots.length;
    while (names * 2 > slots) slots *= 2;
    if (slots > this.slots.length) this.rehash(slots);
  }

  private grow(cap: number): void {
    this.cap = cap;
    this.strings = grownArray(this.strings, cap);
    this.source = grown(this.source, cap);
    this.start = grown(this.start, cap);
    this.end = grown(this.end, cap);
    this.hash = grown(this.hash, cap);
    this.providerHead = grown(this.providerHead, cap);
    this.providerTail = grown(this.providerTail, cap);
    this.triggerHead = grown(this.triggerHead, cap);
    this.orderKeys = grown(this.orderKeys, cap);
  }

  private rehash(size: number): void {
    const slots = new Int32Array(size).fill(-1);
    const mask = slots.length - 1;
    for (let id = 0; id < this.count; id++) {
      let s = this.hash[id]! & mask;
      while (slots[s] !== -1) s = (s + 1) & mask;
      slots[s] = id;
    }
    this.slots = slots;
  }

  /**
   * Where apk-tools' name hash table puts a name: the order apk_hash_foreach visits names, which is the
   * order of every name's install_if and reverse-dependency lists (and so of install order and explanations).
   * Buckets by hash, newest name first within a bucket (names are created in the order apk reads them).
   */
  hashOrder(id: number): number {
    let key = this.orderKeys[id]!;
    if (key < 0) {
      key = apkNameBucket(this.string(id)) * 0x4000000 + (0x3ffffff - id);
      this.orderKeys[id] = key;
    }
    return key;
  }

  /**
   * Name ids in hashOrder. The keys are unique numbers that give back their id, so a native numeric sort of a
   * Float64Array does it: these lists reach thousands of names, and a comparator sort costs ten times more.
   */
  sortByHashOrder(ids: readonly number[]): number[] {
    const keys = new Float64Array(ids.length);
    for (let i = 0; i < ids.length; i++) keys[i] = this.hashOrder(ids[i]!);
    keys.sort();
    const out = new Array<number>(keys.length);
    for (let i = 0; i < keys.length; i++) out[i] = 0x3ffffff - (keys[i]! % 0x4000000);
    return out;
  }
}

/** apk-tools 2.14 sizes its name hash table at 20000 buckets (apk_db_init). */
const NAME_BUCKETS = 20000;

/**
 * The bucket of a name in apk's name table: apk_blob_hash, which is MurmurHash3 (x86, 32-bit) of the
 * name's bytes with seed 5381 (found by matching apk 2.14.4's printed orders), modulo the bucket count.
 */
function apkNameBucket(name: string): number {
  let ascii = true;
  for (let i = 0; i < name.length && ascii; i++) ascii = name.charCodeAt(i) < 128;
  // one char per byte of the UTF-8 name
  const bytes = ascii ? name : Buffer.from(name, 'utf8').toString('latin1');
  const c1 = 0xcc9e2d51;
  const c2 = 0x1b873593;
  let h = 5381;
  const blocks = bytes.length & ~3;
  for (let i = 0; i < blocks; i += 4) {
    let k =
      bytes.charCodeAt(i) |
      (bytes.charCodeAt(i + 1) << 8) |
      (bytes.charCodeAt(i + 2) << 16) |
      (bytes.charCodeAt(i + 3) << 24);
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  const tail = bytes.length & 3;
  if (tail > 0) {
    let k = bytes.charCodeAt(blocks);
    if (tail > 1) k ^= bytes.charCodeAt(blocks + 1) << 8;
    if (tail > 2) k ^= bytes.charCodeAt(blocks + 2) << 16;
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
  }
  h ^= bytes.length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) % NAME_BUCKETS;
}

/** A copy of an array with room for `size` elements (holes after the copied ones). */
export function grownArray<T>(a: readonly T[], size: number): T[] {
  const b = new Array<T>(size);
  for (let i = 0; i < a.length; i++) b[i] = a[i]!;
  return b;
}

/** A copy of a typed array with room for `size` elements. */
export function grown<T extends Int32Array | Float64Array>(a: T, size: number): T {
  const b = new (a.constructor as new (n: number) => T)(size);
  b.set(a);
  return b;
}
