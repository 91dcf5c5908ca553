// Regenerates the resolver's golden answers from the real apk-tools 2.14.4 (../shared/tools/apk-oracle):
//   node scripts/solver-golden.ts alpine      the 220 seeded worlds over Alpine v3.19 main + community
//   node scripts/solver-golden.ts synthetic   the first 300 synthetic repositories of scripts/solver-fuzz.ts
// `npm test` compares lading with these files in-process and asks the live apk about a sample each run.
// Run it after changing a world generator (append seeds only) or when apk's answers must be re-read.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { alpinePackages } from '../test/helpers/alpine-indexes.ts';
import { apkOracle } from '../test/helpers/paths.ts';
import { allWorlds, alpineRepoDirs, apkOutcome, pools, worldId } from '../test/solver/alpine-worlds.ts';
import { type GoldenEntry, writeGolden } from '../test/solver/golden.ts';
import { ApkOracle, inParallel } from '../test/solver/oracle.ts';
import { SYNTHETIC_GOLDEN_SEEDS, syntheticCase, writeApkRepositories } from '../test/solver/synthetic.ts';

const WORKERS = 2;

async function alpine(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'lading-golden-'));
  const oracle = new ApkOracle(apkOracle);
  try {
    const repos = alpineRepoDirs(dir);
    const { main, community } = alpinePackages();
    const worlds = allWorlds(pools(main, community));
    const started = Date.now();
    const entries = await inParallel(worlds, WORKERS, async (w): Promise<GoldenEntry> => {
      const o = await apkOutcome(oracle, repos, w);
      return { id: worldId(w), world: w.world, ...o };
    });
    writeGolden('alpine-worlds.jsonl', entries);
    const refused = entries.filter((e) => !e.ok).length;
    console.log(
      `alpine-worlds.jsonl: ${entries.length} worlds (${refused} refused by apk), ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
  } finally {
    oracle.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function synthetic(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'lading-golden-'));
  const oracle = new ApkOracle(apkOracle);
  try {
    const started = Date.now();
    const seeds = Array.from({ length: SYNTHETIC_GOLDEN_SEEDS }, (_, i) => i + 1);
    const entries = await inParallel(seeds, WORKERS, async (seed): Promise<GoldenEntry> => {
      const c = syntheticCase(seed);
      const o = await oracle.simulate(writeApkRepositories(c, join(dir, String(seed))), c.world);
      return { id: String(seed), world: c.world, ...o };
    });
    writeGolden('synthetic.jsonl', entries);
    const refused = entries.filter((e) => !e.ok).length;
    console.log(
      `synthetic.jsonl: ${entries.length} repositories (${refused} refused by apk), ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
  } finally {
    oracle.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const what = process.argv[2] ?? 'all';
if (!['alpine', 'synthetic', 'all'].includes(what)) {
  console.error('usage: node scripts/solver-golden.ts [alpine|synthetic|all]');
  process.exit(2);
}
if (what !== 'synthetic') await alpine();
if (what !== 'alpine') await synthetic();
