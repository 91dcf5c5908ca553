/**
 * apko's own configs: every one in its examples/ and internal/cli/testdata/ passes `lading show-config`, run from
 * the directory apko runs it from; those whose packages the fixtures hold build: the testdata configs from their
 * local repositories (layering.yaml's `./packages` does not exist there: a warning, as in apko; when a package
 * is needed, the error names it), and examples/alpine-base.yaml, which lists no key, from the Alpine 3.19 fixture
 * repository served as `/alpine/v3.22/main` on 127.0.0.1, its key found by discovery in releases data served
 * beside it. That image runs its own command; its lock records the key; with the server gone, the same build
 * (discovery answered from the cache) and the locked one (the key from the lock) make the same image.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { renderConfigYaml } from '../../src/config/render.ts';
import { loadBuildConfig } from '../../src/pipeline/open.ts';
import { resolveConfig } from '../../src/pipeline/resolve.ts';
import type { LadingError } from '../../src/util/errors.ts';
import { silentLogger } from '../../src/util/log.ts';
import { sharedCache } from '../helpers/cache.ts';
import { runInLayout } from '../helpers/containers.ts';
import { layoutManifests } from '../helpers/image-tree.ts';
import { fixture } from '../helpers/paths.ts';
import { type RepoServer, startRepoServer } from '../helpers/repo-server.ts';
import { layerFiles } from '../helpers/sbom-built-image.ts';
import { ladingAsync, tempDir } from '../helpers/tools.ts';

const APKO = () => fixture('apko');
const CLI = () => fixture('apko/internal/cli');
const ALPINE_KEY = 'alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub';

/** apko's image configs (its melange recipes beside them are not image configs), with the directory apko runs each from. */
function apkoConfigs(): { config: string; cwd: string }[] {
  const examples = readdirSync(join(APKO(), 'examples'))
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => ({ config: `examples/${f}`, cwd: APKO() }));
  const onTop = readdirSync(join(APKO(), 'examples/on_top_of_base'))
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => ({ config: f, cwd: join(APKO(), 'examples/on_top_of_base') }));
  const testdata = readdirSync(join(CLI(), 'testdata'))
    .filter((f) => f.endsWith('.yaml') && !f.endsWith('.melange.yaml'))
    .map((f) => ({ config: `testdata/${f}`, cwd: CLI() }));
  return [...examples, ...onTop, ...testdata];
}

