/**
 * Many images on existing engines, with the registry as the shared store: six configs (three on the fixture
 * repository, three on a generated one) planned once, then
 * - published by one process; by two shard processes given JOB_COMPLETION_INDEX (a Kubernetes Indexed Job's
 *   contract), one of them killed once it had begun and GNU parallel then running both; and by two Docker swarm
 *   job tasks (a test-started engine): every way ends with the same tag → digest table, and no other tags;
 * - published again: every image `skipped`, and the registry (behind a logging proxy) sees no POST, PATCH or PUT;
 * - after a package bump and a new provider (packages built and indexed again here), `plan --check` against the
 *   registry names exactly the two images whose resolution changed, only they are published, and a fresh worker
 *   (empty cache, the shared HTTP cache of nginx holding poisoned entries: wrong bytes under a hash, a layer key
 *   pointing at another layer) catches and ignores the poison and uploads only the layers that changed;
 * - a read-only cache serves an unprivileged build of a config it never built (one of the bumped images, under
 *   another name) to the digest the fresh worker published, and nothing in the cache changes.
 * The partition itself (n = 1…5, any order) is checked in-process in test/pipeline/shard.test.ts.
 * One registry, one nginx and one engine (stopped once its job is done); builds are reused across the steps
 * (one shared cache; the read-only build and the fresh worker's check each other); the generated packages are
 * made in-process; the registry and the work tree are in memory when there is room; every child process is
 * time-limited and its output capped (runLimited, sys). build-many is in test/e2e/apko-configs.test.ts.
 */
import assert from 'node:assert/strict';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { gunzipSync } from 'node:zlib';
import { createApk, type PackageSpec, readSourceTree } from '../../src/apk/apk-writer.ts';
import { indexRecordsFromFiles, writeApkIndex } from '../../src/apk/apkindex.ts';
import { loadSigningKey } from '../../src/apk/signature.ts';
import { INPUT_DIGEST_ANNOTATION } from '../../src/pipeline/input-digest.ts';
import { alpineKey, isoRepoDir } from '../helpers/build.ts';
import { type Dockerd, startDockerd } from '../helpers/dockerd.ts';
import { type NginxCache, startNginxCache } from '../helpers/nginx-cache.ts';
import { fixturesDir, ladingBin, repoRoot } from '../helpers/paths.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';
import { type RegistryProxy, startRegistryProxy } from '../helpers/registry-proxy.ts';
import { memoryTempDir, requireTool, run, runLimited } from '../helpers/tools.ts';

const tmp = memoryTempDir('lading-scale-');
const W = tmp.path;
const SDE = '1700000000';
const env = { ...process.env, SOURCE_DATE_EPOCH: SDE };
const ORIGIN = 'layering: {strategy: origin, budget: 10}\n';

/** lading, time-limited, output capped. */
function lading(args: string[]) {
  return runLimited(process.execPath, [ladingBin, ...args], { cwd: W, env, timeoutMs: 90_000 });
}

/** A quick system tool (tar, chmod, find, ip), time-limited, output capped. */
function sys(cmd: string, args: string[]) {
  return run(cmd, args, { timeout: 30_000, maxBuffer: 1 << 20 });
}

function ok(r: { status: number; stdout: string; stderr: string }, what: string): void {
  assert.equal(r.status, 0, `${what} failed:\n${r.stderr.slice(-3000)}`);
}

/** The JSON result lines of publish-many and build-many. */
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

/** What the tests read of a plan file (the CLI's JSON). */
interface PlanFile {
  images: { name: string; inputDigest: string; cost: number; changed?: boolean }[];
}

const readPlanFile = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as PlanFile;

interface Doc {
  annotations: Record<string, string>;
  manifests: { digest: string }[];
  config: { digest: string };
  layers: { digest: string }[];
  rootfs: { diff_ids: string[] };
}

async function manifestOf(registry: TestRegistry, repo: string, ref: string): Promise<Doc> {
  const res = await fetch(`${registry.url}/v2/${repo}/manifests/${ref}`, {
    headers: {
      accept: 'application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json',
    },
  });
  return (await res.json()) as Doc;
}

/** The manifests of the image `latest` names. */
async function manifestsOf(registry: TestRegistry, repo: string): Promise<Doc[]> {
  const index = await manifestOf(registry, repo, 'latest');
  return Promise.all(index.manifests.map((m) => manifestOf(registry, repo, m.digest)));
}

