/**
 * Real external tools used by the tests. A missing tool is a loud failure, never a skip:
 * `.ci/run` installs them all.
 */
import { type SpawnOptions, type SpawnSyncOptions, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
