/**
 * One warm cache shared by the test files that build images but are not about the cache: the first build of a
 * package expands it and writes its layer, the rest reuse them (the cache is safe for concurrent processes, and
 * warm and cold builds give the same bytes, as test/e2e/reproducible.test.ts shows). `npm test` makes it for the
 * run (LADING_TEST_CACHE) and removes it after; a file run on its own gets one of its own.
 * Tests about caching, cold builds or cleaning keep a private cache.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let own: string | undefined;

/** The shared cache directory (`…/lading`, so `XDG_CACHE_HOME` may name its parent). */
export function sharedCache(): string {
  const given = process.env.LADING_TEST_CACHE;
  if (given) return given;
  if (own === undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'lading-test-cache-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    own = join(dir, 'lading');
  }
  return own;
}
