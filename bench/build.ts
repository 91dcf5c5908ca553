import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { layoutPaths } from '../src/store/layout.ts';
import { IMAGES } from '../src/store/namespaces.ts';
import { ensureLargeRepo } from './large-repo.ts';
import { alternate, type BenchCommand, benchPaths, mustRun, report, runsOption } from './lib.ts';

const { shared, benchDir, work, node, lading } = benchPaths('build');
const oracle = join(shared, 'tools/apk-oracle');
const RUNS = runsOption(5);
const LEVEL = 5; // lading's default gzip level (src/oci/layer.ts DEFAULT_LEVEL)

rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });

interface Scenario {
  name: string;
  repo: string;
  keysDir: string;
  key: string;
  world: string[];
  layering?: boolean;
}

/** `budget` set: `layering: {strategy: origin, budget}`; `streams`: `layering: {strategy: package}`. */
function config(s: Scenario, repo = s.repo, budget?: number, streams = false): string {
  const path = join(
    work,
    `${s.name}${repo === s.repo ? '' : '-changed'}${budget ? `-layered-${budget}` : ''}${streams ? '-streams' : ''}.yaml`,
  );
  writeFileSync(
    path,
    `contents:\n  repositories: [${repo}]\n  keyring: [${s.key}]\n  packages: [${s.world.join(', ')}]\narchs: [x86_64]\n` +
      (budget ? `layering:\n  strategy: origin\n  budget: ${budget}\n` : '') +
      (streams ? 'layering:\n  strategy: package\n' : ''),
  );
  return path;
}

function sh(cmd: string): string[] {
  return ['bash', '-c', `set -o pipefail; ${cmd}`];
}

/** The .apk files of the resolved package set (from the SBOM of a build). */
function packageFiles(s: Scenario, sbomDir: string): string[] {
  const doc = JSON.parse(readFileSync(join(sbomDir, 'sbom-x86_64.spdx.json'), 'utf8'));
  return doc.packages
    .filter((p: { externalRefs?: { referenceLocator: string }[] }) =>
      p.externalRefs?.some((r) => r.referenceLocator.startsWith('pkg:apk/')),
    )
    .map((p: { name: string; versionInfo: string }) =>
      join(s.repo, 'x86_64', `${p.name}-${p.versionInfo}.apk`),
    );
}

/** Targets of the build section, per scenario (issue 11). */
interface Targets {
  coldB: number;
  coldC: number;
  /** A cold with `layering: {strategy: package}` / C. */
  streamsC?: number;
  warmC?: number;
  packedC?: number;
}

