/**
 * Differential test against the real apk-tools 2.14.4: seeded random worlds over the real Alpine v3.19
 * main + community indexes must give exactly the packages `apk add --simulate` prints, in the same install
 * order, and worlds apk rejects must be rejected with the same "unable to select packages" tree. Where lading
 * follows apk-tools 3 instead, the difference must go away with that behaviour turned off: on this index only
 * negated install_if conditions (two community packages have them) may change an answer.
 *
 * apk's answers for all 220 worlds are golden files (scripts/solver-golden.ts writes them), compared
 * in-process; each run also asks the live apk about a random sample (its ids are printed; set
 * LADING_APK_SAMPLE="plain 7,tagged 2003" to ask about those, or "all"), which must agree with both.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { PackageIndex } from '../../src/solver/package-index.ts';
import { buildPackageIndex } from '../../src/solver/resolve.ts';
import { alpinePackages, alpineRepositories } from '../helpers/alpine-indexes.ts';
import { apkOracle } from '../helpers/paths.ts';
import { type AlpineWorld, allWorlds, alpineRepoDirs, apkOutcome, pools, worldId } from './alpine-worlds.ts';
import { disagreement, explainedBy, ladingOutcome } from './differential.ts';
import { type GoldenEntry, readGolden } from './golden.ts';
import { ApkOracle, inParallel } from './oracle.ts';

const LIVE_SAMPLE = 20;

describe('resolver vs apk-tools 2.14.4 on Alpine v3.19 main + community', () => {
  let worlds: AlpineWorld[];
  let golden: Map<string, GoldenEntry>;
  const indexes: { plain?: PackageIndex; tagged?: PackageIndex } = {};
  const indexFor = (w: AlpineWorld) => (w.kind === 'tagged' ? indexes.tagged! : indexes.plain!);

  before(() => {
    const { main, community } = alpinePackages();
    worlds = allWorlds(pools(main, community));
    golden = new Map(readGolden('alpine-worlds.jsonl').map((e) => [e.id, e]));
    indexes.plain = buildPackageIndex({ repositories: alpineRepositories(), arch: 'x86_64' });
    indexes.tagged = buildPackageIndex({ repositories: alpineRepositories('comm'), arch: 'x86_64' });
  });

  it("gives apk's recorded answer for every seeded world", () => {
    const failures: string[] = [];
    let explained = 0;
    for (const w of worlds) {
      const want = golden.get(worldId(w));
      if (want === undefined || want.world.join(' ') !== w.world.join(' ')) {
        failures.push(`${worldId(w)}: no recorded answer; run node scripts/solver-golden.ts alpine`);
        continue;
      }
      const index = indexFor(w);
      const why = disagreement(want, ladingOutcome(index, w.world));
      if (why === undefined) continue;
      const by = explainedBy(want, (off) => ladingOutcome(index, w.world, { apk214: off }));
      if (by?.length === 1 && by[0] === 'install-if-negated') explained++;
      else
        failures.push(`${worldId(w)}: ${w.world.join(' ')}\n  ${why}\n  (apk 3 behaviours: ${by ?? 'none'})`);
    }
    const refused = [...golden.values()].filter((e) => !e.ok).length;
    console.log(
      `apk differential (recorded): ${worlds.length} worlds, ${refused} refused by apk, ` +
        `${explained} differ only by apk 3's negated install_if`,
    );
    assert.deepEqual(failures, []);
  });

  describe('the live apk-tools', () => {
    let dir: string;
    let oracle: ApkOracle;
    before(() => {
      dir = mkdtempSync(join(tmpdir(), 'lading-apkdiff-'));
      oracle = new ApkOracle(apkOracle);
    });
    after(() => {
      oracle?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it(`agrees with the recording and with lading on a sample of ${LIVE_SAMPLE} worlds`, async () => {
      const repos = alpineRepoDirs(dir);
      const sample = pickSample(worlds);
      console.log(`apk differential (live): ${sample.map(worldId).join(', ')}`);
      const failures = await inParallel(sample, 2, async (w) => {
        const live = await apkOutcome(oracle, repos, w);
        const recorded = golden.get(worldId(w));
        const stale = recorded === undefined ? 'no recording' : disagreement(live, recorded);
        if (stale !== undefined)
          return `${worldId(w)}: the recording is stale (run node scripts/solver-golden.ts alpine):\n  ${stale}`;
        const why = disagreement(live, ladingOutcome(indexFor(w), w.world, { apk214: true }));
        return why === undefined
          ? undefined
          : `${worldId(w)}: ${w.world.join(' ')} (as apk 2.14.4)\n  ${why}`;
      });
      assert.deepEqual(
        failures.filter((f) => f !== undefined),
        [],
      );
    });
  });
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
