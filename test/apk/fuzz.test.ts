/**
 * Property-based robustness of the package and index readers (test/helpers/reader-fuzz.ts): random and
 * mutated real packages and indexes never make them throw anything but a LadingError, never yield a path
 * outside the target directory, and never hang. npm test runs a fixed-seed sample, the same cases every run:
 * 500 per reader (5% of the full counts; a quarter for .PKGINFO). The full 10,000+ cases per reader, with a
 * new seed each time, moved to `node scripts/reader-fuzz.ts` (long fuzzing stays out of npm test).
 */
import { test } from 'node:test';
import { fuzzApkReader, fuzzIndexReader, fuzzPkgInfo } from '../helpers/reader-fuzz.ts';

const SAMPLE = { scale: 0.05, seed: 20261206 };
/** A hang fails the test instead of stopping the suite (the sample takes about a second). */
const HANG = { timeout: 120_000 };

test('.apk reader: 500 random and mutated packages (fixed seed)', HANG, () => fuzzApkReader(SAMPLE));

test('APKINDEX reader: 500 random and mutated indexes (fixed seed)', HANG, () => fuzzIndexReader(SAMPLE));

test('.PKGINFO parser: 500 arbitrary texts (fixed seed)', HANG, () =>
  fuzzPkgInfo({ ...SAMPLE, scale: 0.25 }),
);
