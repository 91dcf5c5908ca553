import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { layoutPaths } from '../../src/store/layout.ts';
import { ladingBuild, writeAlpineConfig } from '../helpers/build.ts';
import { lading, tempDir } from '../helpers/tools.ts';

describe('lading clean', () => {
  const tmp = tempDir('lading-clean-');
  after(() => tmp.remove());
  const cache = join(tmp.path, 'cache');

  it('reports, verifies, prunes and empties the cache; a build afterwards fills it again', () => {
    const config = writeAlpineConfig(tmp.path, 'c.yaml', ['busybox']);
    assert.equal(ladingBuild(config, 'c:1', join(tmp.path, 'a.tar'), cache).status, 0);
    const dry = lading(['clean', '--cache-dir', cache, '--dry-run']);
    assert.equal(dry.status, 0, dry.stderr);
    assert.match(dry.stderr, /MiB in \d+ files would be removed/);
    assert.ok(readdirSync(layoutPaths(cache).root).length > 0);
    const verify = lading(['clean', '--cache-dir', cache, '--verify']);
    assert.match(verify.stderr, /: 0 problems/);
    const prune = lading(['clean', '--cache-dir', cache, '--older-than', '30']);
    assert.equal(prune.status, 0, prune.stderr);
    assert.match(prune.stderr, /^removed 0\.0 MiB in 0 files from .*; kept \d+\.\d MiB in \d+ files$/m);
    const clean = lading(['clean', '--cache-dir', cache]);
    assert.equal(clean.status, 0, clean.stderr);
    assert.ok(!existsSync(layoutPaths(cache).blobs));
    assert.equal(ladingBuild(config, 'c:1', join(tmp.path, 'b.tar'), cache).status, 0);
  });
});
