/**
 * How many cases a property test runs. `npm test` runs a fixed-seed sample of each property, the same cases every
 * run (long fuzzing stays out of npm test, and a run never fails on a case the last one did not try);
 * `node scripts/fuzz.ts` runs the same test files with LADING_FUZZ=full: the full counts, from a new seed each
 * time (fast-check prints a failing case with its seed and path), or LADING_FUZZ=N for N times the full counts.
 */

/** The seed of npm test's samples. */
export const SAMPLE_SEED = 20261206;

/** The multiple of the full counts LADING_FUZZ asks for, or undefined for npm test's samples. */
function fuzzScale(): number | undefined {
  const asked = process.env.LADING_FUZZ;
  if (asked === undefined || asked === '') return undefined;
  const scale = asked === 'full' ? 1 : Number(asked);
  if (!(scale > 0)) throw new Error(`LADING_FUZZ=${asked}: use "full" or a multiple of the full counts`);
  return scale;
}

/** fast-check parameters: `sample` cases from SAMPLE_SEED, or (LADING_FUZZ) `full` times the scale from a new seed. */
export function fuzzRuns(sample: number, full: number): { numRuns: number; seed?: number } {
  const scale = fuzzScale();
  return scale === undefined ? { numRuns: sample, seed: SAMPLE_SEED } : { numRuns: Math.round(full * scale) };
}

/** A test's time limit, there to turn a hang into a failure: none for the full runs, which take as long as asked. */
export function fuzzTimeout(ms: number): number {
  return fuzzScale() === undefined ? ms : Number.POSITIVE_INFINITY;
}
