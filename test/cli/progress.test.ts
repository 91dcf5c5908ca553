/** The progress line on a terminal, as `script` gives one: a pseudo-terminal that reports no width. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { writeAlpineConfig } from '../helpers/build.ts';
import { ladingBin } from '../helpers/paths.ts';
import { requireTool, run, tempDir } from '../helpers/tools.ts';

const tmp = tempDir('lading-progress-');
after(() => tmp.remove());

test('progress lines are whole when the terminal reports width 0, and never share a line with a warning', () => {
  requireTool('script');
  const config = writeAlpineConfig(tmp.path, 'musl.yaml', ['musl']);
  const out = join(tmp.path, 'musl.tar');
  const command = [
    process.execPath,
    ladingBin,
    'build',
    config,
    'musl:1',
    out,
    '--cache-dir',
    join(tmp.path, 'c'),
  ];
  const quoted = command.map((a) => `'${a}'`).join(' ');
  // the pseudo-terminal script makes without a terminal of its own has 0 columns
  const r = run('script', ['-qec', `stty cols 0; ${quoted}`, '/dev/null'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const drawn = r.stdout.split('\r\x1b[2K').map((s) => s.split(/\r?\n/)[0] ?? '');
  for (const line of ['loading config', 'resolving (x86_64)', 'installing (x86_64)', 'writing output'])
    assert.ok(drawn.includes(line), `${JSON.stringify(line)} drawn whole, in ${JSON.stringify(drawn)}`);
  // musl alone has no /etc/passwd: the warning starts a line of its own
  assert.ok(
    drawn.some((l) => l.startsWith('warn: the image has no /etc/passwd')),
    JSON.stringify(drawn),
  );
  assert.ok(!drawn.some((l) => /.warn: /.test(l)), JSON.stringify(drawn));
});
