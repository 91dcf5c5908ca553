/**
 * The registry client pushing real images (built once with `lading build`) to a real docker-registry through
 * the logging, fault-injecting proxy: request order and hygiene, idempotent re-push, shared layers,
 * cross-repository mounts, faults, and SBOM referrers through the fallback tags and through the API.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readImageIndex } from '../../src/oci/read.ts';
import type { ImageIndex } from '../../src/oci/types.ts';
import { createKeychain } from '../../src/registry/keychain.ts';
import { pushPlan, type SbomAttachment } from '../../src/registry/plan.ts';
import { type PushPlan, push } from '../../src/registry/push.ts';
import { parseReference } from '../../src/registry/reference.ts';
import { RegistryClient } from '../../src/registry/transport.ts';
import { makePublishRepo, publishConfig } from '../helpers/publish-images.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';
import {
  type ProxyRequest,
  type RegistryProxy,
  randomFaults,
  startRegistryProxy,
} from '../helpers/registry-proxy.ts';
import { lading, requireTool, runAsync, tempDir } from '../helpers/tools.ts';

const sha256 = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const APK: Record<string, string> = { amd64: 'x86_64', arm64: 'aarch64' };

describe('pushing to a registry', () => {
  const tmp = tempDir('lading-push-');
  let reg: TestRegistry;
  let proxy: RegistryProxy;
  let referrersProxy: RegistryProxy;
  let two: { index: ImageIndex; plan: PushPlan; sboms: SbomAttachment[] };
  let three: { index: ImageIndex; plan: PushPlan };

  /** `lading build` into a layout; the index read back with its SBOMs as attachments. */
  function buildImage(name: string, archs: string[], packages?: string[]) {
    const repo = join(tmp.path, 'repo');
    const config = join(tmp.path, `${name}.yaml`);
    writeFileSync(config, publishConfig(repoOf, archs, packages));
    const out = join(tmp.path, name, 'layout');
    mkdirSync(out, { recursive: true });
    // apko's SBOM names, beside the layout
    const sbomPath = ['--sbom-path', join(tmp.path, name)];
    const r = lading(
      ['build', config, `demo/${name}:v1`, out, '--cache-dir', join(tmp.path, 'cache'), ...sbomPath],
      {
        env: { ...process.env, SOURCE_DATE_EPOCH: '1700000000' },
      },
    );
    assert.equal(r.status, 0, r.stderr + repo);
    const index = readImageIndex(out, { digest: r.stdout.trim() });
    const sboms: SbomAttachment[] = [
      {
        name: 'sbom-index.spdx.json',
        format: 'spdx',
        bytes: readFileSync(join(tmp.path, name, 'sbom-index.spdx.json')),
        subject: 'index',
      },
      ...index.images.map((img) => {
        const file = `sbom-${APK[img.platform.architecture]}.spdx.json`;
        return {
          name: file,
          format: 'spdx' as const,
          bytes: readFileSync(join(tmp.path, name, file)),
          subject: img.manifest.digest,
        };
      }),
    ];
    return { index, plan: pushPlan(index, sboms), sboms };
  }
  let repoOf: Awaited<ReturnType<typeof makePublishRepo>>;

  const client = () => new RegistryClient({ keychain: createKeychain({}), retryDelayMs: 20 });
  const target = (host: string, repo: string, tags: string[]) => [
    { repository: parseReference(`${host}/${repo}`).repository, tags },
  ];
  const skopeo = (args: string[]) => runAsync(requireTool('skopeo'), [...args]);
  async function raw(ref: string): Promise<string> {
    const r = await skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${reg.host}/${ref}`]);
    assert.equal(r.status, 0, r.stderr);
    return r.stdout;
  }
  async function tags(repo: string): Promise<string[]> {
    const r = await fetch(`${reg.url}/v2/${repo}/tags/list`);
    return r.status === 200 ? (((await r.json()) as { tags: string[] | null }).tags ?? []).sort() : [];
  }
  const writes = (log: ProxyRequest[]) => log.filter((l) => l.method !== 'GET' && l.method !== 'HEAD');

  before(async () => {
    repoOf = await makePublishRepo(join(tmp.path, 'repo'));
    two = buildImage('two', ['x86_64', 'aarch64']);
    three = buildImage('three', ['x86_64'], ['shell', 'greeting', 'extra']);
    reg = await startRegistry();
    proxy = await startRegistryProxy(reg.url);
    referrersProxy = await startRegistryProxy(reg.url, { referrers: true });
  });
  after(async () => {
    await Promise.all([proxy?.stop(), referrersProxy?.stop(), reg?.stop()]);
    tmp.remove();
  });

  it('pushes blobs, manifests, the index, SBOMs, then tags, with clean requests; a re-push only reads', async () => {
    const report = await push(client(), two.plan, target(proxy.host, 'demo/app', ['v1', 'latest']));
    const log = proxy.log.splice(0);
    const put = (p: (l: ProxyRequest) => boolean) => log.findIndex((l) => l.method === 'PUT' && p(l));
    const lastPut = (p: (l: ProxyRequest) => boolean) => log.findLastIndex((l) => l.method === 'PUT' && p(l));
    const imageBlobs = new Set(two.plan.images.flatMap((i) => i.blobs.map((b) => b.digest)));
    const isBlob = (l: ProxyRequest) =>
      l.path.includes('/blobs/uploads/') && imageBlobs.has(new URLSearchParams(l.query).get('digest') ?? '');
    const manifestOf = (d: string) => (l: ProxyRequest) => l.path.endsWith(`/manifests/${d}`);
    const children = two.index.images.map((i) => i.manifest.digest);
    const indexAt = put(manifestOf(two.index.index.digest));
    assert.ok(
      lastPut(isBlob) < Math.min(...children.map((d) => put(manifestOf(d)))),
      'blobs before manifests',
    );
    assert.ok(Math.max(...children.map((d) => put(manifestOf(d)))) < indexAt, 'manifests before the index');
    const tagsAt = ['v1', 'latest'].map((t) => put(manifestOf(t)));
    assert.ok(
      lastPut((l) => l.path.includes('/manifests/sha256')) < Math.min(...tagsAt),
      'SBOMs and fallback tags before the tags',
    );
    for (const l of log.filter((l) => l.method === 'PUT' || l.method === 'POST' || l.method === 'PATCH')) {
      assert.equal(l.transferEncoding, undefined, `${l.method} ${l.path} was sent chunked`);
      assert.match(l.contentLength ?? '', /^\d+$/, `${l.method} ${l.path} has no Content-Length`);
    }
    // a manifest PUT's Content-Type is its media type: the index (and tags, fallback lists) or a manifest
    const mediaTypes = new Map(
      [
        two.plan.index,
        ...two.plan.images.map((i) => i.manifest),
        ...two.plan.artifacts.map((a) => a.manifest),
      ].map((m) => [m.digest, m.mediaType]),
    );
    for (const l of log.filter((l) => l.method === 'PUT' && l.path.includes('/manifests/'))) {
      const ref = l.path.split('/manifests/')[1]!;
      assert.equal(l.contentType, mediaTypes.get(ref) ?? 'application/vnd.oci.image.index.v1+json', l.path);
    }
    assert.equal(log.filter((l) => l.method === 'PATCH').length, 0, 'monolithic uploads');
    assert.ok(report.blobsUploaded > 0);
    assert.deepEqual(report.referrers, { [`${proxy.host}/demo/app`]: 'fallback' });
    for (const t of ['v1', 'latest'])
      assert.equal(sha256(await raw(`demo/app:${t}`)), two.index.index.digest);

    // the SBOMs through the fallback tags: an index per subject whose descriptor leads to the SBOM bytes
    assert.equal((await fetch(`${reg.url}/v2/demo/app/referrers/${children[0]}`)).status, 404);
    for (const s of two.sboms) {
      const subject = s.subject === 'index' ? two.index.index.digest : s.subject;
      const list = JSON.parse(await raw(`demo/app:${subject.replace(':', '-')}`));
      assert.equal(list.mediaType, 'application/vnd.oci.image.index.v1+json');
      assert.equal(list.manifests.length, 1);
      const d = list.manifests[0];
      assert.equal(d.artifactType, 'application/spdx+json');
      assert.match(d.annotations['org.opencontainers.image.created'], /^2023-11-14T22:13:20Z$/);
      const artifact = JSON.parse(await raw(`demo/app@${d.digest}`));
      assert.equal(artifact.subject.digest, subject);
      assert.deepEqual(artifact.config, {
        mediaType: 'application/vnd.oci.empty.v1+json',
        digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a',
        size: 2,
        data: 'e30=',
      });
      const layer = await fetch(`${reg.url}/v2/demo/app/blobs/${artifact.layers[0].digest}`);
      assert.deepEqual(Buffer.from(await layer.arrayBuffer()), s.bytes);
    }
    assert.deepEqual(
      await tags('demo/app'),
      ['latest', 'v1', two.index.index.digest, ...children]
        .map((t) => t.replace('sha256:', 'sha256-'))
        .sort(),
    );

    // again, with a new client: nothing but GET and HEAD, nothing uploaded, the same SBOM entries
    const again = await push(client(), two.plan, target(proxy.host, 'demo/app', ['v1', 'latest']));
    assert.deepEqual(writes(proxy.log.splice(0)), []);
    assert.equal(again.blobsUploaded + again.manifestsPut + again.tagsPut, 0);
    assert.equal(JSON.parse(await raw(`demo/app:${children[0]!.replace(':', '-')}`)).manifests.length, 1);
  });

  it('a second image uploads only the layers the registry lacks; another repository mounts them', async () => {
    const shared = three.index.images[0]!.layers.filter((l) =>
      two.index.images[0]!.layers.some((m) => m.digest === l.digest),
    );
    assert.ok(shared.length >= 2, 'the test images share package layers');
    const report = await push(client(), three.plan, target(proxy.host, 'demo/app', ['v3']));
    const log = proxy.log.splice(0);
    for (const l of shared) {
      assert.ok(
        log.some((r) => r.method === 'HEAD' && r.path.endsWith(`/blobs/${l.digest}`) && r.status === 200),
      );
    }
    const uploaded = log
      .filter((l) => l.method === 'PUT' && l.path.includes('/blobs/uploads/'))
      .map((l) => new URLSearchParams(l.query).get('digest'));
    for (const l of shared)
      assert.ok(!uploaded.includes(l.digest), `shared layer ${l.digest} uploaded again`);
    assert.equal(report.blobsUploaded, uploaded.length);

    // the same image into another repository of the registry, in one push with the first: mounted, not uploaded
    const both = [...target(proxy.host, 'demo/app', ['v3']), ...target(proxy.host, 'demo/mirror', ['v3'])];
    const mirrored = await push(client(), three.plan, both);
    const mlog = proxy.log.splice(0);
    assert.equal(mlog.filter((l) => l.method === 'PUT' && l.path.includes('/blobs/uploads/')).length, 0);
    assert.ok(
      mlog.some(
        (l) =>
          l.method === 'POST' &&
          l.path === '/v2/demo/mirror/blobs/uploads/' &&
          l.query.includes('from=demo%2Fapp') &&
          l.status === 201,
      ),
    );
    const blobs = [...three.plan.images, ...three.plan.artifacts].flatMap((i) =>
      i.blobs.map((b) => b.digest),
    );
    assert.equal(mirrored.blobsMounted, new Set(blobs).size);
    assert.equal(sha256(await raw('demo/mirror:v3')), three.index.index.digest);
  });

  it('survives 20% failed requests (503, 429 + Retry-After, dropped connections) with the same digests', async () => {
    proxy.fault = randomFaults(0.2, 7);
    const started = performance.now();
    try {
      await push(client(), two.plan, target(proxy.host, 'demo/faulty', ['v1']));
    } finally {
      proxy.fault = undefined;
    }
    const log = proxy.log.splice(0);
    const injected = log.filter((l) => l.injected);
    assert.ok(injected.length >= 3, `only ${injected.length} faults injected`);
    assert.ok(injected.some((l) => l.status === 429) && injected.some((l) => l.status === 0));
    if (injected.some((l) => l.status === 429))
      assert.ok(performance.now() - started >= 1000, 'Retry-After honoured');
    assert.equal(sha256(await raw('demo/faulty:v1')), two.index.index.digest);
    // every blob reached the registry intact: skopeo re-hashes each one
    const copy = await skopeo([
      'copy',
      '-q',
      '--all',
      '--src-tls-verify=false',
      `docker://${reg.host}/demo/faulty:v1`,
      `oci:${join(tmp.path, 'faulty-copy')}:x`,
    ]);
    assert.equal(copy.status, 0, copy.stderr);
  });

  it('a child manifest that always fails: bounded attempts, a clear error, and no tag', async () => {
    const child = three.index.images[0]!.manifest.digest;
    proxy.fault = (r) =>
      r.method === 'PUT' && r.path.endsWith(`/manifests/${child}`)
        ? { kind: 'status', status: 500 }
        : undefined;
    try {
      await assert.rejects(
        push(client(), three.plan, target(proxy.host, 'demo/broken', ['v1'])),
        (e: Error) => {
          assert.match(
            e.message,
            new RegExp(`image manifest ${child.slice(0, 19)} of .*demo/broken failed 4 times.*HTTP 500`),
          );
          return true;
        },
      );
    } finally {
      proxy.fault = undefined;
    }
    assert.equal(
      proxy.log.splice(0).filter((l) => l.path.endsWith(`/manifests/${child}`) && l.method === 'PUT').length,
      4,
    );
    assert.deepEqual(await tags('demo/broken'), []);
  });

  it('uses the referrers API where the registry has one: no fallback tags', async () => {
    const report = await push(client(), two.plan, target(referrersProxy.host, 'demo/native', ['v1']));
    assert.deepEqual(report.referrers, { [`${referrersProxy.host}/demo/native`]: 'api' });
    assert.deepEqual(await tags('demo/native'), ['v1']);
    const m = two.index.images[0]!.manifest.digest;
    const r = await fetch(
      `${referrersProxy.url}/v2/demo/native/referrers/${m}?artifactType=application%2Fspdx%2Bjson`,
    );
    assert.equal(r.headers.get('oci-filters-applied'), 'artifactType');
    const list = (await r.json()) as { manifests: { artifactType: string; digest: string }[] };
    assert.equal(list.manifests.length, 1);
    assert.equal(list.manifests[0]!.artifactType, 'application/spdx+json');
    const artifact = JSON.parse(await raw(`demo/native@${list.manifests[0]!.digest}`));
    const layer = await fetch(`${reg.url}/v2/demo/native/blobs/${artifact.layers[0].digest}`);
    assert.deepEqual(Buffer.from(await layer.arrayBuffer()), two.sboms.find((s) => s.subject === m)!.bytes);
    // the artifact manifests are those of the fallback push: byte-identical
    assert.ok(two.plan.artifacts.some((a) => a.manifest.digest === list.manifests[0]!.digest));

    referrersProxy.log.length = 0;
    const again = await push(client(), two.plan, target(referrersProxy.host, 'demo/native', ['v1']));
    assert.equal(again.referrers[`${referrersProxy.host}/demo/native`], 'api');
    assert.deepEqual(writes(referrersProxy.log), []);
  });
});
