import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeResolution, encodeResolution, resolutionKey } from '../../src/solver/memo.ts';
import { buildPackageIndex, resolve } from '../../src/solver/resolve.ts';
import { LadingError } from '../../src/util/errors.ts';
import { alpineRepositories } from '../helpers/alpine-indexes.ts';

describe('resolution memo', () => {
  const parts = {
    repositories: [
      { repository: 'main', digest: 'a'.repeat(64) },
      { repository: 'community', digest: 'b'.repeat(64) },
    ],
    world: ['alpine-base'],
    arch: 'x86_64',
  };

  it('keys change with every input that can change the answer', () => {
    const k = resolutionKey(parts);
    assert.match(k, /^[0-9a-f]{64}$/);
    assert.equal(resolutionKey({ ...parts }), k);
    assert.notEqual(resolutionKey({ ...parts, world: ['alpine-base', 'curl'] }), k);
    assert.notEqual(resolutionKey({ ...parts, arch: 'aarch64' }), k);
    assert.notEqual(
      resolutionKey({ ...parts, repositories: [parts.repositories[1]!, parts.repositories[0]!] }),
      k,
    );
    assert.notEqual(
      resolutionKey({
        ...parts,
        repositories: [{ ...parts.repositories[0]!, tag: 'x' }, parts.repositories[1]!],
      }),
      k,
    );
    assert.notEqual(resolutionKey({ ...parts, options: { flags: 1 } }), k);
    assert.notEqual(resolutionKey({ ...parts, options: { apk3InstallIf: true } }), k);
    assert.notEqual(resolutionKey({ ...parts, salt: 'lading 0.2.0' }), k);
  });

  it('round-trips a real resolution and refuses anything else', () => {
    const r = resolve(buildPackageIndex({ repositories: alpineRepositories(), arch: 'x86_64' }), [
      'alpine-base',
    ]);
    assert.deepEqual(decodeResolution(encodeResolution(r)), r);
    for (const bad of [
      '',
      '{}',
      '[]',
      'null',
      '{"v":1,"packages":[{}],"world":[],"edges":[],"changes":[]}',
    ]) {
      assert.throws(
        () => decodeResolution(bad, 'cache/x.json'),
        (e: unknown) =>
          e instanceof LadingError && e.code === 'RESOLUTION_CACHE_CORRUPT' && e.file === 'cache/x.json',
      );
    }
  });
});
