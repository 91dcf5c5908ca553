/**
 * Runs the property tests with their full counts, from a new seed each time (`npm test` runs a fixed-seed sample
 * of each, test/helpers/fuzz.ts):
 *   node scripts/fuzz.ts [--scale N] [TEST_FILE…]
 * --scale 10 runs ten times the full counts. Without files, every test file that uses fuzzRuns. A failing case is
 * printed by fast-check with its seed and path. The build and layering fuzzers run for a time instead:
 * scripts/build-fuzz.ts and scripts/stack-fuzz.ts.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';

const root = new URL('..', import.meta.url).pathname;
const { values, positionals } = parseArgs({
  options: { scale: { type: 'string', default: '1' } },
  allowPositionals: true,
});

function propertyTests(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .sort((a, b) => (a.name < b.name ? -1 : 1))
    .flatMap((e) => {
      const p = join(dir, e.name);
      if (e.isDirectory()) return propertyTests(p);
      return e.name.endsWith('.test.ts') && readFileSync(p, 'utf8').includes('fuzzRuns(') ? [p] : [];
    });
}

const files =
  positionals.length > 0 ? positionals : propertyTests(join(root, 'test')).map((f) => relative(root, f));
process.stdout.write(`LADING_FUZZ=${values.scale}: ${files.join(' ')}\n`);
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=2', '--test-reporter=spec', ...files], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, LADING_FUZZ: values.scale === '1' ? 'full' : values.scale },
});
process.exit(r.status ?? 1);
