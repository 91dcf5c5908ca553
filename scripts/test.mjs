// `npm test`: bundle, then type-check and lint beside the tests, which run file by file with Node's test runner.
// Extra arguments select test files or directories: `npm test -- test/apk` (no type-check or lint then).
// At the end it prints the files that used the most CPU (their own and their children's): the suite must stay
// well under 90 s on a 2-core machine, so its CPU is the budget to watch.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statfsSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const bin = join(root, 'node_modules/.bin');
const started = Date.now();

// The tests' temporary files go to memory (/dev/shm) when it has room: they write caches, layers, layouts and
// registries by the gigabyte, and a disk file system spends a fifth of the suite's CPU in the kernel on them.
// Mode 1777 as /tmp, for the tests that run lading as an unprivileged user. Else the usual temporary directory.
// A short lower-case name: podman names an image loaded from a layout after its path, and the engines' unix
// sockets under it must stay within 108 bytes (a longer one cost the publish test 40 s of waiting).
function testTmpDir() {
  const name = `lt-${randomBytes(3).toString('hex')}`;
  try {
    const shm = statfsSync('/dev/shm');
    if (shm.bavail * shm.bsize >= 4 * 2 ** 30) {
      const dir = join('/dev/shm', name);
      mkdirSync(dir);
      chmodSync(dir, 0o1777);
      return dir;
    }
  } catch {
    // no /dev/shm here
  }
  const dir = join(tmpdir(), name);
  mkdirSync(dir);
  return dir;
}
const testTmp = testTmpDir();
process.on('exit', () => rmSync(testTmp, { recursive: true, force: true }));
// Ctrl-C or a CI timeout: exit through the handler above, so a run leaves nothing in memory behind it
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(130));
// One warm cache for the test files that build images but are not about caching (test/helpers/cache.ts).
const runDir = mkdtempSync(join(testTmp, 'lading-test-cache-'));
// LADING_TEST_CPU_LOG=FILE keeps the CPU of every file (seconds, tab, path) in FILE after the run.
const cpuLog = process.env.LADING_TEST_CPU_LOG ?? join(runDir, 'cpu.tsv');
writeFileSync(cpuLog, '');
const env = {
  ...process.env,
  TMPDIR: testTmp,
  LADING_TEST_CACHE: join(runDir, 'lading'),
  LADING_TEST_CPU_LOG: cpuLog,
  // V8's code cache for the test processes too (the CLI turns it on for itself): over a hundred processes load
  // the same modules, and Node checks each entry against the source, so a stale one is never used
  NODE_COMPILE_CACHE: process.env.NODE_COMPILE_CACHE ?? join(root, 'node_modules/.cache/node-compile-cache'),
};

const seconds = (since) => ((Date.now() - since) / 1000).toFixed(1);

function runSync(title, cmd, args) {
  const t = Date.now();
  process.stdout.write(`\n== ${title}\n`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env });
  if (r.status !== 0) {
    process.stdout.write(`\n${title} failed (exit ${r.status ?? r.signal})\n`);
    process.exit(r.status || 1);
  }
  process.stdout.write(`== ${title}: ok in ${seconds(t)} s\n`);
}

/**
 * Runs a command in the background; its output is held back and printed, with the verdict, when it ends (on
 * success only with `always`).
 */
