/**
 * The fixed sample of scripts/solver-fuzz.ts: the first synthetic repositories (test/solver/synthetic.ts)
 * against apk-tools 2.14.4's recorded answers (golden/synthetic.jsonl, written by scripts/solver-golden.ts).
 * Deciding as 2.14.4 does, lading must give every answer exactly; as it decides, every difference must be
 * explained by its apk-tools 3 behaviours (differential.ts: classify), never be a refusal of a world
 * 2.14.4 solves except for packages of another architecture.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Apk3Behaviour, classify, disagreement, ladingOutcome } from './differential.ts';
import { readGolden } from './golden.ts';
import { SYNTHETIC_GOLDEN_SEEDS, syntheticCase, syntheticIndex } from './synthetic.ts';

describe('resolver vs apk-tools 2.14.4 on synthetic repositories (recorded)', () => {
  it(`agrees on the first ${SYNTHETIC_GOLDEN_SEEDS} seeds, or differs only by apk 3 behaviours`, () => {
    const golden = readGolden('synthetic.jsonl');
    assert.equal(golden.length, SYNTHETIC_GOLDEN_SEEDS, 'run node scripts/solver-golden.ts synthetic');
    const failures: string[] = [];
    const explained = new Map<Apk3Behaviour, number>();
    for (const want of golden) {
      const c = syntheticCase(Number(want.id));
      if (c.world.join(' ') !== want.world.join(' ')) {
        failures.push(
          `seed ${want.id}: another world than recorded; run node scripts/solver-golden.ts synthetic`,
        );
        continue;
      }
      const answer = (off: number | true, otherArch: boolean) =>
        ladingOutcome(syntheticIndex(c, { otherArch }), c.world, { apk214: off });
      const as214 = disagreement(want, answer(true, true));
      if (as214 !== undefined)
        failures.push(`seed ${want.id} (as apk 2.14.4): ${c.world.join(' ')}\n  ${as214}`);
      const verdict = classify(want, answer);
      if (verdict.agrees) continue;
      if (verdict.by === undefined) failures.push(`seed ${want.id}: ${c.world.join(' ')}\n  ${verdict.why}`);
      else for (const b of verdict.by) explained.set(b, (explained.get(b) ?? 0) + 1);
    }
    console.log(
      `synthetic differential: ${golden.length} seeds, ${golden.filter((e) => !e.ok).length} refused by apk; ` +
        `apk 3 behaviours explain: ${[...explained].map(([b, n]) => `${b} ${n}`).join(', ')}`,
    );
    assert.deepEqual(failures, []);
  });
});
