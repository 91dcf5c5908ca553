/**
 * What a newcomer meets first, checked as they meet it: `npm ci` run by the machine's own Node.js (older than
 * the pinned one here) prints no engine warnings; the packed package declares no install-time script;
 * `./lading` runs on the pinned Node.js; the README's test set-up installs what CI installs and says where the
 * shared fixtures come from.
 */
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { after, test } from 'node:test';
import { repoRoot } from '../helpers/paths.ts';
import { run, tempDir } from '../helpers/tools.ts';

/** PATH without node_modules/.bin entries: what a shell on this machine has (npm test puts the pinned Node first). */
const machinePath = (process.env.PATH ?? '')
  .split(delimiter)
  .filter((p) => !p.includes('node_modules'))
  .join(delimiter);
const tmp = tempDir('lading-setup-');
after(() => tmp.remove());

test('npm ci on the machine’s own Node.js prints no engine warnings', () => {
  // a copy of the manifest and lock: the engine checks run on them, and the checkout is left alone
  for (const f of ['package.json', 'package-lock.json']) copyFileSync(join(repoRoot, f), join(tmp.path, f));
  const env = { ...process.env, PATH: machinePath };
  const node = run('node', ['--version'], { env }).stdout.trim();
  const r = run('npm', ['ci', '--dry-run', '--offline', '--ignore-scripts', '--no-audit', '--no-fund'], {
    cwd: tmp.path,
    env,
  });
  assert.equal(r.status, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /EBADENGINE|EBADDEVENGINES|npm warn/, `npm ci under Node.js ${node}`);
});

test('the packed package declares no script that would run when it is installed', () => {
  const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8'));
  // npm runs (and asks consumers to allow) these for a package installed from a tarball or git
  const install = ['preinstall', 'install', 'postinstall', 'prepare'].filter((s) => s in pkg.scripts);
  assert.deepEqual(install, []);
  // everything bin/lading.js loads is shipped
  assert.deepEqual(pkg.files, ['bin', 'dist', 'schema']);
  assert.deepEqual(pkg.bin, { lading: 'bin/lading.js' });
});

test('./lading runs lading on the pinned Node.js from any directory, with no npx', () => {
  // bin/lading.js refuses a Node.js older than 24, so this passing on an older machine Node shows the pin is used
  const r = run(join(repoRoot, 'lading'), ['--version'], {
    cwd: tmp.path,
    env: { ...process.env, PATH: machinePath },
  });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, `${JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')).version}\n`);
});

test('the README’s test section installs what CI installs and names LADING_SHARED', () => {
  /** The packages of the `apt-get install` command: its line and the continuation lines after it. */
  const packages = (text: string) => {
    const lines = text.split('\n');
    let i = lines.findIndex((l) => l.startsWith('apt-get install'));
    assert.ok(i >= 0, 'an apt-get install command');
    let command = lines[i]!;
    while (command.endsWith('\\')) command = `${command.slice(0, -1)} ${lines[++i]}`;
    return command
      .split(/\s+/)
      .filter((w) => w !== '' && !w.startsWith('-') && w !== 'apt-get' && w !== 'install')
      .sort();
  };
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
  const ci = readFileSync(join(repoRoot, '.ci/run'), 'utf8');
  assert.deepEqual(packages(readme), packages(ci));
  assert.match(readme, /LADING_SHARED/);
  assert.match(ci, /^npm ci\nnpm test$/m);
  assert.match(readme, /^npm ci\nnpm test$/m);
});
