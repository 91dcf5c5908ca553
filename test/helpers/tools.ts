/**
 * Real external tools used by the tests. A missing tool is a loud failure, never a skip:
 * `.ci/run` installs them all.
 */
import {
  type ChildProcess,
  type SpawnOptions,
  type SpawnSyncOptions,
  spawn,
  spawnSync,
} from 'node:child_process';
import { mkdtempSync, rmSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ladingBin } from './paths.ts';

export function requireTool(name: string): string {
  const r = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  const path = r.stdout.trim();
  if (r.status !== 0 || !path) {
    throw new Error(`required tool "${name}" is not installed; .ci/run installs it (apt-get install …)`);
  }
  return path;
}

export interface RunResult {
  status: number;
  stdout: string;
  stderr: string;
}

export function run(cmd: string, args: string[], options: SpawnSyncOptions = {}): RunResult {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 256 << 20, ...options });
  if (r.error) throw r.error;
  return { status: r.status ?? 128, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') };
}

/** Runs the lading CLI exactly as a user would (`bin/lading.js` on the pinned Node). */
export function lading(args: string[], options: SpawnSyncOptions = {}): RunResult {
  return run(process.execPath, [ladingBin, ...args], options);
}

/** A temporary directory removed when the returned disposer runs (use with `t.after`). */
export function tempDir(prefix = 'lading-test-'): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/**
 * A temporary directory in memory (/dev/shm) when it has room, else as tempDir: for what a test writes in bulk
 * and throws away (a registry's storage, a work tree of caches and layouts), it spares the CPU a disk's
 * journal and fsyncs cost.
 */
export function memoryTempDir(prefix = 'lading-test-'): { path: string; remove: () => void } {
  try {
    const shm = statfsSync('/dev/shm');
    if (shm.bavail * shm.bsize >= 2 ** 31) {
      const path = mkdtempSync(join('/dev/shm', prefix));
      return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
    }
  } catch {
    // no /dev/shm here
  }
  return tempDir(prefix);
}

/** Like run(), without blocking the event loop (needed when the test process itself serves HTTP). */
export function runAsync(cmd: string, args: string[], options: SpawnOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ status: code ?? (signal ? 128 : 1), stdout, stderr }));
  });
}

/** The lading CLI without blocking the event loop. */
export function ladingAsync(args: string[], options: SpawnOptions = {}): Promise<RunResult> {
  return runAsync(process.execPath, [ladingBin, ...args], options);
}

/** Stops a server the test started: SIGTERM, then SIGKILL after `graceMs`; resolves once it has exited. */
export async function stopChild(proc: ChildProcess, graceMs = 5000): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  proc.kill('SIGTERM');
  await Promise.race([exited, sleep(graceMs, undefined, { ref: false })]);
  if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  await exited;
}

export interface LimitedRun extends RunResult {
  /** True when the time limit ended it (SIGKILL). */
  timedOut: boolean;
}

/**
 * A child process with a time limit (SIGKILL when it passes) and capped output (what comes after `maxOutput`
 * bytes of stdout or stderr is dropped): a test must never hang on, or fill the disk with, a runaway process.
 * `onSpawn` gets the child (to kill it on purpose).
 */
export function runLimited(
  cmd: string,
  args: string[],
  options: SpawnOptions & {
    timeoutMs?: number;
    maxOutput?: number;
    onSpawn?: (child: ChildProcess) => void;
  } = {},
): Promise<LimitedRun> {
  const { timeoutMs = 60_000, maxOutput = 1 << 20, onSpawn, ...spawnOptions } = options;
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { ...spawnOptions, stdio: ['ignore', 'pipe', 'pipe'] });
    onSpawn?.(child);
    const out = { stdout: '', stderr: '' };
    const take = (which: 'stdout' | 'stderr') => (d: Buffer) => {
      if (out[which].length < maxOutput)
        out[which] += d.toString('utf8').slice(0, maxOutput - out[which].length);
    };
    child.stdout!.on('data', take('stdout'));
    child.stderr!.on('data', take('stderr'));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ status: code ?? (signal ? 128 : 1), ...out, timedOut });
    });
  });
}
