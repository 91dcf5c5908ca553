// `npm test`: bundle, type-check, lint, then run every test file with Node's test runner.
// Extra arguments select test files or directories: `npm test -- test/apk`.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const bin = join(root, 'node_modules/.bin');

// One warm cache for the test files that build images but are not about caching (test/helpers/cache.ts).
const cacheRoot = mkdtempSync(join(tmpdir(), 'lading-test-cache-'));
process.on('exit', () => rmSync(cacheRoot, { recursive: true, force: true }));
const env = { ...process.env, LADING_TEST_CACHE: join(cacheRoot, 'lading') };

function run(title, cmd, args) {
  const started = Date.now();
  process.stdout.write(`\n== ${title}\n`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env });
  if (r.status !== 0) {
    process.stdout.write(`\n${title} failed (exit ${r.status ?? r.signal})\n`);
    process.exit(r.status || 1);
  }
  process.stdout.write(`== ${title}: ok in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
}

function testFiles(paths) {
  const out = [];
  const walk = (p) => {
    if (statSync(p).isDirectory()) {
      for (const e of readdirSync(p).sort()) walk(join(p, e));
    } else if (p.endsWith('.test.ts')) out.push(p);
  };
  for (const p of paths) {
    if (!existsSync(p)) throw new Error(`no such test path: ${p}`);
    walk(p);
  }
  return out;
}

const selected = process.argv.slice(2);
run('build', process.execPath, ['scripts/build.mjs']);
if (selected.length === 0) {
  run('typecheck', join(bin, 'tsc'), ['-p', 'tsconfig.json']);
  run('lint', join(bin, 'biome'), ['check', 'src', 'test', 'scripts', 'bench', 'bin']);
}
// The files that take longest start first, so they run beside the rest instead of finishing last on their own
// (measured one at a time on this machine: the apk-tools differential waits ~55 s on apk, the others 8–12 s).
const LONG_POLES = [
  'test/solver/apk-differential.test.ts',
  'test/cli/resolve-commands.test.ts',
  'test/e2e/publish.test.ts',
  'test/e2e/bad-input.test.ts',
  'test/apk/fuzz.test.ts',
  'test/e2e/examples.test.ts',
  'test/e2e/sbom.test.ts',
  'test/e2e/alpine-base.test.ts',
];
const pole = (f) => {
  const i = LONG_POLES.indexOf(f);
  return i < 0 ? LONG_POLES.length : i;
};
const files = testFiles(selected.length ? selected : ['test']).sort((a, b) => pole(a) - pole(b));
// Tests mostly wait on real tools (apk-tools, skopeo, registries), so run a few files at once.
run(`tests (${files.length} files)`, process.execPath, [
  '--test',
  '--test-concurrency=3',
  '--test-reporter=spec',
  ...files,
]);
