/**
 * Layering by origin on the real alpine-base image (built by the real pipeline, with accounts and paths
 * that change package files): the layers, each written as a real tar and applied in order, give exactly
 * the single-layer image; each layer is a valid tar on its own; budgets, replaces and determinism.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { emptyPackage, type PackageInfo } from '../../src/apk/types.ts';
import { groupPackages, type LayerPlan, MAX_LAYERS, planLayers } from '../../src/layers/plan.ts';
import { layerCacheKey, writeLayer } from '../../src/oci/layer.ts';
import { build } from '../../src/pipeline/build.ts';
import type { BuiltFilesystem } from '../../src/rootfs/filesystem.ts';
import { readTar, type TarEntry } from '../../src/tar/reader.ts';
import { alpineChangedFiles } from '../helpers/build.ts';
import { sharedCache } from '../helpers/cache.ts';
import { requireTool, run, tempDir } from '../helpers/tools.ts';

// accounts and paths change package files in place and give one a second name outside its package
const CONFIG = alpineChangedFiles();

const tmp = tempDir('lading-layering-');
after(() => tmp.remove());

async function buildAlpine(name: string): Promise<BuiltFilesystem> {
  const dir = join(tmp.path, name);
  mkdirSync(join(dir, 'out'), { recursive: true });
  writeFileSync(join(dir, 'c.yaml'), CONFIG);
  const r = await build({
    config: join(dir, 'c.yaml'),
    tag: 'layering:1',
    output: join(dir, 'out'),
    cacheDir: sharedCache(),
    sbom: false,
  });
  return r.archs[0]!.filesystem;
}

let tarCount = 0;
/** The plan written by the real layer writer as an uncompressed tar. */
async function tarOf(plan: LayerPlan): Promise<Buffer> {
  const path = join(tmp.path, `layer-${tarCount++}.tar`);
  await writeLayer(plan.entries(), path, { compression: 'none' });
  return readFileSync(path);
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

interface Applied {
  desc: Map<string, string>;
  /** path → inode number (hard links share one). */
  inode: Map<string, number>;
}

/** Applies layer tars in order as a runtime extracts them: later entries replace earlier ones. */
function apply(tars: Buffer[]): Applied {
  const desc = new Map<string, string>();
  const inode = new Map<string, number>();
  let next = 0;
  for (const tar of tars) {
    for (const e of readTar(tar)) {
      const path = e.name.replace(/\/$/, '');
      const old = desc.get(path);
      if (old !== undefined && !(old.startsWith('directory') && e.type === 'directory')) {
        // a non-directory replaces what was there, with everything below it
        for (const p of [...desc.keys()]) if (p === path || p.startsWith(`${path}/`)) desc.delete(p);
      }
      const xattrs = Object.keys(e.xattrs).sort().join(',');
      const owner = `${e.mode.toString(8)} ${e.uid}:${e.gid} ${e.mtime} [${xattrs}]`;
      if (e.type === 'hardlink') {
        const target = e.linkname.replace(/\/$/, '');
        assert.ok(desc.has(target), `${path}: hard link to ${target}, which is not there`);
        desc.set(path, desc.get(target)!);
        inode.set(path, inode.get(target)!);
        continue;
      }
      let extra = '';
      if (e.type === 'file') extra = sha256(tar.subarray(e.dataOffset, e.dataOffset + e.size));
      else if (e.type === 'symlink') extra = `-> ${e.linkname}`;
      else if (e.type === 'chardev' || e.type === 'blockdev') extra = `${e.devmajor},${e.devminor}`;
      desc.set(path, `${e.type} ${owner} ${extra}`);
      inode.set(path, next++);
    }
  }
  return { desc, inode };
}

/** path → the first path sharing its inode: equal maps mean equal hard-link structure. */
function linkClasses(a: Applied): Map<string, string> {
  const first = new Map<number, string>();
  const out = new Map<string, string>();
  for (const p of [...a.desc.keys()].sort()) {
    const i = a.inode.get(p)!;
    if (!first.has(i)) first.set(i, p);
    out.set(p, first.get(i)!);
  }
  return out;
}

/** A layer is a valid tar on its own: no duplicates, parents first, hard links to earlier files. */
function assertStandalone(tar: Buffer, what: string): void {
  const seen = new Map<string, string>();
  for (const e of readTar(tar)) {
    const path = e.name.replace(/\/$/, '');
    assert.ok(!seen.has(path), `${what}: ${path} twice`);
    const parent = path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : '';
    if (parent !== '') assert.equal(seen.get(parent), 'directory', `${what}: ${path} before its directory`);
    if (e.type === 'hardlink')
      assert.equal(seen.get(e.linkname), 'file', `${what}: ${path} links to ${e.linkname}`);
    seen.set(path, e.type);
  }
}

describe('planLayers on alpine-base', () => {
  let built: BuiltFilesystem;
  let single: Applied;
  before(async () => {
    built = await buildAlpine('a');
    const [plan] = planLayers(built);
    assert.equal(plan!.kind, 'image');
    single = apply([await tarOf(plan!)]);
  });

  for (const budget of [0, 1, 2, 10, 1000]) {
    it(`budget ${budget}: the layers applied in order equal the single layer, each a valid tar`, async () => {
      const plans = planLayers(built, { strategy: 'origin', budget });
      const groups = groupPackages(
        built.installer.installed.map((p) => p.pkg.info),
        budget,
      );
      assert.equal(plans.at(-1)!.kind, 'top');
      assert.ok(plans.length - 1 <= Math.max(budget, 1));
      // meta packages (alpine-base) own nothing: their group's layer is dropped
      assert.ok(plans.length - 1 >= groups.length - 1);
      const tars: Buffer[] = [];
      for (const p of plans) {
        const tar = await tarOf(p);
        assertStandalone(tar, p.name);
        tars.push(tar);
      }
      const layered = apply(tars);
      assert.deepEqual([...layered.desc].sort(), [...single.desc].sort());
      assert.deepEqual(linkClasses(layered), linkClasses(single));
    });
  }

  it('groups by origin, joins replaces, largest first; budget caps the count', () => {
    const infos = built.installer.installed.map((p) => p.pkg.info);
    const names = (gs: PackageInfo[][]) => gs.map((g) => g.map((p) => p.name).join(' '));
    const all = groupPackages(infos, 1000);
    // alpine-keys replaces alpine-base, which replaces alpine-baselayout, as openrc does
    assert.ok(
      names(all).includes(
        'alpine-base alpine-baselayout alpine-baselayout-data alpine-keys alpine-release openrc',
      ),
    );
    assert.ok(names(all).includes('libcrypto3 libssl3'));
    assert.ok(names(all).some((g) => g.startsWith('busybox busybox-binsh ')));
    const size = (g: PackageInfo[]) => g.reduce((n, p) => n + (p.installedSize ?? 0), 0);
    for (let i = 1; i < all.length; i++) assert.ok(size(all[i - 1]!) >= size(all[i]!));
    assert.equal(all.flat().length, infos.length);

    assert.equal(groupPackages(infos, 0).length, 1);
    assert.equal(groupPackages(infos, 1).length, 1);
    assert.equal(groupPackages(infos, 1)[0]!.length, infos.length);
    const two = groupPackages(infos, 2);
    assert.deepEqual(names(two.slice(0, 1)), names(all.slice(0, 1)));
    assert.equal(two[1]!.length, infos.length - all[0]!.length);
    const ten = groupPackages(infos, 10);
    assert.equal(ten.length, 10);
    assert.deepEqual(names(ten.slice(0, 9)), names(all.slice(0, 9)));
    assert.deepEqual(groupPackages(infos, all.length), all);
  });

  it('keeps package layers free of the apk database, owner names and changes made after install', async () => {
    const plans = planLayers(built, { strategy: 'origin', budget: 1000 });
    const byPath = new Map<string, { plan: LayerPlan; tar: Buffer; entry: TarEntry }[]>();
    for (const plan of plans) {
      const tar = await tarOf(plan);
      for (const entry of readTar(tar)) {
        const path = entry.name.replace(/\/$/, '');
        byPath.set(path, [...(byPath.get(path) ?? []), { plan, tar, entry }]);
        if (plan.kind === 'packages') {
          assert.doesNotMatch(path, /^lib\/apk\/db\//);
          assert.equal(entry.uname, '');
          assert.equal(entry.gname, '');
        }
      }
    }
    const body = (x: { tar: Buffer; entry: { dataOffset: number; size: number } }) =>
      x.tar.toString('utf8', x.entry.dataOffset, x.entry.dataOffset + x.entry.size);
    // /etc/passwd: the package's own copy in its layer, the one with the app user in the top layer
    const passwd = byPath.get('etc/passwd')!;
    assert.deepEqual(
      passwd.map((x) => x.plan.kind),
      ['packages', 'top'],
    );
    assert.doesNotMatch(body(passwd[0]!), /^app:/m);
    assert.match(body(passwd[1]!), /^app:x:1000:1000:/m);
    // /etc/motd: chmod 0600 in the top layer only
    const motd = byPath.get('etc/motd')!;
    assert.deepEqual(
      motd.map((x) => [x.plan.kind, x.entry.mode]),
      [
        ['packages', 0o644],
        ['top', 0o600],
      ],
    );
    // /bin/busybox and /opt/bb are one file: both names in the top layer, busybox's layer keeps its copy
    const busybox = byPath.get('bin/busybox')!;
    assert.deepEqual(
      busybox.map((x) => [x.plan.name, x.entry.type]),
      [
        ['busybox', 'file'],
        ['top', 'file'],
      ],
    );
    assert.deepEqual(
      byPath.get('opt/bb')!.map((x) => [x.plan.name, x.entry.type, x.entry.linkname]),
      [['top', 'hardlink', 'bin/busybox']],
    );
    // the top layer names owners as the single layer does; every directory is in it
    assert.equal(byPath.get('home/app')!.at(-1)!.entry.uname, 'app');
    for (const [path, xs] of byPath) {
      if (xs.some((x) => x.entry.type === 'directory')) assert.equal(xs.at(-1)!.plan.kind, 'top', path);
    }
    // a package file nobody changed is in its package's layer only
    assert.deepEqual(
      byPath.get('lib/libz.so.1.3.1')!.map((x) => x.plan.name),
      ['zlib'],
    );
  });

  it('each layer extracts on its own with GNU tar', async () => {
    requireTool('tar');
    const plans = planLayers(built, { strategy: 'origin', budget: 4 });
    for (const [i, plan] of plans.entries()) {
      const file = join(tmp.path, `standalone-${i}.tar`);
      writeFileSync(file, await tarOf(plan));
      const dest = join(tmp.path, `standalone-${i}`);
      mkdirSync(dest);
      const r = run('tar', ['-xf', file, '-C', dest, '--numeric-owner']);
      assert.equal(r.status, 0, `${plan.name}: ${r.stderr}`);
    }
  });

  it('is deterministic: same plans from the same filesystem and from a second build', async () => {
    const keys = async (b: BuiltFilesystem) => {
      const out: string[] = [];
      for (const p of planLayers(b, { strategy: 'origin', budget: 5 }))
        out.push(`${p.name} ${await layerCacheKey(p.entries())}`);
      return out;
    };
    const first = await keys(built);
    assert.deepEqual(await keys(built), first);
    assert.deepEqual(await keys(await buildAlpine('b')), first);
  });
});

describe('groupPackages', () => {
  const pkg = (name: string, version: string, extra: Partial<PackageInfo> = {}): PackageInfo => ({
    ...emptyPackage(name, version),
    ...extra,
  });

  it('joins a group it replaces only when the replaced version matches, transitively', () => {
    const a = pkg('a', '1.0-r0', { origin: 'a', installedSize: 10 });
    const b = pkg('b', '1.0-r0', { origin: 'b', installedSize: 10 });
    const c = pkg('c', '2.0-r0', { origin: 'c', installedSize: 10, replaces: ['b<2'] });
    const d = pkg('d', '1.0-r0', { origin: 'd', installedSize: 10, replaces: ['a>=2'] });
    const e = pkg('e', '1.0-r0', { origin: 'e', installedSize: 10, replaces: ['c', 'missing'] });
    const names = (gs: PackageInfo[][]) => gs.map((g) => g.map((p) => p.name).join(' '));
    assert.deepEqual(names(groupPackages([a, b, c, d, e], 100)), ['b c e', 'a', 'd']);
  });

  it('orders equal sizes by their greatest name, packages by name, origin-less packages alone', () => {
    const names = (gs: PackageInfo[][]) => gs.map((g) => g.map((p) => p.name).join(' '));
    const ps = [
      pkg('zz', '1', { installedSize: 5 }),
      pkg('m-dev', '1', { origin: 'm', installedSize: 3 }),
      pkg('m', '1', { origin: 'm', installedSize: 2 }),
      pkg('b', '1', { installedSize: 5 }),
      pkg('big', '1', { installedSize: 50 }),
    ];
    assert.deepEqual(names(groupPackages(ps, 100)), ['big', 'b', 'm m-dev', 'zz']);
    assert.deepEqual(names(groupPackages([...ps].reverse(), 100)), ['big', 'b', 'm m-dev', 'zz']);
    assert.deepEqual(names(groupPackages(ps, 3)), ['big', 'b', 'm m-dev zz']);
  });

  it(`caps the budget at ${MAX_LAYERS - 1} package layers`, () => {
    const many = Array.from({ length: 300 }, (_, i) => pkg(`p${i}`, '1', { installedSize: i }));
    const groups = groupPackages(many, 1000);
    assert.equal(groups.length, MAX_LAYERS - 1);
    assert.equal(groups.at(-1)!.length, 300 - (MAX_LAYERS - 2));
  });
});
