// Differential fuzzing of the resolver against the real apk-tools 2.14.4 (../shared/tools/apk-oracle):
// for each seed, a small synthetic repository set and world (test/solver/synthetic.ts); apk's answer
// (`apk add --simulate`) against lading's. Not part of `npm test` (thousands of apk runs).
//   node scripts/solver-fuzz.ts [--from 1] [--count 1000] [--workers 2] [--out DIR] [--minimize] [--apk3 APK]
//   node scripts/solver-fuzz.ts --seeds 17,42 --minimize
// A disagreement lading no longer has once one of its apk-tools 3 behaviours is turned off (APK3_* in
// src/solver/state.ts, or packages of other architectures kept) is explained by it, unless lading then
// refuses a world apk-tools 2.14.4 solves; any other is a bug. Each seed is judged as lading decides by
// default and, where a negated install_if makes the opt-in (apk3InstallIf) answer otherwise, with the opt-in.
// With --apk3 (an apk-tools 3 binary, e.g. built from its source), explained seeds are also asked of it,
// and its package set must be lading's with the opt-in (every apk 3 behaviour on). Bugs are written to DIR in the apk-tools test format (seed-N.test
// + .repo files, apk's answer as @EXPECT); with --minimize, reduced first (records, lines, words and world
// entries dropped while lading still disagrees the same way).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { ResolveOptions } from '../src/solver/resolve.ts';
import { apkOracle } from '../test/helpers/paths.ts';
import { classify, disagreement } from '../test/solver/differential.ts';
import { ApkOracle, inParallel, type Outcome } from '../test/solver/oracle.ts';
import {
  caseFiles,
  expectText,
  hasNegatedInstallIf,
  minimize,
  type SyntheticCase,
  syntheticAnswers,
  syntheticCase,
  writeApkRepositories,
} from '../test/solver/synthetic.ts';

const { values } = parseArgs({
  options: {
    from: { type: 'string', default: '1' },
    count: { type: 'string', default: '1000' },
    seeds: { type: 'string' },
    workers: { type: 'string', default: '2' },
    out: { type: 'string', default: join(tmpdir(), 'lading-solver-fuzz') },
    minimize: { type: 'boolean', default: false },
    apk3: { type: 'string' },
  },
});
const from = Number(values.from);
const seeds = values.seeds
  ? values.seeds.split(',').map(Number)
  : Array.from({ length: Number(values.count) }, (_, i) => from + i);
const out = values.out;
mkdirSync(out, { recursive: true });

const work = mkdtempSync(join(tmpdir(), 'lading-fuzz-'));
const oracle = new ApkOracle(apkOracle);
const apk3 = values.apk3 === undefined ? undefined : new ApkOracle(values.apk3);
let runs = 0;