/** Every blob (config, layers) of the image `latest` names. */
async function blobsOf(registry: TestRegistry, repo: string): Promise<Set<string>> {
  return new Set(
    (await manifestsOf(registry, repo)).flatMap((m) => [m.config.digest, ...m.layers.map((l) => l.digest)]),
  );
}

/** The diff ID of the layer of the image `latest` names (one architecture) that holds the file `path`. */
async function layerHolding(registry: TestRegistry, repo: string, path: string): Promise<string> {
  const [m] = await manifestsOf(registry, repo);
  const blob = async (digest: string) =>
    Buffer.from(await (await fetch(`${registry.url}/v2/${repo}/blobs/${digest}`)).arrayBuffer());
  const config = JSON.parse((await blob(m!.config.digest)).toString()) as Doc;
  for (const [i, l] of m!.layers.entries()) {
    // a tar header holds the name NUL-padded (the apk database beside it names files otherwise)
    if (gunzipSync(await blob(l.digest)).includes(`${path}\0`)) return config.rootfs.diff_ids[i]!;
  }
  throw new Error(`no layer of ${repo} holds ${path}`);
}

/** The generated repository (REPO/x86_64), its public key and its signing key. */
interface GenRepo {
  repo: string;
  key: string;
  privateKey: string;
}

/**
 * Packages into the generated repository, which is indexed again (the packages there keep their bytes, as a
 * package bump leaves them): the library calls behind `lading package` and `lading index`, whose commands
 * have their own tests, without a process each.
 */
async function addPackages(
  gen: GenRepo,
  packages: (Omit<PackageSpec, 'version'> & { version?: string; files: Record<string, string> })[],
): Promise<void> {
  const archDir = join(gen.repo, 'x86_64');
  mkdirSync(archDir, { recursive: true });
  const signingKey = await loadSigningKey(gen.privateKey);
  for (const { files, ...p } of packages) {
    const spec = { version: '1.0-r0', arch: 'x86_64', origin: p.name, ...p };
    const src = join(gen.repo, '..', 'src', `${spec.name}-${spec.version}`);
    for (const [path, content] of Object.entries(files)) {
      mkdirSync(dirname(join(src, path)), { recursive: true });
      writeFileSync(join(src, path), content);
    }
    const apk = createApk(spec, await readSourceTree(src), { signingKey });
    writeFileSync(join(archDir, `${spec.name}-${spec.version}.apk`), apk.bytes);
  }
  const apks = readdirSync(archDir)
    .filter((f) => f.endsWith('.apk'))
    .sort()
    .map((f) => join(archDir, f));
  const index = writeApkIndex({ packages: await indexRecordsFromFiles(apks), signingKey });
  writeFileSync(join(archDir, 'APKINDEX.tar.gz'), index);
}

