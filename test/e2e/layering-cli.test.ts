/**
 * `lading build` with `layering: {strategy: origin}`: a multi-layer image real tools accept and run, and a
 * rebuild after one package changed keeps every other package's layer byte for byte.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ladingBuild, writeAlpineConfig } from '../helpers/build.ts';
import { runInLayout } from '../helpers/containers.ts';
import { layoutManifests } from '../helpers/image-tree.ts';
import { makeKey, makeRepo, writeRepoConfig } from '../helpers/make-repo.ts';
import { requireTool, run, tempDir } from '../helpers/tools.ts';

const LAYERING = 'layering:\n  strategy: origin\n  budget: 10\n';

describe('lading build with layering: origin', () => {
  const tmp = tempDir('lading-layering-cli-');
  after(() => tmp.remove());
  const cache = join(tmp.path, 'cache');

  it('writes a multi-layer alpine-base that validates, loads and runs', () => {
    const config = writeAlpineConfig(tmp.path, 'layered.yaml', ['alpine-base'], LAYERING);
    const layout = join(tmp.path, 'layout');
    mkdirSync(layout);
    let r = ladingBuild(config, 'layered:1', layout, cache);
    assert.equal(r.status, 0, r.stderr);
    const tar = join(tmp.path, 'layered.tar');
    r = ladingBuild(config, 'layered:1', tar, cache);
    assert.equal(r.status, 0, r.stderr);
    const m = layoutManifests(layout).get('amd64')!;
    assert.ok(m.layers.length > 2, `${m.layers.length} layers`);
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
    const out = runInLayout(
      layout,
      'layered:1',
      ['/bin/sh', '-c', 'apk info | wc -l; cat /etc/alpine-release'],
      tmp.path,
    );
    assert.equal(out.status, 0, out.stderr);
    assert.equal(out.stdout, '25\n3.19.1\n');
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
