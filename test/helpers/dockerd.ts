/**
 * A real Docker engine (Debian's docker.io) for one test file: all state in a temp dir, no bridge, no
 * iptables (recipe 06 of oci-tooling.md). Start it once in `before`, stop it in `after`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { requireTool, run, tempDir } from './tools.ts';

export interface Dockerd {
  /** The engine's address as DOCKER_HOST names it (`unix://…/docker.sock`). */
  host: string;
  /** Runs the docker CLI against this engine. */
  docker(args: string[], input?: string): { status: number; stdout: string; stderr: string };
  stop(): Promise<void>;
}

export async function startDockerd(): Promise<Dockerd> {
  const dockerd = requireTool('dockerd');
  const dockerCli = requireTool('docker');
  const tmp = tempDir('lading-dockerd-');
  const d = tmp.path;
  mkdirSync(join(d, 'cli'));
  writeFileSync(join(d, 'daemon.json'), '{}');
  const sock = join(d, 'docker.sock');
  const log = openSync(join(d, 'dockerd.log'), 'w');
  const proc: ChildProcess = spawn(
    dockerd,
    [
      '--config-file',
      join(d, 'daemon.json'),
      '--data-root',
      join(d, 'data'),
      '--exec-root',
      join(d, 'exec'),
      '--pidfile',
      join(d, 'docker.pid'),
      '-H',
      `unix://${sock}`,
      '--bridge=none',
      '--iptables=false',
      '--ip-forward=false',
      '--ip-masq=false',
      '--userland-proxy=false',
      '--log-level',
      'warn',
    ],
    { stdio: ['ignore', log, log] },
  );
  const env = { ...process.env, DOCKER_HOST: `unix://${sock}`, DOCKER_CONFIG: join(d, 'cli') };
  const docker = (args: string[], input?: string) => run(dockerCli, args, { env, input });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const stop = async () => {
    if (proc.exitCode === null) {
      proc.kill('SIGTERM');
      await Promise.race([exited, sleep(20_000, undefined, { ref: false })]);
      if (proc.exitCode === null) proc.kill('SIGKILL');
      await exited;
    }
    // what the engine left mounted beneath its directory (a swarm's network namespace) would keep it busy
    const mounts = readFileSync('/proc/mounts', 'utf8')
      .split('\n')
      .map((l) => l.split(' ')[1] ?? '')
      .filter((m) => m.startsWith(`${d}/`))
      .sort()
      .reverse();
    for (const m of mounts) run('umount', ['-l', m]);
    tmp.remove();
  };
  for (let i = 0; i < 300; i++) {
    if (proc.exitCode !== null) break;
    // no docker process (tens of ms of CPU each) before the engine has made its socket
    if (existsSync(sock) && docker(['version']).status === 0) return { host: `unix://${sock}`, docker, stop };
    await sleep(50);
  }
  const why = readFileSync(join(d, 'dockerd.log'), 'utf8').slice(-2000);
  await stop();
  throw new Error(`dockerd did not start:\n${why}`);
}
