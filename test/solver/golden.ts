/**
 * Golden answers of the real apk-tools, kept in test/solver/golden/ so that `npm test` compares lading with
 * them in-process instead of spawning apk for every world. scripts/solver-golden.ts writes them as JSON
 * Lines (one answer per line, so a changed answer is a one-line diff; not reformatted by the linter).
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Outcome } from './oracle.ts';

export const GOLDEN_DIR = join(import.meta.dirname, 'golden');

export interface GoldenEntry extends Outcome {
  /** Which world: `kind seed` (Alpine worlds) or the synthetic repository's seed. */
  id: string;
  world: string[];
}

export function readGolden(file: string): GoldenEntry[] {
  const text = readFileSync(join(GOLDEN_DIR, file), 'utf8');
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as GoldenEntry);
}

export function writeGolden(file: string, entries: readonly GoldenEntry[]): void {
  const path = join(GOLDEN_DIR, file);
  const lines = entries.map((e) =>
    JSON.stringify({ id: e.id, world: e.world, ok: e.ok, order: e.order, tree: e.tree }),
  );
  writeFileSync(`${path}.tmp`, `${lines.join('\n')}\n`);
  renameSync(`${path}.tmp`, path);
}
