/**
 * `layering: {strategy: package}` fuzzed for a dozen cases (test/helpers/stack-fuzz.ts): overlapping
 * packages built both ways unpack to the same filesystem. `node scripts/stack-fuzz.ts --seconds 600` runs longer.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { fuzzStacking } from '../helpers/stack-fuzz.ts';
import { tempDir } from '../helpers/tools.ts';

const tmp = tempDir('lading-stack-fuzz-');
after(tmp.remove);

// a number of cases from a fixed seed, not a time: the same cases however busy the machine is (a deadline made a
// loaded machine fail it); the script runs new seeds
test('overlapping packages as stacked data streams unpack to the single-layer image (12 cases)', async () => {
  const stats = await fuzzStacking({ dir: tmp.path, runs: 12, seed: 20261206 });
  process.stdout.write(`# ${stats.cases} cases, ${stats.built} built and compared\n`);
  assert.equal(stats.cases, 12);
});
