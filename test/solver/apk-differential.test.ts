/**
 * Differential test against the real apk-tools 2.14.4: seeded random worlds over the real Alpine v3.19
 * main + community indexes must give exactly the packages `apk add --simulate` prints, in the same install
 * order, and worlds apk rejects must be rejected with the same "unable to select packages" tree: lading's
 * default (the apk 3 behaviours of APK3_DEFAULT included) changes no answer here. apk 3's negated install_if
 * would (two community packages have one): it is an opt-in, checked here on two worlds it changes.
 *
 * apk's answers for all 220 worlds are golden files (scripts/solver-golden.ts writes them), compared
 * in-process; each run also asks the live apk about a random sample of 4 (its ids are printed; set
 * LADING_APK_SAMPLE="plain 7,tagged 2003" to ask about those, or "all"), which must agree with both. The
 * sample's apk processes run while the recorded answers are compared (the comparison yields between worlds).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setImmediate as yieldToEvents } from 'node:timers/promises';
import type { PackageIndex } from '../../src/solver/package-index.ts';
import { buildPackageIndex } from '../../src/solver/resolve.ts';
import { alpinePackages, alpineRepositories } from '../helpers/alpine-indexes.ts';
import { apkOracle } from '../helpers/paths.ts';
import { type AlpineWorld, allWorlds, alpineRepoDirs, apkOutcome, pools, worldId } from './alpine-worlds.ts';
import { disagreement, explainedBy, ladingOutcome } from './differential.ts';
import { type GoldenEntry, readGolden } from './golden.ts';
import { ApkOracle, inParallel } from './oracle.ts';

/**
 * Enough to notice a stale recording or a changed apk-tools each run (each apk reads both indexes: ~0.4 s of
 * CPU); "all" asks about every world.
 */
const LIVE_SAMPLE = 4;

describe('resolver vs apk-tools 2.14.4 on Alpine v3.19 main + community', () => {
  let worlds: AlpineWorld[];
  let golden: Map<string, GoldenEntry>;
  const indexes: { plain?: PackageIndex; tagged?: PackageIndex } = {};
  const indexFor = (w: AlpineWorld) => (w.kind === 'tagged' ? indexes.tagged! : indexes.plain!);

  let dir: string;
  let oracle: ApkOracle | undefined;
  /** The live sample, started in before(): its failures, or what went wrong asking apk. */
  let live: Promise<{ failures: string[] } | { error: unknown }>;

  before(() => {
    const { main, community } = alpinePackages();
    worlds = allWorlds(pools(main, community));
    golden = new Map(readGolden('alpine-worlds.jsonl').map((e) => [e.id, e]));
    indexes.plain = buildPackageIndex({ repositories: alpineRepositories(), arch: 'x86_64' });
    indexes.tagged = buildPackageIndex({ repositories: alpineRepositories('comm'), arch: 'x86_64' });
    dir = mkdtempSync(join(tmpdir(), 'lading-apkdiff-'));
    oracle = new ApkOracle(apkOracle);
    live = askLiveApk(oracle).then(
      (failures) => ({ failures }),
      (error: unknown) => ({ error }),
    );
  });
  after(async () => {
    await live;
    oracle?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("gives apk's recorded answer for every seeded world", async () => {
    const failures: string[] = [];
    for (const w of worlds) {
      await yieldToEvents(); // the live sample's apk processes are started and read meanwhile
      const want = golden.get(worldId(w));
      if (want === undefined || want.world.join(' ') !== w.world.join(' ')) {
        failures.push(`${worldId(w)}: no recorded answer; run node scripts/solver-golden.ts alpine`);
        continue;
      }
      const index = indexFor(w);
      const got = ladingOutcome(index, w.world);
      const why = disagreement(want, got);
      if (why === undefined) continue;
      // which apk 3 behaviours, turned off, would make it agree (for the message only)
      const by = explainedBy(want, (off) => ladingOutcome(index, w.world, { apk214: off }));
      failures.push(`${worldId(w)}: ${w.world.join(' ')}\n  ${why}\n  (apk 3 behaviours: ${by ?? 'none'})`);
    }
    const refused = [...golden.values()].filter((e) => !e.ok).length;
    console.log(`apk differential (recorded): ${worlds.length} worlds, ${refused} refused by apk`);
    assert.deepEqual(failures, []);
  });

  it('with apk 3’s negated install_if (the opt-in), adds the package whose negated condition holds', () => {
    const adds = {
      'plain 8': 'libcanberra-alsa-0.30-r9',
      'constrained 1003': 'alsa-plugins-pulse-1.2.7.1-r2',
    };
    for (const [id, added] of Object.entries(adds)) {
      const w = worlds.find((x) => worldId(x) === id)!;
      const want = golden.get(id)!;
      const got = ladingOutcome(indexFor(w), w.world, { apk3InstallIf: true });
      assert.equal(disagreement(want, got), `lading adds: ${added}\n  lading lacks: `, id);
    }
  });

  it(`the live apk-tools agrees with the recording and with lading on a sample of ${LIVE_SAMPLE} worlds`, async () => {
    const result = await live;
    if ('error' in result) throw result.error;
    assert.deepEqual(result.failures, []);
  });

  /** Asks apk about the sample; the worlds where it differs from the recording or from lading. */
  async function askLiveApk(oracle: ApkOracle): Promise<string[]> {
    const repos = alpineRepoDirs(dir);
    const sample = pickSample(worlds);
    console.log(`apk differential (live): ${sample.map(worldId).join(', ')}`);
    const failures = await inParallel(sample, 2, async (w) => {
      const live = await apkOutcome(oracle, repos, w);
      const recorded = golden.get(worldId(w));
      const stale = recorded === undefined ? 'no recording' : disagreement(live, recorded);
      if (stale !== undefined)
        return `${worldId(w)}: the recording is stale (run node scripts/solver-golden.ts alpine):\n  ${stale}`;
      const why = disagreement(live, ladingOutcome(indexFor(w), w.world));
      return why === undefined ? undefined : `${worldId(w)}: ${w.world.join(' ')}\n  ${why}`;
    });
    return failures.filter((f) => f !== undefined);
  }
});

function pickSample(worlds: AlpineWorld[]): AlpineWorld[] {
  const asked = process.env.LADING_APK_SAMPLE;
  if (asked === 'all') return worlds;
  if (asked) {
    const ids = new Set(asked.split(',').map((s) => s.trim()));
    return worlds.filter((w) => ids.has(worldId(w)));
  }
  const pool = [...worlds];
  for (let i = pool.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [pool[i], pool[j]] = [pool[j]!, pool[i]!];
  }
  return pool.slice(0, LIVE_SAMPLE);
}
