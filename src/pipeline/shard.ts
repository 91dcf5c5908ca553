/**
 * Shards: which images of a plan worker `i` of `n` takes. The engines that run the workers (a CI matrix, a
 * Kubernetes Indexed Job, a Slurm array, Docker swarm jobs, GNU parallel) only hand each worker a number; the
 * partition must then be the same in every worker, whatever the order the configs were found in:
 * - images are sorted by cost (largest first), then name, and each goes to the shard with the least cost so
 *   far (the lowest index on a tie): a stable, balanced partition (longest processing time first);
 * - cost is the plan's (installed bytes), or 1 for every image when workers get configs rather than a plan
 *   (each would resolve at its own moment, and a moved cost would move images between shards).
 */
import { LadingError } from '../util/errors.ts';

export interface Shard {
  /** 0-based. */
  index: number;
  count: number;
}

/** The shard index's sources, in the order `auto` tries them. */
const AUTO = ['JOB_COMPLETION_INDEX', 'SLURM_ARRAY_TASK_ID'] as const;

function usage(text: string, why: string): LadingError {
  return new LadingError('USAGE', `--shard ${JSON.stringify(text)}: ${why}`, {
    hint:
      'write I/N: I a number from 0 to N-1, env:VAR (a variable holding it), auto (JOB_COMPLETION_INDEX, then ' +
      'SLURM_ARRAY_TASK_ID less SLURM_ARRAY_TASK_MIN), or swarm-slot:VAR (a variable set to Docker swarm’s {{.Task.Slot}})',
  });
}

/**
 * `I/N`. I: a number; `env:VAR`; `auto`; or `swarm-slot:VAR` — a replicated swarm job's tasks get slots 0 to N-1,
 * but swarm's template shows the node ID in place of slot 0: any value that is not a number counts as 0 there
 * (and slots are taken modulo N).
 */
export function parseShard(text: string, env: NodeJS.ProcessEnv = process.env): Shard {
  const m = /^(.+)\/(\d+)$/.exec(text.trim());
  if (!m) throw usage(text, 'not of the form I/N');
  const count = Number(m[2]);
  if (!Number.isSafeInteger(count) || count < 1) throw usage(text, 'N must be 1 or more');
  const spec = m[1]!;
  const number = (value: string | undefined, from: string): number => {
    if (value === undefined || value.trim() === '') throw usage(text, `${from} is not set`);
    if (!/^\d+$/.test(value.trim())) throw usage(text, `${from} is ${JSON.stringify(value)}, not a number`);
    return Number(value.trim());
  };
  let index: number;
  if (/^\d+$/.test(spec)) index = Number(spec);
  else if (spec.startsWith('env:')) index = number(env[spec.slice(4)], spec.slice(4));
  else if (spec.startsWith('swarm-slot:')) {
    const value = env[spec.slice(11)];
    if (value === undefined) throw usage(text, `${spec.slice(11)} is not set`);
    index = /^\d+$/.test(value.trim()) ? Number(value.trim()) % count : 0;
  } else if (spec === 'auto') {
    const from = AUTO.find((v) => (env[v] ?? '').trim() !== '');
    if (from === undefined) throw usage(text, `none of ${AUTO.join(', ')} is set`);
    index = number(env[from], from);
    if (from === 'SLURM_ARRAY_TASK_ID' && env.SLURM_ARRAY_TASK_MIN) {
      index -= number(env.SLURM_ARRAY_TASK_MIN, 'SLURM_ARRAY_TASK_MIN');
    }
  } else throw usage(text, `${JSON.stringify(spec)} is not a shard index`);
  if (index < 0 || index >= count) throw usage(text, `the index ${index} is not between 0 and ${count - 1}`);
  return { index, count };
}

/** The partition: for each shard, the names it takes (in name order). See the top of this file. */
export function partition(images: readonly { name: string; cost: number }[], count: number): string[][] {
  const order = [...images].sort(
    (a, b) => b.cost - a.cost || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
  );
  const load = new Array<number>(count).fill(0);
  const shards: string[][] = Array.from({ length: count }, () => []);
  for (const image of order) {
    let best = 0;
    for (let i = 1; i < count; i++) if (load[i]! < load[best]!) best = i;
    load[best]! += Math.max(image.cost, 0);
    shards[best]!.push(image.name);
  }
  for (const s of shards) s.sort();
  return shards;
}

/** The names shard `shard` takes. */
export function shardOf(images: readonly { name: string; cost: number }[], shard: Shard): Set<string> {
  return new Set(partition(images, shard.count)[shard.index]);
}
