/**
 * Benchmark: hostile inputs (issue 13). Run: npm run bench -- hostile [--runs N]
 * - deep trees: `lading build` of a package of 800 and of 2,000 nested directories against the real apk-tools
 *   installing the 800-deep one (the cost was cubic in the depth: 70 s at 1,600);
 * - bombs: peak RSS of `verify`, `index` and `build` on a signed 2 MB package that inflates to 2 GiB (declaring
 *   4 KiB), and of `verify` on one that honestly inflates to 512 MiB, against the floor `gzip -dc | sha256sum`.
 *   Memory must stay flat (the target is 256 MiB) whatever the package inflates to.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type HostileEntry, hostileRepo, testKey, zeroBomb } from '../test/helpers/hostile.ts';
import { alternate, benchPaths, report, runsOption } from './lib.ts';

const p = benchPaths('hostile');
const runs = runsOption(3);
const oracle = join(p.shared, 'tools/apk-oracle');
rmSync(p.work, { recursive: true, force: true });
mkdirSync(p.work, { recursive: true });

function deep(name: string, depth: number): { name: string; entries: HostileEntry[] } {
  const entries: HostileEntry[] = [];
  let path = '';
  for (let i = 0; i < depth; i++) {
    path = path === '' ? 'd' : `${path}/d`;
    entries.push({ name: path, type: 'directory' });
  }
  entries.push({ name: `${path}/bottom`, data: 'deep\n' });
  return { name, entries };
}

const key = await testKey();
const repo = hostileRepo(
  p.work,
  [
    deep('deep800', 800),
    deep('deep2000', 2000),
    { name: 'bomb', installedSize: 4096, data: zeroBomb(2 * 1024 ** 3) },
    { name: 'big', installedSize: 512 << 20, data: zeroBomb(512 << 20) },
  ],
  key,
);
const keys = join(p.work, 'keys');
const config = (name: string) => {
  const path = join(p.work, `${name}.yaml`);
  writeFileSync(
    path,
    `contents:\n  repositories: [${repo.repo}]\n  keyring: [${repo.keyFile}]\n  packages: [${name}]\narchs: [x86_64]\n`,
  );
  return path;
};
const cache = join(p.work, 'cache');
const apkRoot = join(p.work, 'apk-root');
const lading = (args: string[], extra: Partial<Parameters<typeof alternate>[0][number]> = {}) => ({
  argv: [p.node, p.lading, ...args],
  ...extra,
});
const cold = () => rmSync(cache, { recursive: true, force: true });

const deepResults = alternate(
  [
    {
      name: 'lading build, depth 800 (cold)',
      ...lading(['build', config('deep800'), 'd:1', join(p.work, 'd8.tar'), '--cache-dir', cache]),
      before: cold,
    },
    {
      name: 'lading build, depth 2000 (cold)',
      ...lading(['build', config('deep2000'), 'd:1', join(p.work, 'd2.tar'), '--cache-dir', cache]),
      before: cold,
    },
    {
      name: 'apk-tools add, depth 800',
      argv: [
        'bash',
        '-c',
        `${oracle} add --root ${apkRoot} --initdb --no-network --no-scripts --arch x86_64 --keys-dir ${keys} --repository ${repo.repo} deep800 >/dev/null`,
      ],
      before: () => rmSync(apkRoot, { recursive: true, force: true }),
    },
  ],
  { runs },
);
report('deep trees', deepResults, [
  {
    label: 'lading depth 800 / apk-tools depth 800',
    num: 'lading build, depth 800 (cold)',
    den: 'apk-tools add, depth 800',
  },
  {
    label: 'lading depth 2000 / depth 800 (2.5× deeper; linear input growth is 6×)',
    num: 'lading build, depth 2000 (cold)',
    den: 'lading build, depth 800 (cold)',
  },
]);

const failing = (args: string[]) => [
  'bash',
  '-c',
  `${[p.node, p.lading, ...args].join(' ')} >/dev/null 2>&1; test $? -eq 1`,
];
const bombResults = alternate(
  [
    {
      name: 'verify the 2 GiB bomb (refused)',
      argv: failing(['verify', '--keyring', keys, repo.files.bomb!]),
    },
    {
      name: 'index the 2 GiB bomb (refused)',
      argv: failing(['index', '-o', join(p.work, 'i.tar.gz'), repo.files.bomb!]),
    },
    {
      name: 'build the 2 GiB bomb (refused)',
      argv: failing(['build', config('bomb'), 'b:1', join(p.work, 'b.tar'), '--cache-dir', cache]),
      before: cold,
    },
    { name: 'verify 512 MiB honest', ...lading(['verify', '--keyring', keys, repo.files.big!]) },
    {
      name: 'floor: gzip -dc | sha256sum of the 512 MiB',
      argv: ['bash', '-c', `tail -c +1 ${repo.files.big} | gzip -dc 2>/dev/null | sha256sum >/dev/null`],
    },
  ],
  { runs },
);
report('decompression bombs (peak RSS is the point; target ≤ 256 MiB)', bombResults, [
  {
    label: 'verify 512 MiB / gzip -dc | sha256sum',
    num: 'verify 512 MiB honest',
    den: 'floor: gzip -dc | sha256sum of the 512 MiB',
  },
]);
rmSync(p.work, { recursive: true, force: true });
