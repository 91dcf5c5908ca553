/**
 * Test input: the data of real Alpine 3.19 packages as a sorted layer entry list. Each package is inflated
 * once into a "cache" file (the concatenated signature, control and data tars, as gunzip gives them), and
 * file entries point at byte ranges of it, the way the build's package cache is used. A small in-test merge
 * (first directory wins), plus busybox applet links; the real filesystem is src/fs's job.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { buildImage, buildImageIndex } from '../../src/oci/image.ts';
import { writeLayer } from '../../src/oci/layer.ts';
import { imageAnnotations, imageHistory } from '../../src/oci/metadata.ts';
import type { ImageIndex, LayerEntry } from '../../src/oci/types.ts';
import { readTar } from '../../src/tar/reader.ts';
import { fixture } from './paths.ts';

export const ALPINE_PACKAGES = [
  'alpine-baselayout-3.4.3-r2',
  'alpine-baselayout-data-3.4.3-r2',
  'busybox-1.36.1-r15',
  'busybox-binsh-1.36.1-r15',
  'musl-1.2.4_git20230717-r4',
];

/** Applets the tests run; `sh` comes from busybox-binsh. */
const APPLETS = ['cat', 'echo', 'env', 'id', 'ls', 'pwd'];

export function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/**
 * The merged, sorted entries of the packages. `cacheDir` receives one inflated tar per package; with
 * `inMemory` the contents are `bytes` sources instead.
 */
export function alpineEntries(cacheDir: string, options: { inMemory?: boolean } = {}): LayerEntry[] {
  const byPath = new Map<string, LayerEntry>();
  for (const pkg of ALPINE_PACKAGES) {
    const tar = gunzipSync(readFileSync(fixture('alpine', 'v3.19.1-iso-repo', 'x86_64', `${pkg}.apk`)));
    const cacheFile = join(cacheDir, `${pkg}.tar`);
    // written once per cache dir: child processes reuse it (one runs with a file-size limit)
    if (!existsSync(cacheFile)) writeFileSync(cacheFile, tar);
    for (const e of readTar(tar, { allowTruncated: true })) {
      if (e.name.startsWith('.') && !e.name.includes('/')) continue; // .SIGN*, .PKGINFO, scripts
      const path = e.name.replace(/\/+$/, '');
      if (e.type === 'directory' && byPath.has(path)) continue;
      const entry: LayerEntry = {
        path,
        type: e.type,
        mode: e.mode,
        uid: e.uid,
        gid: e.gid,
        uname: e.uname || undefined,
        gname: e.gname || undefined,
        mtime: e.mtime,
        linkname: e.linkname || undefined,
        devmajor: e.devmajor || undefined,
        devminor: e.devminor || undefined,
        xattrs: Object.keys(e.xattrs).length ? e.xattrs : undefined,
        size: e.type === 'file' ? e.size : 0,
      };
      if (e.type === 'file' && e.size > 0) {
        entry.content = options.inMemory
          ? { kind: 'bytes', data: tar.subarray(e.dataOffset, e.dataOffset + e.size) }
          : { kind: 'file', path: cacheFile, offset: e.dataOffset, size: e.size };
        entry.contentId = `${pkg}:${e.dataOffset}`;
      }
      byPath.set(path, entry);
    }
  }
  const busybox = byPath.get('bin/busybox');
  if (!busybox) throw new Error('busybox missing from the test packages');
  for (const applet of APPLETS) {
    byPath.set(`bin/${applet}`, {
      path: `bin/${applet}`,
      type: 'symlink',
      mode: 0o777,
      uid: 0,
      gid: 0,
      mtime: busybox.mtime,
      linkname: '/bin/busybox',
      size: 0,
    });
  }
  for (const path of [...byPath.keys()]) {
    for (let i = path.indexOf('/'); i > 0; i = path.indexOf('/', i + 1)) {
      const dir = path.slice(0, i);
      if (!byPath.has(dir))
        byPath.set(dir, { path: dir, type: 'directory', mode: 0o755, uid: 0, gid: 0, mtime: 0, size: 0 });
    }
  }
  return [...byPath.values()].sort((a, b) => compareBytes(a.path, b.path));
}

/** What the test image prints when run with its default Entrypoint + Cmd (User guest = 405, WorkingDir /tmp). */
export const EXPECTED_OUTPUT = 'hello uid=405 cwd=/tmp FOO=bar';

/** The test image for `archs` (same layer, configs differing by architecture), written under `dir`. */
export async function alpineIndex(dir: string, archs: string[] = ['amd64']): Promise<ImageIndex> {
  mkdirSync(dir, { recursive: true });
  const layer = await writeLayer(alpineEntries(dir), join(dir, 'layer.tar.gz'));
  const created = 1700000000;
  const annotations = imageAnnotations({
    annotations: { 'org.opencontainers.image.title': 'lading test' },
    vcsUrl: 'https://example.com/lading@0123456789abcdef',
    created,
  });
  const images = archs.map((architecture) =>
    buildImage(
      {
        platform: { architecture, os: 'linux' },
        created,
        history: imageHistory({ layerCount: 1, created, annotations }),
        config: {
          Entrypoint: ['/bin/sh', '-c'],
          Cmd: ['echo "hello uid=$(id -u) cwd=$(pwd) FOO=$FOO"'],
          Env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin', 'FOO=bar'],
          User: 'guest',
          WorkingDir: '/tmp',
          Labels: annotations,
        },
        annotations,
      },
      [layer],
    ),
  );
  return buildImageIndex(images, { annotations });
}
