/** Damaged copies of bytes, for tests that prove corruption is caught. */

/** A copy of `bytes` with the byte at `at` (negative: from the end) XORed with `mask`. */
export function flipped(bytes: Uint8Array, at: number, mask = 1): Buffer {
  const copy = Buffer.from(bytes);
  const i = at < 0 ? copy.length + at : at;
  if (i < 0 || i >= copy.length) throw new Error(`flipped: byte ${at} is outside ${copy.length} bytes`);
  copy[i] = copy[i]! ^ mask;
  return copy;
}
