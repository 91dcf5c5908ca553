// Runs test files with Node's test runner in the order given (`node --test` sorts them by name; npm test starts
// the longest first, scripts/test.mjs): a process per file, three at a time, each loading scripts/test-cpu.mjs
// for the CPU report; with --isolation-none, all in this process instead.
//   node scripts/test-run.mjs [--isolation-none] FILE…
import { join } from 'node:path';
import { run } from 'node:test';
import { spec } from 'node:test/reporters';

const args = process.argv.slice(2);
const shared = args[0] === '--isolation-none';
const files = shared ? args.slice(1) : args;
const stream = run(
  shared
    ? { files, isolation: 'none' }
    : { files, concurrency: 3, execArgv: ['--import', join(import.meta.dirname, 'test-cpu.mjs')] },
);
// the root's summary (no file) says whether every test passed
stream.on('test:summary', (s) => {
  if (s.file === undefined && !s.success) process.exitCode = 1;
});
stream.compose(spec).pipe(process.stdout);
