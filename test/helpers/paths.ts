/** Where the tests find the shared fixtures and tools (../shared beside the checkout, or $LADING_SHARED). */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const sharedDir = process.env.LADING_SHARED ?? resolve(repoRoot, '../shared');
export const fixturesDir = join(sharedDir, 'fixtures');
export const apkOracle = join(sharedDir, 'tools/apk-oracle');
export const ladingBin = join(repoRoot, 'bin/lading.js');

export function fixture(...parts: string[]): string {
  const p = join(fixturesDir, ...parts);
  if (!existsSync(p)) throw new Error(`missing fixture ${p}: is ../shared beside the checkout?`);
  return p;
}
