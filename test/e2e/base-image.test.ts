/**
 * `contents.baseimage`: building on an existing image.
 * - apko's golden (internal/cli/testdata: image_on_top.apko.yaml with its lock over base_image/): the base layers
 *   byte for byte, the new layer holding apko's golden top layer's files except the differences lading makes on
 *   purpose (listed below), the config inherited as apko does; the lock lading writes is apko's byte for byte, and
 *   the image is the same without it.
 * - A base lading built (alpine-baselayout + busybox), a top image adding apk-tools, run with runc: the real apk
 *   inside lists both sets; busybox is not installed again; the SBOM lists both; a docker archive of the base and
 *   the base pulled from a registry (htpasswd auth, through the publish client) give the same image, offline too.
 * - arm/v6 and arm/v7 bases: each architecture builds on its own variant; a base without the architecture is a
 *   clear error.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { entryData, readTar } from '../../src/tar/reader.ts';
import { alpineKey, isoRepoDir } from '../helpers/build.ts';
import { sharedCache } from '../helpers/cache.ts';
import { runInLayout } from '../helpers/containers.ts';
import { layoutManifests } from '../helpers/image-tree.ts';
import { makeKey, makeRepo } from '../helpers/make-repo.ts';
import { fixture } from '../helpers/paths.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';
import { lading, ladingAsync, requireTool, run, tempDir } from '../helpers/tools.ts';

interface LayerFile {
  type: string;
  uid: number;
  gid: number;
  data?: Buffer;
}

/** The entries of a gzip (or plain) layer blob by path. */
function layerEntries(blob: Buffer): Map<string, LayerFile> {
  const tar = blob[0] === 0x1f ? gunzipSync(blob) : blob;
  const out = new Map<string, LayerFile>();
  for (const e of readTar(tar)) {
    out.set(e.name.replace(/\/$/, ''), {
      type: e.type,
      uid: e.uid,
      gid: e.gid,
      ...(e.type === 'file' ? { data: Buffer.from(entryData(tar, e)) } : {}),
    });
  }
  return out;
}

const blobOf = (layout: string, digest: string) =>
  readFileSync(join(layout, 'blobs/sha256', digest.slice(7)));

/** Per OCI arch: the manifest's layer digests, the parsed config, and the last layer's entries. */
function images(layout: string) {
  const out = new Map<
    string,
    { layers: string[]; config: Record<string, unknown>; top: Map<string, LayerFile> }
  >();
  for (const [arch, m] of layoutManifests(layout)) {
    out.set(arch, {
      layers: m.layers.map((l) => l.digest),
      config: m.config as Record<string, unknown>,
      top: layerEntries(blobOf(layout, m.layers.at(-1)!.digest)),
    });
  }
  return out;
}

const digestOf = (r: { stdout: string }) => r.stdout.trim();

