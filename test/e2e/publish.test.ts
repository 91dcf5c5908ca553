/**
 * `lading publish` end to end against a real docker-registry (through the logging proxy), a Docker engine
 * and podman started by the test: the printed digest is the build's, the registry holds the exact bytes,
 * real clients pull and run the images, a re-publish only reads, SBOMs travel with the images, --local
 * loads into the engine, and bad references fail before anything is built or sent.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Dockerd, startDockerd } from '../helpers/dockerd.ts';
import { type Podman, startPodman } from '../helpers/podman.ts';
import { GREETING, makePublishRepo, publishConfig } from '../helpers/publish-images.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';
import { type RegistryProxy, startRegistryProxy } from '../helpers/registry-proxy.ts';
import { lading, ladingAsync, requireTool, runAsync, tempDir } from '../helpers/tools.ts';

const sha256 = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

describe('lading publish', () => {
  const tmp = tempDir('lading-publish-');
  const env = {
    ...process.env,
    SOURCE_DATE_EPOCH: '1700000000',
    HOME: tmp.path,
    DOCKER_CONFIG: join(tmp.path, 'docker'),
  };
  let reg: TestRegistry;
  let proxy: RegistryProxy;
  let docker: Dockerd;
  let podman: Podman;
  let two = '';
  let one = '';
  let R = '';
  const cache = () => ['--cache-dir', join(tmp.path, 'cache')];
  const publish = (args: string[], extra: NodeJS.ProcessEnv = {}) =>
    ladingAsync(['publish', ...args, ...cache(), '--log-level', 'warn'], { env: { ...env, ...extra } });
  const skopeo = (args: string[]) => runAsync(requireTool('skopeo'), args);
  async function raw(ref: string): Promise<string> {
    const r = await skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${reg.host}/${ref}`]);
    assert.equal(r.status, 0, r.stderr);
    return r.stdout;
  }
  async function blob(repo: string, digest: string): Promise<Buffer> {
    return Buffer.from(await (await fetch(`${reg.url}/v2/${repo}/blobs/${digest}`)).arrayBuffer());
  }

  before(async () => {
    const repo = await makePublishRepo(join(tmp.path, 'repo'));
    two = join(tmp.path, 'two.yaml');
    writeFileSync(two, publishConfig(repo, ['x86_64', 'aarch64']));
    one = join(tmp.path, 'one.yaml');
    writeFileSync(one, publishConfig(repo, ['x86_64']));
    [reg, docker] = await Promise.all([startRegistry(), startDockerd()]);
    proxy = await startRegistryProxy(reg.url);
    podman = startPodman();
    R = proxy.host;
  });
  after(async () => {
    await Promise.all([podman?.remove(), docker?.stop(), proxy?.stop()]);
    await reg?.stop();
    tmp.remove();
  });

  it('prints the index digest of `lading build`; the registry holds exactly the built bytes', async () => {
    const layout = join(tmp.path, 'layout');
    mkdirSync(layout);
    const built = lading(['build', two, 'demo/app:v1', layout, ...cache(), '--log-level', 'warn'], { env });
    assert.equal(built.status, 0, built.stderr);
    const D = built.stdout.trim();
    const refs = join(tmp.path, 'refs.txt');
    const sboms = join(tmp.path, 'sboms');
    const r = await publish([
      two,
      `${R}/demo/app:v1`,
      `${R}/demo/app:v2`,
      '--image-refs',
      refs,
      '--sbom-path',
      sboms,
    ]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, `${R}/demo/app@${D}\n`);
    for (const t of ['v1', 'v2']) assert.equal(sha256(await raw(`demo/app:${t}`)), D);

    // --image-refs: each architecture by digest in index order, then the index; the registry has each
    const index = JSON.parse(await raw('demo/app:v1'));
    const children: string[] = index.manifests.map((m: { digest: string }) => m.digest);
    assert.deepEqual(
      index.manifests.map((m: { platform: { architecture: string } }) => m.platform.architecture),
      ['amd64', 'arm64'],
    );
    assert.equal(readFileSync(refs, 'utf8'), [...children, D].map((d) => `${R}/demo/app@${d}\n`).join(''));
    for (const d of children) {
      const head = await fetch(`${reg.url}/v2/demo/app/manifests/${d}`, {
        method: 'HEAD',
        headers: { accept: index.manifests[0].mediaType },
      });
      assert.equal(head.headers.get('docker-content-digest'), d);
    }
    // no per-architecture tags: the two tags and one referrers tag per SBOM subject
    const tags = (
      (await (await fetch(`${reg.url}/v2/demo/app/tags/list`)).json()) as { tags: string[] }
    ).tags.sort();
    assert.deepEqual(tags, ['v1', 'v2', ...[D, ...children].map((d) => d.replace(':', '-'))].sort());

    // skopeo copies every platform back, re-hashing every blob; each equals the build's file
    const copy = join(tmp.path, 'copy');
    const c = await skopeo([
      'copy',
      '-q',
      '--all',
      '--src-tls-verify=false',
      `docker://${reg.host}/demo/app:v1`,
      `oci:${copy}:x`,
    ]);
    assert.equal(c.status, 0, c.stderr);
    const valid = await runAsync(requireTool('oci-image-tool'), ['validate', '--type', 'image', copy]);
    assert.equal(valid.status, 0, valid.stdout + valid.stderr);
    const copied = new Set(readdirSync(join(copy, 'blobs', 'sha256')));
    // (skopeo keeps the index itself in its index.json, not as a blob; its digest was checked above)
    for (const name of readdirSync(join(layout, 'blobs', 'sha256')).filter((n) => n !== D.slice(7))) {
      assert.ok(copied.has(name), `blob ${name} missing from the registry copy`);
      assert.deepEqual(
        readFileSync(join(copy, 'blobs', 'sha256', name)),
        readFileSync(join(layout, 'blobs', 'sha256', name)),
      );
    }
    const arm = await skopeo([
      'inspect',
      '--override-arch',
      'arm64',
      '--tls-verify=false',
      `docker://${reg.host}/demo/app:v1`,
    ]);
    assert.equal(JSON.parse(arm.stdout).Architecture, 'arm64');

    // the SBOMs: each referrers tag lists one SPDX artifact whose file is the one written to --sbom-path
    const names: Record<string, string> = {
      [D]: 'sbom-index.spdx.json',
      [children[0]!]: 'sbom-x86_64.spdx.json',
      [children[1]!]: 'sbom-aarch64.spdx.json',
    };
    const artifacts: string[] = [];
    for (const [subject, name] of Object.entries(names)) {
      const list = JSON.parse(await raw(`demo/app:${subject.replace(':', '-')}`));
      assert.deepEqual(
        list.manifests.map((m: { artifactType: string }) => m.artifactType),
        ['application/spdx+json'],
      );
      const artifact = JSON.parse(await raw(`demo/app@${list.manifests[0].digest}`));
      assert.equal(artifact.subject.digest, subject);
      assert.deepEqual(await blob('demo/app', artifact.layers[0].digest), readFileSync(join(sboms, name)));
      artifacts.push(list.manifests[0].digest);
    }

    // publishing again: only GET and HEAD, the same answer. The artifact manifests were found by digest, so
    // they came out byte-identical: their only date is the image's (SOURCE_DATE_EPOCH), never the clock's
    proxy.log.length = 0;
    const again = await publish([two, `${R}/demo/app:v1`, `${R}/demo/app:v2`]);
    assert.equal(again.status, 0, again.stderr);
    assert.equal(again.stdout, r.stdout);
    assert.deepEqual(
      proxy.log.filter((l) => l.method !== 'GET' && l.method !== 'HEAD').map((l) => `${l.method} ${l.path}`),
      [],
    );
    for (const d of artifacts) {
      assert.ok(
        proxy.log.some((l) => l.method === 'HEAD' && l.path.endsWith(`/manifests/${d}`) && l.status === 200),
      );
      assert.equal(
        JSON.parse(await raw(`demo/app@${d}`)).annotations['org.opencontainers.image.created'],
        '2023-11-14T22:13:20Z',
      );
    }
  });

  it('docker and podman pull and run the published images, single- and two-architecture', async () => {
    const r = await publish([one, `${R}/demo/single:v1`, '--sbom-formats', 'spdx,cyclonedx']);
    assert.equal(r.status, 0, r.stderr);
    // both SBOM formats listed under the image's referrers tag, one entry each
    const m = JSON.parse(await raw('demo/single:v1')).manifests[0].digest as string;
    const list = JSON.parse(await raw(`demo/single:${m.replace(':', '-')}`));
    assert.deepEqual(list.manifests.map((d: { artifactType: string }) => d.artifactType).sort(), [
      'application/spdx+json',
      'application/vnd.cyclonedx+json',
    ]);
    for (const ref of [`${reg.host}/demo/single:v1`, `${reg.host}/demo/app:v1`]) {
      const pull = docker.docker(['pull', '-q', ref]);
      assert.equal(pull.status, 0, pull.stderr);
      const run = docker.docker(['run', '--rm', '--network', 'none', ref]);
      assert.equal(run.status, 0, run.stderr);
      assert.equal(run.stdout, `${GREETING}\n`);
      const ppull = await podman.podman(['pull', '-q', '--tls-verify=false', ref]);
      assert.equal(ppull.status, 0, ppull.stderr);
      const prun = await podman.podman(['run', '--rm', '--pull', 'never', ref]);
      assert.equal(prun.status, 0, prun.stderr);
      assert.equal(prun.stdout, `${GREETING}\n`);
    }
  });

  it('--local loads the host image into the Docker engine under every tag', async () => {
    const r = await publish([two, '--local', 'demo/local:v1', `${R}/demo/local:v2`], {
      DOCKER_HOST: docker.host,
    });
    assert.equal(r.status, 0, r.stderr);
    const id = r.stdout.trim();
    assert.match(id, /^sha256:[0-9a-f]{64}$/);
    const inspect = JSON.parse(docker.docker(['image', 'inspect', 'demo/local:v1']).stdout)[0];
    assert.equal(inspect.Id, id);
    assert.equal(inspect.Architecture, 'amd64');
    // (the same image was pulled before under other names: it has those too)
    for (const t of [`${R}/demo/local:v2`, 'demo/local:v1']) assert.ok(inspect.RepoTags.includes(t), t);
    const run = docker.docker(['run', '--rm', '--network', 'none', 'demo/local:v1']);
    assert.equal(run.stdout, `${GREETING}\n`, run.stderr);
    // nothing went to a registry
    assert.ok(!proxy.log.some((l) => l.path.includes('/demo/local/')));
  });

  it('refuses a malformed reference before building or sending anything', async () => {
    proxy.log.length = 0;
    const r = await publish([
      one,
      `${R}/demo/ok:v1`,
      `${R}/Demo/App:v1`,
      '--cache-dir',
      join(tmp.path, 'never-used'),
    ]);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /invalid image reference ".*\/Demo\/App:v1": repository names must be lower case/);
    assert.deepEqual(proxy.log, []);
    assert.throws(() => readdirSync(join(tmp.path, 'never-used')));
  });
});
