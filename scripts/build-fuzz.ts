/**
 * Fuzzes the whole build path with generated hostile packages for longer than `npm test` does (12 cases):
 *   node scripts/build-fuzz.ts [--seconds 600] [--seed N]
 * Prints the counts; a failing case is printed with its seed and path by fast-check.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fuzzBuild } from '../test/helpers/build-fuzz.ts';

const { values } = parseArgs({
  options: { seconds: { type: 'string', default: '600' }, seed: { type: 'string' } },
});
const dir = mkdtempSync(join(tmpdir(), 'lading-build-fuzz-'));
try {
  const stats = await fuzzBuild({
    dir,
    seconds: Number(values.seconds),
    ...(values.seed === undefined ? {} : { seed: Number(values.seed) }),
  });
  process.stdout.write(`${stats.cases} cases: ${stats.built} built, ${stats.refused} refused\n`);
  process.stdout.write(`refusals by code: ${JSON.stringify(stats.codes)}\n`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
