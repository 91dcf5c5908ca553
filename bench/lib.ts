/**
 * Benchmark plumbing: whole-process timings, alternating the commands of a comparison so machine noise
 * hits them alike, medians, and peak RSS and CPU time from GNU time. Ratios are always against a reference
 * measured in the same run — never absolute thresholds. Beside each wall-time ratio the CPU-time ratio is
 * printed: on a machine busy with other work it moves much less than the wall time.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export interface BenchCommand {
  name: string;
  /** argv run under /usr/bin/time (use ['bash', '-c', '…'] for pipelines). */
  argv: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Runs (untimed) before every timed run, e.g. to empty a cache or remove the output. */
  before?: () => void;
}

export interface Measurement {
  name: string;
  samples: number[];
  median: number;
  /** Median CPU time (user + system, the command and its children), in seconds. */
  cpuMedian: number;
  /** Largest max-RSS seen over the runs, in MiB. */
  peakRssMiB: number;
}

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

function runOnce(cmd: BenchCommand): { seconds: number; cpu: number; rssKiB: number } {
  cmd.before?.();
  const dir = mkdtempSync(join(tmpdir(), 'lading-bench-'));
  const timeFile = join(dir, 'time');
  const started = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-f', '%U %S %M', '-o', timeFile, ...cmd.argv], {
    env: cmd.env ?? process.env,
    cwd: cmd.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 64 << 20,
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const [user, system, rss] = readFileSync(timeFile, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
  const rssKiB = rss!;
  const cpu = user! + system!;
  rmSync(dir, { recursive: true, force: true });
  if (r.status !== 0) {
    throw new Error(
      `benchmark command "${cmd.name}" failed (exit ${r.status}):\n${r.stderr}${r.stdout}`.slice(0, 4000),
    );
  }
  return { seconds, cpu, rssKiB };
}

/** Runs each command `warmup` times, then `runs` rounds in which every command runs once, in turn. */
export function alternate(
  cmds: BenchCommand[],
  options: { runs?: number; warmup?: number } = {},
): Map<string, Measurement> {
  const runs = options.runs ?? 5;
  const warmup = options.warmup ?? 1;
  for (let i = 0; i < warmup; i++) for (const c of cmds) runOnce(c);
  const samples = new Map<string, { t: number[]; cpu: number[]; rss: number }>(
    cmds.map((c) => [c.name, { t: [], cpu: [], rss: 0 }]),
  );
  for (let i = 0; i < runs; i++) {
    for (const c of cmds) {
      const r = runOnce(c);
      const s = samples.get(c.name)!;
      s.t.push(r.seconds);
      s.cpu.push(r.cpu);
      s.rss = Math.max(s.rss, r.rssKiB);
    }
  }
  return new Map(
    cmds.map((c) => {
      const s = samples.get(c.name)!;
      const m = {
        name: c.name,
        samples: s.t,
        median: median(s.t),
        cpuMedian: median(s.cpu),
        peakRssMiB: s.rss / 1024,
      };
      return [c.name, m];
    }),
  );
}

export function fmtSeconds(s: number): string {
  return s < 1 ? `${(s * 1000).toFixed(0)} ms` : `${s.toFixed(2)} s`;
}

/** Prints a table of medians plus ratio rows `a / b` with their target. */
export function report(
  title: string,
  results: Map<string, Measurement>,
  ratios: { label: string; num: string; den: string; target?: number }[],
): { label: string; ratio: number; target?: number; ok?: boolean }[] {
  console.log(`\n## ${title}`);
  console.log('| command | median | runs | CPU (median) | peak RSS |');
  console.log('|---|---|---|---|---|');
  for (const m of results.values()) {
    console.log(
      `| ${m.name} | ${fmtSeconds(m.median)} | ${m.samples.map(fmtSeconds).join(', ')} | ${fmtSeconds(m.cpuMedian)} | ${m.peakRssMiB.toFixed(0)} MiB |`,
    );
  }
  const out = [];
  if (ratios.length) {
    console.log('\n| ratio | value | target | | CPU ratio |');
    console.log('|---|---|---|---|---|');
  }
  for (const r of ratios) {
    const [num, den] = [results.get(r.num)!, results.get(r.den)!];
    const ratio = num.median / den.median;
    const ok = r.target === undefined ? undefined : ratio <= r.target;
    console.log(
      `| ${r.label} | ${ratio.toFixed(2)}× | ${r.target === undefined ? '' : `≤ ${r.target}×`} | ${ok === undefined ? '' : ok ? 'met' : 'MISSED'} | ${(num.cpuMedian / Math.max(den.cpuMedian, 0.001)).toFixed(2)}× |`,
    );
    out.push({ label: r.label, ratio, target: r.target, ok });
  }
  return out;
}

/** Where a benchmark section works: the checkout, ../shared, `.bench/`, its own scratch dir, node and lading. */
export function benchPaths(section: string) {
  const root = resolve(import.meta.dirname, '..');
  const benchDir = join(root, '.bench');
  return {
    root,
    shared: process.env.LADING_SHARED ?? resolve(root, '../shared'),
    benchDir,
    work: join(benchDir, `${section}-work`),
    node: process.execPath,
    lading: join(root, 'bin/lading.js'),
  };
}

/** `--runs N` from the command line, or the default. */
export function runsOption(fallback: number): number {
  const i = process.argv.indexOf('--runs');
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

/** Runs a setup command; its failure ends the benchmark with its stderr. */
export function mustRun(argv: string[]): string {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${argv.join(' ')} failed:\n${r.stderr}`);
  return r.stdout;
}
