// Loaded into every test process by scripts/test.mjs (`--import`): when the file's process exits, appends the
// CPU it used, its own and its waited-for children's (lading runs, apk, registries, engines), and its wall time
// to the file LADING_TEST_CPU_LOG names, so `npm test` can say which files cost the most.
import { appendFileSync, readFileSync } from 'node:fs';
import { relative } from 'node:path';

const log = process.env.LADING_TEST_CPU_LOG;
// the process that runs many files (scripts/test.mjs) is logged as one
const shared = process.env.LADING_TEST_SHARED;
const file = shared ? `(${shared} files in one process)` : process.argv[1];
if (log && (shared || file?.endsWith('.test.ts'))) {
  process.on('exit', () => {
    // /proc/self/stat after the command name: utime, stime, cutime, cstime are fields 14–17, in clock ticks
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = fields.slice(11, 15).reduce((sum, t) => sum + Number(t), 0);
    appendFileSync(
      log,
      `${ticks / 100}\t${process.uptime().toFixed(1)}\t${shared ? file : relative(process.cwd(), file)}\n`,
    );
  });
}
