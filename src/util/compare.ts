/** The one string order lading sorts by: UTF-8 bytes, independent of locale (Go's sort.Strings, C's strcmp). */

/** Byte-order comparison of UTF-8 strings (what `tar --sort=name` and Go's WalkDir use). */
export function compareBytes(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(i);
    if (ca !== cb) {
      if (ca < 0x80 && cb < 0x80) return ca - cb;
      return Buffer.compare(Buffer.from(a.slice(i)), Buffer.from(b.slice(i)));
    }
  }
  return a.length - b.length;
}
