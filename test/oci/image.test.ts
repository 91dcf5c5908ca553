import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileSource } from '../../src/oci/blobs.ts';
import { buildImage, buildImageIndex, type ImageSpec, rfc3339 } from '../../src/oci/image.ts';
import { goJson } from '../../src/oci/json.ts';
import { imageAnnotations, imageHistory } from '../../src/oci/metadata.ts';
import { archTag, dockerTags, hostPlatformKey, parseTag } from '../../src/oci/tags.ts';
import { type Layer, MediaType } from '../../src/oci/types.ts';
import { validateIndex } from '../../src/oci/validate.ts';
import { isLadingError } from '../../src/util/errors.ts';
import { throwsCode } from '../helpers/assert.ts';
import { fixture } from '../helpers/paths.ts';

const GOLDEN = fixture('apko', 'internal', 'cli', 'testdata', 'golden');
const goldenBlob = (digest: string) =>
  readFileSync(join(GOLDEN, 'blobs', 'sha256', digest.slice('sha256:'.length)));

function goldenLayer(digest: string, size: number, diffId: string): Layer {
  return {
    mediaType: MediaType.layerTarGzip,
    digest,
    size,
    diffId,
    uncompressedSize: 32768,
    ...fileSource(join(GOLDEN, 'blobs', 'sha256', digest.slice(7))),
  };
}

