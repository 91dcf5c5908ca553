/**
 * `layering: {strategy: package}`: each package's own compressed data stream is a layer, its digest the
 * package's datahash, and the image unpacks (umoci) to exactly the single-layer image: every path, type, mode,
 * owner, mtime, xattr, link target, content hash and hard-link group. Checked on alpine-base (with accounts and
 * paths that change package files) and on generated packages holding what plain stacking gets wrong: a
 * directory several packages ship with other modes, `replaces`, an identical file the first owner keeps, hard
 * links split by a replaced name, a `.keep_` file apk skips, a path through a usr-merge-style symlink, a
 * sub-second mtime, a data stream of two gzip members, xattrs, and more packages than the budget. umoci + runc,
 * Docker and Podman run the images (Podman with `--compression zstd`: lading's own layers zstd, the streams not).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { readApk } from '../../src/apk/apk-reader.ts';
import { gzipDeterministic } from '../../src/apk/gzip-members.ts';
import { validateDockerArchive } from '../../src/oci/validate.ts';
import { build } from '../../src/pipeline/build.ts';
import { alpineChangedFiles, alpineKey, isoRepoDir } from '../helpers/build.ts';
import { sharedCache } from '../helpers/cache.ts';
import { runBundle, unpackBundle } from '../helpers/containers.ts';
import { type Dockerd, startDockerd } from '../helpers/dockerd.ts';
import { type HostileEntry, hostileRepo, hostileTar, testKey } from '../helpers/hostile.ts';
import { fullDiskTree, layoutManifests, treeDiff } from '../helpers/image-tree.ts';
import { type Podman, startPodman } from '../helpers/podman.ts';
import { tempDir } from '../helpers/tools.ts';

const tmp = tempDir('lading-package-layering-');
let docker: Dockerd | undefined;
let podman: Podman | undefined;
after(async () => {
  await docker?.stop();
  await podman?.remove();
  tmp.remove();
});

/**
 * Builds `yaml` into a layout DIR/NAME (and, with `tarball`, a docker archive NAME.tar too); with `zstd`, into
 * the docker archive only, its own layers compressed with zstd.
 */
async function buildTo(name: string, yaml: string, tarball = false, zstd = false) {
  const dir = join(tmp.path, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'c.yaml'), yaml);
  const tar = join(dir, `${name}.tar`);
  const outs = zstd ? [tar] : [join(dir, 'layout/'), ...(tarball ? [tar] : [])];
  let result: Awaited<ReturnType<typeof build>> | undefined;
  for (const output of outs) {
    result = await build({
      config: join(dir, 'c.yaml'),
      tag: `${name}:1`,
      output,
      cacheDir: sharedCache(),
      sbom: false,
      ...(zstd ? { compression: 'zstd' as const } : {}),
    });
    await result.release();
  }
  return { layout: outs[0]!, tarball: tarball || zstd ? tar : undefined, result: result! };
}

/** The image unpacked by umoci into a runc bundle running `args` (its rootfs: what umoci unpacks). */
function unpack(layout: string, ref: string, args: string[], root = false): string {
  return unpackBundle(layout, ref, args, tmp.path, { root });
}

/** The stream layers: each a package's data part byte for byte, its diff ID that of the inflated tar. */
function checkStreams(layout: string, apks: Map<string, string>): number {
  const m = layoutManifests(layout).get('amd64')!;
  const config = m.config as { rootfs: { diff_ids: string[] }; history: { comment: string }[] };
  let streams = 0;
  m.layers.forEach((l, i) => {
    const comment = config.history[i]!.comment;
    const pkg = /^package (\S+)$/.exec(comment)?.[1];
    if (pkg === undefined) return;
    const apk = readApk(readFileSync(apks.get(pkg)!));
    assert.equal(l.digest, `sha256:${apk.pkginfo.datahash}`, comment);
    assert.equal(l.mediaType, 'application/vnd.oci.image.layer.v1.tar+gzip');
    const blob = readFileSync(join(layout, 'blobs/sha256', l.digest.slice(7)));
    assert.ok(blob.equals(apk.data), comment);
    const diffId = `sha256:${createHash('sha256').update(gunzipSync(blob)).digest('hex')}`;
    assert.equal(config.rootfs.diff_ids[i], diffId, comment);
    streams++;
  });
  return streams;
}

const ALPINE = alpineChangedFiles;

