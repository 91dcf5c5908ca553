/**
 * Micro-benchmark of the resolver, in-process: inflating the Alpine v3.19 main + community indexes (23,030
 * packages), building the resolver's index (from text, and from parsed records) and solving the 175-package
 * world; the first (cold) run of this process and warm medians. The whole-command comparison against
 * apk-tools is bench/resolve-cli.ts. Run: `npm run bench -- solver` or `node bench/solver.ts [runs]`.
 */
import { parseApkIndexText } from '../src/apk/apkindex-text.ts';
import { buildPackageIndex, resolve } from '../src/solver/resolve.ts';
import { ALPINE_INDEXES, apkIndexText, BENCHMARK_WORLD } from '../test/helpers/alpine-indexes.ts';
import { fixture } from '../test/helpers/paths.ts';
import { median } from './lib.ts';

const runs = Number(process.argv[2] ?? 9);

function time<T>(fn: () => T): [T, number] {
  const t = performance.now();
  const r = fn();
  return [r, performance.now() - t];
}

const rows: [string, number[]][] = [
  ['inflate + untar both indexes', []],
  ['build index from text', []],
  ['solve (175 packages)', []],
  ['parse text to PackageInfo (shared parser)', []],
  ['build index from PackageInfo', []],
];
for (let i = 0; i <= runs; i++) {
  const [texts, tInflate] = time(() => [
    apkIndexText(fixture(ALPINE_INDEXES.main)),
    apkIndexText(fixture(ALPINE_INDEXES.community)),
  ]);
  const [index, tBuild] = time(() =>
    buildPackageIndex({
      repositories: [
        { repository: 'main', text: texts[0]! },
        { repository: 'community', text: texts[1]! },
      ],
      arch: 'x86_64',
    }),
  );
  const [r, tSolve] = time(() => resolve(index, BENCHMARK_WORLD));
  if (r.packages.length !== 175) throw new Error(`expected 175 packages, got ${r.packages.length}`);
  const [parsed, tParse] = time(() => texts.map((t) => parseApkIndexText(t)));
  const [, tBuildParsed] = time(() =>
    buildPackageIndex({
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
