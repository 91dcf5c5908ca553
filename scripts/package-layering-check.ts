/**
 * `layering: {strategy: package}` on the benchmark's generated image (bench/large-repo.ts: ~160 packages, ~117 MB
 * installed, more packages than Docker takes layers), too heavy for `npm test`:
 *   node scripts/package-layering-check.ts
 * Builds it with one layer and with package layering; checks the layer count (Docker's most, 125) and that each
 * package's own layer is its data stream (digest = datahash); unpacks both with umoci and compares every path,
 * type, mode, owner, mtime, xattr, link target, content hash and hard-link group; then Docker loads the layered
 * image and the filesystem of a container made from it (`docker export`) is compared the same way.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureLargeRepo } from '../bench/large-repo.ts';
import { readApk } from '../src/apk/apk-reader.ts';
import { MAX_LAYERS } from '../src/layers/plan.ts';
import { build } from '../src/pipeline/build.ts';
import { unpackBundle } from '../test/helpers/containers.ts';
import { startDockerd } from '../test/helpers/dockerd.ts';
import { fullDiskTree, layoutManifests, treeDiff } from '../test/helpers/image-tree.ts';
import { tempDir } from '../test/helpers/tools.ts';

const root = join(import.meta.dirname, '..');
const large = await ensureLargeRepo(join(root, '.bench'));
const tmp = tempDir('lading-layering-check-');
const seconds = (since: number) => `${((performance.now() - since) / 1000).toFixed(1)} s`;

async function buildTo(name: string, layering: string, outputs: string[]) {
  const config = join(tmp.path, `${name}.yaml`);
  writeFileSync(
    config,
    `contents:\n  repositories: [${large.repo}]\n  keyring: [${large.key}]\n  packages: [bench-all]\narchs: [x86_64]\n${layering}`,
  );
  let result: Awaited<ReturnType<typeof build>> | undefined;
  for (const output of outputs) {
    result = await build({
      config,
      tag: `${name}:1`,
      output,
      cacheDir: join(tmp.path, 'cache'),
      sbom: false,
    });
    await result.release();
  }
  return result!;
}

const docker = await startDockerd();
try {
  let t = performance.now();
  const singleLayout = join(tmp.path, 'single/');
  const layout = join(tmp.path, 'package/');
  const archive = join(tmp.path, 'package.tar');
  await buildTo('single', '', [singleLayout]);
  const layered = await buildTo('package', 'layering: {strategy: package}\n', [layout, archive]);
  const arch = layered.archs[0]!;
  const manifest = layoutManifests(layout).get('amd64')!;
  const withFiles = arch.packages.filter((p) => p.dataLayer !== undefined).length;
  const streams = new Map(arch.packages.map((p) => [p.dataLayer?.layer.digest, p]));
  let own = 0;
  for (const l of manifest.layers) {
    const p = streams.get(l.digest);
    if (p === undefined) continue;
    assert.equal(l.digest, `sha256:${readApk(readFileSync(p.location)).pkginfo.datahash}`);
    own++;
  }
  console.log(
    `${arch.packages.length} packages (${withFiles} with files): ${manifest.layers.length} layers, ${own} of them ` +
      `a package's own data stream (digest = datahash); built in ${seconds(t)}`,
  );
  assert.equal(manifest.layers.length, Math.min(MAX_LAYERS, withFiles + 1));

  t = performance.now();
  const want = fullDiskTree(join(unpackBundle(singleLayout, 'single:1', undefined, tmp.path, {}), 'rootfs'));
  const got = fullDiskTree(join(unpackBundle(layout, 'package:1', undefined, tmp.path, {}), 'rootfs'));
  assert.deepEqual(treeDiff(got, want), []);
  console.log(`umoci: the layered image unpacks to the single-layer one, ${want.size} paths (${seconds(t)})`);

  t = performance.now();
  const load = docker.docker(['load', '-i', archive]);
  assert.equal(load.status, 0, load.stderr);
  const created = docker.docker(['create', 'package:1', '/none']);
  assert.equal(created.status, 0, created.stderr);
  const exported = join(tmp.path, 'exported.tar');
  const exp = docker.docker(['export', '-o', exported, created.stdout.trim()]);
  assert.equal(exp.status, 0, exp.stderr);
  const dir = join(tmp.path, 'exported');
  mkdirSync(dir);
  const untar = spawnSync('tar', [
    '--xattrs',
    '--xattrs-include=*',
    '--numeric-owner',
    '-xpf',
    exported,
    '-C',
    dir,
  ]);
  assert.equal(untar.status, 0, String(untar.stderr));
  // what Docker adds to every container: its mount points and /.dockerenv (and the times of their directories)
  const docker_ = /^[+~-](\.dockerenv|dev|proc|sys|etc\/(hosts|hostname|resolv\.conf|mtab))( |\/)/;
  const dockerDirs = /^~(|etc) directory .* != directory /;
  const all = treeDiff(fullDiskTree(dir), want);
  const diff = all.filter((l) => !docker_.test(l) && !dockerDirs.test(l));
  assert.deepEqual(diff, []);
  console.log(
    `Docker: a container of the layered image holds the same filesystem, Docker's own ${all.length} paths aside (${seconds(t)})`,
  );
} finally {
  await docker.stop();
  tmp.remove();
}