describe('many images, many workers', () => {
  let registry: TestRegistry;
  let proxy: RegistryProxy;
  let nginx: NginxCache;
  let engine: Promise<Dockerd> | undefined;
  let gen: GenRepo;
  const cache = join(W, 'cache');
  const plan = join(W, 'plan.json');
  let reference: Record<string, string>;
  /** What the fresh worker published after the bump: image → digest. */
  let bumped: Record<string, string>;

  const stopEngine = async () => {
    const e = engine;
    engine = undefined;
    await e?.then((d) => d.stop());
    sys('ip', ['link', 'delete', 'docker_gwbridge']); // swarm's, made despite --bridge=none
  };

  before(async () => {
    chmodSync(W, 0o755); // the unprivileged build reads its config here
    // the engine starts while the rest is set up
    engine = startDockerd();
    registry = await startRegistry();
    proxy = await startRegistryProxy(registry.url);
    nginx = await startNginxCache();
    const keys = join(W, 'gen', 'keys');
    mkdirSync(keys, { recursive: true });
    ok(sys(process.execPath, [ladingBin, 'keygen', join(keys, 'test@lading'), '--bits', '2048']), 'keygen');
    const key = join(keys, 'test@lading.rsa');
    gen = { repo: join(W, 'gen', 'repo'), key: `${key}.pub`, privateKey: key };
    await addPackages(gen, [
      { name: 'gbase', files: { 'etc/gbase.conf': 'base\n' } },
      { name: 'gdata', files: { 'usr/share/gdata/table': 'data\n' } },
      { name: 'libfoo', provides: ['so:libfoo.so.1=1'], files: { 'usr/lib/libfoo.so.1': 'foo 1.0\n' } },
      { name: 'app', depends: ['so:libfoo.so.1'], files: { 'usr/bin/app': '#!/bin/sh\necho app\n' } },
      { name: 'toola', provides: ['tool'], providerPriority: 10, files: { 'usr/bin/tool-a': 'a\n' } },
    ]);
    const images = join(W, 'images');
    mkdirSync(join(images, 'gen'), { recursive: true });
    // small fixture packages in one layer each (the layers that matter below are the generated images')
    const fixtureConfig = (name: string, world: string[]) =>
      writeFileSync(
        join(images, `${name}.yaml`),
        `contents:\n  repositories: [${isoRepoDir()}]\n  keyring: [${alpineKey()}]\n  packages: [${world.join(', ')}]\narchs: [x86_64]\n`,
      );
    fixtureConfig('base', ['alpine-baselayout-data']);
    fixtureConfig('certs', ['ca-certificates-bundle']);
    fixtureConfig('zlib', ['zlib']);
    const genConfig = (name: string, world: string[]) =>
      writeFileSync(
        join(images, 'gen', `${name}.yaml`),
        `contents:\n  repositories: [${gen.repo}]\n  keyring: [${gen.key}]\n  packages: [${world.join(', ')}]\narchs: [x86_64]\n${ORIGIN}`,
      );
    genConfig('app', ['app', 'gbase', 'gdata']);
    // toola by its name, and by the name it provides: only the second may change with a new provider
    genConfig('pinned', ['toola']);
    genConfig('tool', ['tool']);
    const planned = await lading(['plan', 'images', '-o', plan, '--cache-dir', cache, '--format', 'lines']);
    ok(planned, 'plan');
    assert.equal(planned.stdout, 'base\ncerts\ngen/app\ngen/pinned\ngen/tool\nzlib\n');
  });

  after(async () => {
    await Promise.all([registry?.stop(), proxy?.stop(), nginx?.stop(), stopEngine()]);
    tmp.remove();
  });

  const publishMany = (prefix: string, extra: string[] = [], host = registry.host) =>
    lading(['publish-many', plan, '--to', `${host}/${prefix}`, '--cache-dir', cache, '--no-sbom', ...extra]);

  /**
   * A Kubernetes Indexed Job's contract on GNU parallel: two workers, each told its index by JOB_COMPLETION_INDEX
   * (`--shard auto/2`). Worker 1 was started once before and killed when it had begun: parallel's worker 1 is
   * its rerun, into the same repositories.
   */
  const viaParallel = async () => {
    const worker = [
      ladingBin,
      'publish-many',
      plan,
      '--shard',
      'auto/2',
      '--to',
      `${registry.host}/par`,
      '--cache-dir',
      cache,
      '--no-sbom',
    ];
    const killed = await runLimited(process.execPath, worker, {
      cwd: W,
      env: { ...env, JOB_COMPLETION_INDEX: '1' },
      timeoutMs: 90_000,
      onSpawn: (child) => child.stderr!.once('data', () => child.kill('SIGKILL')),
    });
    assert.notEqual(killed.status, 0, 'worker 1 was killed');
    const par = await runLimited(
      requireTool('parallel'),
      ['-j', '2', 'env', 'JOB_COMPLETION_INDEX={}', process.execPath, ...worker, ':::', '0', '1'],
      { cwd: W, env, timeoutMs: 120_000 },
    );
    ok(par, 'parallel');
    assert.equal(results(par.stdout).length, 6);
  };

  /** Docker swarm: a replicated job of two tasks on the test's engine, each shard from its slot. */
  const viaSwarm = async () => {
    const d = await engine!;
    const docker = (args: string[]) =>
      runLimited(requireTool('docker'), args, {
        env: { ...process.env, DOCKER_HOST: d.host },
        timeoutMs: 60_000,
      });
    const rootfs = join(W, 'runner');
    for (const dir of ['usr', 'tmp', 'proc', 'sys', 'dev', 'etc'])
      mkdirSync(join(rootfs, dir), { recursive: true });
    for (const l of ['bin', 'lib', 'lib64', 'sbin']) symlinkSync(`usr/${l}`, join(rootfs, l));
    ok(sys('tar', ['-C', rootfs, '-cf', join(W, 'runner.tar'), '.']), 'tar');
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
    const resultsFile = join(W, 'swarm-results.jsonl');
    const compileCache = process.env.NODE_COMPILE_CACHE;
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
      // the code the host's lading processes compiled (npm test keeps it in the checkout, mounted read-only)
      ...(compileCache?.startsWith(repoRoot) ? ['--env', `NODE_COMPILE_CACHE=${compileCache}`] : []),
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
      resultsFile,
    ]);
    ok(service, 'docker service create');
    // the tasks append a line per image to the results file: watch that (a read), and ask the engine (a process)
    // only when it is complete or now and then, in case a task failed
    let states: string[] = [];
    for (let i = 1; ; i++) {
      const lines = existsSync(resultsFile) ? results(readFileSync(resultsFile, 'utf8')).length : 0;
      if (lines >= 6 || i % 20 === 0) {
        states = (await docker(['service', 'ps', 'shards', '--format', '{{.CurrentState}}'])).stdout
          .trim()
          .split('\n');
        if (states.length === 2 && states.every((x) => /^(Complete|Failed|Rejected)/.test(x))) break;
      }
      if (i > 1200) break;
      await sleep(100);
    }
    assert.ok(
      states.every((x) => x.startsWith('Complete')),
      `swarm tasks: ${states.join('; ')}\n${(await docker(['service', 'logs', 'shards'])).stderr.slice(-2000)}`,
    );
    assert.equal(results(readFileSync(resultsFile, 'utf8')).length, 6);
    await docker(['swarm', 'leave', '--force']);
    await stopEngine(); // nothing else here needs it
  };

  it('one process, indexed workers on GNU parallel (one killed, run again) and swarm job tasks publish the same table', async () => {
    // one process, filling the shared HTTP cache
    const one = await publishMany('one', ['--cache-to', nginx.url]);
    ok(one, 'publish-many');
    assert.deepEqual(
      results(one.stdout).map((r) => r.status),
      Array(6).fill('pushed'),
    );
    reference = await table(registry, 'one');
    assert.deepEqual(Object.keys(reference), ['base', 'certs', 'gen/app', 'gen/pinned', 'gen/tool', 'zlib']);

    // the other engines at once, each into its own prefix of the registry, all on the same cache
    await Promise.all([viaParallel(), viaSwarm()]);
    for (const prefix of ['par', 'swarm']) assert.deepEqual(await table(registry, prefix), reference, prefix);
  });

  it('publish again: every image skipped with the same digest, and no POST, PATCH or PUT', async () => {
    const start = proxy.log.length;
    // from the configs this time, not the plan: each image resolved, then its input digest asked about (as
    // `lading publish --skip-unchanged` does); the plan's way is the fresh worker's below
    const again = await lading([
      'publish-many',
      'images',
      '--to',
      `${proxy.host}/one`,
      '--cache-dir',
      cache,
      '--no-sbom',
    ]);
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
    // each image: its tag and manifests read (GET), its blobs checked (HEAD)
    assert.equal(sent.filter((e) => e.method === 'GET' && e.path.endsWith('/manifests/latest')).length, 6);
    // the input digest of the plan is on the index and its manifests
    for (const p of readPlanFile(plan).images) {
      const index = await manifestOf(registry, `one/${p.name}`, 'latest');
      assert.equal(index.annotations[INPUT_DIGEST_ANNOTATION], p.inputDigest, p.name);
      const manifest = await manifestOf(registry, `one/${p.name}`, index.manifests[0]!.digest);
      assert.equal(manifest.annotations[INPUT_DIGEST_ANNOTATION], p.inputDigest, p.name);
    }
  });

  it('a bump and a new provider: plan --check names exactly the changed images; a fresh worker, its shared cache poisoned, uploads only changed layers', async () => {
    const before = {
      app: await blobsOf(registry, 'one/gen/app'),
      tool: await blobsOf(registry, 'one/gen/tool'),
    };
    // libfoo 1.1, and toolb: a better provider of `tool`, a name no image installs as a package
    await addPackages(gen, [
      {
        name: 'libfoo',
        version: '1.1-r0',
        provides: ['so:libfoo.so.1=1'],
        files: { 'usr/lib/libfoo.so.1': 'foo 1.1\n' },
      },
      { name: 'toolb', provides: ['tool'], providerPriority: 20, files: { 'usr/bin/tool-b': 'b\n' } },
    ]);
    // the registry asked for the input digests its tags carry
    const plan2 = join(W, 'plan2.json');
    const check = await lading([
      'plan',
      'images',
      '-o',
      plan2,
      '--check',
      `${registry.host}/one`,
      '--format',
      'graph',
      '--cache-dir',
      cache,
    ]);
    ok(check, 'plan --check');
    const now = readPlanFile(plan2);
    assert.deepEqual(
      now.images.filter((i) => i.changed).map((i) => i.name),
      ['gen/app', 'gen/tool'],
    );
    // the same as the earlier plan says (what --check PLAN compares)
    const earlier = new Map(readPlanFile(plan).images.map((i) => [i.name, i.inputDigest]));
    assert.deepEqual(
      now.images.filter((i) => earlier.get(i.name) !== i.inputDigest).map((i) => i.name),
      ['gen/app', 'gen/tool'],
    );
    // the graph names the direct case; only re-resolving found the other
    const g = JSON.parse(check.stdout);
    assert.deepEqual(g.libfoo, { '1.1-r0': ['gen/app'] });
    assert.deepEqual(g.toolb, { '1.0-r0': ['gen/tool'] });

    // the shared cache poisoned where the fresh worker reads it, in two of gen/app's unchanged layers: gbase's
    // key points at another layer, gdata's blob gets wrong bytes (app's stays as it was)
    const ac = join(nginx.root, 'ac');
    const layers = readdirSync(ac)
      .sort()
      .map((f) => ({ f, ref: JSON.parse(readFileSync(join(ac, f), 'utf8')) }))
      .filter((e) => e.ref.meta?.diffId);
    const holding = async (path: string) => {
      const diffId = await layerHolding(registry, 'one/gen/app', path);
      return layers.find((l) => l.ref.meta.diffId === diffId);
    };
    const [pointed, spoiled] = [await holding('etc/gbase.conf'), await holding('usr/share/gdata/table')];
    const other = layers.find((l) => l !== pointed && l !== spoiled);
    assert.ok(pointed && spoiled && other, 'the layers in the shared cache');
    writeFileSync(
      join(ac, pointed.f),
      JSON.stringify({ ...pointed.ref, blob: other.ref.blob, meta: other.ref.meta }),
    );
    const blob = join(nginx.root, 'cas', spoiled.ref.blob.digest.replace(/^sha256:/, ''));
    writeFileSync(blob, Buffer.alloc(statSync(blob).size, 7));

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
    bumped = Object.fromEntries(rs.map((r) => [r.image, r.digest!]));
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
    // the poison caught and ignored (those layers then taken by reference from the registry, which holds them);
    // the other unchanged layer came from the shared cache, checked, not written again
    assert.match(fresh.stderr, /do not hash to it; ignored/);
    assert.match(fresh.stderr, /is not the layer these files make; ignored/);
    assert.match(fresh.stderr, /the registry holds it under its key; not written/);
    assert.match(fresh.stderr, /from a shared cache, checked, not written/);
  });

  it('a read-only cache serves an unprivileged build of a config it never built, unchanged', async () => {
    // the bumped gen/app under another name: its new package and layer are in no cache this build may write
    const config = join(W, 'never.yaml');
    copyFileSync(join(W, 'images', 'gen', 'app.yaml'), config);
    const out = join(W, 'ro-out');
    mkdirSync(out, { mode: 0o777 });
    chmodSync(out, 0o777);
    ok(sys('chmod', ['-R', 'a-w', cache]), 'chmod');
    const stamp = join(W, 'stamp');
    writeFileSync(stamp, '');
    const later = statSync(stamp).mtimeMs;
    const nobody = await runLimited(
      requireTool('setpriv'),
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
    ok(sys('chmod', ['-R', 'u+w', cache]), 'chmod');
    assert.equal(sys('find', [cache, '-newer', stamp]).stdout.trim(), '', 'nothing in the cache changed');
    assert.ok(statSync(cache).mtimeMs < later);
    // the image the fresh worker published from the same inputs
    assert.ok(nobody.stdout.includes(bumped['gen/app']!), `${nobody.stdout} names ${bumped['gen/app']}`);
  });
});
