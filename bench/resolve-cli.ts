/**
 * Issue 3 benchmark: `lading show-packages` as a whole process (`node bin/lading.js`, what npx runs) for the
 * world `python3 nginx postgresql16 nodejs git curl build-base py3-numpy ffmpeg imagemagick` (175 packages)
 * against Alpine v3.19 main + community, cold (empty --cache-dir) and warm (its cache filled), versus
 * `apk-oracle add --simulate` with the same indexes and keys on a root initialised once with --initdb.
 * Alternating runs, medians, peak RSS. Targets (issue 12): warm ≤ 0.3× apk-tools, cold ≤ 0.7×, peak RSS ≤ 150 MiB.
 *   node bench/resolve-cli.ts [--runs N]
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { alternate, report } from './lib.ts';

const root = resolve(import.meta.dirname, '..');
const shared = process.env.LADING_SHARED ?? resolve(root, '../shared');
const work = join(root, '.bench', 'resolve-work');
const node = process.execPath;
const oracle = join(shared, 'tools/apk-oracle');
const keysDir = join(shared, 'fixtures/alpine/keys');
const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 9;
const WORLD = ['python3', 'nginx', 'postgresql16', 'nodejs', 'git', 'curl', 'build-base'];
WORLD.push('py3-numpy', 'ffmpeg', 'imagemagick');
const RSS_TARGET_MIB = 150;

function mustRun(argv: string[]): string {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${argv.join(' ')} failed:\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

// The bundle is what users run: make sure it is the current source.
mustRun([node, join(root, 'scripts/build.mjs')]);

rmSync(work, { recursive: true, force: true });
const repos: string[] = [];
for (const name of ['main', 'community']) {
  const dir = join(work, 'repo', name);
  mkdirSync(join(dir, 'x86_64'), { recursive: true });
  symlinkSync(
    join(shared, `fixtures/alpine/indexes/v3.19-${name}-x86_64-APKINDEX.tar.gz`),
    join(dir, 'x86_64/APKINDEX.tar.gz'),
  );
  repos.push(dir);
}
const config = join(work, 'image.yaml');
writeFileSync(
  config,
  `contents:\n  repositories: [${repos.join(', ')}]\n` +
    `  keyring: [${join(keysDir, 'alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub')}]\n` +
    `  packages: [${WORLD.join(', ')}]\narchs: [x86_64]\n`,
);
const apkRoot = join(work, 'apk-root');
mustRun([oracle, 'add', '--root', apkRoot, '--initdb', '--no-network', '--arch', 'x86_64']);

const coldCache = join(work, 'cache-cold');
const warmCache = join(work, 'cache-warm');
const lading = (cache: string) => [
  node,
  join(root, 'bin/lading.js'),
  'show-packages',
  config,
  '--cache-dir',
  cache,
];
const apk = [
  ...[oracle, 'add', '--root', apkRoot, '--simulate', '--no-network', '--no-cache', '--arch', 'x86_64'],
  ...['--keys-dir', keysDir, '--repositories-file', '/dev/null'],
  ...repos.flatMap((r) => ['--repository', r]),
  ...WORLD,
];

// Both answer the same: the 175 packages, in the same order.
const expected = [...mustRun(apk).matchAll(/^\(\d+\/\d+\) Installing (\S+) \((\S+)\)$/gm)].map(
  (m) => `${m[1]} ${m[2]}`,
);
const got = mustRun(lading(warmCache)).trimEnd().split('\n');
if (expected.length !== 175 || got.join('\n') !== expected.join('\n')) {
  throw new Error(`lading and apk-tools disagree:\nlading: ${got.join(', ')}\napk: ${expected.join(', ')}`);
}

const results = alternate(
  [
    {
      name: 'lading show-packages, cold',
      argv: lading(coldCache),
      before: () => rmSync(coldCache, { recursive: true, force: true }),
    },
    { name: 'lading show-packages, warm', argv: lading(warmCache) },
    { name: 'apk-oracle add --simulate', argv: apk },
    { name: 'lading --version (start-up)', argv: [node, join(root, 'bin/lading.js'), '--version'] },
  ],
  { runs: RUNS, warmup: 1 },
);
report(`show-packages, ${expected.length} packages from v3.19 main + community (whole processes)`, results, [
  {
    label: 'warm / apk-tools',
    num: 'lading show-packages, warm',
    den: 'apk-oracle add --simulate',
    target: 0.3,
  },
  {
    label: 'cold / apk-tools',
    num: 'lading show-packages, cold',
    den: 'apk-oracle add --simulate',
    target: 0.7,
  },
]);
const peak = Math.max(
  results.get('lading show-packages, cold')!.peakRssMiB,
  results.get('lading show-packages, warm')!.peakRssMiB,
);
console.log(
  `\npeak RSS of lading show-packages: ${peak.toFixed(0)} MiB (target ≤ ${RSS_TARGET_MIB} MiB: ${peak <= RSS_TARGET_MIB ? 'met' : 'MISSED'})`,
);
rmSync(work, { recursive: true, force: true });
