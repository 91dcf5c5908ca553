/**
 * Many images on existing engines, with the registry as the shared store: six configs (three on the fixture
 * repository, three on a generated one) planned once, then
 * - published by one process, by GNU parallel over two shards, by two Docker swarm job tasks (a test-started
 *   engine), and by three processes given JOB_COMPLETION_INDEX with one of them killed and run again: every way
 *   ends with the same tag → digest table, and no other tags;
 * - published again: every image `skipped`, and the registry (behind a logging proxy) sees no POST, PATCH or PUT;
 * - built by build-many into OCI layouts with the same digests;
 * - after a package bump and a new provider (packages built and indexed again here), `plan --check` names exactly
 *   the two images whose resolution changed, only they are published, and a fresh worker (empty cache, the shared
 *   HTTP cache of nginx) uploads only the layers that changed;
 * - a read-only cache serves an unprivileged build of a config never built, unchanged; poisoned entries of the
 *   shared HTTP cache (wrong bytes under a hash, a layer key pointing at another layer) are caught and ignored.
 * One registry, one nginx and one engine for the whole file; every child process is time-limited and its output
 * capped (runLimited).
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import {
  chmodSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { INPUT_DIGEST_ANNOTATION } from '../../src/pipeline/input-digest.ts';
import { alpineKey, isoRepoDir } from '../helpers/build.ts';
import { type Dockerd, startDockerd } from '../helpers/dockerd.ts';
import { addPackages, makeRepo, type TestRepo } from '../helpers/make-repo.ts';
import { type NginxCache, startNginxCache } from '../helpers/nginx-cache.ts';
import { fixturesDir, ladingBin, repoRoot } from '../helpers/paths.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';
import { type RegistryProxy, startRegistryProxy } from '../helpers/registry-proxy.ts';
import { requireTool, run, runLimited, tempDir } from '../helpers/tools.ts';

const tmp = tempDir('lading-scale-');
const W = tmp.path;
const SDE = '1700000000';
const env = { ...process.env, SOURCE_DATE_EPOCH: SDE };
const ORIGIN = 'layering: {strategy: origin, budget: 10}\n';

/** lading, time-limited, output capped. */
function lading(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}) {
  return runLimited(process.execPath, [ladingBin, ...args], { cwd: W, env, timeoutMs: 90_000, ...options });
}

function ok(r: { status: number; stdout: string; stderr: string }, what: string): void {
  assert.equal(r.status, 0, `${what} failed:\n${r.stderr.slice(-3000)}`);
}

/** The JSON result lines of publish-many. */
function results(stdout: string): { image: string; status: string; digest?: string; ref?: string }[] {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l));
}

/** image name → the digest `latest` names, for every repository under PREFIX; fails on any other tag. */
async function table(registry: TestRegistry, prefix: string): Promise<Record<string, string>> {
  const catalog = (await (await fetch(`${registry.url}/v2/_catalog?n=1000`)).json()) as {
    repositories: string[];
  };
  const out: Record<string, string> = {};
  for (const repo of catalog.repositories.filter((r) => r.startsWith(`${prefix}/`)).sort()) {
    const tags = ((await (await fetch(`${registry.url}/v2/${repo}/tags/list`)).json()) as { tags: string[] })
      .tags;
    assert.deepEqual(tags, ['latest'], `${repo} has only the tag latest`);
    const res = await fetch(`${registry.url}/v2/${repo}/manifests/latest`, {
      method: 'HEAD',
      headers: { accept: 'application/vnd.oci.image.index.v1+json' },
    });
    out[repo.slice(prefix.length + 1)] = res.headers.get('docker-content-digest')!;
  }
  return out;
}

interface Doc {
  annotations: Record<string, string>;
  manifests: { digest: string }[];
  config: { digest: string };
  layers: { digest: string }[];
}

async function manifestOf(registry: TestRegistry, repo: string, ref: string): Promise<Doc> {
  const res = await fetch(`${registry.url}/v2/${repo}/manifests/${ref}`, {
    headers: {
      accept: 'application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json',
    },
  });
  return (await res.json()) as Doc;
}

/** Every blob (config, layers) of the image `latest` names. */
async function blobsOf(registry: TestRegistry, repo: string): Promise<Set<string>> {
  const index = await manifestOf(registry, repo, 'latest');
  const out = new Set<string>();
  for (const m of index.manifests) {
    const manifest = await manifestOf(registry, repo, m.digest);
    out.add(manifest.config.digest);
    for (const l of manifest.layers) out.add(l.digest);
  }
  return out;
}

