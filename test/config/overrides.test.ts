import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  applyOverrides,
  loadConfig,
  parseAnnotationFlags,
  redactRepository,
  targetArchitectures,
} from '../../src/config/index.ts';
import { LadingError } from '../../src/util/errors.ts';
import { fixture } from '../helpers/paths.ts';

const apkoCli = fixture('apko/internal/cli');
const load = async () => (await loadConfig('testdata/apko.yaml', { cwd: apkoCli })).config;

describe('applyOverrides', () => {
  test('-r, -b, -k and -p append to the config lists; the input config is not changed', async () => {
    const config = await load();
    const before = structuredClone(config);
    const out = applyOverrides(config, {
      repositories: ['https://example.com/repo/'],
      buildRepositories: ['./build-only'],
      keyring: ['https://example.com/key.rsa.pub'],
      packages: ['busybox', 'musl>=1.2'],
    });
    assert.deepEqual(out.contents.repositories, ['./testdata/packages', 'https://example.com/repo']);
    assert.deepEqual(out.contents.buildRepositories, ['./build-only']);
    assert.deepEqual(out.contents.keyring, ['./testdata/melange.rsa.pub', 'https://example.com/key.rsa.pub']);
    assert.deepEqual(out.contents.packages, ['replayout', 'busybox', 'musl>=1.2']);
    assert.deepEqual(config, before);
  });

  test('--arch replaces archs (any spelling, all, host); no --arch keeps the config’s', async () => {
    const config = await load();
    assert.deepEqual(applyOverrides(config, { archs: ['aarch64'] }).archs, ['arm64']);
    assert.deepEqual(applyOverrides(config, { archs: ['host'], hostArch: 'x64' }).archs, ['amd64']);
    assert.equal(applyOverrides(config, { archs: ['all'] }).archs.length, 9);
    assert.deepEqual(applyOverrides(config, {}).archs, ['amd64', 'arm64']);
    assert.throws(() => applyOverrides(config, { archs: ['amd46'] }), /did you mean "amd64"/);
  });

  test('--annotations key:value win over the config per key and keep colons in values', async () => {
    const config = { ...(await load()), annotations: { a: 'config', b: 'config' } };
    const out = applyOverrides(config, {
      annotations: ['b:flag', 'org.opencontainers.image.url:https://x.example'],
    });
    assert.deepEqual(out.annotations, {
      a: 'config',
      b: 'flag',
      'org.opencontainers.image.url': 'https://x.example',
    });
  });

  test('bad flag values are usage errors', async () => {
    const config = await load();
    const usage = (e: unknown) => e instanceof LadingError && e.code === 'USAGE';
    assert.throws(() => parseAnnotationFlags(['novalue']), usage);
    assert.throws(() => parseAnnotationFlags(['key:']), usage);
    assert.throws(() => parseAnnotationFlags(['Upper:x']), usage);
    assert.throws(() => parseAnnotationFlags(['a:1', 'a:2']), /given twice/);
    assert.throws(() => applyOverrides(config, { packages: ['two words'] }), usage);
    assert.throws(() => applyOverrides(config, { repositories: [''] }), usage);
  });

  test('target architectures: flag or config, else this machine’s (not all nine)', async () => {
    const config = await load();
    assert.deepEqual(targetArchitectures(config), ['amd64', 'arm64']);
    const none = { ...config, archs: [] };
    assert.deepEqual(targetArchitectures(none, 'arm64'), ['arm64']);
    assert.deepEqual(targetArchitectures(none, 'x64'), ['amd64']);
  });
});

describe('repository entries', () => {
  test('redaction removes user:password and keeps the tag', () => {
    assert.equal(redactRepository('https://user:secret@repo.example/main'), 'https://repo.example/main');
    assert.equal(
      redactRepository('@priv https://token@repo.example/main'),
      '@priv https://repo.example/main',
    );
    assert.equal(redactRepository('./local'), './local');
  });
});
