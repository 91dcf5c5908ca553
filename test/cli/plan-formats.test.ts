/**
 * What `lading plan` prints for the engines: a GitHub Actions matrix (images, or shards past the 256-job cap), a
 * Kubernetes Indexed Job whose pods take their shard from JOB_COMPLETION_INDEX, names, and the package → images
 * graph; with --check, only the changed images.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planOutput } from '../../src/cli/plan-formats.ts';
import type { Plan, PlannedImage } from '../../src/pipeline/plan.ts';
import { throwsCode } from '../helpers/assert.ts';

const image = (name: string, pkgs: string[], changed?: boolean): PlannedImage => ({
  name,
  config: `images/${name}.yaml`,
  inputDigest: `sha256:${name.padEnd(64, '0')}`,
  packages: { x86_64: pkgs.map((p) => ({ name: p, version: '1-r0', checksum: `Q1${p}` })) },
  cost: pkgs.length,
  ...(changed === undefined ? {} : { changed }),
});

const plan: Plan = {
  format: 1,
  options: {},
  images: [
    image('a', ['musl', 'busybox'], true),
    image('b', ['musl'], false),
    image('c/d', ['musl', 'zlib'], true),
  ],
};

describe('plan formats', () => {
  it('a GitHub matrix of the changed images, or shards past the cap', () => {
    assert.deepEqual(JSON.parse(planOutput(plan, 'github-matrix', {})), {
      include: [
        { image: 'a', config: 'images/a.yaml' },
        { image: 'c/d', config: 'images/c/d.yaml' },
      ],
    });
    assert.deepEqual(JSON.parse(planOutput(plan, 'github-matrix', { maxJobs: '1' })), {
      include: [{ shard: '0/1' }],
    });
    assert.deepEqual(JSON.parse(planOutput(plan, 'github-matrix', { shards: '3' })).include, [
      { shard: '0/3' },
      { shard: '1/3' },
      { shard: '2/3' },
    ]);
  });

  it('a Kubernetes Indexed Job running one shard per completion index', () => {
    const job = JSON.parse(planOutput(plan, 'k8s-job', { shards: '4', to: 'registry.example.com/team' }));
    assert.equal(job.apiVersion, 'batch/v1');
    assert.equal(job.kind, 'Job');
    assert.equal(job.spec.completionMode, 'Indexed');
    assert.equal(job.spec.completions, 4);
    const container = job.spec.template.spec.containers[0];
    assert.deepEqual(container.command.slice(1, 5), [
      'publish-many',
      '/plan/plan.json',
      '--shard',
      'env:JOB_COMPLETION_INDEX/4',
    ]);
    assert.equal(job.spec.template.spec.restartPolicy, 'Never');
    throwsCode(() => planOutput(plan, 'k8s-job', {}), 'USAGE');
  });

  it('names and the package graph', () => {
    assert.equal(planOutput(plan, 'lines', {}), 'a\nc/d\n');
    assert.deepEqual(JSON.parse(planOutput(plan, 'graph', {})), {
      busybox: { '1-r0': ['a'] },
      musl: { '1-r0': ['a', 'b', 'c/d'] },
      zlib: { '1-r0': ['c/d'] },
    });
  });
});
