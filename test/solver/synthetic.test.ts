/**
 * The fixed sample of scripts/solver-fuzz.ts: the first synthetic repositories (test/solver/synthetic.ts)
 * against apk-tools 2.14.4's recorded answers (golden/synthetic.jsonl, written by scripts/solver-golden.ts).
 * Deciding as 2.14.4 does, lading must give every answer exactly; as it decides by default, every difference
 * must be explained by its default apk-tools 3 behaviours (differential.ts: classify), never be a refusal of a
 * world 2.14.4 solves except for packages of another architecture; with apk 3's negated install_if
 * (apk3InstallIf, the opt-in), the repositories that have one may differ by it too.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Apk3Behaviour, classify, disagreement } from './differential.ts';
import { readGolden } from './golden.ts';
import type { Outcome } from './oracle.ts';
import { hasNegatedInstallIf, SYNTHETIC_GOLDEN_SEEDS, syntheticAnswers, syntheticCase } from './synthetic.ts';

describe('resolver vs apk-tools 2.14.4 on synthetic repositories (recorded)', () => {
  it(`agrees on the first ${SYNTHETIC_GOLDEN_SEEDS} seeds, or differs only by apk 3 behaviours`, () => {
    const golden = readGolden('synthetic.jsonl');
    assert.equal(golden.length, SYNTHETIC_GOLDEN_SEEDS, 'run node scripts/solver-golden.ts synthetic');
    const failures: string[] = [];
    const explained = { default: new Map<Apk3Behaviour, number>(), optIn: new Map<Apk3Behaviour, number>() };
    let changedByOptIn = 0;
    for (const want of golden) {
      const c = syntheticCase(Number(want.id));
      if (c.world.join(' ') !== want.world.join(' ')) {
        failures.push(
          `seed ${want.id}: another world than recorded; run node scripts/solver-golden.ts synthetic`,
        );
        continue;
      }
      const answers = syntheticAnswers(c);
      const as214 = disagreement(want, answers(true, true));
      if (as214 !== undefined)
        failures.push(`seed ${want.id} (as apk 2.14.4): ${c.world.join(' ')}\n  ${as214}`);
      const check = (
        answer: (off: number | true, otherArch: boolean) => Outcome,
        counts: Map<Apk3Behaviour, number>,
        what: string,
      ) => {
        const verdict = classify(want, answer);
        if (verdict.agrees) return;
        if (verdict.by === undefined)
          failures.push(`seed ${want.id}${what}: ${c.world.join(' ')}\n  ${verdict.why}`);
        else for (const b of verdict.by) counts.set(b, (counts.get(b) ?? 0) + 1);
      };
      check(answers, explained.default, '');
      if (!hasNegatedInstallIf(c)) continue;
      // the opt-in: judged again only where it changes the answer
      const optIn = (off: number | true, otherArch: boolean) =>
        answers(off, otherArch, { apk3InstallIf: true });
      if (disagreement(answers(0, false), optIn(0, false)) === undefined) continue;
      changedByOptIn++;
      check(optIn, explained.optIn, ' (apk3InstallIf)');
    }
    const list = (m: Map<Apk3Behaviour, number>) => [...m].map(([b, n]) => `${b} ${n}`).join(', ') || 'none';
    console.log(
      `synthetic differential: ${golden.length} seeds, ${golden.filter((e) => !e.ok).length} refused by apk; ` +
        `apk 3 behaviours explain: ${list(explained.default)}; apk3InstallIf changes ${changedByOptIn}, ` +
        `explained by: ${list(explained.optIn)}`,
    );
    assert.ok(!explained.default.has('install-if-negated'), 'negated install_if is on by default');
    assert.ok(changedByOptIn > 0, 'no seed exercises apk3InstallIf');
    assert.deepEqual(failures, []);
  });
});
