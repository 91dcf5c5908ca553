/**
 * Seeded random version strings for the comparison with the real apk-tools 2.14.4 (test/apk/version.test.ts),
 * and apk's recorded answers for them: test/apk/golden/version-order.txt, one `A B OP` line per pair
 * (`node scripts/version-golden.ts` writes it from ../shared/tools/apk-oracle).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const VERSION_SEED = 20240601;
export const VERSION_COUNT = 300;
export const VERSION_GOLDEN = join(import.meta.dirname, 'golden', 'version-order.txt');

/** Seeded random version-like strings, leaning on the corners (zeros, long digit runs, odd suffixes). */
export function randomVersions(seed: number, count: number): string[] {
  let a = seed;
  const r = () => {
    a = (Math.imul(a, 1103515245) + 12345) >>> 0;
    return a / 2 ** 32;
  };
  const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)]!;
  const num = () =>
    pick([
      '0',
      '00',
      '1',
      '2',
      '10',
      '01',
      '001',
      '010',
      '9',
      '0015',
      '12345678901234567',
      '123456789012345678',
    ]);
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    let v = num();
    for (let n = Math.floor(r() * 4); n > 0; n--) v += `.${num()}`;
    if (r() < 0.3) v += pick(['a', 'b', 'z', 'a1', 'aa']);
    for (let n = Math.floor(r() * 3); n > 0; n--)
      v += `_${pick(['alpha', 'beta', 'pre', 'rc', 'cvs', 'svn', 'git', 'hg', 'p', 'post', ''])}${pick(['', '1', '2', '01', '20191002222144'])}`;
    if (r() < 0.4) v += `-r${pick(['0', '1', '10', '01', ''])}`;
    if (r() < 0.1) v += pick(['-', '~1234', '-q', '.', '_']);
    out.push(v);
  }
  return out;
}

/** The pairs compared: the first half of the versions against the second half, reversed. */
export function versionPairs(versions: readonly string[]): [string, string][] {
  const half = versions.length / 2;
  return versions.slice(0, half).map((v, i) => [v, versions[versions.length - 1 - i]!]);
}

/** apk's recorded `apk version -t A B` answers: `A B` → `<`, `=` or `>`. */
export function readVersionGolden(): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of readFileSync(VERSION_GOLDEN, 'utf8').split('\n')) {
    if (line === '') continue;
    const [a, b, op] = line.split(' ');
    out.set(`${a} ${b}`, op!);
  }
  return out;
}
