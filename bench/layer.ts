/**
 * Micro-benchmark of the layer writer against `tar --sort=name … | pigz -p2 -<level> | sha256sum` on the same
 * tree (default: /usr/lib/python3.11 + ~52 MB of /usr/lib/x86_64-linux-gnu shared libraries, ≈100 MB), files
 * streamed from disk. Each run is a fresh process (so peak RSS is per run); prints medians and ratios.
 *
 *   node bench/layer.ts [--runs 5] [--levels 1,5,6,none] [ROOT…]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import {
  lstatSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeLayer } from '../src/oci/layer.ts';
import type { LayerEntry } from '../src/oci/types.ts';

const LIB_DIR = '/usr/lib/x86_64-linux-gnu';
const LIB_BUDGET = 52e6;

/** Sorted absolute paths of the tree (directories included, so the tar has them too). */
function treePaths(roots: string[]): string[] {
  const out = new Set<string>();
  const addParents = (p: string) => {
    for (let i = p.indexOf('/', 1); i > 0; i = p.indexOf('/', i + 1)) out.add(p.slice(0, i));
  };
  const walk = (p: string) => {
    out.add(p);
    if (!lstatSync(p).isDirectory()) return;
    for (const name of readdirSync(p)) walk(join(p, name));
  };
  for (const root of roots) {
    addParents(root);
    walk(root);
  }
  if (roots.length === 0) {
    // the python tree, plus shared libraries (< 20 MB each, in name order) up to the budget
    addParents('/usr/lib/python3.11');
    walk('/usr/lib/python3.11');
    out.add(LIB_DIR);
    let total = 0;
    for (const name of readdirSync(LIB_DIR).sort()) {
      const p = join(LIB_DIR, name);
      const st = lstatSync(p);
      if (!st.isFile() || st.size >= 20e6) continue;
      if (total + st.size >= LIB_BUDGET) break;
      total += st.size;
      out.add(p);
    }
  }
  return [...out].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)) as number);
}

