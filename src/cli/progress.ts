/**
 * A one-line progress display on a terminal (resolving, fetching N/M with bytes, installing, writing
 * layers); nothing when stderr is not a TTY or the log level is above info.
 */
import type { BuildEvent } from '../pipeline/build.ts';

const PHASES: Record<string, string> = {
  config: 'loading config',
  resolve: 'resolving',
  fetch: 'fetching',
  install: 'installing',
  layer: 'writing layer',
  sbom: 'writing SBOMs',
  output: 'writing output',
};

function mib(n: number): string {
  return `${(n / (1 << 20)).toFixed(1)} MiB`;
}

export interface Progress {
  onEvent: (e: BuildEvent) => void;
  /** Writes a log line: the progress line is cleared first, so the two never share a line. */
  log: (text: string) => void;
  done: () => void;
}

export function createProgress(enabled: boolean): Progress {
  const out = process.stderr;
  if (!enabled || !out.isTTY) return { onEvent: () => {}, log: (t) => out.write(t), done: () => {} };
  let shown = false;
  let phase = '';
  let arch = '';
  let pkgs = '';
  let bytes = 0;
  let last = 0;
  const draw = (force = false) => {
    const now = Date.now();
    if (!force && now - last < 80) return;
    last = now;
    const line = `${phase}${arch ? ` (${arch})` : ''}${pkgs ? ` ${pkgs}` : ''}${bytes ? `, ${mib(bytes)} downloaded` : ''}`;
    // one column short of the width so the line never wraps; a terminal that reports no width (0: `script`,
    // some CI logs) gets the whole line
    const width = out.columns ?? 0;
    out.write(`\r\x1b[2K${width > 1 ? line.slice(0, width - 1) : line}`);
    shown = true;
  };
  const clear = () => {
    if (shown) out.write('\r\x1b[2K');
    shown = false;
  };
  return {
    onEvent: (e) => {
      if (e.type === 'phase') {
        phase = PHASES[e.phase] ?? e.phase;
        arch = e.arch ?? '';
        if (e.phase !== 'fetch') pkgs = '';
        draw(true);
      } else if (e.type === 'package') {
        pkgs = `${e.done}/${e.total} packages`;
        draw();
      } else {
        bytes += e.n;
        draw();
      }
    },
    log: (text) => {
      clear();
      out.write(text);
    },
    done: clear,
  };
}
