/**
 * Layering by origin on the library pieces, with a small harness: the real pipeline builds the filesystem,
 * planLayers splits it, writeLayer/buildImage/writeLayout write a multi-layer OCI layout. Real tools check a
 * usr-merged image (oci-image-tool, umoci), and a rebuild with one package changed keeps the other packages'
 * layers byte for byte while shared directories change. The CLI's layered alpine-base, unpacked against the
 * single-layer image and run: test/e2e/layering-cli.test.ts.
 */
import assert from 'node:assert/strict';
import { chmodSync, lstatSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { Layering } from '../../src/config/types.ts';
import { planLayers } from '../../src/layers/plan.ts';
import { buildImage, buildImageIndex } from '../../src/oci/image.ts';
import { layerCacheKey, writeLayer } from '../../src/oci/layer.ts';
import { writeLayout } from '../../src/oci/layout.ts';
import type { Layer } from '../../src/oci/types.ts';
import { type BuildResult, build } from '../../src/pipeline/build.ts';
import { platformLayout } from '../helpers/containers.ts';
import { diskTree, treeDiff } from '../helpers/image-tree.ts';
import { makeKey } from '../helpers/make-repo.ts';
import { lading, requireTool, run, tempDir } from '../helpers/tools.ts';

const tmp = tempDir('lading-e2e-layering-');
after(() => tmp.remove());

async function buildConfig(name: string, yaml: string, cache: string): Promise<BuildResult> {
  const dir = join(tmp.path, name);
  mkdirSync(join(dir, 'single'), { recursive: true });
  writeFileSync(join(dir, 'c.yaml'), yaml);
  return build({
    config: join(dir, 'c.yaml'),
    tag: `${name}:1`,
    output: join(dir, 'single'),
    cacheDir: cache,
    sbom: false,
    env: {},
  });
}

interface Layered {
  layout: string;
  layers: { name: string; layer: Layer; key: string | null }[];
}

/** What the pipeline will do with planLayers: one layer per plan, one history entry each. */
async function writeLayered(result: BuildResult, layering: Layering, name: string): Promise<Layered> {
  const arch = result.archs[0]!;
  const dir = join(tmp.path, name);
  const blobs = join(dir, 'layers');
  mkdirSync(blobs, { recursive: true });
  const layers: Layered['layers'] = [];
  for (const [i, plan] of planLayers(arch.filesystem, layering).entries()) {
    const key = await layerCacheKey(plan.entries());
    const layer = await writeLayer(plan.entries(), join(blobs, `${i}.tar.gz`));
    layers.push({ name: plan.name, layer, key });
  }
  const plans = planLayers(arch.filesystem, layering);
  const image = buildImage(
    {
      platform: arch.image.platform,
      created: arch.buildDate,
      history: plans.map((p) => ({ created_by: 'lading', comment: p.comment })),
      config: {
        User: arch.filesystem.post.user,
        Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
      },
    },
    layers.map((l) => l.layer),
  );
  const layout = join(dir, 'layered');
  mkdirSync(layout);
  await writeLayout(layout, buildImageIndex([image]), { tag: `${name}:layered` });
  return { layout, layers };
}

function unpack(layout: string, ref: string, bundle: string): string {
  const one = platformLayout(layout, ref, tmp.path);
  const r = run('umoci', ['unpack', '--image', `${one}:${ref}`, join(tmp.path, bundle)]);
  assert.equal(r.status, 0, r.stderr);
  return join(tmp.path, bundle, 'rootfs');
}

/** path → mtime of every entry below root (lstat). */
function mtimes(root: string): Map<string, number> {
  const out = new Map<string, number>();
  const walk = (rel: string) => {
    for (const name of readdirSync(join(root, rel)).sort()) {
      const p = rel ? `${rel}/${name}` : name;
      const st = lstatSync(join(root, p));
      out.set(p, Math.floor(st.mtimeMs / 1000));
      if (st.isDirectory()) walk(p);
    }
  };
  walk('');
  return out;
}

/** Writes the layered layout and checks it against the single-layer one with oci-image-tool and umoci. */
async function checkAgainstSingle(result: BuildResult, layering: Layering, name: string): Promise<Layered> {
  requireTool('oci-image-tool');
  requireTool('umoci');
  const layered = await writeLayered(result, layering, name);
  const v = run('oci-image-tool', [
    'validate',
    '--type',
    'image',
    '--ref',
    `name=${name}:layered`,
    layered.layout,
  ]);
  assert.equal(v.status, 0, v.stdout + v.stderr);
  const single = unpack(join(tmp.path, name, 'single'), `${name}:1`, `${name}-single`);
  const rootfs = unpack(layered.layout, `${name}:layered`, `${name}-layered`);
  assert.deepEqual(treeDiff(diskTree(rootfs), diskTree(single)), []);
  assert.deepEqual([...mtimes(rootfs)].sort(), [...mtimes(single)].sort());
  return layered;
}

describe('layering: origin, with real tools', () => {
  it('a usr-merged image (lib -> usr/lib from a package) unpacks to the single-layer rootfs', async () => {
    const dir = join(tmp.path, 'usrmerge-repo');
    const { repo, key } = makePackages(dir, [
      {
        name: 'base',
        version: '1.0-r0',
        files: { 'usr/lib/os-base': 'base\n', 'usr/bin/base-tool': 'tool\n', 'etc/base.conf': 'x\n' },
        links: { lib: 'usr/lib', bin: 'usr/bin' },
      },
      {
        name: 'm',
        version: '1.0-r0',
        depends: ['base'],
        files: { 'lib/libm.so.1': 'libm\n', 'bin/mtool': 'mtool\n', 'usr/share/m/doc': 'doc\n' },
        modes: { lib: 0o750 },
      },
    ]);
    const result = await buildConfig(
      'usrmerge',
      `contents:
  repositories: [${repo}]
  keyring: [${key}]
  packages: [m]
archs: [x86_64]
`,
      join(dir, 'cache'),
    );
    const fs = result.archs[0]!.filesystem.fs;
    assert.equal(fs.lstat('lib')!.type, 'symlink');
    const { layers } = await checkAgainstSingle(result, { strategy: 'origin', budget: 10 }, 'usrmerge');
    assert.deepEqual(layers.map((l) => l.name).sort(), ['base', 'm', 'top']);
    // m's files are in its layer at their canonical paths, under m's own view of usr/lib
    const m = planLayers(result.archs[0]!.filesystem, { strategy: 'origin', budget: 10 }).find(
      (p) => p.name === 'm',
    )!;
    const entries = new Map([...m.entries()].map((e) => [e.path, e]));
    assert.deepEqual([...entries.keys()].sort(), [
      'usr',
      'usr/bin',
      'usr/bin/mtool',
      'usr/lib',
      'usr/lib/libm.so.1',
      'usr/share',
      'usr/share/m',
      'usr/share/m/doc',
    ]);
    assert.equal(entries.get('usr/lib')!.mode, 0o750);
    assert.notEqual(fs.lstat('usr/lib')!.mode, 0o750);
  });
});

interface Spec {
  name: string;
  version: string;
  origin?: string;
  files: Record<string, string>;
  /** Relative path → symlink target. */
  links?: Record<string, string>;
  depends?: string[];
  /** Directory modes to set before packaging (relative path → mode). */
  modes?: Record<string, number>;
  /** SOURCE_DATE_EPOCH for the package (its build time and every mtime in it). */
  epoch?: number;
}

/** A signed repository of small packages made with the real `lading package` and `lading index`. */
function makePackages(dir: string, specs: Spec[]): { repo: string; key: string } {
  const key = makeKey(join(dir, 'keys'));
  const archDir = join(dir, 'repo', 'x86_64');
  mkdirSync(archDir, { recursive: true });
  const apks: string[] = [];
  for (const s of specs) {
    const src = join(dir, 'src', `${s.name}-${s.version}`);
    for (const [path, content] of Object.entries(s.files)) {
      mkdirSync(dirname(join(src, path)), { recursive: true });
      writeFileSync(join(src, path), content);
    }
    for (const [path, target] of Object.entries(s.links ?? {})) symlinkSync(target, join(src, path));
    for (const [path, mode] of Object.entries(s.modes ?? {})) chmodSync(join(src, path), mode);
    const out = join(archDir, `${s.name}-${s.version}.apk`);
    const args = ['package', src, '-o', out, '--name', s.name, '--version', s.version, '--arch', 'x86_64'];
    if (s.origin) args.push('--origin', s.origin);
    for (const d of s.depends ?? []) args.push('--depends', d);
    const env = { ...process.env, SOURCE_DATE_EPOCH: String(s.epoch ?? 0) };
    const r = lading([...args, '--key', key.privateKey], { env });
    assert.equal(r.status, 0, r.stderr);
    apks.push(out);
  }
  const r = lading(['index', '--key', key.privateKey, '-o', join(archDir, 'APKINDEX.tar.gz'), ...apks]);
  assert.equal(r.status, 0, r.stderr);
  return { repo: join(dir, 'repo'), key: key.key };
}

describe('layering: origin, rebuild with one package changed', () => {
  it('keeps the digests of the unchanged packages’ layers; only that package’s and the top layer change', async () => {
    const dir = join(tmp.path, 'reuse');
    const { repo, key } = makePackages(dir, [
      { name: 'a', version: '1.0-r0', files: { 'usr/bin/a': 'a\n', 'usr/share/doc/a/README': 'about a\n' } },
      { name: 'a-doc', version: '1.0-r0', origin: 'a', files: { 'usr/share/doc/a/more': 'more a\n' } },
      { name: 'b', version: '1.0-r0', files: { 'usr/bin/b': 'b one\n', 'usr/lib/libb.so.1': 'b lib one\n' } },
      {
        name: 'b',
        version: '2.0-r0',
        // newer, with different contents and a shared directory with other attributes
        epoch: 1700000000,
        files: { 'usr/bin/b': 'b two\n', 'usr/lib/libb.so.1': 'b lib two\n', 'usr/share/b/data': 'b data\n' },
        modes: { 'usr/share': 0o750 },
      },
      { name: 'c', version: '1.0-r0', files: { 'etc/c.conf': 'c=1\n', 'usr/bin/c': 'c\n' } },
      { name: 'd', version: '1.0-r0', files: { 'usr/bin/d': 'd\n' } },
    ]);
    const cache = join(dir, 'cache');
    const layering: Layering = { strategy: 'origin', budget: 10 };
    const image = async (name: string, packages: string[]) => {
      const result = await buildConfig(
        name,
        `contents:
  repositories: [${repo}]
  keyring: [${key}]
  packages: [${packages.join(', ')}]
archs: [x86_64]
layering: {strategy: origin, budget: 10}
`,
        cache,
      );
      const layered = await writeLayered(result, layering, name);
      return { fs: result.archs[0]!.filesystem.fs, layers: new Map(layered.layers.map((l) => [l.name, l])) };
    };
    const one = await image('one', ['a', 'a-doc', 'b=1.0-r0', 'c']);
    const two = await image('two', ['a', 'a-doc', 'b=2.0-r0', 'c']);
    const more = await image('more', ['a', 'a-doc', 'b=1.0-r0', 'c', 'd']);
    assert.deepEqual([...one.layers.keys()].sort(), ['a', 'b', 'c', 'top']);
    // the shared directories really differ between the images
    assert.notEqual(one.fs.lstat('usr/share')!.mode, two.fs.lstat('usr/share')!.mode);

    for (const name of ['a', 'c']) {
      assert.equal(two.layers.get(name)!.layer.digest, one.layers.get(name)!.layer.digest, name);
      assert.equal(two.layers.get(name)!.key, one.layers.get(name)!.key, name);
      assert.equal(more.layers.get(name)!.layer.digest, one.layers.get(name)!.layer.digest, name);
    }
    assert.equal(more.layers.get('b')!.layer.digest, one.layers.get('b')!.layer.digest);
    assert.notEqual(two.layers.get('b')!.layer.digest, one.layers.get('b')!.layer.digest);
    assert.notEqual(two.layers.get('top')!.layer.digest, one.layers.get('top')!.layer.digest);
    assert.notEqual(two.layers.get('b')!.key, null);
  });
});