function buildSection(s: Scenario, runs: number, targets: Targets): ReturnType<typeof report> {
  const cfg = config(s);
  const out = join(work, `${s.name}.tar`);
  const coldCache = join(work, `${s.name}-cold-cache`);
  const warmCache = join(work, `${s.name}-warm-cache`);
  const ladingArgs = (cache: string, extra: string[] = [], file = cfg) => [
    node,
    lading,
    'build',
    file,
    'bench:1',
    out,
    '--cache-dir',
    cache,
    '--log-level',
    'error',
    ...extra,
  ];
  // fill the warm cache and learn the package set
  mustRun(ladingArgs(warmCache, ['--sbom-path', join(work, `${s.name}-sbom`)]));
  const apks = packageFiles(s, join(work, `${s.name}-sbom`));
  const apkRoot = join(work, `${s.name}-apk-root`);
  const cold: BenchCommand = {
    name: 'A cold: lading build, empty cache',
    argv: ladingArgs(coldCache),
    before: () => rmSync(coldCache, { recursive: true, force: true }),
  };
  const streams: BenchCommand = {
    name: "A cold, layering: package (each package's own data stream a layer)",
    argv: ladingArgs(coldCache, [], config(s, s.repo, undefined, true)),
    before: () => rmSync(coldCache, { recursive: true, force: true }),
  };
  const zstd: BenchCommand = {
    name: 'A cold, --compression zstd',
    argv: ladingArgs(coldCache, ['--compression', 'zstd']),
    before: () => rmSync(coldCache, { recursive: true, force: true }),
  };
  const warm: BenchCommand = {
    name: 'A warm: lading build, cache filled (the image memo answers)',
    argv: ladingArgs(warmCache),
    // a real build, not the no-op: the output is gone and the build record with it
    before: () => {
      rmSync(out, { force: true });
      rmSync(layoutPaths(warmCache).buildRecords, { recursive: true, force: true });
    },
  };
  const packed: BenchCommand = {
    name: 'A warm, image packed again: cache filled but the remembered image removed',
    argv: ladingArgs(warmCache),
    // resolution, expanded packages and layers come from the cache; the filesystem, layer keys, SBOMs and
    // documents are computed again
    before: () => {
      rmSync(out, { force: true });
      rmSync(layoutPaths(warmCache).buildRecords, { recursive: true, force: true });
      rmSync(join(layoutPaths(warmCache).refs, IMAGES.name), { recursive: true, force: true });
    },
  };
  const b: BenchCommand = {
    name: `B: apk-tools add, then tar, gzip -6, sha256sum`,
    argv: sh(
      `${oracle} add --root ${apkRoot} --initdb --no-network --no-scripts --arch x86_64 --keys-dir ${s.keysDir} --repository ${s.repo} ${s.world.join(' ')} >/dev/null && ` +
        `tar --sort=name --numeric-owner -C ${apkRoot} -cf - . | gzip -6 | sha256sum >/dev/null`,
    ),
    before: () => rmSync(apkRoot, { recursive: true, force: true }),
  };
  const c: BenchCommand = {
    name: `C: floor: inflate all, pigz -p2 -${LEVEL}, sha256sum`,
    argv: sh(`cat ${apks.join(' ')} | gzip -dc | pigz -p2 -${LEVEL} | sha256sum >/dev/null`),
  };
  const cmds = [cold, streams, zstd, warm, packed, b, c];
  const results = alternate(cmds, { runs, warmup: 1 });
  const t = (label: string, num: BenchCommand, den: BenchCommand, target?: number) => ({
    label: target === undefined ? label : `${label} (target ≤ ${target})`,
    num: num.name,
    den: den.name,
    ...(target === undefined ? {} : { target }),
  });
  const peak = Math.max(...[cold, streams, zstd, warm, packed].map((x) => results.get(x.name)!.peakRssMiB));
  const rows = report(`${s.name}: ${apks.length} packages`, results, [
    t('A cold / B', cold, b, targets.coldB),
    t('A cold / C', cold, c, targets.coldC),
    t('A cold, layering: package / C', streams, c, targets.streamsC),
    t('A cold, layering: package / A cold', streams, cold),
    t('A cold, --compression zstd / C', zstd, c),
    t('A cold, --compression zstd / A cold', zstd, cold),
    t('A warm (image memo) / C', warm, c, targets.warmC),
    t('A warm, image packed again / C', packed, c, targets.packedC),
    t('A warm / B', warm, b),
  ]);
  console.log(
    `| lading's peak RSS, any build above | ${peak.toFixed(0)} MiB | ≤ 256 MiB | ${peak <= 256 ? 'met' : 'MISSED'} |`,
  );
  return [...rows, { label: `${s.name}: peak RSS ≤ 256 MiB`, ratio: peak / 256, target: 1, ok: peak <= 256 }];
}

function noopSection(s: Scenario): ReturnType<typeof report> {
  const cfg = config(s);
  const cache = join(work, `${s.name}-warm-cache`);
  const argv = (out: string, tag = 'bench:1') => [
    node,
    lading,
    'build',
    cfg,
    tag,
    out,
    '--cache-dir',
    cache,
    '--log-level',
    'error',
  ];
  const outs = [join(work, `${s.name}-noop.tar`), join(work, `${s.name}-noop-layout/`)];
  const tags = ['bench:1', 'bench:2'];
  for (const o of outs) mustRun(argv(o));
  for (const tag of tags) mustRun(argv(outs[1]!, tag));
  const cmds: BenchCommand[] = [
    { name: 'D: lading build, nothing changed', argv: argv(outs[0]!) },
    // each run answers for another output than the one before: a tarball and a layout in turn
    { name: 'D, outputs in turn: the tarball, then the layout', argv: argv(outs[1]!) },
    { name: 'D, outputs in turn: the tarball again', argv: argv(outs[0]!) },
    // two tags written in turn into one layout: each run writes back the index.json the other replaced
    { name: 'D, two tags of one layout in turn: bench:2', argv: argv(outs[1]!, tags[1]) },
    { name: 'D, two tags of one layout in turn: bench:1', argv: argv(outs[1]!, tags[0]) },
    { name: 'node -e 0', argv: [node, '-e', '0'] },
  ];
  const results = alternate(cmds, { runs: 15, warmup: 2 });
  const node0 = cmds[5]!.name;
  return report('no-op rebuild', results, [
    { label: 'D / node -e 0 (target ≤ 1.5)', num: cmds[0]!.name, den: node0, target: 1.5 },
    { label: 'D, outputs in turn / node -e 0 (target ≤ 1.5)', num: cmds[1]!.name, den: node0, target: 1.5 },
    {
      label: 'D, two tags of one layout in turn / node -e 0 (target ≤ 1.5)',
      num: cmds[3]!.name,
      den: node0,
      target: 1.5,
    },
  ]);
}