function entries(paths: string[]): LayerEntry[] {
  return paths.map((p): LayerEntry => {
    const st = lstatSync(p);
    const base = { path: p.slice(1), mode: st.mode & 0o7777, uid: 0, gid: 0, mtime: 0, size: 0 };
    if (st.isDirectory()) return { ...base, type: 'directory' };
    if (st.isSymbolicLink()) return { ...base, type: 'symlink', linkname: readlinkSync(p) };
    return {
      ...base,
      type: 'file',
      size: st.size,
      content: { kind: 'file', path: p, offset: 0, size: st.size },
    };
  });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

interface ChildResult {
  ms: number;
  /** user + system CPU of the whole child process */
  cpuMs: number;
  /** whole child process, measured by the parent (node start, file walk, writeLayer) */
  wallMs?: number;
  size: number;
  uncompressedSize: number;
  maxRssMiB: number;
  digest: string;
}

async function child(level: string, listFile: string, out: string): Promise<void> {
  const paths = readFileSync(listFile, 'utf8').split('\n').filter(Boolean);
  const list = entries(paths);
  const t0 = performance.now();
  const layer = await writeLayer(
    list,
    out,
    level === 'none' ? { compression: 'none' } : { level: Number(level) },
  );
  const ms = performance.now() - t0;
  const r: ChildResult = {
    ms,
    size: layer.size,
    uncompressedSize: layer.uncompressedSize,
    cpuMs: (process.resourceUsage().userCPUTime + process.resourceUsage().systemCPUTime) / 1000,
    maxRssMiB: process.resourceUsage().maxRSS / 1024,
    digest: layer.digest,
  };
  process.stdout.write(JSON.stringify(r));
}

/** `tar | pigz | sha256sum` on the same list; wall and CPU time from bash's `time` (includes children). */
function pipeline(dir: string, level: string): { wallMs: number; cpuMs: number } {
  const compress = level === 'none' ? 'cat' : `pigz -p2 -${level} -n`;
  const tar = `tar --no-recursion --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C / -cf - -T ${dir}/list.rel`;
  const sh = `TIMEFORMAT='%R %U %S'; { time ( ${tar} | ${compress} | tee >(wc -c > ${dir}/size) | sha256sum >/dev/null ) ; } 2> ${dir}/time`;
  execFileSync('bash', ['-c', sh], { stdio: 'inherit' });
  const [real, user, sys] = readFileSync(join(dir, 'time'), 'utf8').trim().split(/\s+/).map(Number);
  return { wallMs: real! * 1000, cpuMs: (user! + sys!) * 1000 };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === '--child') return child(args[1]!, args[2]!, args[3]!);
  let runs = 5;
  let levels = ['1', '5', '6', 'none'];
  const roots: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--runs') runs = Number(args[++i]);
    else if (args[i] === '--levels') levels = args[++i]!.split(',');
    else roots.push(args[i]!);
  }
  const dir = mkdtempSync(join(tmpdir(), 'lading-bench-layer-'));
  try {
    const paths = treePaths(roots);
    const listFile = join(dir, 'list');
    writeFileSync(listFile, `${paths.join('\n')}\n`);
    // GNU tar reads the same list (relative to /), so both sides tar exactly the same members.
    writeFileSync(join(dir, 'list.rel'), `${paths.map((p) => p.slice(1)).join('\n')}\n`);
    console.log(
      `tree: ${paths.length} entries; ${runs} runs per row after a warm-up; node ${process.version}`,
    );
    console.log(
      '| level | lading writeLayer | MB/s (uncompressed) | lading process | CPU | blob size | peak RSS | tar, pigz -p2, sha256sum | CPU | blob size | process / pipeline (wall, CPU) |',
    );
    console.log('|---|---|---|---|---|---|---|---|---|---|---|');
    for (const level of levels) {
      const ours: ChildResult[] = [];
      const theirs: { wallMs: number; cpuMs: number }[] = [];
      let theirSize = 0;
      for (let i = 0; i <= runs; i++) {
        // alternate the two commands, so background load hits both alike
        const out = join(dir, 'layer');
        const w0 = performance.now();
        const r = spawnSync(process.execPath, [import.meta.filename, '--child', level, listFile, out], {
          encoding: 'utf8',
        });
        if (r.status !== 0) throw new Error(`child failed: ${r.stderr}`);
        const res = { ...(JSON.parse(r.stdout) as ChildResult), wallMs: performance.now() - w0 };
        rmSync(out);
        const theirsRun = pipeline(dir, level);
        if (i === 0) continue; // warm-up
        ours.push(res);
        theirs.push(theirsRun);
        theirSize = Number(readFileSync(join(dir, 'size'), 'utf8').trim());
      }
      const ms = median(ours.map((r) => r.ms));
      const mb = ours[0]!.uncompressedSize / 1e6;
      const wall = median(ours.map((r) => r.wallMs!));
      const cpu = median(ours.map((r) => r.cpuMs));
      const pWall = median(theirs.map((t) => t.wallMs));
      const pCpu = median(theirs.map((t) => t.cpuMs));
      const s = (v: number) => `${(v / 1000).toFixed(3)} s`;
      const cells = [
        level,
        s(ms),
        (mb / (ms / 1000)).toFixed(0),
        s(wall),
        s(cpu),
        `${(ours[0]!.size / 1e6).toFixed(2)} MB`,
        `${median(ours.map((r) => r.maxRssMiB)).toFixed(0)} MiB`,
        s(pWall),
        s(pCpu),
        `${(theirSize / 1e6).toFixed(2)} MB`,
        `${(wall / pWall).toFixed(2)}, ${(cpu / pCpu).toFixed(2)}`,
      ];
      console.log(`| ${cells.join(' | ')} |`);
    }
    console.log(
      '\n"lading writeLayer": the call alone; "lading process": the whole child process (node start, lstat walk,\nwriteLayer), comparable with the pipeline (wall clock of `bash -c`). CPU = user + system of all threads\nand processes. Peak RSS is the whole child process. Medians.',
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
