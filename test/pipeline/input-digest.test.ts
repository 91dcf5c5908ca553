/**
 * The input digest: on the index and every manifest, known before anything is fetched (startBuild), the same
 * from a lock as from resolving, and changed by what changes bytes (SOURCE_DATE_EPOCH) — not by the tag.
 * Layers carry their cache key.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { LAYER_KEY_ANNOTATION } from '../../src/layers/cache.ts';
import { build, startBuild } from '../../src/pipeline/build.ts';
import { INPUT_DIGEST_ANNOTATION, inputDigest } from '../../src/pipeline/input-digest.ts';
import { lockConfig } from '../../src/pipeline/lock.ts';
import { writeAlpineConfig } from '../helpers/build.ts';
import { sharedCache } from '../helpers/cache.ts';
import { tempDir } from '../helpers/tools.ts';

const tmp = tempDir('lading-input-digest-');
after(tmp.remove);
const config = writeAlpineConfig(
  tmp.path,
  'image.yaml',
  ['busybox'],
  'layering:\n  strategy: origin\n  budget: 4\n',
);
const common = { config, cacheDir: sharedCache(), sbom: false, env: { SOURCE_DATE_EPOCH: '1700000000' } };

describe('input digest', () => {
  it('is on the index and every manifest, equal from a lock, and follows the inputs', async () => {
    const out = join(tmp.path, 'out/');
    const result = await build({ ...common, tag: 'a:1', output: out });
    await result.release();
    const blob = (d: string) =>
      JSON.parse(readFileSync(join(out, 'blobs/sha256', d.slice(7)), 'utf8')) as {
        annotations?: Record<string, string>;
        manifests?: { digest: string }[];
        layers?: { annotations?: Record<string, string> }[];
      };
    const index = blob(result.digest);
    assert.match(result.inputDigest, /^sha256:[0-9a-f]{64}$/);
    assert.equal(index.annotations?.[INPUT_DIGEST_ANNOTATION], result.inputDigest);
    const manifest = blob(index.manifests![0]!.digest);
    assert.equal(manifest.annotations?.[INPUT_DIGEST_ANNOTATION], result.inputDigest);
    assert.ok(manifest.layers!.length > 1);
    for (const l of manifest.layers!) assert.match(l.annotations?.[LAYER_KEY_ANNOTATION] ?? '', /^sha256:/);

    // known before anything is fetched; the tag is not an input
    const started = await startBuild({ ...common, tag: 'other:2', output: join(tmp.path, 'x/') });
    assert.equal(started.inputDigest, result.inputDigest);
    await started.release();

    // from a lock: the same packages, the same digest (and the same image)
    const lock = join(tmp.path, 'image.lock.json');
    await lockConfig({ config, cacheDir: common.cacheDir, output: lock });
    const locked = await build({ ...common, lockfile: lock, tag: 'a:1', output: join(tmp.path, 'locked/') });
    await locked.release();
    assert.equal(locked.inputDigest, result.inputDigest);
    assert.equal(locked.digest, result.digest);

    // a byte-affecting option changes it
    const later = await startBuild({
      ...common,
      env: { SOURCE_DATE_EPOCH: '1700000001' },
      tag: 'a:1',
      output: out,
    });
    assert.notEqual(later.inputDigest, result.inputDigest);
    await later.release();
  });

  it('ignores package order and keyring paths, not package checksums', () => {
    const base = {
      config: {
        contents: {
          keyring: ['/a/k.pub'],
          repositories: ['r'],
          buildRepositories: [],
          runtimeRepositories: [],
        },
      },
      keys: [{ name: 'k.pub', content: Buffer.from('key') }],
      options: {},
    } as unknown as Parameters<typeof inputDigest>[0];
    const pkgs = [
      { name: 'b', version: '1', checksum: 'Q1b' },
      { name: 'a', version: '1', checksum: 'Q1a' },
    ];
    const d = inputDigest({ ...base, archs: [{ apkArch: 'x86_64', packages: pkgs }] });
    const moved = {
      ...base,
      config: { contents: { ...(base.config.contents as object), keyring: ['./k.pub'] } },
    } as typeof base;
    assert.equal(inputDigest({ ...moved, archs: [{ apkArch: 'x86_64', packages: [...pkgs].reverse() }] }), d);
    const rebuilt = [{ ...pkgs[0]!, checksum: 'Q1c' }, pkgs[1]!];
    assert.notEqual(inputDigest({ ...base, archs: [{ apkArch: 'x86_64', packages: rebuilt }] }), d);
  });
});