/**
 * E: the rebuild after one package changed. With a budget of at least the number of origins every origin has
 * its own layer, and only the changed package's layer and the top layer are rebuilt (the target). With apko's
 * budget of 10 most origins share an overflow layer, which is rebuilt whole when one of its packages changes:
 * measured too, for information.
 */
function changedSection(s: Scenario, changedRepo: string, runs: number): ReturnType<typeof report> {
  const coldCache = join(work, `${s.name}-layered-cold-cache`);
  const cmds: BenchCommand[] = [];
  for (const budget of [64, 10]) {
    const out = join(work, `${s.name}-layered-${budget}.tar`);
    const cache = join(work, `${s.name}-layered-${budget}-cache`);
    const snapshot = `${cache}-snapshot`;
    mustRun([
      node,
      lading,
      'build',
      config(s, s.repo, budget),
      'bench:1',
      out,
      '--cache-dir',
      snapshot,
      '--log-level',
      'error',
    ]);
    cmds.push({
      name: `E: rebuild after one package changed (layering: origin, budget ${budget})`,
      argv: [
        node,
        lading,
        'build',
        config(s, changedRepo, budget),
        'bench:1',
        out,
        '--cache-dir',
        cache,
        '--log-level',
        'error',
      ],
      // the cache as the build of the unchanged repository left it
      before: () => {
        rmSync(cache, { recursive: true, force: true });
        cpSync(snapshot, cache, { recursive: true });
      },
    });
  }
  cmds.push({
    name: 'A cold: lading build, empty cache',
    argv: [
      node,
      lading,
      'build',
      config(s),
      'bench:1',
      join(work, 'cold.tar'),
      '--cache-dir',
      coldCache,
      '--log-level',
      'error',
    ],
    before: () => rmSync(coldCache, { recursive: true, force: true }),
  });
  const results = alternate(cmds, { runs, warmup: 1 });
  return report('rebuild after one package changed', results, [
    {
      label: 'E (one layer per origin) / A cold (target ≤ 0.25)',
      num: cmds[0]!.name,
      den: cmds[2]!.name,
      target: 0.25,
    },
    { label: 'E (budget 10: shared overflow layer) / A cold', num: cmds[1]!.name, den: cmds[2]!.name },
  ]);
}

const large = await ensureLargeRepo(benchDir);
const alpine: Scenario = {
  name: 'alpine-base',
  repo: join(shared, 'fixtures/alpine/v3.19.1-iso-repo'),
  keysDir: join(shared, 'fixtures/alpine/keys'),
  key: join(shared, 'fixtures/alpine/keys/alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub'),
  world: ['alpine-base'],
};
const big: Scenario = {
  name: `generated (${large.packages} packages, ${(large.installedBytes / 1e6).toFixed(0)} MB installed)`.replace(
    /[ ()]/g,
    '_',
  ),
  repo: large.repo,
  keysDir: join(large.key, '..'),
  key: large.key,
  world: ['bench-all'],
};
console.log(
  `node ${process.versions.node}, ${RUNS} runs per command after a warm-up, medians; CPU: ${mustRun(['nproc']).trim()} cores`,
);
const all = [
  ...buildSection(alpine, RUNS, { coldB: 0.6, coldC: 1.5, warmC: 0.7, packedC: 1.0 }),
  ...buildSection(big, Math.max(3, Math.ceil(RUNS / 2)), { coldB: 0.4, coldC: 1.0, streamsC: 0.5 }),
  ...noopSection(alpine),
  ...changedSection(big, large.changedRepo, Math.max(3, Math.ceil(RUNS / 2))),
];
const missed = all.filter((r) => r.ok === false);
console.log(
  `\n${all.filter((r) => r.ok).length} of ${all.filter((r) => r.ok !== undefined).length} targets met${missed.length ? `; missed: ${missed.map((m) => m.label).join(', ')}` : ''}`,
);
rmSync(work, { recursive: true, force: true });