test("reproduces apko's golden config and manifests byte for byte, and its index's content", async () => {
  // apko build --annotations vendor:Vendor --annotations title:Title, epoch 0, entrypoint /bin/sh -l
  const user = { 'org.opencontainers.image.title': 'Title', 'org.opencontainers.image.vendor': 'Vendor' };
  const annotations = imageAnnotations({ annotations: user, created: 0 });
  const spec = (architecture: string): ImageSpec => ({
    platform: { architecture, os: 'linux' },
    created: 0,
    author: 'github.com/chainguard-dev/apko',
    history: imageHistory({ layerCount: 1, created: 0, annotations, tool: 'apko' }),
    config: {
      Entrypoint: ['/bin/sh', '-l'],
      Env: [
        'PATH=/usr/local/sbin:/usr/local/bin:/usr/bin:/usr/sbin:/sbin:/bin',
        'SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt',
      ],
      Labels: annotations,
    },
    annotations,
  });
  const amd64 = buildImage(spec('amd64'), [
    goldenLayer(
      'sha256:c7557730da0e2d7fb242d8d1ac6dcf7e3a2439732aa5981270b4f3a02454b738',
      3072,
      'sha256:20f698463c2755b6dc42b7d07e959ed7455a06e7367d507e829a315898f21a01',
    ),
  ]);
  const arm64 = buildImage(spec('arm64'), [
    goldenLayer(
      'sha256:7e0f9d62f6cab4785e18a55f17d03f20ffb776881f1f46258efd9458f7cdaf08',
      3079,
      'sha256:ca5e16c7c944d764863cb1a4286e668e72d6d87ef9ddd82337b19d87715bae7e',
    ),
  ]);
  const index = buildImageIndex([arm64, amd64], { annotations });
  for (const img of [amd64, arm64]) {
    assert.deepEqual(img.config.bytes, goldenBlob(img.config.digest));
    assert.deepEqual(img.manifest.bytes, goldenBlob(img.manifest.digest));
  }
  assert.equal(
    amd64.manifest.digest,
    'sha256:69f0237c7f8cf0b8a329d1bf1d6870c870c4ec323e39d3a6da59596632d0f2f4',
  );
  // The index lists the same manifests, platforms and annotations as apko's, in the OCI image-spec's field order
  // and without artifactType (what skopeo writes when it copies an index: image.ts says why); apko's is in
  // go-containerregistry's order, so its digest (sha256:b5f05e6…) differs.
  const golden = JSON.parse(readFileSync(join(GOLDEN, 'index.json'), 'utf8'));
  for (const m of golden.manifests) delete m.artifactType;
  assert.deepEqual(JSON.parse(index.index.bytes.toString()), golden);
  const manifests = index.index.bytes.toString().match(/"manifests":\[.*\]/)![0];
  assert.match(
    manifests,
    /^"manifests":\[\{"mediaType":"[^"]+","digest":"sha256:[0-9a-f]{64}","size":\d+,"platform":/,
  );
  assert.equal(index.index.digest, 'sha256:2c49d1075121f72348b02b62245cf7c810101ee83b7d29e08e509fe55a62656a');
  assert.deepEqual(
    index.images.map((i) => i.platform.architecture),
    ['amd64', 'arm64'],
  );
  await validateIndex(index); // the golden layers decompress to their diff IDs
});

test('config: go-containerregistry field order, sets for Volumes/ExposedPorts, empty fields omitted', () => {
  const img = buildImage(
    {
      platform: { architecture: 'arm', os: 'linux', variant: 'v7' },
      created: 1700000000,
      config: {
        StopSignal: 'SIGQUIT',
        ExposedPorts: ['8080/tcp', '53/udp'],
        WorkingDir: '/srv',
        Volumes: ['/var/lib/data', '/cache'],
        User: '65532',
        Labels: { b: '2', a: '1' },
        Env: ['A=1'],
        Entrypoint: ['/bin/app'],
        Cmd: ['--serve'],
      },
    },
    [],
  );
  const text = img.config.bytes.toString();
  assert.equal(
    text,
    '{"architecture":"arm","created":"2023-11-14T22:13:20Z","os":"linux","rootfs":{"type":"layers","diff_ids":[]},' +
      '"config":{"Cmd":["--serve"],"Entrypoint":["/bin/app"],"Env":["A=1"],"Labels":{"a":"1","b":"2"},"User":"65532",' +
      '"Volumes":{"/cache":{},"/var/lib/data":{}},"WorkingDir":"/srv","ExposedPorts":{"53/udp":{},"8080/tcp":{}},' +
      '"StopSignal":"SIGQUIT"},"variant":"v7"}',
  );
  const empty = buildImage(
    { platform: { architecture: 'amd64', os: 'linux' }, created: 0, config: { Cmd: [], Env: [], User: '' } },
    [],
  );
  assert.match(empty.config.bytes.toString(), /"config":\{\}/);
  assert.equal(JSON.parse(img.manifest.bytes.toString()).config.digest, img.config.digest);
  assert.deepEqual(img.descriptor.platform, { architecture: 'arm', os: 'linux', variant: 'v7' });
});

test("JSON is Go's: HTML characters escaped, map keys in byte order (also integer-like ones)", () => {
  assert.equal(goJson('a<b>&c\u2028'), '"a\\u003cb\\u003e\\u0026c\\u2028"');
  assert.equal(
    goJson(
      new Map([
        ['9', 'x'],
        ['10', 'y'],
        ['é', 'z'],
        ['z', 'w'],
      ]),
    ),
    '{"10":"y","9":"x","z":"w","é":"z"}',
  );
  assert.equal(goJson({ b: 1, a: undefined, c: [true, null] }), '{"b":1,"c":[true,null]}');
});

test('index: sorted by platform as apko sorts, one image per platform', () => {
  const mk = (architecture: string, variant?: string) =>
    buildImage({ platform: { architecture, os: 'linux', ...(variant ? { variant } : {}) }, created: 0 }, []);
  const index = buildImageIndex([
    mk('s390x'),
    mk('arm', 'v7'),
    mk('arm64'),
    mk('amd64'),
    mk('arm', 'v6'),
    mk('386'),
  ]);
  const order = index.images.map(
    (i) => i.platform.architecture + (i.platform.variant ? `/${i.platform.variant}` : ''),
  );
  assert.deepEqual(order, ['386', 'amd64', 'arm/v6', 'arm/v7', 'arm64', 's390x']);
  const doc = JSON.parse(index.index.bytes.toString());
  assert.equal(doc.mediaType, MediaType.imageIndex);
  assert.deepEqual(doc.manifests[2].platform, { architecture: 'arm', os: 'linux', variant: 'v6' });
  assert.equal(doc.manifests[2].artifactType, undefined); // as skopeo writes an index (image.ts)
  assert.equal(doc.annotations, undefined);
  throwsCode(() => buildImageIndex([mk('amd64'), mk('amd64')]), 'OCI_INDEX_PLATFORM');
  assert.throws(() => buildImageIndex([]), /at least one image/);
});

test('annotations and history as apko writes them', () => {
  assert.deepEqual(
    imageAnnotations({ annotations: { x: 'y' }, vcsUrl: 'https://github.com/o/r@0123abc', created: 86400 }),
    {
      x: 'y',
      'org.opencontainers.image.source': 'https://github.com/o/r',
      'org.opencontainers.image.revision': '0123abc',
      'org.opencontainers.image.created': '1970-01-02T00:00:00Z',
    },
  );
  assert.deepEqual(imageAnnotations({ vcsUrl: 'https://github.com/o/r', created: 0 }), {
    'org.opencontainers.image.created': '1970-01-01T00:00:00Z',
  });
  assert.equal(
    imageHistory({ layerCount: 1, created: 0 })[0]!.comment,
    'This is a lading single-layer image',
  );
  assert.equal(
    imageHistory({ layerCount: 1, created: 0, tool: 'apko' })[0]!.comment,
    'This is an apko single-layer image',
  );
  const multi = imageHistory({ layerCount: 3, created: 0 });
  assert.equal(multi.length, 3);
  assert.equal(multi[0]!.comment, undefined);
  const titled = imageHistory({
    layerCount: 2,
    created: 0,
    annotations: { 'org.opencontainers.image.title': 'T', 'org.opencontainers.image.vendor': 'V' },
  });
  assert.equal(titled[1]!.comment, 'T by V');
  assert.equal(rfc3339(1700000000), '2023-11-14T22:13:20Z');
  assert.throws(() => rfc3339(-1), /whole number/);
});

test('tags: validated like Docker references; per-architecture tags for several platforms', () => {
  assert.deepEqual(parseTag('app'), { name: 'app', tag: 'latest' });
  assert.deepEqual(parseTag('localhost:5000/ns/app:1.2'), { name: 'localhost:5000/ns/app', tag: '1.2' });
  for (const bad of ['App:1', 'app@sha256:abc', 'app:', ':1', 'a//b', 'app:-x'])
    assert.throws(
      () => parseTag(bad),
      (e: unknown) => isLadingError(e) && e.code === 'OCI_TAG',
      bad,
    );
  assert.equal(
    archTag('example.com/app:1.0', { architecture: 'arm64', os: 'linux' }),
    'example.com/app:1.0-arm64',
  );
  assert.equal(archTag('app', { architecture: 'arm', os: 'linux', variant: 'v7' }), 'app:latest-armv7');
  assert.equal(archTag('app', { architecture: 'arm', os: 'linux', variant: 'v6' }), 'app:latest-armv6');

  const mk = (architecture: string) =>
    buildImage({ platform: { architecture, os: 'linux' }, created: 0 }, []);
  const one = [mk('arm64')];
  assert.deepEqual(dockerTags(one, 'app:1'), [['app:1']]);
  const two = buildImageIndex([mk('arm64'), mk('amd64')]).images;
  const host = hostPlatformKey();
  const expectHost = host === 'arm64' ? 1 : 0;
  const tags = dockerTags(two, 'app:1');
  assert.deepEqual(tags[expectHost], ['app:1', `app:1-${['amd64', 'arm64'][expectHost]}`]);
  assert.deepEqual(dockerTags(two, 'app:1', 'arm64'), [['app:1-amd64'], ['app:1', 'app:1-arm64']]);
  assert.throws(() => dockerTags(two, 'app:1', 's390x'), /no platform "s390x"/);
});
