/**
 * Issue 17 benchmark: many images from one repository (24 configs over the generated repository, six packages
 * each), whole processes, against references measured in the same run:
 * - `lading plan` of all 24 against `lading show-packages` of one (both warm: the resolutions remembered; and
 *   both cold: empty caches) — one process, one index snapshot, one parse of the index;
 * - the first publish as a worker makes it (empty cache, empty registry), as two shard processes at once against
 *   one process;
 * - `publish-many --skip-unchanged` of the unchanged set against that first publish (the target), and against
 *   a first publish of images the local cache remembers (nothing built: the cheapest there is; no target).
 * The registry keeps its storage on disk, as a registry is deployed (the tests keep theirs in memory).
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startRegistry } from '../test/helpers/registry.ts';
import { ensureLargeRepo } from './large-repo.ts';
import { alternate, type BenchCommand, benchPaths, mustRun, report, runsOption } from './lib.ts';

const { benchDir, work, node, lading } = benchPaths('scale');
const RUNS = runsOption(3);
const IMAGES = 24;
const PER_IMAGE = 6;

rmSync(work, { recursive: true, force: true });
mkdirSync(join(work, 'images'), { recursive: true });
const large = await ensureLargeRepo(benchDir);
// image i installs six of the repository's packages (and what they depend on)
for (let i = 0; i < IMAGES; i++) {
  const world = Array.from(
    { length: PER_IMAGE },
    (_, j) => `bench-p${String((i * PER_IMAGE + j) % (large.packages - 1)).padStart(3, '0')}`,
  );
  writeFileSync(
    join(work, 'images', `img${String(i).padStart(2, '0')}.yaml`),
    `contents:\n  repositories: [${large.repo}]\n  keyring: [${large.key}]\n  packages: [${world.join(', ')}]\narchs: [x86_64]\n`,
  );
}
const one = join(work, 'images', 'img00.yaml');
const warm = join(work, 'warm-cache');
const cold = join(work, 'cold-cache');
const plan = join(work, 'plan.json');
const cli = (...args: string[]) => [node, lading, ...args, '--log-level', 'error'];
mustRun(cli('plan', join(work, 'images'), '-o', plan, '--cache-dir', warm));
mustRun(cli('show-packages', one, '--cache-dir', warm));

console.log(
  `node ${process.versions.node}, ${RUNS} runs per command after a warm-up, medians; CPU: ${mustRun(['nproc']).trim()} cores; ` +
    `${IMAGES} configs of ${PER_IMAGE} packages over one repository of ${large.packages} packages`,
);

const planning: BenchCommand[] = [
  { name: 'R warm: show-packages of one config', argv: cli('show-packages', one, '--cache-dir', warm) },
  { name: 'L warm: plan of the 24', argv: cli('plan', join(work, 'images'), '--cache-dir', warm) },
  {
    name: 'R cold: show-packages of one config, empty cache',
    argv: cli('show-packages', one, '--cache-dir', cold),
    before: () => rmSync(cold, { recursive: true, force: true }),
  },
  {
    name: 'L cold: plan of the 24, empty cache',
    argv: cli('plan', join(work, 'images'), '--cache-dir', cold),
    before: () => rmSync(cold, { recursive: true, force: true }),
  },
];
const planned = alternate(planning, { runs: RUNS, warmup: 1 });
const targets = report('planning 24 images against resolving one', planned, [
  { label: 'L warm / R warm', num: planning[1]!.name, den: planning[0]!.name, target: 2 },
  { label: 'L cold / R cold', num: planning[3]!.name, den: planning[2]!.name, target: 2 },
]);

const registry = await startRegistry({ onDisk: true });
const emptyRegistry = () => rmSync(registry.dataDir, { recursive: true, force: true });
const publishMany = (cache: string, ...extra: string[]) =>
  cli('publish-many', plan, '--to', `${registry.host}/bench`, '--cache-dir', cache, ...extra);
// two processes on one machine share its cache (safe for concurrent processes)
const fresh = () => {
  emptyRegistry();
  rmSync(cold, { recursive: true, force: true });
};
const sharding: BenchCommand[] = [
  { name: 'O: publish-many, one process, empty cache and registry', argv: publishMany(cold), before: fresh },
  {
    name: 'T: publish-many --shard 0/2 and 1/2 at once, empty cache and registry',
    argv: [
      'bash',
      '-c',
      `${publishMany(cold, '--shard', '0/2').join(' ')} > /dev/null & ${publishMany(cold, '--shard', '1/2').join(' ')} > /dev/null & wait -n && wait -n`,
    ],
    before: fresh,
  },
];
const sharded = alternate(sharding, { runs: RUNS, warmup: 1 });
targets.push(
  ...report('two shard processes against one process', sharded, [
    { label: 'T / O', num: sharding[1]!.name, den: sharding[0]!.name, target: 0.6 },
  ]),
);

// the images remembered in the warm cache
mustRun(publishMany(warm));
const publishing: BenchCommand[] = [
  {
    name: 'F: publish-many, empty registry, images remembered',
    argv: publishMany(warm),
    before: emptyRegistry,
  },
  // right after F: the registry holds every image
  { name: 'S: publish-many again, nothing changed (skip-unchanged)', argv: publishMany(warm) },
];
const published = alternate(publishing, { runs: RUNS, warmup: 1 });
const first = sharding[0]!.name;
targets.push(
  ...report(
    'publish-many of the unchanged set against its first publish',
    new Map([[first, sharded.get(first)!], ...published]),
    [
      { label: 'S / O (O from above)', num: publishing[1]!.name, den: first, target: 0.1 },
      { label: 'S / F', num: publishing[1]!.name, den: publishing[0]!.name },
    ],
  ),
);

const withTarget = targets.filter((r) => r.target !== undefined);
console.log(`\n${withTarget.filter((r) => r.ok).length} of ${withTarget.length} targets met`);
await registry.stop();
rmSync(work, { recursive: true, force: true });