function runBeside(title, cmd, args, extraEnv = {}, { always = false } = {}) {
  const t = Date.now();
  return new Promise((resolve) => {
    const child = spawn(cmd, args, {
      cwd: root,
      env: { ...env, ...extraEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('close', (code, signal) => {
      const ok = code === 0;
      process.stdout.write(`\n== ${title}\n${ok && !always ? '' : out}`);
      process.stdout.write(
        ok ? `== ${title}: ok in ${seconds(t)} s\n` : `\n${title} failed (exit ${code ?? signal})\n`,
      );
      resolve(ok);
    });
  });
}

function runTests(files, shared) {
  const t = Date.now();
  process.stdout.write(
    `\n== tests (${files.length + shared.length} files, ${shared.length} of them in one process)\n`,
  );
  const runner = join(root, 'scripts/test-run.mjs');
  // Tests mostly wait on real tools (apk-tools, skopeo, registries), so run a few files at once.
  const alone = files.length
    ? new Promise((resolve) => {
        const child = spawn(process.execPath, [runner, ...files], { cwd: root, env, stdio: 'inherit' });
        child.on('close', (code) => resolve(code === 0));
      })
    : Promise.resolve(true);
  // The files that start nothing share one process beside them: a process each cost more than their tests.
  const together = shared.length
    ? runBeside(
        `tests in one process (${shared.length} files)`,
        process.execPath,
        ['--import', join(root, 'scripts/test-cpu.mjs'), runner, '--isolation-none', ...shared],
        { LADING_TEST_SHARED: String(shared.length) },
        { always: true },
      )
    : Promise.resolve(true);
  return Promise.all([alone, together]).then((oks) => {
    const ok = oks.every(Boolean);
    process.stdout.write(ok ? `== tests: ok in ${seconds(t)} s\n` : '\ntests failed\n');
    return ok;
  });
}

/**
 * Whether a test file runs in the shared process: neither it nor the test helpers it imports start a process
 * (helpers/tools.ts is imported for tempDir alone), a server or a timer. Such a file's tests are computation on
 * files; a process of its own would cost more CPU (start-up, loading the sources) than they do.
 */
const STARTS =
  /(?<![.\w$])(lading|ladingAsync|run|runAsync|runLimited|spawn|spawnSync|exec|execSync|execFile|execFileSync|requireTool|createServer|setTimeout|setInterval|sleep|start[A-Z]\w*|make(Repo|Key)|hostileRepo|testKey)\(|node:child_process|node:worker_threads/;
const startsSomething = new Map();
function starts(file) {
  if (startsSomething.has(file)) return startsSomething.get(file);
  startsSomething.set(file, false); // an import cycle adds nothing
  const text = readFileSync(file, 'utf8');
  let found = file.endsWith('.test.ts') && STARTS.test(text);
  for (const m of text.matchAll(/from\s+'(\.{1,2}\/[^']+)'/g)) {
    const dep = resolve(dirname(file), m[1]);
    // the helpers a test imports (the sources under test are what it runs)
    if (!dep.startsWith(join(root, 'test/')) || dep.endsWith('/helpers/tools.ts') || !existsSync(dep))
      continue;
    if (STARTS.test(readFileSync(dep, 'utf8')) || starts(dep)) found = true;
  }
  startsSomething.set(file, found);
  return found;
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

/** The CPU this process's finished children used (all of them: tsc, biome, the test runner and its files). */
function childrenCpu() {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[13]) + Number(fields[14])) / 100;
}

function cpuReport() {
  const rows = readFileSync(cpuLog, 'utf8')
    .trimEnd()
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split('\t'))
    .map(([cpu, wall, file]) => ({ cpu: Number(cpu), wall: Number(wall), file }))
    .sort((a, b) => b.cpu - a.cpu);
  const sum = rows.reduce((s, r) => s + r.cpu, 0);
  process.stdout.write(
    `\n== CPU by test file (own + children; wall), top ${Math.min(15, rows.length)} of ${rows.length}\n`,
  );
  for (const r of rows.slice(0, 15))
    process.stdout.write(
      `${r.cpu.toFixed(1).padStart(7)} s ${`(${r.wall.toFixed(0)} s)`.padStart(7)}  ${r.file}\n`,
    );
  const load = loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
  process.stdout.write(
    `== npm test: ${seconds(started)} s wall, ${childrenCpu().toFixed(1)} s CPU ` +
      `(test files ${sum.toFixed(1)} s); load average ${load}\n`,
  );
}

const selected = process.argv.slice(2);
runSync('build', process.execPath, ['scripts/build.mjs']);
runSync('compile cache', process.execPath, ['scripts/warm-compile-cache.mjs']);
// The files that take longest start first, so they run beside the rest instead of finishing last on their own
// (the wall times npm test prints, longest first; the engines, registries and apk-tools make them wait).
// scripts/test-run.mjs keeps this order: `node --test` would sort the files by name.
const LONG_POLES = [
  'test/e2e/scale.test.ts',
  'test/cli/resolve-commands.test.ts',
  'test/e2e/package-layering.test.ts',
  'test/e2e/bad-input.test.ts',
  'test/solver/apk-differential.test.ts',
  'test/e2e/locks.test.ts',
  'test/e2e/publish.test.ts',
  'test/e2e/examples.test.ts',
  'test/e2e/base-image.test.ts',
  'test/registry/auth-basic.test.ts',
  'test/apk/fixtures.test.ts',
  'test/e2e/outputs.test.ts',
  'test/e2e/alpine-base.test.ts',
  'test/library/package.test.ts',
  'test/e2e/sbom.test.ts',
];
const pole = (f) => {
  const i = LONG_POLES.indexOf(f);
  return i < 0 ? LONG_POLES.length : i;
};
const all = testFiles(selected.length ? selected : ['test']).sort((a, b) => pole(a) - pole(b));
const shared = all.filter((f) => !LONG_POLES.includes(f) && !starts(f));
const files = all.filter((f) => !shared.includes(f));
// Type-check and lint take a few seconds of one core: they run beside the first test files.
const checks =
  selected.length === 0
    ? [
        runBeside('typecheck', join(bin, 'tsc'), ['-p', 'tsconfig.json']),
        runBeside('lint', join(bin, 'biome'), ['check', 'src', 'test', 'scripts', 'bench', 'bin']),
      ]
    : [];
const results = await Promise.all([runTests(files, shared), ...checks]);
cpuReport();
process.exitCode = results.every(Boolean) ? 0 : 1;
