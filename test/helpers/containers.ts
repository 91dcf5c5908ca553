/**
 * Real container tools for end-to-end tests: umoci + runc to run an image from an OCI layout (a private Docker
 * engine is in dockerd.ts).
 */
import { copyFileSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireTool, run } from './tools.ts';

/**
 * A layout of one platform of `layout:ref`, for umoci, which cannot follow the image index lading's layouts
 * hold (what `skopeo copy --override-arch A oci:DIR:REF oci:ONE:REF` gives, without copying: the view lists the
 * platform's manifest under `ref` and shares the blobs). `arch` defaults to amd64, else the first platform.
 */
export function platformLayout(layout: string, ref: string, workDir: string, arch?: string): string {
  type Entry = {
    mediaType: string;
    digest: string;
    platform?: { architecture: string };
    annotations?: object;
  };
  const top = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as { manifests: Entry[] };
  const entry = top.manifests.find(
    (m) =>
      (m.annotations as Record<string, string> | undefined)?.['org.opencontainers.image.ref.name'] === ref,
  );
  if (!entry) throw new Error(`${layout} has no image ${ref}`);
  let manifest = entry;
  if (entry.mediaType.endsWith('index.v1+json')) {
    const blob = readFileSync(join(layout, 'blobs', 'sha256', entry.digest.slice(7)), 'utf8');
    const listed = (JSON.parse(blob) as { manifests: Entry[] }).manifests;
    const want = arch ?? (listed.some((m) => m.platform?.architecture === 'amd64') ? 'amd64' : undefined);
    manifest = listed.find((m) => want === undefined || m.platform?.architecture === want) ?? listed[0]!;
  }
  const view = join(workDir, `platform-${Math.random().toString(36).slice(2)}`);
  mkdirSync(view);
  symlinkSync(join(layout, 'blobs'), join(view, 'blobs'));
  copyFileSync(join(layout, 'oci-layout'), join(view, 'oci-layout'));
  const listed = {
    mediaType: manifest.mediaType,
    digest: manifest.digest,
    size: (manifest as { size?: number }).size,
  };
  writeFileSync(
    join(view, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{ ...listed, annotations: { 'org.opencontainers.image.ref.name': ref } }],
    }),
  );
  return view;
}

/**
 * Unpacks `layout:ref` with umoci into a runc bundle (no terminal; `args` replace the image's command, `root`
 * runs as uid 0). Returns the bundle directory.
 */
export function unpackBundle(
  layout: string,
  ref: string,
  args: string[] | undefined,
  workDir: string,
  options: { root?: boolean },
): string {
  requireTool('umoci');
  requireTool('runc');
  const bundle = join(workDir, `bundle-${Math.random().toString(36).slice(2)}`);
  const one = platformLayout(layout, ref, workDir);
  const unpack = run('umoci', ['unpack', '--image', `${one}:${ref}`, bundle]);
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
  return bundle;
}

const containerId = () => `lading-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;

/** Unpacks `layout:ref` with umoci and runs `args` in it with runc; returns the process output. */
export function runInLayout(
  layout: string,
  ref: string,
  args: string[] | undefined,
  workDir: string,
  options: { root?: boolean } = {},
): { status: number; stdout: string; stderr: string } {
  return runBundle(unpackBundle(layout, ref, args, workDir, options), workDir);
}

/** Runs a bundle unpackBundle made with runc (its `rootfs` is also the unpacked image); returns the output. */
export function runBundle(
  bundle: string,
  workDir: string,
): { status: number; stdout: string; stderr: string } {
  const id = containerId();
  const r = run('runc', ['--root', join(workDir, 'runc-state'), 'run', '--bundle', bundle, id], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  run('runc', ['--root', join(workDir, 'runc-state'), 'delete', '-f', id]);
  return r;
}

/** A container runc runs in the background. */
export interface DetachedContainer {
  exec(args: string[]): { status: number; stdout: string; stderr: string };
  kill(signal: string): void;
  /** `created`, `running`, `stopped`, … */
  status(): string;
  remove(): void;
}

/** Starts the image's own command (as the image's user) detached under runc. */
export function startInLayout(layout: string, ref: string, workDir: string): DetachedContainer {
  const bundle = unpackBundle(layout, ref, undefined, workDir, {});
  const root = ['--root', join(workDir, 'runc-state')];
  const id = containerId();
  const started = run('runc', [...root, 'run', '-d', '--bundle', bundle, id], { stdio: 'ignore' });
  if (started.status !== 0) throw new Error(`runc run -d failed (exit ${started.status})`);
  return {
    exec: (args) => run('runc', [...root, 'exec', id, ...args], { stdio: ['ignore', 'pipe', 'pipe'] }),
    kill: (signal) => {
      const r = run('runc', [...root, 'kill', id, signal]);
      if (r.status !== 0) throw new Error(`runc kill ${signal}: ${r.stderr}`);
    },
    status: () => {
      const r = run('runc', [...root, 'state', id]);
      return r.status === 0 ? (JSON.parse(r.stdout) as { status: string }).status : 'gone';
    },
    remove: () => void run('runc', [...root, 'delete', '-f', id]),
  };
}

/** The image config as umoci turns it into a runtime spec (user, cwd, env, args). */
export function runtimeSpec(
  layout: string,
  ref: string,
  workDir: string,
): { user: { uid: number; gid: number }; cwd: string; env: string[]; args: string[] } {
  const bundle = join(workDir, `spec-${Math.random().toString(36).slice(2)}`);
  const one = platformLayout(layout, ref, workDir);
  const unpack = run('umoci', ['unpack', '--image', `${one}:${ref}`, bundle]);
  if (unpack.status !== 0) throw new Error(`umoci unpack failed: ${unpack.stderr}`);
  return JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8')).process;
}