async function apkAnswer(c: SyntheticCase, apk = oracle): Promise<Outcome> {
  const dir = join(work, String(runs++));
  try {
    return await apk.simulate(writeApkRepositories(c, dir), c.world);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const OPT_IN: ResolveOptions = { apk3InstallIf: true };

/**
 * lading's answers to a case (synthetic.ts syntheticAnswers: `options`, the APK3_* behaviours `off` turned off
 * and, when `otherArch`, other-arch packages kept), a throw read as a refusal saying so.
 */
function ladingAnswers(c: SyntheticCase, options: ResolveOptions = {}) {
  const answers = syntheticAnswers(c);
  return (off: number | true = 0, otherArch = false): Outcome => {
    try {
      return answers(off, otherArch, options);
    } catch (e) {
      return { ok: false, order: [], tree: `lading threw: ${e instanceof Error ? e.stack : e}` };
    }
  };
}

/**
 * How lading relates to apk 2.14.4's answer `want`: as it decides by default and, where the opt-in answers
 * otherwise, with it (its verdict then, when the default agrees or is explained).
 */
function judge(want: Outcome, c: SyntheticCase): { verdict: ReturnType<typeof classify>; optIn: boolean } {
  const byDefault = ladingAnswers(c);
  const verdict = classify(want, byDefault);
  if (!hasNegatedInstallIf(c) || (!verdict.agrees && verdict.by === undefined))
    return { verdict, optIn: false };
  const optIn = ladingAnswers(c, OPT_IN);
  if (disagreement(byDefault(), optIn()) === undefined) return { verdict, optIn: false };
  return { verdict: classify(want, optIn), optIn: true };
}

const started = Date.now();
let refused = 0;
const bugs: number[] = [];
/** Seeds where the opt-in (apk3InstallIf) answers otherwise than the default. */
const changedByOptIn: number[] = [];
const explained = new Map<string, number[]>();
/** Explained seeds where apk-tools 3 does not install lading's package set. */
const notApk3: number[] = [];
try {
  await inParallel(seeds, Number(values.workers), async (seed) => {
    let c = syntheticCase(seed);
    const want = await apkAnswer(c);
    if (!want.ok) refused++;
    const { verdict, optIn } = judge(want, c);
    if (optIn) changedByOptIn.push(seed);
    if (verdict.agrees) return;
    if (verdict.by !== undefined) {
      const key = `${optIn ? 'opt-in: ' : ''}${verdict.by.join('+')}`;
      explained.set(key, [...(explained.get(key) ?? []), seed]);
      let three = '';
      if (apk3 !== undefined) {
        const got = ladingAnswers(c, OPT_IN)();
        const a3 = await apkAnswer(c, apk3);
        const same = a3.ok === got.ok && [...a3.order].sort().join(' ') === [...got.order].sort().join(' ');
        if (!same) {
          notApk3.push(seed);
          for (const [file, text] of Object.entries(caseFiles(c, `apk3-seed-${seed}`, expectText(a3))))
            writeFileSync(join(out, file), text);
        }
        three = same ? '; apk 3 agrees' : `; APK 3 DIFFERS: ${a3.ok ? a3.order.join(' ') : a3.tree}`;
      }
      console.log(`seed ${seed} (apk 3's ${key}${three}): world ${c.world.join(' ')}\n  ${verdict.why}`);
      return;
    }
    bugs.push(seed);
    let apk = want;
    if (values.minimize) {
      // reduce while lading still gets it wrong the same way (apk installs / lading adds / another tree …)
      const kind = (d: string | undefined) => d?.split(/[:,\n]/)[0];
      const wrong = async (x: SyntheticCase) => {
        const v = judge(await apkAnswer(x), x).verdict;
        return !v.agrees && v.by === undefined ? kind(v.why) : undefined;
      };
      const was = kind(verdict.why);
      c = await minimize(c, async (x) => (await wrong(x)) === was);
      apk = await apkAnswer(c);
    }
    for (const [file, text] of Object.entries(caseFiles(c, `seed-${seed}`, expectText(apk))))
      writeFileSync(join(out, file), text);
    console.log(
      `seed ${seed} (DISAGREES${optIn ? ' with the opt-in' : ''}): world ${c.world.join(' ')}\n  ${disagreement(apk, ladingAnswers(c, optIn ? OPT_IN : {})())}`,
    );
  });
} finally {
  oracle.close();
  apk3?.close();
  rmSync(work, { recursive: true, force: true });
}
const list = (a: number[]) => a.sort((x, y) => x - y).join(' ') || '-';
const nExplained = [...explained.values()].reduce((n, a) => n + a.length, 0);
console.log(
  `${seeds.length} seeds: ${refused} refused by apk 2.14.4; ${bugs.length + nExplained} disagreements, ` +
    `${bugs.length} not explained: ${list(bugs)}; ${runs} apk runs, ${((Date.now() - started) / 1000).toFixed(0)} s`,
);
console.log(
  `  apk3InstallIf answers otherwise on ${changedByOptIn.length} (judged with it; "opt-in:" below)`,
);
for (const [key, seedList] of [...explained].sort((a, b) => b[1].length - a[1].length)) {
  const shown = list(seedList).split(' ');
  console.log(
    `  explained by apk 3's ${key}: ${seedList.length} (${shown.slice(0, 12).join(' ')}${shown.length > 12 ? ' …' : ''})`,
  );
}
if (apk3 !== undefined)
  console.log(`  explained, but apk 3 installs another set: ${notApk3.length} (${list(notApk3)})`);
console.log(`  cases in ${out}`);
process.exitCode = bugs.length > 0 ? 1 : 0;
