/**
 * nginx as a Bazel-protocol HTTP cache (`/cache/cas/<hex>`, `/cache/ac/<hex>`: GET, HEAD, and WebDAV PUT) on
 * 127.0.0.1 for one test file, everything in a temp dir, run as `nobody` when the tests run as root
 * (reference/scale.md §3.2). `requests()` reads its access log: method, path and status per line.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './registry.ts';
import { requireTool, stopChild, tempDir } from './tools.ts';

export interface NginxCache {
  /** `http://127.0.0.1:PORT/cache/`: what --cache-from and --cache-to take. */
  url: string;
  /** Where the entries are on disk (`cas/`, `ac/`). */
  root: string;
  requests(): { method: string; path: string; status: number }[];
  stop(): Promise<void>;
}

export async function startNginxCache(): Promise<NginxCache> {
  const nginx = requireTool('nginx');
  const tmp = tempDir('lading-nginx-');
  const d = tmp.path;
  const root = join(d, 'cache');
  mkdirSync(root);
  const port = await freePort();
  const asNobody = process.getuid?.() === 0;
  writeFileSync(
    join(d, 'nginx.conf'),
    `daemon off;
worker_processes 1;
pid ${d}/nginx.pid;
error_log ${d}/error.log warn;
events { worker_connections 64; }
http {
  access_log ${d}/access.log;
  client_body_temp_path ${d}/body;
  proxy_temp_path ${d}/proxy;
  fastcgi_temp_path ${d}/fastcgi;
  uwsgi_temp_path ${d}/uwsgi;
  scgi_temp_path ${d}/scgi;
  server {
    listen 127.0.0.1:${port};
    location /cache/ {
      root ${d};
      dav_methods PUT;
      create_full_put_path on;
      client_max_body_size 1G;
    }
  }
}
`,
  );
  if (asNobody) {
    chmodSync(d, 0o755);
    for (const p of [d, root]) chownSync(p, 65534, 65534);
  }
  const proc: ChildProcess = asNobody
    ? spawn(
        requireTool('setpriv'),
        ['--reuid=nobody', '--regid=nogroup', '--clear-groups', nginx, '-p', d, '-c', join(d, 'nginx.conf')],
        { stdio: 'ignore' },
      )
    : spawn(nginx, ['-p', d, '-c', join(d, 'nginx.conf')], { stdio: 'ignore' });
  const stop = async () => {
    await stopChild(proc);
    tmp.remove();
  };
  const url = `http://127.0.0.1:${port}/cache/`;
  for (let i = 0; i < 200; i++) {
    if (proc.exitCode !== null) break;
    const ok = await fetch(url, { method: 'HEAD' }).then(
      () => true,
      () => false,
    );
    if (ok) {
      return {
        url,
        root,
        requests: () =>
          readFileSync(join(d, 'access.log'), 'utf8')
            .split('\n')
            .flatMap((line) => {
              const m = /"(\w+) (\S+) [^"]*" (\d+)/.exec(line);
              return m ? [{ method: m[1]!, path: m[2]!, status: Number(m[3]) }] : [];
            }),
        stop,
      };
    }
    await sleep(25);
  }
  const why = (() => {
    try {
      return readFileSync(join(d, 'error.log'), 'utf8').slice(-2000);
    } catch {
      return '(no error log)';
    }
  })();
  await stop();
  throw new Error(`nginx did not start:\n${why}`);
}
