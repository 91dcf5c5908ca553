/**
 * What runtimes (Go's archive/tar and compress/gzip, in containerd, Docker, Podman and umoci) would read
 * differently from the installer in a package's data stream: noted while it is inflated, so `layering:
 * {strategy: package}` rebuilds that package's layer instead of shipping the stream as it is.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { inflateApkData } from '../../src/apk/apk-data.ts';
import { readApk } from '../../src/apk/apk-reader.ts';
import { gzipDeterministic } from '../../src/apk/gzip-members.ts';
import { encodeTarHeader, TAR_END, tarPadding } from '../../src/tar/writer.ts';
import { hostileTar } from '../helpers/hostile.ts';
import { fixture } from '../helpers/paths.ts';

const differences = async (data: Buffer) => (await inflateApkData(data, { maxSize: 1 << 20 })).differences;

/** A header block with its type flag changed (and its checksum made right again). */
function retyped(header: Buffer, typeflag: string): Buffer {
  const b = Buffer.from(header);
  b[156] = typeflag.charCodeAt(0);
  b.fill(32, 148, 156);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += b[i]!;
  b.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
  return b;
}

const dir = hostileTar([{ name: 'usr', type: 'directory' }], false);

describe('data stream differences', () => {
  it('none in real Alpine packages (PAX atime/ctime and checksum records are read alike)', async () => {
    for (const name of ['busybox-1.36.1-r15', 'alpine-baselayout-3.4.3-r2', 'musl-1.2.4_git20230717-r4']) {
      const apk = readApk(readFileSync(fixture(`alpine/v3.19.1-iso-repo/x86_64/${name}.apk`)));
      assert.deepEqual((await inflateApkData(apk.data, { maxSize: 16 << 20 })).differences, [], name);
    }
    // the tzdata stream of four gzip members: multi-member streams are read alike
    const tz = readApk(readFileSync(fixture('apko-history/tzdata-2023c-r0-multigzip.apk')), {
      verifyDataHash: false,
    });
    assert.deepEqual((await inflateApkData(tz.data, { maxSize: 64 << 20 })).differences, []);
  });

  it('names each feature runtimes read differently', async () => {
    const pax = encodeTarHeader({
      name: 'usr/x',
      type: 'file',
      mode: 0o644,
      uid: 0,
      gid: 0,
      size: 0,
      mtime: 1,
      pax: { comment: 'g' },
    });
    const global = Buffer.concat([dir, retyped(pax.subarray(0, 512), 'g'), pax.subarray(512), TAR_END]);
    const file = (extra: object) =>
      hostileTar([
        { name: 'usr', type: 'directory' },
        { name: 'usr/f', data: 'f', ...extra },
      ]);
    const cases: [string, Buffer, string[]][] = [
      ['global header', gzipDeterministic(global), ['a global PAX header']],
      [
        'sub-second mtime',
        gzipDeterministic(file({ pax: { mtime: '5.25' } })),
        ['a sub-second modification time'],
      ],
      ['whole-second PAX mtime', gzipDeterministic(file({ pax: { mtime: '5.000' } })), []],
      [
        'root entry',
        gzipDeterministic(
          hostileTar([
            { name: './', type: 'directory' },
            { name: 'usr', type: 'directory' },
          ]),
        ),
        ['an entry for the root directory'],
      ],
      [
        'hard link with its own mode',
        gzipDeterministic(
          hostileTar([
            { name: 'usr', type: 'directory' },
            { name: 'usr/f', data: 'f' },
            { name: 'usr/g', type: 'hardlink', linkname: 'usr/f', mode: 0o600 },
          ]),
        ),
        ['a hard link whose header differs from its file'],
      ],
      [
        'data after the end',
        gzipDeterministic(Buffer.concat([file({}), Buffer.from('junk'), tarPadding(4)])),
        ['data after the end-of-archive block'],
      ],
      [
        'zeros after the gzip member',
        Buffer.concat([gzipDeterministic(file({})), Buffer.alloc(16)]),
        ['bytes after the last gzip member'],
      ],
      [
        'overlay xattrs',
        gzipDeterministic(file({ xattrs: { 'trusted.overlay.opaque': Buffer.from('y') } })),
        ['overlayfs xattrs'],
      ],
    ];
    for (const [what, data, want] of cases) assert.deepEqual(await differences(data), want, what);
  });
});