describe('contents.baseimage', () => {
  const tmp = tempDir('lading-base-');
  const cache = sharedCache();
  let registry: TestRegistry | undefined;
  after(async () => {
    await registry?.stop();
    tmp.remove();
  });

  it("apko's golden: base layers kept, the new layer holds apko's files but for what lading does on purpose", async () => {
    const cli = fixture('apko/internal/cli');
    const out = join(tmp.path, 'on-top');
    const lockOut = join(tmp.path, 'on-top.lock.json');
    const [locked, unlocked, lock] = await Promise.all([
      ladingAsync(
        [
          'build',
          'testdata/image_on_top.apko.yaml',
          'top:1',
          `${out}/`,
          '--lockfile',
          'testdata/image_on_top.apko.lock.json',
          '--cache-dir',
          cache,
        ],
        { cwd: cli },
      ),
      ladingAsync(
        ['build', 'testdata/image_on_top.apko.yaml', 'top:1', `${out}-unlocked/`, '--cache-dir', cache],
        { cwd: cli },
      ),
      ladingAsync(['lock', 'testdata/image_on_top.apko.yaml', '-o', lockOut, '--cache-dir', cache], {
        cwd: cli,
      }),
    ]);
    for (const r of [locked, unlocked, lock]) assert.equal(r.status, 0, r.stderr);
    // the lock apko wrote for this config, byte for byte: the base's packages are not in it
    assert.equal(
      readFileSync(lockOut, 'utf8'),
      readFileSync(join(cli, 'testdata/image_on_top.apko.lock.json'), 'utf8'),
    );
    assert.equal(digestOf(unlocked), digestOf(locked));

    const golden = images(join(cli, 'testdata/top_image'));
    const base = images(join(cli, 'testdata/base_image'));
    for (const [arch, ours] of images(out)) {
      const theirs = golden.get(arch)!;
      assert.equal(ours.layers.length, 2, arch);
      assert.equal(ours.layers[0], base.get(arch)!.layers[0], `${arch}: the base layer, byte for byte`);
      assert.equal(ours.layers[0], theirs.layers[0]);
      const cfg = ours.config as { history: unknown[]; config: Record<string, unknown> };
      const gold = theirs.config as { history: unknown[]; config: Record<string, unknown> };
      assert.equal(cfg.history.length, 2);
      assert.deepEqual(cfg.config.Entrypoint, ['/bin/sh', '-l'], 'inherited from the base');
      assert.deepEqual(cfg.config.Env, gold.config.Env);
      assert.deepEqual(cfg.config.Labels, gold.config.Labels);

      // the differences lading makes on purpose
      const devices = ['console', 'null', 'random', 'urandom', 'zero'].map((d) => `dev/${d}`);
      const skeleton = ['dev', ...devices, 'proc', 'tmp'];
      const intended = new Map<string, string>([
        // entries the base has, unchanged: apko writes them again, lading's layer holds only what the build changed
        ...[
          ...skeleton,
          'var/cache',
          'var/cache/apk',
          'var/cache/misc',
          'etc/apk/keys',
          'etc/apk/keys/melange.rsa.pub',
        ].map((p) => [p, 'unchanged from the base'] as [string, string]),
        // apko's own skeleton beyond apk-tools' (opt, usr/lib/apk/exec) and its move of the database to /usr/lib/apk;
        // lading keeps the database where the base has it (lib/apk/db), written as apk-tools writes it
        ...[
          'opt',
          'usr',
          'usr/lib',
          'usr/lib/apk',
          'usr/lib/apk/exec',
          'usr/lib/apk/db',
          'usr/lib/apk/db/installed',
          'usr/lib/apk/db/lock',
          'usr/lib/apk/db/scripts.tar',
          'usr/lib/apk/db/triggers',
        ].map((p) => [p, 'apko database layout'] as [string, string]),
        ['etc/apko.json', 'lading writes no /etc/apko.json'],
      ]);
      const onlyOurs = [
        'lib/apk/db',
        'lib/apk/db/installed',
        'lib/apk/db/scripts.tar',
        'lib/apk/db/triggers',
      ];
      const expected = [...theirs.top.keys()]
        .filter((p) => !intended.has(p))
        .concat(onlyOurs)
        .sort();
      assert.deepEqual([...ours.top.keys()].sort(), expected, arch);
      assert.equal(ours.top.get('lib/apk')!.type, 'directory', "the base's lib/apk stays (apko: a symlink)");
      for (const [path, f] of ours.top) {
        const g = theirs.top.get(path);
        if (f.type !== 'file' || g === undefined || path === 'etc/apk/world') continue;
        assert.deepEqual(f.data, g.data, `${arch}: ${path}`);
      }
      // package owners are kept (apko makes every package file 0:0)
      assert.deepEqual(
        [ours.top.get('etc/os-release')!.uid, theirs.top.get('etc/os-release')!.uid],
        [501, 0],
      );
      // the world: the base's plus the config's (apko pins the lock's packages, and drops the base's own world)
      assert.equal(ours.top.get('etc/apk/world')!.data!.toString(), 'package-y\nreplayout\n');
      assert.equal(
        theirs.top.get('etc/apk/world')!.data!.toString(),
        'package-x=1.0.0-r0\npretend-baselayout=1.0.0-r0\nreplayout=1.0.0-r0\n',
      );
      // the database lists the base's packages and the new one (apko's loses package-y)
      const names = (t: Map<string, LayerFile>, p: string) =>
        [
          ...t
            .get(p)!
            .data!.toString()
            .matchAll(/^P:(.*)$/gm),
        ]
          .map((m) => m[1])
          .sort();
      assert.deepEqual(names(ours.top, 'lib/apk/db/installed'), [
        'package-x',
        'package-y',
        'pretend-baselayout',
        'replayout',
      ]);
      assert.deepEqual(names(theirs.top, 'usr/lib/apk/db/installed'), [
        'package-x',
        'pretend-baselayout',
        'replayout',
      ]);
    }
  });

  it('on a base lading built: runs with both package sets, nothing installed twice; archive and registry bases', async () => {
    const repo = isoRepoDir();
    const key = alpineKey();
    const base = join(tmp.path, 'base.yaml');
    writeFileSync(
      base,
      `contents:\n  repositories: [${repo}]\n  keyring: [${key}]\n  packages: [alpine-baselayout, busybox, busybox-binsh]\narchs: [x86_64]\nentrypoint:\n  command: /bin/sh -c\ncmd: "'echo from the base'"\n`,
    );
    const layout = join(tmp.path, 'base');
    const archive = join(tmp.path, 'base.tar');
    registry = await startRegistry({ auth: 'htpasswd' });
    const docker = join(tmp.path, 'docker');
    mkdirSync(docker);
    const auth = Buffer.from(`${registry.user}:${registry.password}`).toString('base64');
    writeFileSync(join(docker, 'config.json'), JSON.stringify({ auths: { [registry.host]: { auth } } }));
    const env = { ...process.env, DOCKER_CONFIG: docker };
    const ref = `${registry.host}/team/base:1`;
    const made = await Promise.all([
      ladingAsync(['build', base, 'base:1', `${layout}/`, '--cache-dir', cache]),
      ladingAsync(['build', base, 'base:1', archive, '--cache-dir', cache]),
      ladingAsync(['publish', base, ref, '--cache-dir', cache], { env }),
    ]);
    for (const r of made) assert.equal(r.status, 0, r.stderr);

    const top = (image: string, name: string) => {
      const config = join(tmp.path, `${name}.yaml`);
      writeFileSync(
        config,
        `contents:\n  baseimage: {image: ${image}}\n  repositories: [${repo}]\n  keyring: [${key}]\n  packages: [apk-tools]\narchs: [x86_64]\n`,
      );
      return config;
    };
    const out = join(tmp.path, 'top');
    const builds = await Promise.all([
      ladingAsync(['build', top(layout, 'on-layout'), 'top:1', `${out}/`, '--cache-dir', cache]),
      ladingAsync([
        'build',
        top(archive, 'on-archive'),
        'top:1',
        join(tmp.path, 'top.tar'),
        '--cache-dir',
        cache,
      ]),
      ladingAsync(
        ['build', top(ref, 'on-registry'), 'top:1', join(tmp.path, 'top-reg/'), '--cache-dir', cache],
        { env },
      ),
    ]);
    for (const r of builds) assert.equal(r.status, 0, r.stderr);
    // the same image whichever way the base came
    assert.equal(digestOf(builds[1]!), digestOf(builds[0]!));
    assert.equal(digestOf(builds[2]!), digestOf(builds[0]!));
    // the registry's answers are in the store: offline, with the registry gone, the same image
    await registry.stop();
    registry = undefined;
    const offline = lading(
      [
        'build',
        join(tmp.path, 'on-registry.yaml'),
        'top:1',
        join(tmp.path, 'top-off/'),
        '--cache-dir',
        cache,
        '--offline',
      ],
      { env },
    );
    assert.equal(offline.status, 0, offline.stderr);
    assert.equal(digestOf(offline), digestOf(builds[0]!));

    const topImage = images(out).get('amd64')!;
    const baseImage = images(layout).get('amd64')!;
    assert.deepEqual(topImage.layers.slice(0, -1), baseImage.layers);
    assert.ok(topImage.top.has('sbin/apk'));
    assert.ok(!topImage.top.has('bin/busybox'), 'busybox is in the base: not installed again');
    const cfg = topImage.config as { config: { Entrypoint: string[]; Cmd: string[] } };
    assert.deepEqual([cfg.config.Entrypoint, cfg.config.Cmd], [['/bin/sh', '-c'], ['echo from the base']]);
    const v = run(requireTool('oci-image-tool'), ['validate', '--type', 'image', '--ref', 'name=top:1', out]);
    assert.equal(v.status, 0, v.stdout + v.stderr);
    // the base's entrypoint (its busybox shell) runs the new apk-tools, which reads the database: the base's
    // packages and the new ones
    const apk = runInLayout(out, 'top:1', ['/bin/sh', '-c', '/sbin/apk info'], tmp.path);
    assert.equal(apk.status, 0, apk.stderr);
    const listed = apk.stdout.split('\n').filter(Boolean).sort();
    for (const name of ['alpine-baselayout', 'busybox', 'busybox-binsh', 'musl', 'apk-tools', 'libcrypto3']) {
      assert.ok(listed.includes(name), `${name} in ${listed.join(' ')}`);
    }
    const sbom = JSON.parse(readFileSync(`${out}.sbom-x86_64.spdx.json`, 'utf8')) as {
      packages: { name: string }[];
    };
    const inSbom = new Set(sbom.packages.map((p) => p.name));
    for (const name of ['busybox', 'alpine-baselayout', 'apk-tools']) assert.ok(inSbom.has(name), name);
  });

  it('arm/v6 and arm/v7 each build on their own variant; a base without the architecture is an error', async () => {
    const dir = join(tmp.path, 'arm');
    const key = makeKey(join(dir, 'keys'));
    let repo = makeRepo(
      dir,
      [
        { name: 'marker', files: { 'etc/marker': 'armhf\n' } },
        { name: 'extra', files: { 'etc/extra': 'x\n' } },
      ],
      key,
      'armhf',
    );
    repo = makeRepo(
      dir,
      [
        { name: 'marker', files: { 'etc/marker': 'armv7\n' } },
        { name: 'extra', files: { 'etc/extra': 'x\n' } },
      ],
      key,
      'armv7',
    );
    const write = (name: string, body: string) => {
      const path = join(dir, name);
      writeFileSync(
        path,
        `contents:\n  repositories: [${repo.repo}]\n  keyring: [${repo.key}]\n${body}archs: [arm/v6, arm/v7]\n`,
      );
      return path;
    };
    const baseLayout = join(dir, 'base');
    let r = lading([
      'build',
      write('base.yaml', '  packages: [marker]\n'),
      'base:1',
      `${baseLayout}/`,
      '--cache-dir',
      cache,
    ]);
    assert.equal(r.status, 0, r.stderr);
    const topConfig = write('top.yaml', `  baseimage: {image: ${baseLayout}}\n  packages: [extra]\n`);
    r = lading(['build', topConfig, 'top:1', join(dir, 'top/'), '--cache-dir', cache]);
    assert.equal(r.status, 0, r.stderr);
    // layer digests by variant (both images are `arm`)
    const byVariant = (layout: string) => {
      const json = (d: string) => JSON.parse(blobOf(layout, d).toString());
      const top = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8'));
      const index = json(top.manifests[0].digest) as {
        manifests: { digest: string; platform: { variant: string } }[];
      };
      return new Map(
        index.manifests.map((m) => [
          m.platform.variant,
          (json(m.digest).layers as { digest: string }[]).map((l) => l.digest),
        ]),
      );
    };
    const base = byVariant(baseLayout);
    const topImages = byVariant(join(dir, 'top'));
    for (const [variant, apk] of [
      ['v6', 'armhf'],
      ['v7', 'armv7'],
    ] as const) {
      assert.equal(topImages.get(variant)![0], base.get(variant)![0], variant);
      const marker = layerEntries(blobOf(baseLayout, base.get(variant)![0]!)).get('etc/marker')!.data!;
      assert.equal(marker.toString(), `${apk}\n`);
    }
    r = lading(['build', topConfig, 'top:1', join(dir, 'none/'), '--cache-dir', cache, '--arch', 'x86_64']);
    assert.notEqual(r.status, 0);
    assert.match(
      r.stderr,
      /base image .*base has no linux\/amd64 image \(it has linux\/arm\/v6, linux\/arm\/v7\)/,
    );
  });
});
