import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { loadConfig, loadConfigText, renderConfigYaml, toApkoDocument } from '../../src/config/index.ts';
import { dataDir, examplesDir, loadText } from '../helpers/config.ts';
import { fixture } from '../helpers/paths.ts';
import { tempDir } from '../helpers/tools.ts';

const tmp = tempDir('lading-config-render-');
after(() => tmp.remove());
let n = 0;
const dir = () => join(tmp.path, `t${n++}`);

const SECRETS = [
  'contents:',
  '  repositories:',
  '    - https://alice:s3cret@repo.example/main',
  '    - "@priv https://tok3n@priv.example/main"',
  '  build_repositories: [https://bob:pw-build@build.example/x]',
  '  runtime_repositories: [https://carol:pw-runtime@run.example/x]',
  '  keyring: [https://dave:pw-key@keys.example/k.rsa.pub]',
  '  packages: [busybox]',
  'vcs-url: https://gh-token@github.com/example/app@abc123',
  '',
].join('\n');

describe('renderConfigYaml / toApkoDocument', () => {
  test('credentials never reach the output (show-config and apko.json)', async () => {
    const { config } = await loadText(dir(), 'secret.yaml', SECRETS);
    const yaml = renderConfigYaml(config);
    const json = JSON.stringify(toApkoDocument(config));
    for (const out of [yaml, json]) {
      for (const secret of [
        'alice',
        's3cret',
        'tok3n',
        'bob',
        'pw-build',
        'carol',
        'pw-runtime',
        'dave',
        'pw-key',
        'gh-token',
      ]) {
        assert.ok(!out.includes(secret), `${secret} leaked`);
      }
    }
    assert.match(yaml, /- https:\/\/repo\.example\/main\n/);
    assert.match(yaml, /- "@priv https:\/\/priv\.example\/main"\n/);
    assert.match(yaml, /vcs-url: https:\/\/github\.com\/example\/app@abc123\n/);
    // Unredacted on request (the build needs the real URLs to fetch).
    assert.match(renderConfigYaml(config, { redact: false }), /alice:s3cret@/);
  });

  test('the rendered YAML loads back to the same config (full.yaml, examples, apko fixtures)', async () => {
    const sources = [
      join(dataDir, 'full.yaml'),
      join(dataDir, 'service-bundle.yaml'),
      join(examplesDir, 'alpine-base.yaml'),
      join(examplesDir, 'nonroot-app.yaml'),
      join(examplesDir, 'busybox-static.yaml'),
    ];
    for (const file of sources) {
      const { config } = await loadConfig(file);
      const again = await loadConfigText(renderConfigYaml(config), 'rendered.yaml', { cwd: dir() });
      assert.deepEqual(again.config, config, file);
      assert.deepEqual(again.warnings, [], file);
    }
    const apko = await loadConfig('testdata/layering.yaml', { cwd: fixture('apko/internal/cli') });
    assert.deepEqual((await loadConfigText(renderConfigYaml(apko.config), 'r.yaml')).config, apko.config);
  });

  test('apko field names and order; permissions in octal; empty fields left out', async () => {
    const { config } = await loadConfig(join(dataDir, 'full.yaml'));
    const doc = toApkoDocument(config);
    assert.deepEqual(Object.keys(doc), [
      'contents',
      'entrypoint',
      'cmd',
      'stop-signal',
      'work-dir',
      'accounts',
      'archs',
      'environment',
      'paths',
      'vcs-url',
      'annotations',
      'volumes',
      'layering',
      'certificates',
    ]);
    assert.deepEqual(Object.keys(doc.contents as object), [
      'build_repositories',
      'runtime_repositories',
      'repositories',
      'keyring',
      'runtime_keyring',
      'packages',
    ]);
    const yaml = renderConfigYaml(config);
    assert.match(yaml, /permissions: 0o750\n/);
    assert.match(yaml, /run-as: "65532"\n/);
    const minimal = (await loadText(dir(), 'm.yaml', 'contents: {packages: [busybox]}\n')).config;
    assert.equal(renderConfigYaml(minimal), 'contents:\n  packages:\n    - busybox\n');
    // apko's JSON always carries its struct-typed fields (as in the golden /etc/apko.json).
    assert.deepEqual(toApkoDocument(minimal, { emptyStructs: true }), {
      contents: { packages: ['busybox'] },
      entrypoint: {},
      accounts: {},
    });
  });

  test('apko.json shape for apko’s golden config', async () => {
    const { config } = await loadConfig('testdata/apko.yaml', { cwd: fixture('apko/internal/cli') });
    // The golden /etc/apko.json is of the locked per-arch config; the unlocked parts match field for field.
    assert.equal(
      JSON.stringify(toApkoDocument({ ...config, archs: ['arm64'] }, { emptyStructs: true })),
      '{"contents":{"repositories":["./testdata/packages"],"keyring":["./testdata/melange.rsa.pub"],"packages":["replayout"]},"entrypoint":{"command":"/bin/sh -l"},"accounts":{},"archs":["arm64"]}',
    );
  });
});
