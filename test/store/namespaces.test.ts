/**
 * Every namespace of the store round-trips: a reference written with its typed key is read back (get, read,
 * open) with the same blob, attachments, meta and revalidation fields, under the file its key text names.
 * The names and key texts are the on-disk format, so they are pinned here too.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import { openCache } from '../../src/store/cache.ts';
import { blobFile, buildRecordFile, layoutPaths, refFile } from '../../src/store/layout.ts';
import {
  BASE_LAYERS,
  BASE_MANIFESTS,
  BASE_PULLED,
  EXPANDED_PACKAGES,
  IMAGES,
  INDEXES,
  KEYS,
  LAYERS,
  NAMESPACES,
  PACKAGES,
  RESOLUTIONS,
} from '../../src/store/namespaces.ts';
import { digestOf } from '../../src/util/digest.ts';
import { tempDir } from '../helpers/tools.ts';

describe('store namespaces', () => {
  it('have the names existing caches use, each once', () => {
    assert.deepEqual(
      NAMESPACES.map((n) => n.name),
      [
        'index',
        'key',
        'package',
        'apk-expanded',
        'resolution',
        'layer',
        'image',
        'base-layer',
        'base-blob',
        'base-manifest',
      ],
    );
    assert.equal(
      PACKAGES.keyText({ name: 'musl', version: '1.2.4-r4', checksum: 'Q1abc=', url: 'https://x/musl.apk' }),
      'musl-1.2.4-r4 Q1abc=',
    );
    assert.equal(
      PACKAGES.keyText({ name: 'musl', version: '1', url: 'https://x/m.apk' }),
      'url https://x/m.apk',
    );
  });

  it('round-trip references with their blobs, attachments and meta', async (t) => {
    const dir = tempDir('lading-ns-');
    t.after(dir.remove);
    const cache = await openCache(dir.path);
    const blob = await cache.putBytes(Buffer.from('main bytes'));
    const extra = await cache.putBytes(Buffer.from('{"entries":[]}'));
    assert.equal(blobFile(dir.path, blob.digest), cache.blobPath(blob.digest));
    assert.equal(blob.digest, digestOf('main bytes'));

    const url = 'https://dl.example.org/alpine/v3.19/main/x86_64/APKINDEX.tar.gz';
    const pkg = { name: 'busybox', version: '1.36.1-r15', checksum: 'Q1xyz=', url: 'https://x/b.apk' };
    const cases = [
      { ns: INDEXES, key: url, input: { blob, etag: '"abc"', lastModified: 'Mon', checkedAt: 5 } },
      { ns: KEYS, key: url.replace('APKINDEX.tar.gz', 'k.rsa.pub'), input: { blob, checkedAt: 7 } },
      {
        ns: PACKAGES,
        key: pkg,
        input: { blob, meta: { name: pkg.name, version: pkg.version, url: pkg.url } },
      },
      { ns: EXPANDED_PACKAGES, key: 'Q1xyz=', input: { blob, attachments: { meta: extra } } },
      { ns: RESOLUTIONS, key: 'f'.repeat(64), input: { blob, meta: { arch: 'x86_64' } } },
      {
        ns: LAYERS,
        key: `sha256:${'e'.repeat(64)}`,
        input: { blob, meta: { diffId: `sha256:${'d'.repeat(64)}`, uncompressedSize: 10, mediaType: 'x' } },
      },
      { ns: IMAGES, key: 'a'.repeat(64), input: { blob } },
      { ns: BASE_LAYERS, key: `sha256:${'b'.repeat(64)}`, input: { blob, attachments: { meta: extra } } },
      { ns: BASE_PULLED, key: `sha256:${'c'.repeat(64)}`, input: { blob } },
      { ns: BASE_MANIFESTS, key: 'reg.example/team/base@1', input: { blob, meta: { mediaType: 'x' } } },
    ] as const;
    assert.deepEqual(
      cases.map((c) => c.ns.name),
      NAMESPACES.map((n) => n.name),
      'every namespace is tested',
    );
    for (const c of cases) {
      // the cases differ in key and meta types; the loop treats them alike
      const { ns, key, input } = c as unknown as {
        ns: typeof IMAGES;
        key: string;
        input: Parameters<typeof cache.setRef>[2];
      };
      const written = await cache.setRef(ns, key, input);
      const text = ns.keyText(key);
      assert.equal(written.key, text);
      const path = refFile(dir.path, ns.name, text);
      assert.equal(cache.refPath(ns, key), path);
      assert.ok(existsSync(path), `${ns.name}: written at ${path}`);
      const { fingerprint: _f, path: _p, ...plain } = blob;
      const got = await cache.getRef(ns, key);
      assert.deepEqual({ ...got, verified: undefined }, { ...written, verified: undefined }, ns.name);
      assert.deepEqual(got?.blob, plain);
      const read = await cache.readRef(ns, key);
      assert.equal(read?.bytes.toString(), 'main bytes', ns.name);
      const opened = await cache.openRef(ns, key);
      assert.equal((await opened?.file.read(0, 4))?.toString(), 'main', ns.name);
      await opened?.file.close();
      if ('attachments' in c.input) {
        assert.equal(String(await cache.readAttachment(got!, 'meta')), '{"entries":[]}');
      }
      await cache.deleteRef(ns, key);
      assert.equal(await cache.getRef(ns, key), undefined, `${ns.name}: deleted`);
    }
    // the same key text in two namespaces names two references
    assert.notEqual(cache.refPath(IMAGES, 'k'), cache.refPath(RESOLUTIONS, 'k'));
  });

  it('place build records and blobs inside the layout', () => {
    const l = layoutPaths('/c');
    assert.deepEqual(l, {
      root: '/c/v1',
      blobs: '/c/v1/blobs/sha256',
      refs: '/c/v1/refs',
      tmp: '/c/v1/tmp',
      buildRecords: '/c/v1/build-records',
      pins: '/c/v1.pins',
    });
    assert.equal(buildRecordFile('/c', 'k1'), '/c/v1/build-records/k1.json');
    assert.equal(blobFile('/c', `sha256:ab${'0'.repeat(62)}`), `/c/v1/blobs/sha256/ab/ab${'0'.repeat(62)}`);
  });
});
