/**
 * Fuzzes the package, index and .PKGINFO readers for longer than `npm test` does (it runs a fixed-seed 5%):
 *   node scripts/reader-fuzz.ts [--scale 1] [--seed N]
 * --scale 1 is 10,000 cases per reader (2,000 .PKGINFO texts), 10 is ten times that. fast-check prints a failing
 * case with its seed and path, to run again with --seed.
 */
import { parseArgs } from 'node:util';
import { FULL_RUNS, fuzzApkReader, fuzzIndexReader, fuzzPkgInfo } from '../test/helpers/reader-fuzz.ts';

const { values } = parseArgs({
  options: { scale: { type: 'string', default: '1' }, seed: { type: 'string' } },
});
const scale = Number(values.scale);
const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);
process.stdout.write(`seed ${seed}, scale ${scale}\n`);
for (const [name, fuzz, full] of [
  ['.apk reader', fuzzApkReader, FULL_RUNS.apk],
  ['APKINDEX reader', fuzzIndexReader, FULL_RUNS.index],
  ['.PKGINFO parser', fuzzPkgInfo, FULL_RUNS.pkginfo],
] as const) {
  const started = Date.now();
  fuzz({ scale, seed });
  process.stdout.write(
    `${name}: ${Math.round(full * scale)} cases, ok in ${(Date.now() - started) / 1000} s\n`,
  );
}
