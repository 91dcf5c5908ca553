/**
 * The no-op rebuild: `lading build` run again with unchanged inputs answers from its build record without
 * rebuilding (the outputs are left untouched), and any change to an input or output makes it build again.
 */
import assert from 'node:assert/strict';
import { chmodSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { blobFile } from '../../src/store/layout.ts';
import { ladingBuild, writeAlpineConfig } from '../helpers/build.ts';
import { run, tempDir } from '../helpers/tools.ts';

describe('no-op rebuilds', () => {
  const tmp = tempDir('lading-noop-');
  after(() => tmp.remove());
  const cache = join(tmp.path, 'cache');
  const config = writeAlpineConfig(tmp.path, 'image.yaml', ['busybox']);
  const out = join(tmp.path, 'image.tar');
  const sbom = join(tmp.path, 'image.tar.sbom-x86_64.spdx.json'); // named after OUT
  const build = () => {
    const r = ladingBuild(config, 'noop:1', out, cache, [], { cwd: tmp.path });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout;
  };
  const mtime = (p: string) => statSync(p, { bigint: true }).mtimeNs;

  it('answers an unchanged rebuild without writing, with the same output', () => {
    const first = build();
    const before = [mtime(out), mtime(sbom)];
    assert.equal(build(), first);
    assert.deepEqual([mtime(out), mtime(sbom)], before, 'outputs were not rewritten');
  });

  it('builds again when an output is missing or was replaced', () => {
    const digest = build();
    rmSync(sbom);
    assert.equal(build(), digest);
    assert.ok(readFileSync(sbom).length > 0);
    writeFileSync(out, 'not an image');
    assert.equal(build(), digest);
    assert.ok(statSync(out).size > 100000);
  });

  it('builds again when the config changes', () => {
    const digest = build();
    writeFileSync(config, `${readFileSync(config, 'utf8')}environment:\n  FOO: bar\n`);
    const changed = build();
    assert.notEqual(changed, digest);
  });

  it('writes an image built before from the same inputs to a new output, byte for byte', () => {
    const digest = build();
    const other = join(tmp.path, 'other.tar');
    const r = ladingBuild(config, 'noop:1', other, cache, ['--log-level', 'debug'], { cwd: tmp.path });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /the same inputs were built before/);
    assert.equal(r.stdout, digest);
    assert.ok(readFileSync(other).equals(readFileSync(out)));
    // a fresh cache builds it in full and gets the same bytes
    const fresh = join(tmp.path, 'fresh-cache');
    const again = ladingBuild(config, 'noop:1', join(tmp.path, 'third.tar'), fresh, [], { cwd: tmp.path });
    assert.equal(again.status, 0, again.stderr);
    assert.ok(readFileSync(join(tmp.path, 'third.tar')).equals(readFileSync(out)));
  });

  it('builds in full when a remembered layer was damaged in the cache, and repairs it', () => {
    const digest = build();
    const manifest = run('tar', ['-xOf', out, 'manifest.json']);
    assert.equal(manifest.status, 0, manifest.stderr);
    const hex = String(JSON.parse(manifest.stdout)[0].Layers[0]).replace('blobs/sha256/', '');
    const blob = blobFile(cache, `sha256:${hex}`);
    chmodSync(blob, 0o644);
    writeFileSync(blob, Buffer.alloc(statSync(blob).size)); // same size, other bytes
    const other = join(tmp.path, 'after-damage.tar');
    const r = ladingBuild(config, 'noop:1', other, cache, ['--log-level', 'debug'], { cwd: tmp.path });
    assert.equal(r.status, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /the same inputs were built before/);
    assert.equal(r.stdout, digest);
    assert.ok(readFileSync(other).equals(readFileSync(out)));
  });

  it('keeps a record per output: two outputs, and two tags of one layout, built in turn stay no-op', () => {
    const own = join(tmp.path, 'turns-cache');
    const layout = join(tmp.path, 'turns');
    const turns = [
      ['noop:1', join(tmp.path, 'turns.tar')],
      ['noop:1', `${layout}/`],
      ['noop:2', `${layout}/`], // another tag in the same layout replaces its index.json
    ] as const;
    const digests = turns.map(([tag, o]) => {
      const r = ladingBuild(config, tag, o, own, [], { cwd: tmp.path });
      assert.equal(r.status, 0, r.stderr);
      return r.stdout;
    });
    // without what a build needs, only the records can answer
    for (const d of readdirSync(join(own, 'v1')))
      if (d !== 'build-records') rmSync(join(own, 'v1', d), { recursive: true });
    for (let round = 0; round < 2; round++) {
      turns.forEach(([tag, o], i) => {
        const r = ladingBuild(config, tag, o, own, [], { cwd: tmp.path });
        assert.equal(r.status, 0, r.stderr);
        assert.equal(r.stdout, digests[i]);
        if (o === `${layout}/`)
          assert.match(readFileSync(join(layout, 'index.json'), 'utf8'), new RegExp(`"${tag}"`));
      });
    }
    assert.deepEqual(readdirSync(join(own, 'v1')), ['build-records']);
  });

  it('builds again when SOURCE_DATE_EPOCH changes', () => {
    const digest = build();
    const r = ladingBuild(config, 'noop:1', out, cache, [], {
      cwd: tmp.path,
      env: { ...process.env, SOURCE_DATE_EPOCH: '1234567890' },
    });
    assert.equal(r.status, 0, r.stderr);
    assert.notEqual(r.stdout, digest);
  });
});
