/**
 * lading's own solver cases (test/solver/cases/, in the apk-tools test format), each a disagreement with
 * apk-tools found by differential fuzzing (scripts/solver-fuzz.ts) and reduced: @EXPECT is lading's answer;
 * @APK214, when present, what apk-tools 2.14.4 answers instead (an apk-tools 3 behaviour lading has, see
 * @NOTE), which lading must give when told to decide as 2.14.4 does; @APK3_INSTALL_IF, when present, lading's
 * answer with apk 3's negated install_if (the apk3InstallIf opt-in). Every answer was checked against the real
 * apk-tools 2.14.4, and the @APK214 cases' @EXPECT and the @APK3_INSTALL_IF answers against apk-tools 3.0.6.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { expectedLines, readCase, runCase, type SuiteCase } from './apk-suite.ts';
import { sameTree } from './differential.ts';

const dir = join(import.meta.dirname, 'cases');

/** How `got` differs from the expected lines, or undefined. */
function mismatch(expect: string[], got: ReturnType<typeof runCase>): string | undefined {
  const want = expectedLines({ expect } as SuiteCase);
  const same =
    want.error !== undefined
      ? got.error !== undefined && sameTree(want.error, got.error)
      : got.error === undefined && got.lines.join('\n') === want.lines.join('\n');
  return same
    ? undefined
    : `want: ${want.error ?? want.lines.join(' | ')}\n  got:  ${got.error ?? got.lines.join(' | ')}`;
}

describe('solver regression cases', () => {
  it('gives each case its expected answer, and apk-tools 2.14.4’s when asked to', () => {
    const cases = readdirSync(dir)
      .filter((f) => f.endsWith('.test'))
      .sort()
      .map((f) => readCase(dir, f));
    assert.ok(cases.length >= 10, `only ${cases.length} cases in ${dir}`);
    const failures: string[] = [];
    for (const c of cases) {
      const now = mismatch(c.expect, runCase(dir, c));
      if (now !== undefined) failures.push(`${c.name}:\n  ${now}`);
      const as214 = c.sections['@APK214']?.filter((l) => l.trim() !== '') ?? c.expect;
      const old = mismatch(as214, runCase(dir, c, { apk214: true }));
      if (old !== undefined) failures.push(`${c.name} (as apk 2.14.4):\n  ${old}`);
      const optIn = c.sections['@APK3_INSTALL_IF']?.filter((l) => l.trim() !== '');
      const three = optIn && mismatch(optIn, runCase(dir, c, { apk3InstallIf: true }));
      if (three !== undefined) failures.push(`${c.name} (apk3InstallIf):\n  ${three}`);
    }
    assert.deepEqual(failures, []);
  });
});
