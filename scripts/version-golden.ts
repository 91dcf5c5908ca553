// Records the real apk-tools 2.14.4's order of the seeded random version pairs (test/apk/random-versions.ts):
//   node scripts/version-golden.ts
// `npm test` compares lading with test/apk/golden/version-order.txt in-process and asks the live apk about a
// sample of the pairs each run. Run it after changing the generator or when apk's answers must be re-read.
import { spawnSync } from 'node:child_process';
import { renameSync, writeFileSync } from 'node:fs';
import {
  randomVersions,
  VERSION_COUNT,
  VERSION_GOLDEN,
  VERSION_SEED,
  versionPairs,
} from '../test/apk/random-versions.ts';
import { apkOracle } from '../test/helpers/paths.ts';

const lines = versionPairs(randomVersions(VERSION_SEED, VERSION_COUNT)).map(([a, b]) => {
  const r = spawnSync(apkOracle, ['version', '-t', '--', a, b], { encoding: 'utf8' });
  const op = r.stdout.trim();
  if (r.error || !['<', '=', '>'].includes(op)) throw new Error(`apk version -t ${a} ${b}: ${r.stderr}${op}`);
  return `${a} ${b} ${op}`;
});
writeFileSync(`${VERSION_GOLDEN}.tmp`, `${lines.join('\n')}\n`);
renameSync(`${VERSION_GOLDEN}.tmp`, VERSION_GOLDEN);
console.log(`${VERSION_GOLDEN}: ${lines.length} pairs`);
