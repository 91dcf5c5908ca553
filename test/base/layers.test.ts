/**
 * A base image's layers applied as a runtime applies them: later layers win, `.wh.NAME` deletes, `.wh..wh..opq`
 * hides what lower layers had in a directory, hard links point at the file; each layer is expanded once (the
 * store answers the second time) and checked against its diff ID; the build's layer holds exactly what changed.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { applyLayer, changedNodes, expandBaseLayer, snapshot } from '../../src/base/layers.ts';
import { ImageFS } from '../../src/fs/tree.ts';
import type { Layer } from '../../src/oci/types.ts';
import { openCache } from '../../src/store/cache.ts';
import { rejectsCode, throwsCode } from '../helpers/assert.ts';
import { type HostileEntry, hostileTar } from '../helpers/hostile.ts';
import { tempDir } from '../helpers/tools.ts';

const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

function layer(entries: HostileEntry[], diffId?: string): Layer {
  const tar = hostileTar(entries);
  const blob = gzipSync(tar);
  return {
    mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
    digest: sha256(blob),
    size: blob.length,
    diffId: diffId ?? sha256(tar),
    open: () => Readable.from([blob]),
  };
}

describe('base image layers', () => {
  it('apply in order with whiteouts and opaque directories; the build layer is what changed', async (t) => {
    const dir = tempDir('lading-base-layers-');
    t.after(dir.remove);
    const cache = await openCache(dir.path);
    const lower = layer([
      { name: 'etc/', type: 'directory' },
      { name: 'etc/keep', data: 'keep' },
      { name: 'etc/gone', data: 'gone' },
      { name: 'opt/', type: 'directory' },
      { name: 'opt/old', data: 'old' },
      { name: 'bin/', type: 'directory' },
      { name: 'bin/tool', data: 'tool', mode: 0o755 },
      { name: 'bin/alias', type: 'hardlink', linkname: 'bin/tool' },
    ]);
    const upper = layer([
      { name: 'etc/.wh.gone' },
      { name: 'opt/', type: 'directory', mode: 0o700 },
      { name: 'opt/.wh..wh..opq' },
      { name: 'opt/new', data: 'new' },
      { name: 'etc/keep', data: 'changed' },
    ]);
    const fs = new ImageFS();
    for (const l of [lower, upper]) applyLayer(fs, await expandBaseLayer(l, cache, 'test'), l.diffId);
    assert.deepEqual(
      [...fs.walk()].map(([p, n]) => `${p} ${n.type} ${n.mode.toString(8)}`),
      [
        'bin directory 755',
        'bin/alias file 755',
        'bin/tool file 755',
        'etc directory 755',
        'etc/keep file 644',
        'opt directory 700',
        'opt/new file 644',
      ],
    );
    assert.equal(fs.lstat('bin/alias'), fs.lstat('bin/tool'), 'a hard link is the same node');
    assert.equal(fs.readFile('etc/keep').toString(), 'changed');
    // expanded once: the second time the store answers, even when the blob is gone
    const again = await expandBaseLayer({ ...upper, open: () => Readable.from([]) }, cache, 'test');
    assert.equal(again.entries.length, 5);

    const base = snapshot(fs);
    assert.deepEqual(changedNodes(fs, base), []);
    fs.put('opt/new', { ...fs.lstat('opt/new')!, mode: 0o600 });
    fs.mkdirAll('usr/lib', { mode: 0o755 });
    assert.deepEqual(
      changedNodes(fs, base).map(([p]) => p),
      ['opt', 'opt/new', 'usr', 'usr/lib'],
    );
    fs.remove('etc/keep');
    throwsCode(() => changedNodes(fs, base), 'BASE_REMOVED');
  });

  it('a layer whose bytes do not unpack to its diff ID is refused', async (t) => {
    const dir = tempDir('lading-base-layers-');
    t.after(dir.remove);
    const cache = await openCache(dir.path);
    const wrong = layer([{ name: 'a', data: 'a' }], `sha256:${'0'.repeat(64)}`);
    await rejectsCode(expandBaseLayer(wrong, cache, 'base image x'), 'BASE_LAYER', /unpacks to sha256:/);
  });
});