describe("apko's own configs", () => {
  const tmp = tempDir('lading-apko-configs-');
  const cache = sharedCache();
  let server: RepoServer;
  let env: NodeJS.ProcessEnv;
  before(async () => {
    const docs = join(tmp.path, 'docs');
    mkdirSync(docs);
    server = await startRepoServer({
      routes: { '/alpine/v3.22/main/': fixture('alpine/v3.19.1-iso-repo'), '/docs/': docs },
    });
    const key = `${server.url}/keys/${ALPINE_KEY.replace('@', '%40')}`;
    writeFileSync(
      join(docs, 'releases.json'),
      JSON.stringify({ release_branches: [{ rel_branch: 'v3.22', keys: { x86_64: [{ url: key }] } }] }),
    );
    env = { ...process.env, LADING_ALPINE_RELEASES_URL: `${server.url}/docs/releases.json` };
  });
  after(async () => {
    await server.close();
    tmp.remove();
  });

  it('all pass show-config from the directory apko runs them from', async () => {
    const configs = apkoConfigs();
    assert.ok(configs.length >= 25, `${configs.length} configs`);
    // what `lading show-config` runs, in this process (a process each costs seconds on a busy machine) …
    for (const { config, cwd } of configs) {
      const warnings: string[] = [];
      const logger = { ...silentLogger, warn: (m: string) => warnings.push(m) };
      const { config: loaded } = await loadBuildConfig({ config, cwd }, logger);
      assert.match(renderConfigYaml(loaded), /^contents:/m, config);
    }
    // … and the command itself on one
    const { config, cwd } = configs.at(-1)!;
    const r = await ladingAsync(['show-config', config], { cwd });
    assert.equal(r.status, 0, `${config}: ${r.stderr}`);
    assert.match(r.stdout, /^contents:/m, config);
  });

  it('the testdata configs build from their local repositories, layering.yaml included', async () => {
    // the four run from internal/cli in one `build-many` process (a process each costs more than their builds),
    // base_image.apko.yaml from testdata/, as apko runs it
    const many = join(tmp.path, 'testdata');
    const names = ['apko', 'apko-certs', 'empty-layering', 'layering'];
    const manyArgs = ['--output-dir', many, '--jobs', '2', '--tag', 'test', '--cache-dir', cache];
    const baseOut = join(tmp.path, 'base_image');
    const [all, baseImage] = await Promise.all([
      ladingAsync(['build-many', ...names.map((n) => `testdata/${n}.yaml`), ...manyArgs], { cwd: CLI() }),
      ladingAsync(['build', 'base_image.apko.yaml', 'apko:test', `${baseOut}/`, '--cache-dir', cache], {
        cwd: join(CLI(), 'testdata'),
      }),
    ]);
    for (const r of [all, baseImage]) assert.equal(r.status, 0, r.stderr);
    for (const out of [...names.map((n) => join(many, n)), baseOut]) {
      assert.deepEqual([...layoutManifests(out).keys()].sort(), ['amd64', 'arm64'], out);
    }
    assert.match(
      all.stderr,
      /\[layering\] warn: .*repository \.\/packages \(x86_64\) not found .*; the repository is skipped/,
    );
    assert.ok(layoutManifests(join(many, 'layering')).get('amd64')!.layers.length >= 2, 'origin layers');
    // unless a package is needed from it: then the error names the skipped repository (in this process)
    await assert.rejects(
      resolveConfig({
        config: 'testdata/layering.yaml',
        cwd: CLI(),
        cacheDir: cache,
        archs: ['x86_64'],
        packageAppend: ['only-in-packages'],
        memo: false,
      }),
      (e: LadingError) =>
        e.code === 'SOLVER_UNSATISFIABLE' &&
        /only-in-packages/.test(e.message) &&
        /\.\/packages was skipped: no x86_64 index there/.test(e.hint ?? ''),
    );
  });

  it('examples/alpine-base.yaml builds with its key discovered, runs its command; locked or not, it builds again offline', async () => {
    const config = join(tmp.path, 'alpine-base.yaml');
    const text = readFileSync(join(APKO(), 'examples/alpine-base.yaml'), 'utf8');
    assert.match(text, /https:\/\/dl-cdn\.alpinelinux\.org\/alpine\/v3\.22\/main/);
    assert.doesNotMatch(text, /keyring/);
    writeFileSync(config, text.replace('https://dl-cdn.alpinelinux.org', server.url));
    const out = join(tmp.path, 'alpine-base');
    const build = (extra: string[], to = out) =>
      ladingAsync(['build', config, 'alpine-base:apko', `${to}/`, '--arch', 'amd64', ...extra], { env });
    const r = await build(['--cache-dir', cache]);
    assert.equal(r.status, 0, r.stderr);
    const files = layerFiles(out, 'amd64');
    assert.deepEqual(
      files.get(`etc/apk/keys/${ALPINE_KEY}`),
      readFileSync(fixture('alpine/keys', ALPINE_KEY)),
    );
    const run = runInLayout(out, 'alpine-base:apko', undefined, tmp.path);
    assert.equal(run.status, 0, run.stderr);

    // the lock records the discovered key with its content
    const lockFile = join(tmp.path, 'alpine-base.lock.json');
    const lockArgs = ['-o', lockFile, '--arch', 'amd64', '--cache-dir', cache];
    const locked = await ladingAsync(['lock', config, ...lockArgs], { env });
    assert.equal(locked.status, 0, locked.stderr);
    const keyring = (
      JSON.parse(readFileSync(lockFile, 'utf8')) as {
        contents: { keyring: { url: string; content: string }[] };
      }
    ).contents.keyring;
    assert.deepEqual(
      keyring.map((k) => [k.url, k.content]),
      [
        [
          `${server.url}/keys/${ALPINE_KEY.replace('@', '%40')}`,
          readFileSync(fixture('alpine/keys', ALPINE_KEY), 'utf8'),
        ],
      ],
    );

    // with the server gone: discovery answers from the cache, and the locked build takes the key from the lock;
    // both make the same image
    await server.close();
    const [offline, lockedOffline] = await Promise.all([
      build(['--cache-dir', cache, '--offline']),
      build(['--cache-dir', cache, '--offline', '--lockfile', lockFile], join(tmp.path, 'locked')),
    ]);
    for (const b of [offline, lockedOffline]) {
      assert.equal(b.status, 0, b.stderr);
      assert.equal(b.stdout, r.stdout);
    }
  });
});
