/**
 * The whole `build` path fuzzed with generated hostile packages, a fixed number of cases (test/helpers/build-fuzz.ts):
 * every case builds a clean image or ends in a LadingError. `node scripts/build-fuzz.ts --seconds 600` runs the
 * same for longer.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { fuzzBuild } from '../helpers/build-fuzz.ts';
import { tempDir } from '../helpers/tools.ts';

const tmp = tempDir('lading-build-fuzz-');
after(tmp.remove);

test('hostile packages through the whole build: a clean image or a LadingError, 12 cases', async () => {
  // a number of cases from a fixed seed, not a time: the same cases however busy the machine is; the script
  // runs new seeds for as long as asked
  const stats = await fuzzBuild({ dir: tmp.path, cases: 12, seed: 20261206 });
  process.stdout.write(`# ${stats.cases} cases: ${stats.built} built, ${stats.refused} refused\n`);
  assert.equal(stats.cases, 12);
});
