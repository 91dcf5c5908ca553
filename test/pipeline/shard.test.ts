/**
 * Shards are a partition: for n = 1…5 every image is in exactly one shard, and the assignment depends only on the
 * images (names and costs), never on the order they were found in; the shard index comes from a literal or the
 * engines' variables alike.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseShard, partition } from '../../src/pipeline/shard.ts';
import { throwsCode } from '../helpers/assert.ts';

const images = fc.uniqueArray(
  fc.record({ name: fc.stringMatching(/^[a-z][a-z0-9/-]{0,12}$/), cost: fc.integer({ min: 0, max: 1e9 }) }),
  { selector: (i) => i.name, minLength: 0, maxLength: 40 },
);

describe('shards', () => {
  it('partition every image set into disjoint shards, the same for any order', () => {
    fc.assert(
      fc.property(images, fc.integer({ min: 1, max: 5 }), fc.infiniteStream(fc.nat()), (list, n, seeds) => {
        const shards = partition(list, n);
        assert.equal(shards.length, n);
        const all = shards.flat();
        assert.equal(all.length, list.length, 'no image twice');
        assert.deepEqual(new Set(all), new Set(list.map((i) => i.name)), 'every image');
        // another order of the same images
        const shuffled = list.map((i) => [seeds.next().value, i] as const).sort((a, b) => a[0] - b[0]);
        assert.deepEqual(
          partition(
            shuffled.map(([, i]) => i),
            n,
          ),
          shards,
        );
      }),
      { numRuns: 200 },
    );
  });

  it('balance by cost: no shard is heavier than the lightest by more than the heaviest image', () => {
    fc.assert(
      fc.property(images, fc.integer({ min: 1, max: 5 }), (list, n) => {
        const cost = new Map(list.map((i) => [i.name, i.cost]));
        const loads = partition(list, n).map((s) => s.reduce((sum, name) => sum + cost.get(name)!, 0));
        const heaviest = Math.max(0, ...list.map((i) => i.cost));
        assert.ok(Math.max(...loads) - Math.min(...loads) <= heaviest);
      }),
      { numRuns: 200 },
    );
  });

  it('take the index from a literal, env:VAR, auto (Indexed Job, Slurm) or a swarm slot', () => {
    assert.deepEqual(parseShard('2/5'), { index: 2, count: 5 });
    assert.deepEqual(parseShard('env:MY_INDEX/3', { MY_INDEX: '1' }), { index: 1, count: 3 });
    assert.deepEqual(parseShard('auto/4', { JOB_COMPLETION_INDEX: '3' }), { index: 3, count: 4 });
    assert.deepEqual(parseShard('auto/4', { SLURM_ARRAY_TASK_ID: '7', SLURM_ARRAY_TASK_MIN: '5' }), {
      index: 2,
      count: 4,
    });
    // swarm shows the node ID in place of slot 0
    assert.deepEqual(parseShard('swarm-slot:SLOT/3', { SLOT: 'wzor25cri7kr1xxzn98cjxp7a' }), {
      index: 0,
      count: 3,
    });
    assert.deepEqual(parseShard('swarm-slot:SLOT/3', { SLOT: '2' }), { index: 2, count: 3 });
    for (const [text, env] of [
      ['3/3', {}],
      ['x/3', {}],
      ['1', {}],
      ['env:NOPE/2', {}],
      ['env:I/2', { I: 'one' }],
      ['auto/2', {}],
      ['0/0', {}],
    ] as const) {
      throwsCode(() => parseShard(text, env), 'USAGE');
    }
  });
});
