/**
 * A one-line progress display on a terminal (resolving, fetching N/M with bytes, installing, writing
 * layers); nothing when stderr is not a TTY or the log level is above info.
 */
import type { BuildEvent } from '../build/pipeline.ts';

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

export function createProgress(enabled: boolean): { onEvent: (e: BuildEvent) => void; done: () => void } {
  const out = process.stderr;
  if (!enabled || !out.isTTY) return { onEvent: () => {}, done: () => {} };
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
    out.write(`\r\x1b[2K${line.slice(0, (out.columns ?? 80) - 1)}`);
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
    done: () => out.write('\r\x1b[2K'),
  };
}
