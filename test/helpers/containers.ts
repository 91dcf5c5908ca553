/**
 * Real container tools for end-to-end tests: umoci + runc to run an image from an OCI layout (a private Docker
 * engine is in dockerd.ts).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireTool, run } from './tools.ts';

/** Unpacks `layout:ref` with umoci and runs `args` in it with runc; returns the process output. */
export function runInLayout(
  layout: string,
  ref: string,
  args: string[] | undefined,
  workDir: string,
  options: { root?: boolean } = {},
): { status: number; stdout: string; stderr: string } {
  requireTool('umoci');
  requireTool('runc');
  const bundle = join(workDir, `bundle-${Math.random().toString(36).slice(2)}`);
  const unpack = run('umoci', ['unpack', '--image', `${layout}:${ref}`, bundle]);
  if (unpack.status !== 0) throw new Error(`umoci unpack failed: ${unpack.stderr}`);
  const configPath = join(bundle, 'config.json');
  const config = JSON.parse(readFileSync(configPath, 'utf8'));
  config.process.terminal = false;
  if (args) config.process.args = args;
  if (options.root) config.process.user = { uid: 0, gid: 0 };
  // docker's default set includes these; without them root cannot read a 0111 file such as bbsuid
  for (const set of ['bounding', 'effective', 'permitted']) {
    config.process.capabilities[set] = [
      ...new Set([...(config.process.capabilities[set] ?? []), 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH']),
    ];
  }
  writeFileSync(configPath, JSON.stringify(config));
  const id = `lading-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const r = run('runc', ['--root', join(workDir, 'runc-state'), 'run', '--bundle', bundle, id], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  run('runc', ['--root', join(workDir, 'runc-state'), 'delete', '-f', id]);
  return r;
}

/** The image config as umoci turns it into a runtime spec (user, cwd, env, args). */
export function runtimeSpec(
  layout: string,
  ref: string,
  workDir: string,
): { user: { uid: number; gid: number }; cwd: string; env: string[]; args: string[] } {
  const bundle = join(workDir, `spec-${Math.random().toString(36).slice(2)}`);
  const unpack = run('umoci', ['unpack', '--image', `${layout}:${ref}`, bundle]);
  if (unpack.status !== 0) throw new Error(`umoci unpack failed: ${unpack.stderr}`);
  return JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8')).process;
}