describe('many images, many workers', () => {
  let registry: TestRegistry;
  let proxy: RegistryProxy;
  let nginx: NginxCache;
  let engine: Promise<Dockerd>;
  let gen: TestRepo;
  const cache = join(W, 'cache');
  const plan = join(W, 'plan.json');
  let reference: Record<string, string>;

  before(async () => {
    chmodSync(W, 0o755); // the unprivileged build reads its config here
    // the engine starts while the rest is set up
    engine = startDockerd();
    registry = await startRegistry();
    proxy = await startRegistryProxy(registry.url);
    nginx = await startNginxCache();
    gen = makeRepo(join(W, 'gen'), [
      { name: 'gbase', files: { 'etc/gbase.conf': 'base\n' } },
      { name: 'libfoo', provides: ['so:libfoo.so.1=1'], files: { 'usr/lib/libfoo.so.1': 'foo 1.0\n' } },
      { name: 'app', depends: ['so:libfoo.so.1'], files: { 'usr/bin/app': '#!/bin/sh\necho app\n' } },
      { name: 'toola', provides: ['tool'], providerPriority: 10, files: { 'usr/bin/tool-a': 'a\n' } },
    ]);
    const images = join(W, 'images');
    mkdirSync(join(images, 'gen'), { recursive: true });
    const fixtureConfig = (name: string, world: string[]) =>
      writeFileSync(
        join(images, `${name}.yaml`),
        `contents:\n  repositories: [${isoRepoDir()}]\n  keyring: [${alpineKey()}]\n  packages: [${world.join(', ')}]\narchs: [x86_64]\n${ORIGIN}`,
      );
    fixtureConfig('busybox', ['busybox']);
    fixtureConfig('certs', ['busybox', 'ca-certificates-bundle']);
    fixtureConfig('base', ['alpine-baselayout', 'busybox']);
    const genConfig = (name: string, world: string[]) =>
      writeFileSync(
        join(images, 'gen', `${name}.yaml`),
        `contents:\n  repositories: [${gen.repo}]\n  keyring: [${gen.key}]\n  packages: [${world.join(', ')}]\narchs: [x86_64]\n${ORIGIN}`,
      );
    genConfig('base', ['gbase']);
    genConfig('app', ['app', 'gbase']);
    genConfig('tool', ['tool']);
    ok(await lading(['plan', 'images', '-o', plan, '--cache-dir', cache, '--format', 'lines']), 'plan');
  });

  after(async () => {
    await Promise.all([registry?.stop(), proxy?.stop(), nginx?.stop(), engine?.then((e) => e.stop())]);
    run('ip', ['link', 'delete', 'docker_gwbridge']); // swarm's, made despite --bridge=none
    tmp.remove();
  });

  const publishMany = (prefix: string, extra: string[] = [], host = registry.host) =>
    lading(['publish-many', plan, '--to', `${host}/${prefix}`, '--cache-dir', cache, '--no-sbom', ...extra]);

  /** GNU parallel, two at a time over two shards. */
  const viaParallel = async () => {
    const par = await runLimited(
      requireTool('parallel'),
      [
        '-j',
        '2',
        process.execPath,
        ladingBin,
        'publish-many',
        plan,
        '--shard',
        '{}/2',
        '--to',
        `${registry.host}/par`,
        '--cache-dir',
        cache,
        '--no-sbom',
        ':::',
        '0',
        '1',
      ],
      { cwd: W, env, timeoutMs: 120_000 },
    );
    ok(par, 'parallel');
    assert.equal(results(par.stdout).length, 6);
  };

  /** A Kubernetes Indexed Job's contract: three processes with JOB_COMPLETION_INDEX; one killed and run again. */
  const viaIndexedJob = async () => {
    const indexed = (i: number, onSpawn?: (c: ChildProcess) => void) =>
      runLimited(
        process.execPath,
        [
          ladingBin,
          'publish-many',
          plan,
          '--shard',
          'auto/3',
          '--to',
          `${registry.host}/idx`,
          '--cache-dir',
          cache,
          '--no-sbom',
        ],
        {
          cwd: W,
          env: { ...env, JOB_COMPLETION_INDEX: String(i) },
          timeoutMs: 90_000,
          ...(onSpawn ? { onSpawn } : {}),
        },
      );
    const first = await Promise.all([
      indexed(0),
      // killed once it has started on its first image
      indexed(1, (child) => child.stderr!.once('data', () => child.kill('SIGKILL'))),
      indexed(2),
    ]);
    ok(first[0]!, 'index 0');
    ok(first[2]!, 'index 2');
    assert.notEqual(first[1]!.status, 0, 'index 1 was killed');
    ok(await indexed(1), 'index 1, again');
  };

  /** Docker swarm: a replicated job of two tasks on the test's engine, each shard from its slot. */
  const viaSwarm = async () => {
    const d = await engine;
    const docker = (args: string[]) =>
      runLimited(requireTool('docker'), args, {
        env: { ...process.env, DOCKER_HOST: d.host },
        timeoutMs: 60_000,
      });
    const rootfs = join(W, 'runner');
    for (const dir of ['usr', 'tmp', 'proc', 'sys', 'dev', 'etc'])
      mkdirSync(join(rootfs, dir), { recursive: true });
    for (const l of ['bin', 'lib', 'lib64', 'sbin']) symlinkSync(`usr/${l}`, join(rootfs, l));
    ok(run('tar', ['-C', rootfs, '-cf', join(W, 'runner.tar'), '.']), 'tar');
    ok(await docker(['import', join(W, 'runner.tar'), 'localhost/lading-runner:1']), 'docker import');
    ok(
      await docker(['swarm', 'init', '--advertise-addr', '127.0.0.1', '--listen-addr', '127.0.0.1:0']),
      'swarm init',
    );
    // the host's /usr (node's libraries), the checkout, the fixtures and this test's directory, at their own paths
    const mounts = ['/usr', repoRoot, fixturesDir, W].flatMap((p) => [
      '--mount',
      `type=bind,source=${p},target=${p}${p === W ? '' : ',readonly'}`,
    ]);
    const service = await docker([
      'service',
      'create',
      '--detach',
      '--name',
      'shards',
      '--mode',
      'replicated-job',
      '--replicas',
      '2',
      '--max-concurrent',
      '2',
      '--network',
      'host',
      '--no-resolve-image',
      '--restart-condition',
      'none',
      '--env',
      'SLOT={{.Task.Slot}}',
      '--env',
      `SOURCE_DATE_EPOCH=${SDE}`,
      '--workdir',
      W,
      ...mounts,
      'localhost/lading-runner:1',
      process.execPath,
      ladingBin,
      'publish-many',
      plan,
      '--shard',
      'swarm-slot:SLOT/2',
      '--to',
      `${registry.host}/swarm`,
      '--cache-dir',
      cache,
      '--no-sbom',
      '--results',
      join(W, 'swarm-results.jsonl'),
    ]);
    ok(service, 'docker service create');
    let states: string[] = [];
    for (let i = 0; i < 600; i++) {
      states = (await docker(['service', 'ps', 'shards', '--format', '{{.CurrentState}}'])).stdout
        .trim()
        .split('\n');
      if (states.length === 2 && states.every((x) => /^(Complete|Failed|Rejected)/.test(x))) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(
      states.every((x) => x.startsWith('Complete')),
      `swarm tasks: ${states.join('; ')}\n${(await docker(['service', 'logs', 'shards'])).stderr.slice(-2000)}`,
    );
    await docker(['swarm', 'leave', '--force']);
    assert.equal(results(readFileSync(join(W, 'swarm-results.jsonl'), 'utf8')).length, 6);
  };

  it('one process, GNU parallel, swarm job tasks and indexed processes (one killed, run again) publish the same table', async () => {
    // one process, through the logging proxy, filling the shared HTTP cache
    const one = await publishMany('one', ['--cache-to', nginx.url], proxy.host);
    ok(one, 'publish-many');
    assert.deepEqual(
      results(one.stdout).map((r) => r.status),
      Array(6).fill('pushed'),
    );
    reference = await table(registry, 'one');
    assert.deepEqual(Object.keys(reference), ['base', 'busybox', 'certs', 'gen/app', 'gen/base', 'gen/tool']);

    // the other engines at once, each into its own prefix of the registry, all on the same cache
    await Promise.all([viaParallel(), viaIndexedJob(), viaSwarm()]);
    for (const prefix of ['par', 'idx', 'swarm'])
      assert.deepEqual(await table(registry, prefix), reference, prefix);
  });

  it('publish again: every image skipped with the same digest, and no POST, PATCH or PUT', async () => {
    const start = proxy.log.length;
    const again = await publishMany('one', [], proxy.host);
    ok(again, 'publish-many again');
    const rs = results(again.stdout);
    assert.deepEqual(
      rs.map((r) => r.status),
      Array(6).fill('skipped'),
    );
    for (const r of rs) assert.equal(r.digest, reference[r.image]);
    const sent = proxy.log.slice(start);
    assert.deepEqual(
      sent.filter((e) => !['GET', 'HEAD'].includes(e.method)),
      [],
    );
    // each image: its tag and manifests read (GET), its blobs and tag checked (HEAD)
    assert.equal(sent.filter((e) => e.method === 'GET' && e.path.endsWith('/manifests/latest')).length, 6);
    // the input digest of the plan is on the index and its manifests
    const planned = JSON.parse(readFileSync(plan, 'utf8')) as {
      images: { name: string; inputDigest: string }[];
    };
    for (const p of planned.images) {
      const index = await manifestOf(registry, `one/${p.name}`, 'latest');
      assert.equal(index.annotations[INPUT_DIGEST_ANNOTATION], p.inputDigest, p.name);
      const manifest = await manifestOf(registry, `one/${p.name}`, index.manifests[0]!.digest);
      assert.equal(manifest.annotations[INPUT_DIGEST_ANNOTATION], p.inputDigest, p.name);
    }
  });

  it('build-many: a shard of the plan as OCI layouts, the published digests, again after a rerun', async () => {
    const out = join(W, 'layouts');
    const args = [
      'build-many',
      plan,
      '--output-dir',
      out,
      '--shard',
      '1/2',
      '--cache-dir',
      cache,
      '--no-sbom',
    ];
    const first = await lading(args);
    ok(first, 'build-many');
    const built = results(first.stdout);
    assert.ok(built.length >= 2);
    for (const r of built) {
      assert.equal(r.status, 'built');
      assert.equal(r.digest, reference[r.image], r.image);
      assert.ok(statSync(join(out, r.image, 'index.json')).isFile());
    }
    const again = await lading(args);
    ok(again, 'build-many again');
    assert.deepEqual(
      results(again.stdout).map((r) => [r.image, r.digest]),
      built.map((r) => [r.image, r.digest]),
    );
  });

  it('a bump and a new provider: plan --check names exactly the changed images; a fresh worker uploads only changed layers', async () => {
    const before = {
      app: await blobsOf(registry, 'one/gen/app'),
      tool: await blobsOf(registry, 'one/gen/tool'),
    };
    // libfoo 1.1, and toolb: a better provider of `tool`, a name no image installs as a package
    addPackages(join(W, 'gen'), gen, [
      {
        name: 'libfoo',
        version: '1.1-r0',
        provides: ['so:libfoo.so.1=1'],
        files: { 'usr/lib/libfoo.so.1': 'foo 1.1\n' },
      },
      { name: 'toolb', provides: ['tool'], providerPriority: 20, files: { 'usr/bin/tool-b': 'b\n' } },
    ]);
    const plan2 = join(W, 'plan2.json');
    const check = await lading([
      'plan',
      'images',
      '-o',
      plan2,
      '--check',
      plan,
      '--format',
      'lines',
      '--cache-dir',
      cache,
    ]);
    ok(check, 'plan --check');
    assert.equal(check.stdout, 'gen/app\ngen/tool\n');
    // the graph names the direct case; only re-resolving found the other
    // (and the registry agrees: asked for the input digests its tags carry)
    const plan3 = join(W, 'plan3.json');
    const graph = await lading([
      'plan',
      'images',
      '--format',
      'graph',
      '-o',
      plan3,
      '--check',
      `${registry.host}/one`,
      '--cache-dir',
      cache,
    ]);
    ok(graph, 'plan --format graph');
    const against = JSON.parse(readFileSync(plan3, 'utf8')) as {
      images: { name: string; changed: boolean }[];
    };
    assert.deepEqual(
      against.images.filter((i) => i.changed).map((i) => i.name),
      ['gen/app', 'gen/tool'],
    );
    const g = JSON.parse(graph.stdout);
    assert.deepEqual(g.libfoo, { '1.1-r0': ['gen/app'] });
    assert.deepEqual(g.toolb, { '1.0-r0': ['gen/tool'] });

    // a fresh worker: empty cache, the shared HTTP cache
    const start = proxy.log.length;
    const fresh = await lading([
      'publish-many',
      plan2,
      '--to',
      `${proxy.host}/one`,
      '--cache-dir',
      join(W, 'fresh'),
      '--cache-from',
      nginx.url,
      '--no-sbom',
      '--log-level',
      'debug',
    ]);
    ok(fresh, 'publish-many (fresh worker)');
    const rs = results(fresh.stdout);
    assert.deepEqual(
      rs.filter((r) => r.status === 'pushed').map((r) => r.image),
      ['gen/app', 'gen/tool'],
    );
    assert.equal(rs.filter((r) => r.status === 'skipped').length, 4);
    const uploaded = new Set(
      proxy.log
        .slice(start)
        .filter((e) => e.method === 'PUT' && e.path.includes('/blobs/uploads/'))
        .map((e) => new URLSearchParams(e.query).get('digest')),
    );
    const after = {
      app: await blobsOf(registry, 'one/gen/app'),
      tool: await blobsOf(registry, 'one/gen/tool'),
    };
    const changed = new Set([
      ...[...after.app].filter((b) => !before.app.has(b)),
      ...[...after.tool].filter((b) => !before.tool.has(b)),
    ]);
    assert.deepEqual(uploaded, changed);
    assert.ok(
      after.app.size - [...after.app].filter((b) => !before.app.has(b)).length > 0,
      'app kept layers',
    );
    // the unchanged layers came from the shared cache, checked, not written again
    assert.match(fresh.stderr, /from a shared cache, checked, not written/);
  });

  it('a read-only cache serves an unprivileged build; poisoned shared-cache entries are caught and ignored', async () => {
    const config = join(W, 'never.yaml');
    writeFileSync(
      config,
      `contents:\n  repositories: [${isoRepoDir()}]\n  keyring: [${alpineKey()}]\n  packages: [busybox, zlib, ca-certificates-bundle]\narchs: [x86_64]\n${ORIGIN}`,
    );
    const out = join(W, 'ro-out');
    mkdirSync(out, { mode: 0o777 });
    chmodSync(out, 0o777);
    run('chmod', ['-R', 'a-w', cache]);
    const stamp = join(W, 'stamp');
    writeFileSync(stamp, '');
    const later = statSync(stamp).mtimeMs;
    const setpriv = requireTool('setpriv');
    const nobody = await runLimited(
      setpriv,
      [
        '--reuid=nobody',
        '--regid=nogroup',
        '--clear-groups',
        process.execPath,
        ladingBin,
        'build',
        config,
        'never:1',
        join(out, 'never/'),
        '--cache-dir',
        cache,
        '--no-sbom',
      ],
      { cwd: W, env, timeoutMs: 60_000 },
    );
    ok(nobody, 'build as nobody against a read-only cache');
    assert.match(nobody.stderr, /cannot be written: reading it/);
    run('chmod', ['-R', 'u+w', cache]);
    const newer = run('find', [cache, '-newer', stamp]).stdout.trim();
    assert.equal(newer, '', 'nothing in the cache changed');
    assert.ok(statSync(cache).mtimeMs < later);
    // the same image as a build with a writable cache of its own
    const own = await lading([
      'build',
      config,
      'never:1',
      join(W, 'own/'),
      '--cache-dir',
      join(W, 'own-cache'),
      '--no-sbom',
    ]);
    ok(own, 'build');
    assert.equal(nobody.stdout, own.stdout);

    // poisoned: the largest blob's bytes replaced, and one layer's key pointed at another layer
    const cas = join(nginx.root, 'cas');
    const largest = readdirSync(cas)
      .map((f) => ({ f, size: statSync(join(cas, f)).size }))
      .sort((a, b) => b.size - a.size)[0]!.f;
    writeFileSync(join(cas, largest), Buffer.alloc(statSync(join(cas, largest)).size, 7));
    const ac = join(nginx.root, 'ac');
    const layers = readdirSync(ac)
      .map((f) => ({ f, ref: JSON.parse(readFileSync(join(ac, f), 'utf8')) }))
      .filter((e) => e.ref.meta?.diffId);
    const [a, b] = [layers[0]!, layers.find((l) => l.ref.blob.digest !== layers[0]!.ref.blob.digest)!];
    writeFileSync(join(ac, a.f), JSON.stringify({ ...a.ref, blob: b.ref.blob, meta: b.ref.meta }));
    const poisoned = await lading([
      'publish-many',
      plan,
      '--to',
      `${registry.host}/poisoned`,
      '--cache-dir',
      join(W, 'fresh2'),
      '--cache-from',
      nginx.url,
      '--no-sbom',
    ]);
    ok(poisoned, 'publish-many from a poisoned cache');
    assert.match(poisoned.stderr, /do not hash to it; ignored/);
    assert.match(poisoned.stderr, /is not the layer these files make; ignored/);
    assert.deepEqual(await table(registry, 'poisoned'), reference);
  });
});
