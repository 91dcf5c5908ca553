/**
 * Fuzzes `layering: {strategy: package}` with overlapping plausible packages for longer than `npm test` does:
 *   node scripts/stack-fuzz.ts [--seconds 600] [--seed N]
 * Every case that builds must unpack to exactly its single-layer image; a failing case is printed by fast-check.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fuzzStacking } from '../test/helpers/stack-fuzz.ts';

const { values } = parseArgs({
  options: { seconds: { type: 'string', default: '600' }, seed: { type: 'string' } },
});
const dir = mkdtempSync(join(tmpdir(), 'lading-stack-fuzz-'));
try {
  const stats = await fuzzStacking({
    dir,
    seconds: Number(values.seconds),
    ...(values.seed === undefined ? {} : { seed: Number(values.seed) }),
  });
  process.stdout.write(`${stats.cases} cases: ${stats.built} built and compared\n`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
