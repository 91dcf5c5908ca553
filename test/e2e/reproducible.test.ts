/**
 * The same inputs give the same bytes: builds from another working directory, time zone and umask, with a
 * cold or a warm cache, write byte-identical images and SBOMs. SOURCE_DATE_EPOCH changes only timestamps.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { readTar } from '../../src/tar/reader.ts';
import { writeAlpineConfig } from '../helpers/build.ts';
import { layerTars, layoutManifests, tarTree } from '../helpers/image-tree.ts';
import { ladingBin } from '../helpers/paths.ts';
import { run, tempDir } from '../helpers/tools.ts';

const EXTRA = `accounts:
  users:
    - username: app
      uid: 1000
  run-as: app
paths:
  - path: /data
    type: directory
    permissions: 0o700
    uid: 1000
    gid: 1000
`;

/** Runs `lading build` through sh so the umask can be set, from `cwd`, with `env` additions. */
function build(
  cwd: string,
  out: string,
  cache: string,
  env: Record<string, string>,
  umask: string,
  extra: string[] = [],
) {
  const args = [
    'build',
    'image.yaml',
    'repro:1',
    out,
    '--cache-dir',
    cache,
    '--log-level',
    'warn',
    '--sbom-formats',
    'spdx,cyclonedx',
    ...extra,
  ];
  const quoted = [process.execPath, ladingBin, ...args].map((a) => `'${a}'`).join(' ');
  const r = run('sh', ['-c', `umask ${umask}; exec ${quoted}`], { cwd, env: { ...process.env, ...env } });
  assert.equal(r.status, 0, r.stderr);
}

describe('reproducible builds', () => {
  const tmp = tempDir('lading-repro-');
  after(() => tmp.remove());
  const dirs = ['a', 'b', 'c'].map((d) => {
    const p = join(tmp.path, d);
    mkdirSync(p);
    writeAlpineConfig(p, 'image.yaml', ['alpine-base'], EXTRA);
    return p;
  });

  it('gives byte-identical outputs across directories, time zones, umasks and cache states', () => {
    const [a, b, c] = dirs as [string, string, string];
    const cacheA = join(tmp.path, 'cache-a');
    build(a, 'out.tar', cacheA, { TZ: 'UTC' }, '022'); // cold
    build(b, 'out.tar', cacheA, { TZ: 'Asia/Kolkata', LANG: 'de_DE.UTF-8' }, '077'); // warm
    build(c, 'out.tar', join(tmp.path, 'cache-c'), { TZ: 'America/Los_Angeles' }, '027'); // cold, another cache
    for (const f of [
      'out.tar',
      'out.tar.sbom-x86_64.spdx.json',
      'out.tar.sbom-index.spdx.json',
      'out.tar.sbom-x86_64.cdx.json',
      'out.tar.sbom-index.cdx.json',
    ]) {
      const ref = readFileSync(join(a, f));
      assert.ok(ref.equals(readFileSync(join(b, f))), `${f}: a != b (warm cache, other cwd/TZ/umask)`);
      assert.ok(ref.equals(readFileSync(join(c, f))), `${f}: a != c (cold cache)`);
    }
  });

  it('SOURCE_DATE_EPOCH changes only the timestamps', () => {
    const [a, b] = dirs as [string, string];
    const cache = join(tmp.path, 'cache-a');
    mkdirSync(join(a, 'l1'));
    mkdirSync(join(b, 'l2'));
    build(a, 'l1', cache, { SOURCE_DATE_EPOCH: '1700000000' }, '022');
    build(b, 'l2', cache, { SOURCE_DATE_EPOCH: '1800000000' }, '022');
    const [t1] = layerTars(join(a, 'l1'));
    const [t2] = layerTars(join(b, 'l2'));
    // same paths, types, modes, owners and contents
    assert.deepEqual(tarTree(t1!), tarTree(t2!));
    const mtimes = (t: Buffer) => new Map([...readTar(t)].map((e) => [e.name, e.mtime]));
    const m1 = mtimes(t1!);
    const m2 = mtimes(t2!);
    let generated = 0;
    for (const [path, t] of m1) {
      const u = m2.get(path)!;
      if (t === u) continue; // package files keep the package's timestamps
      assert.deepEqual([t, u], [1700000000, 1800000000], path);
      generated++;
    }
    assert.ok(generated > 10, `${generated} generated entries`);
    const c1 = layoutManifests(join(a, 'l1')).get('amd64')!.config as { created: string };
    const c2 = layoutManifests(join(b, 'l2')).get('amd64')!.config as { created: string };
    assert.equal(c1.created, '2023-11-14T22:13:20Z');
    assert.equal(c2.created, '2027-01-15T08:00:00Z');
  });
});
