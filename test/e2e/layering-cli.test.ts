/**
 * `lading build` with `layering: {strategy: origin}`: a multi-layer image real tools accept, unpack to exactly
 * the single-layer image and run, and a rebuild after one package changed keeps every other package's layer
 * byte for byte (test/e2e/layering.test.ts checks the library pieces on harder cases).
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { alpineChangedFiles, ladingBuild } from '../helpers/build.ts';
import { sharedCache } from '../helpers/cache.ts';
import { runBundle, unpackBundle } from '../helpers/containers.ts';
import { fullDiskTree, layoutManifests, treeDiff } from '../helpers/image-tree.ts';
import { makeKey, makeRepo, writeRepoConfig } from '../helpers/make-repo.ts';
import { requireTool, run, tempDir } from '../helpers/tools.ts';

const LAYERING = 'layering:\n  strategy: origin\n  budget: 10\n';

describe('lading build with layering: origin', () => {
  const tmp = tempDir('lading-layering-cli-');
  after(() => tmp.remove());
  const cache = sharedCache();

  it('writes a multi-layer alpine-base that validates, unpacks to the single-layer image, loads and runs', () => {
    // accounts, a permissions change and a hard link to a package file (helpers/build.ts), across layers
    const config = join(tmp.path, 'layered.yaml');
    writeFileSync(config, alpineChangedFiles('layering: {strategy: origin, budget: 5}\n'));
    const singleConfig = join(tmp.path, 'single.yaml');
    writeFileSync(singleConfig, alpineChangedFiles());
    const layout = join(tmp.path, 'layout');
    const single = join(tmp.path, 'single-layout');
    mkdirSync(layout);
    mkdirSync(single);
    const tar = join(tmp.path, 'layered.tar');
    for (const [cfg, tag, out] of [
      [config, 'layered:1', layout],
      [config, 'layered:1', tar],
      [singleConfig, 'single:1', single],
    ] as const) {
      const r = ladingBuild(cfg, tag, out, cache);
      assert.equal(r.status, 0, r.stderr);
    }
    const m = layoutManifests(layout).get('amd64')!;
    assert.equal(m.layers.length, 6, 'five origins and the top layer');
    const config0 = m.config as { history: { comment?: string }[]; rootfs: { diff_ids: string[] } };
    assert.equal(config0.history.length, m.layers.length);
    assert.equal(config0.rootfs.diff_ids.length, m.layers.length);
    assert.match(config0.history[0]!.comment!, /^origin /);
    const v = run(requireTool('oci-image-tool'), [
      'validate',
      '--type',
      'image',
      '--ref',
      'name=layered:1',
      layout,
    ]);
    assert.equal(v.status, 0, v.stdout + v.stderr);
    const c = run(requireTool('skopeo'), [
      'copy',
      `docker-archive:${tar}`,
      `oci:${join(tmp.path, 'copy')}:x`,
    ]);
    assert.equal(c.status, 0, c.stderr);
    // unpacked (umoci), the layers make exactly the single-layer image: modes, owners, times, links, xattrs
    const cmd = [
      '/bin/sh',
      '-c',
      'id -u; stat -c "%a %h" /etc/motd /opt/bb; apk info | wc -l; cat /etc/alpine-release',
    ];
    const want = fullDiskTree(join(unpackBundle(single, 'single:1', undefined, tmp.path, {}), 'rootfs'));
    const bundle = unpackBundle(layout, 'layered:1', cmd, tmp.path, {});
    assert.deepEqual(treeDiff(fullDiskTree(join(bundle, 'rootfs')), want), []);
    const out = runBundle(bundle, tmp.path);
    assert.equal(out.status, 0, out.stderr);
    assert.equal(out.stdout, '1000\n600 1\n755 2\n25\n3.19.1\n');
  });

  it('rebuilding after one package changed keeps the other packages’ layers', () => {
    const key = makeKey(join(tmp.path, 'keys'));
    const v1 = makeRepo(
      join(tmp.path, 'v1'),
      [
        { name: 'a', origin: 'a', files: { 'usr/bin/a': 'a\n' } },
        { name: 'b', origin: 'b', files: { 'usr/bin/b': 'b one\n' } },
        { name: 'c', origin: 'c', files: { 'usr/bin/c': 'c\n' } },
      ],
      key,
    );
    const v2 = makeRepo(
      join(tmp.path, 'v2'),
      [
        { name: 'a', origin: 'a', files: { 'usr/bin/a': 'a\n' } },
        { name: 'b', version: '1.0-r1', origin: 'b', files: { 'usr/bin/b': 'b two\n' } },
        { name: 'c', origin: 'c', files: { 'usr/bin/c': 'c\n' } },
      ],
      key,
    );
    const layers = (repo: typeof v1, name: string) => {
      const layout = join(tmp.path, `${name}-layout`);
      mkdirSync(layout);
      const r = ladingBuild(
        writeRepoConfig(tmp.path, `${name}.yaml`, repo, ['a', 'b', 'c'], LAYERING),
        `${name}:1`,
        layout,
        cache,
      );
      assert.equal(r.status, 0, r.stderr);
      const m = layoutManifests(layout).get('amd64')!;
      const comments = (m.config as { history: { comment: string }[] }).history.map((h) => h.comment);
      return new Map(
        m.layers.map((l, i) => [
          comments[i]!.startsWith('origin ') ? comments[i]!.replace(/:.*/, '') : 'top',
          l.digest,
        ]),
      );
    };
    const one = layers(v1, 'one');
    const two = layers(v2, 'two');
    assert.deepEqual([...one.keys()].sort(), ['origin a', 'origin b', 'origin c', 'top'].sort());
    assert.equal(two.get('origin a'), one.get('origin a'));
    assert.equal(two.get('origin c'), one.get('origin c'));
    assert.notEqual(two.get('origin b'), one.get('origin b'));
  });
});
