/** Damaged index text and odd worlds must give a LadingError or a result, never a crash. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { buildPackageIndex, resolve } from '../../src/solver/resolve.ts';
import { isLadingError } from '../../src/util/errors.ts';
import { alpineTexts } from '../helpers/alpine-indexes.ts';
import { fuzzRuns } from '../helpers/fuzz.ts';

describe('resolver robustness (property)', () => {
  it('never throws anything but LadingError on mutated APKINDEX text and worlds', () => {
    const sample = alpineTexts().main.split('\n\n').slice(0, 60).join('\n\n');
    const names = [...sample.matchAll(/^P:(.*)$/gm)].map((m) => m[1]!);
    const mutation = fc.tuple(
      fc.nat(sample.length),
      fc.nat(8),
      fc.string({ unit: fc.constantFrom(...'\n:PVDpiAC=<>!@~ ab01'), maxLength: 6 }),
    );
    const world = fc.array(
      fc.oneof(
        fc.constantFrom(...names),
        fc.string({ maxLength: 12 }),
        fc.constantFrom('!musl', 'musl<1', 'busybox@x', 'so:libc.musl-x86_64.so.1'),
      ),
      { maxLength: 5 },
    );
    fc.assert(
      fc.property(fc.array(mutation, { maxLength: 4 }), world, (mutations, w) => {
        let text = sample;
        for (const [at, del, ins] of mutations) text = text.slice(0, at) + ins + text.slice(at + del);
        try {
          const index = buildPackageIndex({ repositories: [{ repository: 'r', text }], arch: 'x86_64' });
          resolve(index, w);
        } catch (e) {
          if (!isLadingError(e)) throw e;
        }
      }),
      fuzzRuns(300, 1500),
    );
    assert.ok(names.length > 50);
  });
});
