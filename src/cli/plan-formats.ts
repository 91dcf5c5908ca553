/**
 * What `lading plan` prints: the plan itself, or what an engine reads —
 * - `github-matrix`: `{"include":[{"image":…,"config":…}]}` for a dynamic matrix (`fromJson`); GitHub runs at
 *   most 256 jobs per matrix, so beyond --max-jobs entries the matrix lists shards (`{"shard":"I/N"}`) instead;
 * - `k8s-job`: a batch/v1 Job in Indexed completion mode whose pods run `publish-many --shard
 *   env:JOB_COMPLETION_INDEX/N` on the plan (mounted from the ConfigMap `<job>-plan`, key plan.json);
 * - `lines`: the image names, one a line;
 * - `graph`: package → version → images.
 * With --check, the matrices and `lines` hold only the changed images (a shard matrix still covers all: the
 * unchanged ones are skipped by the workers).
 */
import { type Plan, packageGraph } from '../pipeline/plan.ts';
import { LadingError } from '../util/errors.ts';

export interface FormatOptions {
  shards?: string;
  maxJobs?: string;
  runnerImage?: string;
  jobName?: string;
  to?: string;
  planFile?: string;
}

function count(value: string | undefined, flag: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new LadingError('USAGE', `${flag} ${value}: expected 1 or more`);
  return n;
}

export function planOutput(plan: Plan, format: string, options: FormatOptions): string {
  const wanted = plan.images.filter((i) => i.error === undefined && i.changed !== false);
  const json = (v: unknown) => `${JSON.stringify(v, null, 1)}\n`;
  switch (format) {
    case 'lines':
      return wanted.map((i) => `${i.name}\n`).join('');
    case 'graph':
      return json(packageGraph(plan));
    case 'github-matrix': {
      const max = count(options.maxJobs, '--max-jobs', 256);
      const shards = options.shards === undefined ? undefined : count(options.shards, '--shards', 1);
      if (shards === undefined && wanted.length <= max) {
        return `${JSON.stringify({ include: wanted.map((i) => ({ image: i.name, config: i.config })) })}\n`;
      }
      const n = Math.min(shards ?? max, max);
      return `${JSON.stringify({ include: Array.from({ length: n }, (_, i) => ({ shard: `${i}/${n}` })) })}\n`;
    }
    case 'k8s-job': {
      const n = count(options.shards, '--shards', Math.max(1, Math.min(wanted.length, 16)));
      const name = options.jobName ?? 'lading-publish';
      if (!options.to) {
        throw new LadingError('USAGE', 'the k8s-job format needs --to REGISTRY/PREFIX', {
          hint: 'the Job’s pods publish each image to PREFIX/NAME',
        });
      }
      return json({
        apiVersion: 'batch/v1',
        kind: 'Job',
        metadata: { name },
        spec: {
          completionMode: 'Indexed',
          completions: n,
          parallelism: n,
          backoffLimitPerIndex: 2,
          template: {
            spec: {
              restartPolicy: 'Never',
              containers: [
                {
                  name: 'lading',
                  image: options.runnerImage ?? 'lading',
                  command: [
                    'lading',
                    'publish-many',
                    '/plan/plan.json',
                    '--shard',
                    `env:JOB_COMPLETION_INDEX/${n}`,
                    '--to',
                    options.to,
                  ],
                  volumeMounts: [{ name: 'plan', mountPath: '/plan', readOnly: true }],
                },
              ],
              volumes: [{ name: 'plan', configMap: { name: `${name}-plan` } }],
            },
          },
        },
      });
    }
    default:
      return json(plan);
  }
}
