/**
 * The benchmark's large repository, generated once with `lading package` + `lading index` from real
 * binaries and libraries of this machine (/usr/lib/python3.11, shared libraries, /usr/bin): ≥ 150
 * packages, ≥ 100 MB installed, in origins of four packages, plus `bench-all` depending on all of them.
 * A second repository has one package changed (a new version with different content), for the
 * rebuild-after-one-change benchmark. Both live under .bench/ (ignored by git) and are reused.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, linkSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const lading = join(root, 'bin/lading.js');
const FORMAT = 'large-repo-v1';
const TARGET_PACKAGE_BYTES = 256 * 1024;

export interface LargeRepo {
  repo: string;
  changedRepo: string;
  key: string;
  packages: number;
  installedBytes: number;
}

function listFiles(): { path: string; size: number }[] {
  const find = (args: string[]) =>
    execFileSync('find', args, { encoding: 'utf8', maxBuffer: 64 << 20 })
      .split('\n')
      .filter(Boolean)
      .map((l) => {
        const i = l.indexOf(' ');
        return { size: Number(l.slice(0, i)), path: l.slice(i + 1) };
      })
      .sort((a, b) => (a.path < b.path ? -1 : 1));
  const capped = (files: { path: string; size: number }[], budget: number) => {
    const out = [];
    let used = 0;
    for (const f of files) {
      if (f.size > 8 << 20 || used + f.size > budget) continue;
      out.push(f);
      used += f.size;
    }
    return out;
  };
  return [
    ...find(['/usr/lib/python3.11', '-type', 'f', '-printf', '%s %p\n']),
    ...capped(
      find([
        '/usr/lib/x86_64-linux-gnu',
        '-maxdepth',
        '1',
        '-type',
        'f',
        '-name',
        '*.so*',
        '-printf',
        '%s %p\n',
      ]),
      45e6,
    ),
    ...capped(find(['/usr/bin', '-maxdepth', '1', '-type', 'f', '-printf', '%s %p\n']), 20e6),
  ];
}

async function runLimited(jobs: (() => Promise<void>)[], concurrency: number): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < jobs.length) await jobs[next++]!();
    }),
  );
}

/** Package times come from SOURCE_DATE_EPOCH: the generated repository is the same on every run. */
const ENV = { ...process.env, SOURCE_DATE_EPOCH: '1700000000' };

function ladingAsync(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [lading, ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: ENV,
    });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`lading ${args[0]} failed: ${err}`)),
    );
  });
}

function stage(dir: string, files: string[]): void {
  mkdirSync(dir, { recursive: true });
  const list = join(dir, '..', `${dir.split('/').pop()}.list`);
  writeFileSync(list, files.map((f) => f.slice(1)).join('\n'));
  execFileSync('sh', ['-c', `tar -C / -cf - -T '${list}' | tar -C '${dir}' -xf -`]);
}

export async function ensureLargeRepo(benchDir: string): Promise<LargeRepo> {
  const base = join(benchDir, FORMAT);
  const repo = join(base, 'repo');
  const changedRepo = join(base, 'repo-changed');
  const key = join(base, 'keys', 'bench@lading.rsa.pub');
  const done = join(base, 'done.json');
  if (existsSync(done)) return JSON.parse(readFileSync(done, 'utf8'));

  rmSync(base, { recursive: true, force: true });
  mkdirSync(join(base, 'keys'), { recursive: true });
  execFileSync(process.execPath, [lading, 'keygen', join(base, 'keys', 'bench@lading'), '--bits', '2048']);
  const priv = join(base, 'keys', 'bench@lading.rsa');

  const files = listFiles();
  const groups: string[][] = [];
  let current: string[] = [];
  let size = 0;
  for (const f of files) {
    current.push(f.path);
    size += f.size;
    if (size >= TARGET_PACKAGE_BYTES) {
      groups.push(current);
      current = [];
      size = 0;
    }
  }
  if (current.length) groups.push(current);

  const arch = join(repo, 'x86_64');
  mkdirSync(arch, { recursive: true });
  const names = groups.map((_, i) => `bench-p${String(i).padStart(3, '0')}`);
  process.stderr.write(`generating ${groups.length} packages from ${files.length} files of this machine…\n`);
  const pkg = (name: string, i: number, src: string, version: string, out: string) =>
    ladingAsync([
      'package',
      src,
      '-o',
      out,
      '--name',
      name,
      '--version',
      version,
      '--arch',
      'x86_64',
      '--origin',
      `bench-o${String(Math.floor(i / 4)).padStart(3, '0')}`,
      '--description',
      'lading benchmark package',
      '--license',
      'MIT',
      '--key',
      priv,
      '--root-owned',
    ]);
  await runLimited(
    groups.map((g, i) => async () => {
      const src = join(base, 'src', names[i]!);
      stage(src, g);
      await pkg(names[i]!, i, src, '1.0-r0', join(arch, `${names[i]}-1.0-r0.apk`));
    }),
    2,
  );
  const metaSrc = join(base, 'src', 'bench-all');
  mkdirSync(join(metaSrc, 'etc'), { recursive: true });
  writeFileSync(join(metaSrc, 'etc', 'bench-release'), 'lading benchmark\n');
  const metaArgs = [
    'package',
    metaSrc,
    '-o',
    join(arch, 'bench-all-1.0-r0.apk'),
    '--name',
    'bench-all',
    '--version',
    '1.0-r0',
    '--arch',
    'x86_64',
    '--key',
    priv,
    '--root-owned',
  ];
  for (const n of names) metaArgs.push('--depends', n);
  await ladingAsync(metaArgs);
  await ladingAsync([
    'index',
    '--key',
    priv,
    '-o',
    join(arch, 'APKINDEX.tar.gz'),
    ...readdirSync(arch)
      .filter((f) => f.endsWith('.apk'))
      .map((f) => join(arch, f)),
  ]);

  // the same repository with one package changed (a new release with one more file)
  const changedArch = join(changedRepo, 'x86_64');
  mkdirSync(changedArch, { recursive: true });
  const changed = names[Math.floor(names.length / 2)]!;
  for (const f of readdirSync(arch)) {
    if (f.endsWith('.apk') && !f.startsWith(`${changed}-`)) linkSync(join(arch, f), join(changedArch, f));
  }
  const changedSrc = join(base, 'src', changed);
  mkdirSync(join(changedSrc, 'usr', 'share', changed), { recursive: true });
  writeFileSync(join(changedSrc, 'usr', 'share', changed, 'CHANGES'), 'a new release\n');
  await pkg(
    changed,
    names.indexOf(changed),
    changedSrc,
    '1.0-r1',
    join(changedArch, `${changed}-1.0-r1.apk`),
  );
  await ladingAsync([
    'index',
    '--key',
    priv,
    '-o',
    join(changedArch, 'APKINDEX.tar.gz'),
    ...readdirSync(changedArch)
      .filter((f) => f.endsWith('.apk'))
      .map((f) => join(changedArch, f)),
  ]);

  const installedBytes = files.reduce((s, f) => s + f.size, 0);
  const result: LargeRepo = { repo, changedRepo, key, packages: names.length + 1, installedBytes };
  writeFileSync(done, JSON.stringify(result));
  rmSync(join(base, 'src'), { recursive: true, force: true });
  return result;
}
