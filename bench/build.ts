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

/** `budget` set: `layering: {strategy: origin, budget}`. */
function config(s: Scenario, repo = s.repo, budget?: number): string {
  const path = join(
    work,
    `${s.name}${repo === s.repo ? '' : '-changed'}${budget ? `-layered-${budget}` : ''}.yaml`,
  );
  writeFileSync(
    path,
    `contents:\n  repositories: [${repo}]\n  keyring: [${s.key}]\n  packages: [${s.world.join(', ')}]\narchs: [x86_64]\n` +
      (budget ? `layering:\n  strategy: origin\n  budget: ${budget}\n` : ''),
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

function buildSection(s: Scenario, runs: number): ReturnType<typeof report> {
  const cfg = config(s);
  const out = join(work, `${s.name}.tar`);
  const coldCache = join(work, `${s.name}-cold-cache`);
  const warmCache = join(work, `${s.name}-warm-cache`);
  const ladingArgs = (cache: string, extra: string[] = []) => [
    node,
    lading,
    'build',
    cfg,
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
  const cmds: BenchCommand[] = [
    {
      name: 'A cold: lading build, empty cache',
      argv: ladingArgs(coldCache),
      before: () => rmSync(coldCache, { recursive: true, force: true }),
    },
    {
      name: 'A warm: lading build, cache filled',
      argv: ladingArgs(warmCache),
      // a real build, not the no-op: the output is gone and the build record with it
      before: () => {
        rmSync(out, { force: true });
        rmSync(layoutPaths(warmCache).buildRecords, { recursive: true, force: true });
      },
    },
    {
      name: 'A warm, image packed again: cache filled but the remembered image removed',
      argv: ladingArgs(warmCache),
      // resolution, expanded packages and layers come from the cache; the filesystem, layer keys, SBOMs and
      // documents are computed again
      before: () => {
        rmSync(out, { force: true });
        rmSync(layoutPaths(warmCache).buildRecords, { recursive: true, force: true });
        rmSync(join(layoutPaths(warmCache).refs, IMAGES.name), { recursive: true, force: true });
      },
    },
    {
      name: `B: apk-tools add, then tar, gzip -6, sha256sum`,
      argv: sh(
        `${oracle} add --root ${apkRoot} --initdb --no-network --no-scripts --arch x86_64 --keys-dir ${s.keysDir} --repository ${s.repo} ${s.world.join(' ')} >/dev/null && ` +
          `tar --sort=name --numeric-owner -C ${apkRoot} -cf - . | gzip -6 | sha256sum >/dev/null`,
      ),
      before: () => rmSync(apkRoot, { recursive: true, force: true }),
    },
    {
      name: `C: floor: inflate all, pigz -p2 -${LEVEL}, sha256sum`,
      argv: sh(`cat ${apks.join(' ')} | gzip -dc | pigz -p2 -${LEVEL} | sha256sum >/dev/null`),
    },
  ];
  const results = alternate(cmds, { runs, warmup: 1 });
  return report(`${s.name}: ${apks.length} packages`, results, [
    { label: 'A warm / B (target ≤ 0.5)', num: cmds[1]!.name, den: cmds[3]!.name, target: 0.5 },
    { label: 'A warm / C (target ≤ 1.0)', num: cmds[1]!.name, den: cmds[4]!.name, target: 1.0 },
    { label: 'A warm, image packed again / B', num: cmds[2]!.name, den: cmds[3]!.name },
    { label: 'A warm, image packed again / C', num: cmds[2]!.name, den: cmds[4]!.name },
    { label: 'A cold / B', num: cmds[0]!.name, den: cmds[3]!.name },
    { label: 'A cold / C', num: cmds[0]!.name, den: cmds[4]!.name },
  ]);
}

function noopSection(s: Scenario): ReturnType<typeof report> {
  const cfg = config(s);
  const out = join(work, `${s.name}-noop.tar`);
  const cache = join(work, `${s.name}-warm-cache`);
  const argv = [node, lading, 'build', cfg, 'bench:1', out, '--cache-dir', cache, '--log-level', 'error'];
  mustRun(argv);
  const cmds: BenchCommand[] = [
    { name: 'D: lading build, nothing changed', argv },
    { name: 'node -e 0', argv: [node, '-e', '0'] },
  ];
  const results = alternate(cmds, { runs: 15, warmup: 2 });
  return report('no-op rebuild', results, [
    { label: 'D / node -e 0 (target ≤ 2)', num: cmds[0]!.name, den: cmds[1]!.name, target: 2 },
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
  ...buildSection(alpine, RUNS),
  ...buildSection(big, Math.max(3, Math.ceil(RUNS / 2))),
  ...noopSection(alpine),
  ...changedSection(big, large.changedRepo, Math.max(3, Math.ceil(RUNS / 2))),
];
const missed = all.filter((r) => r.ok === false);
console.log(
  `\n${all.filter((r) => r.ok).length} of ${all.filter((r) => r.ok !== undefined).length} targets met${missed.length ? `; missed: ${missed.map((m) => m.label).join(', ')}` : ''}`,
);
rmSync(work, { recursive: true, force: true });
