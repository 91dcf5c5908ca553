/**
 * `lading dot --web`, as apko's: the graph drawn as SVG by Graphviz's `dot` program, served on 127.0.0.1 at a
 * free port until the process is interrupted. The URL is printed on stdout; a browser is started only where a desktop
 * is there to show it (DISPLAY or WAYLAND_DISPLAY set).
 */
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LadingError } from '../util/errors.ts';
import type { Logger } from '../util/log.ts';

/** The SVG Graphviz draws for `dotText`. */
function renderSvg(dotText: string): Buffer {
  const r = spawnSync('dot', ['-Tsvg'], { input: dotText, maxBuffer: 256 << 20 });
  if ((r.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
    throw new LadingError(
      'DOT_NOT_FOUND',
      "--web draws the graph with Graphviz's dot program, which is not installed",
      {
        hint: 'install Graphviz (Debian: apt-get install graphviz), or write the graph with `lading dot CONFIG > graph.dot`',
      },
    );
  }
  if (r.error) throw r.error;
  if (r.status !== 0) {
    throw new LadingError(
      'DOT_FAILED',
      `Graphviz's dot failed (exit ${r.status}): ${String(r.stderr).trim()}`,
    );
  }
  return r.stdout;
}

/** Serves the graph until SIGINT or SIGTERM. */
export async function serveDotGraph(dotText: string, logger: Logger): Promise<void> {
  const svg = renderSvg(dotText);
  const server = createServer((req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'image/svg+xml', 'content-length': svg.length });
    res.end(req.method === 'HEAD' ? undefined : svg);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  // the URL is what the command gives: on stdout, where the graph goes without --web
  process.stdout.write(`${url}\n`);
  logger.info(`serving the dependency graph at ${url} until interrupted (Ctrl-C)`);
  if (process.env.DISPLAY || process.env.WAYLAND_DISPLAY) {
    spawn('xdg-open', [url], { stdio: 'ignore', detached: true })
      .on('error', () => {})
      .unref();
  }
  await new Promise<void>((resolve) => {
    const stop = () => server.close(() => resolve());
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
