/**
 * Benchmark: resolving `python3 nginx postgresql16 nodejs git curl build-base py3-numpy ffmpeg imagemagick`
 * (175 packages) against Alpine v3.19 main + community (23,030 packages).
 * - in-process: inflating the indexes, building the resolver's index (from text, and from parsed records),
 *   solving; the first (cold) run of a fresh process and warm medians;
 * - whole process: a one-shot resolve script (the resolver alone: no CLI, config, cache or signatures) versus
 *   `apk-oracle add --simulate` on the same indexes.
 * The benchmark, the whole `lading show-packages` command, is bench/resolve-cli.ts (`npm run bench`).
 * Run: ./node_modules/.bin/node bench/resolve.ts [runs]
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve as resolvePath } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { parseApkIndexText } from '../src/apk/apkindex-text.ts';
import { buildIndex, resolve } from '../src/solver/resolve.ts';
import { readTar } from '../src/tar/reader.ts';
import { alternate, report } from './lib.ts';

const repoRoot = resolvePath(import.meta.dirname, '..');
const shared = process.env.LADING_SHARED ?? resolvePath(repoRoot, '../shared');
const indexes = {
  main: join(shared, 'fixtures/alpine/indexes/v3.19-main-x86_64-APKINDEX.tar.gz'),
  community: join(shared, 'fixtures/alpine/indexes/v3.19-community-x86_64-APKINDEX.tar.gz'),
};
const WORLD = [
  'python3',
  'nginx',
  'postgresql16',
  'nodejs',
  'git',
  'curl',
  'build-base',
  'py3-numpy',
  'ffmpeg',
  'imagemagick',
];
const runs = Number(process.argv[2] ?? 9);

function text(path: string): string {
  const buf = gunzipSync(readFileSync(path));
  for (const e of readTar(buf))
    if (e.name === 'APKINDEX') return buf.toString('utf8', e.dataOffset, e.dataOffset + e.size);
  throw new Error(`${path}: no APKINDEX`);
}

function time<T>(fn: () => T): [T, number] {
  const t = performance.now();
  const r = fn();
  return [r, performance.now() - t];
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

// ---- in-process (this process's first run is the cold one) ----
const rows: [string, number[]][] = [
  ['inflate + untar both indexes', []],
  ['build index from text', []],
  ['solve (175 packages)', []],
  ['parse text to PackageInfo (shared parser)', []],
  ['build index from PackageInfo', []],
];
for (let i = 0; i <= runs; i++) {
  const [texts, tInflate] = time(() => [text(indexes.main), text(indexes.community)] as const);
  const [index, tBuild] = time(() =>
    buildIndex({
      repositories: [
        { repository: 'main', text: texts[0] },
        { repository: 'community', text: texts[1] },
      ],
      arch: 'x86_64',
    }),
  );
  const [r, tSolve] = time(() => resolve(index, WORLD));
  if (r.packages.length !== 175) throw new Error(`expected 175 packages, got ${r.packages.length}`);
  const [parsed, tParse] = time(() => texts.map((t) => parseApkIndexText(t)));
  const [, tBuildParsed] = time(() =>
    buildIndex({
      repositories: [
        { repository: 'main', packages: parsed[0]! },
        { repository: 'community', packages: parsed[1]! },
      ],
      arch: 'x86_64',
    }),
  );
  for (const [k, t] of [tInflate, tBuild, tSolve, tParse, tBuildParsed].entries()) rows[k]![1].push(t);
}
console.log('## resolver, in-process (ms)');
console.log('| step | cold (first run) | warm median |');
console.log('|---|---|---|');
for (const [label, samples] of rows) {
  console.log(`| ${label} | ${samples[0]!.toFixed(1)} | ${median(samples.slice(1)).toFixed(1)} |`);
}

// ---- whole process: one-shot resolve vs apk-tools ----
const dir = mkdtempSync(join(tmpdir(), 'lading-bench-resolve-'));
try {
  for (const [repo, file] of Object.entries(indexes)) {
    mkdirSync(join(dir, repo, 'x86_64'), { recursive: true });
    symlinkSync(file, join(dir, repo, 'x86_64', 'APKINDEX.tar.gz'));
  }
  const apk = join(shared, 'tools/apk-oracle');
  const root = join(dir, 'root');
  const init = spawnSync(apk, ['add', '--root', root, '--initdb', '--no-network', '--arch', 'x86_64']);
  if (init.status !== 0) throw new Error(`apk --initdb failed: ${init.stderr}`);
  const script = join(dir, 'resolve-once.ts');
  writeFileSync(
    script,
    `import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { buildIndex, resolve } from ${JSON.stringify(join(repoRoot, 'src/solver/resolve.ts'))};
import { formatPackageList } from ${JSON.stringify(join(repoRoot, 'src/solver/format.ts'))};
import { readTar } from ${JSON.stringify(join(repoRoot, 'src/tar/reader.ts'))};
const text = (p) => { const b = gunzipSync(readFileSync(p)); for (const e of readTar(b)) if (e.name === 'APKINDEX') return b.toString('utf8', e.dataOffset, e.dataOffset + e.size); };
const index = buildIndex({ repositories: [{ repository: 'main', text: text(${JSON.stringify(indexes.main)}) }, { repository: 'community', text: text(${JSON.stringify(indexes.community)}) }], arch: 'x86_64' });
process.stdout.write(formatPackageList(resolve(index, ${JSON.stringify(WORLD)}).packages, 'name-version', 'x86_64'));
`,
  );
  const bundle = join(dir, 'resolve-once.mjs');
  const esbuild = spawnSync(join(repoRoot, 'node_modules/.bin/esbuild'), [
    script,
    '--bundle',
    '--platform=node',
    '--format=esm',
    `--outfile=${bundle}`,
    '--log-level=warning',
  ]);
  if (esbuild.status !== 0) throw new Error(`esbuild: ${esbuild.stderr}`);
  const results = alternate(
    [
      { name: 'lading resolve (bundled, one process)', argv: [process.execPath, bundle] },
      {
        name: 'apk-oracle add --simulate',
        argv: [
          apk,
          'add',
          '--root',
          root,
          '--simulate',
          '--no-network',
          '--no-cache',
          '--arch',
          'x86_64',
          '--keys-dir',
          join(shared, 'fixtures/alpine/keys'),
          '--repositories-file',
          '/dev/null',
          '--repository',
          join(dir, 'main'),
          '--repository',
          join(dir, 'community'),
          ...WORLD,
        ],
      },
    ],
    { runs: Math.max(3, Math.min(runs, 9)), warmup: 1 },
  );
  report('resolve, whole process (inflate + index + solve + print)', results, [
    {
      label: 'lading / apk-tools',
      num: 'lading resolve (bundled, one process)',
      den: 'apk-oracle add --simulate',
    },
  ]);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