describe('layering: {strategy: package}', () => {
  before(async () => {
    docker = await startDockerd();
  });

  it('alpine-base: one layer per package, digest = datahash, unpacks to the single-layer image, runs', async () => {
    const single = await buildTo('alpine-single', ALPINE(''));
    const layered = await buildTo('alpine-package', ALPINE('layering: {strategy: package}\n'), true);
    const apks = new Map(
      layered.result.archs[0]!.packages.map((p) => [`${p.info.name}-${p.info.version}`, p.location]),
    );
    assert.equal(checkStreams(layered.layout, apks), 25);
    assert.equal(layoutManifests(layered.layout).get('amd64')!.layers.length, 26);
    const cmd = ['/bin/sh', '-c', 'id -u; stat -c "%a %h" /etc/motd /opt/bb; apk info | wc -l'];
    const want = fullDiskTree(join(unpack(single.layout, 'alpine-single:1', cmd), 'rootfs'));
    const bundle = unpack(layered.layout, 'alpine-package:1', cmd);
    assert.deepEqual(treeDiff(fullDiskTree(join(bundle, 'rootfs')), want), []);

    const expected = '1000\n600 1\n755 2\n25\n';
    const r = runBundle(bundle, tmp.path);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, expected);
    const load = docker!.docker(['load', '-i', layered.tarball!]);
    assert.equal(load.status, 0, load.stderr);
    const d = docker!.docker([
      'run',
      '--rm',
      '--network',
      'none',
      '--entrypoint',
      cmd[0]!,
      'alpine-package:1',
      ...cmd.slice(1),
    ]);
    assert.equal(d.status, 0, d.stderr);
    assert.equal(d.stdout, expected);
  });

  it('generated packages stacking gets wrong: the top layer and rebuilt layers make it exact', async () => {
    const key = await testKey();
    const dir = (name: string, mode = 0o755): HostileEntry => ({ name, type: 'directory', mode });
    const file = (name: string, data: string, extra: Partial<HostileEntry> = {}): HostileEntry => ({
      name,
      data,
      ...extra,
    });
    const multiTar = hostileTar([
      dir('usr'),
      dir('usr/share'),
      file('usr/share/multi', 'two members\n'.repeat(200)),
      { name: 'usr/share/multi2', type: 'hardlink', linkname: 'usr/share/multi' },
    ]);
    const cut = 1024;
    const repo = hostileRepo(
      join(tmp.path, 'gen'),
      [
        {
          name: 'base',
          entries: [
            dir('etc'),
            file('etc/conf', 'conf\n'),
            dir('srv', 0o750),
            file('srv/.keep_srv', ''),
            file('srv/data', 'data\n'),
            dir('usr'),
            dir('usr/lib'),
            file('usr/lib/one', 'one\n'),
            { name: 'usr/lib/two', type: 'hardlink', linkname: 'usr/lib/one' },
            file('usr/lib/cap', 'cap\n', { xattrs: { 'user.cap': Buffer.from('yes') } }),
            { name: 'libx', type: 'symlink', linkname: 'usr/lib' },
          ],
        },
        // through the symlink apk follows: rebuilt at usr/lib/libm.so
        { name: 'm', depends: ['base'], entries: [dir('libx'), file('libx/libm.so', 'libm\n')] },
        {
          name: 'over',
          depends: ['base'],
          replaces: ['base'],
          // replaces base's usr/lib/one (two keeps the old content); srv merged to 0750
          entries: [
            dir('srv', 0o755),
            file('srv/over', 'over\n'),
            dir('usr'),
            dir('usr/lib'),
            file('usr/lib/one', 'one, replaced\n'),
          ],
        },
        // the same content as base's etc/conf, another mode: base keeps its file
        {
          name: 'twin',
          depends: ['base'],
          entries: [dir('etc'), file('etc/conf', 'conf\n', { mode: 0o600 })],
        },
        {
          name: 'frac',
          entries: [dir('opt'), file('opt/frac', 'frac\n', { pax: { mtime: '1700000000.5' } })],
        },
        {
          name: 'multi',
          data: Buffer.concat([
            gzipDeterministic(multiTar.subarray(0, cut)),
            gzipDeterministic(multiTar.subarray(cut)),
          ]),
        },
      ],
      key,
    );
    const world = ['busybox', 'base', 'm', 'over', 'twin', 'frac', 'multi'];
    const yaml = (layering: string) => `contents:
  repositories: [${isoRepoDir()}, ${repo.repo}]
  keyring: [${alpineKey()}, ${repo.keyFile}]
  packages: [${world.join(', ')}]
archs: [x86_64]
entrypoint: {command: /bin/busybox}
${layering}`;
    const single = await buildTo('gen-single', yaml(''));
    const layered = await buildTo('gen-package', yaml('layering: {strategy: package}\n'), true);
    const small = await buildTo('gen-budget', yaml('layering: {strategy: package, budget: 3}\n'));
    const zstd = await buildTo('gen-zstd', yaml('layering: {strategy: package}\n'), true, true);
    const apks = new Map(
      layered.result.archs[0]!.packages.map((p) => [`${p.info.name}-${p.info.version}`, p.location]),
    );
    // base, over, twin, multi, musl, busybox as they are; m and frac rebuilt
    assert.equal(checkStreams(layered.layout, apks), 6);
    const history = (
      layoutManifests(layered.layout).get('amd64')!.config as { history: { comment: string }[] }
    ).history.map((h) => h.comment);
    assert.ok(
      history.some((c) => /^package m-1\.0-r0, rebuilt: .*libx.*symlink/.test(c)),
      history.join('\n'),
    );
    assert.ok(
      history.some((c) => /^package frac-1\.0-r0, rebuilt: .*sub-second/.test(c)),
      history.join('\n'),
    );
    const smallLayers = layoutManifests(small.layout).get('amd64')!.layers;
    assert.equal(smallLayers.length, 4); // shared + 2 streams + top

    // what each runtime unpacks: the same listing everywhere (link counts aside: an overlay mount shows a
    // directory in several layers with 1, and a name another layer replaced still counted in its own layer;
    // sizes of files only: a directory's size is its file system's, tmpfs or ext4, not the image's)
    const inode = (p: string) => `$(stat -c %i ${p})`;
    const list = [
      'sh',
      '-c',
      'for f in /etc/conf /srv /srv/* /usr/lib/* /usr/share/* /opt/frac /libx; do ' +
        '[ -d $f ] && [ ! -L $f ] && stat -c "%n %a %u %g dir" $f || stat -c "%n %a %u %g %s" $f; done; ' +
        `[ ${inode('/usr/share/multi')} = ${inode('/usr/share/multi2')} ] && echo linked; ` +
        `[ ${inode('/usr/lib/one')} = ${inode('/usr/lib/two')} ] || echo split; ` +
        'cat /usr/lib/one /usr/lib/two /usr/share/multi2 | md5sum',
    ];
    const singleBundle = unpack(single.layout, 'gen-single:1', list, true);
    const layeredBundle = unpack(layered.layout, 'gen-package:1', list, true);
    const want = fullDiskTree(join(singleBundle, 'rootfs'));
    assert.match(want.get('usr/lib/cap')!, /user\.cap=0x796573/);
    assert.deepEqual(treeDiff(fullDiskTree(join(layeredBundle, 'rootfs')), want), []);
    assert.deepEqual(
      treeDiff(fullDiskTree(join(unpack(small.layout, 'gen-budget:1', list), 'rootfs')), want),
      [],
    );

    const expected = runBundle(singleBundle, tmp.path);
    assert.equal(expected.status, 0, expected.stderr);
    assert.match(expected.stdout, /^\/srv 750 0 0 dir$/m);
    assert.match(expected.stdout, /^linked\nsplit\n/m);
    assert.doesNotMatch(expected.stdout, /keep_srv/);
    const viaRunc = runBundle(layeredBundle, tmp.path);
    assert.equal(viaRunc.stdout, expected.stdout);
    const load = docker!.docker(['load', '-i', layered.tarball!]);
    assert.equal(load.status, 0, load.stderr);
    const viaDocker = docker!.docker(['run', '--rm', '--network', 'none', 'gen-package:1', ...list]);
    assert.equal(viaDocker.status, 0, viaDocker.stderr);
    assert.equal(viaDocker.stdout, expected.stdout);

    // --compression zstd: the package streams stay the packages' gzip bytes, lading's own layers (rebuilt ones,
    // the top layer) are zstd; only the blobs differ, not the diff IDs; Podman runs it (Debian's Docker cannot)
    await validateDockerArchive(zstd.tarball!);
    const gzLayers = layered.result.archs[0]!.image.layers;
    const zstdLayers = zstd.result.archs[0]!.image.layers;
    assert.deepEqual(
      zstdLayers.map((l) => l.diffId),
      gzLayers.map((l) => l.diffId),
    );
    zstdLayers.forEach((l, i) => {
      const stream = gzLayers[i]!.digest === l.digest;
      assert.equal(l.mediaType.split('.').pop(), stream ? 'tar+gzip' : 'tar+zstd', l.digest);
    });
    assert.equal(zstdLayers.filter((l) => l.mediaType.endsWith('+zstd')).length, 3); // m, frac, top
    podman = startPodman();
    const pload = await podman.podman(['load', '-i', zstd.tarball!]);
    assert.equal(pload.status, 0, pload.stderr);
    const viaPodman = await podman.podman(['run', '--rm', 'gen-zstd:1', ...list]);
    assert.equal(viaPodman.status, 0, viaPodman.stderr);
    assert.equal(viaPodman.stdout, expected.stdout);
  });
});
