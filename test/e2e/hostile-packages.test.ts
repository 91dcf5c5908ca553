/**
 * Signed, correctly indexed packages whose content is hostile, through the real `lading build`: whiteouts,
 * overlay xattrs, out-of-range owner ids, overlong names and thousands of nested directories. Each is refused
 * with a clear error naming the package and the entry (nothing written), or built correctly.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readTar } from '../../src/tar/reader.ts';
import { type HostileEntry, type HostilePackage, hostileRepo, testKey } from '../helpers/hostile.ts';
import { layerTars } from '../helpers/image-tree.ts';
import { ladingAsync, tempDir } from '../helpers/tools.ts';

/** Nested directories d/d/d/…, `depth` deep, with a file at the bottom. */
function deepEntries(depth: number): HostileEntry[] {
  const out: HostileEntry[] = [];
  let path = '';
  for (let i = 0; i < depth; i++) {
    path = path === '' ? 'd' : `${path}/d`;
    out.push({ name: path, type: 'directory' });
  }
  out.push({ name: `${path}/bottom`, data: 'deep\n' });
  return out;
}

const usr = { name: 'usr', type: 'directory' } as const;
const etc = { name: 'etc', type: 'directory' } as const;

const PACKAGES: HostilePackage[] = [
  {
    name: 'good',
    entries: [
      etc,
      { name: 'etc/good.conf', data: 'good\n' },
      usr,
      { name: 'usr/bin', type: 'directory' },
      { name: 'usr/bin/tool', data: 'x' },
    ],
  },
  { name: 'whiteout', entries: [etc, { name: 'etc/.wh.good.conf', data: '' }] },
  {
    name: 'opaque',
    entries: [usr, { name: 'usr/bin', type: 'directory' }, { name: 'usr/bin/.wh..wh..opq', data: '' }],
  },
  {
    name: 'overlay',
    entries: [
      usr,
      {
        name: 'usr/lib',
        type: 'directory',
        xattrs: { 'trusted.overlay.opaque': Buffer.from('y'), 'user.overlay.redirect': Buffer.from('/etc') },
      },
      { name: 'usr/lib/lib.so', data: 'lib' },
    ],
  },
  { name: 'bigid', entries: [usr, { name: 'usr/f', data: 'x', pax: { uid: '99999999999999999999999' } }] },
  { name: 'minusone', entries: [usr, { name: 'usr/f', data: 'x', pax: { gid: '4294967295' } }] },
  { name: 'longname', entries: [usr, { name: `usr/${'n'.repeat(300)}`, data: 'x' }] },
  { name: 'hugename', entries: [usr, { name: `usr/${'n'.repeat(1 << 20)}`, data: 'x' }] },
  { name: 'deep', entries: deepEntries(1200) },
  { name: 'toodeep', entries: deepEntries(2100) },
];

describe('lading build: hostile package content', () => {
  const tmp = tempDir('lading-hostile-');
  let repo: ReturnType<typeof hostileRepo>;
  before(async () => {
    repo = hostileRepo(tmp.path, PACKAGES, await testKey());
  });
  after(() => tmp.remove());

  let n = 0;
  async function build(packages: string[], extra = '') {
    const dir = join(tmp.path, `b${++n}`);
    mkdirSync(join(dir, 'out'), { recursive: true });
    const config = join(dir, 'c.yaml');
    writeFileSync(
      config,
      `contents:\n  repositories: [${repo.repo}]\n  keyring: [${repo.keyFile}]\n  packages: [${packages.join(', ')}]\narchs: [x86_64]\n${extra}`,
    );
    const out = join(dir, 'out');
    const r = await ladingAsync(['build', config, 't:1', out, '--cache-dir', join(tmp.path, 'cache')]);
    return { ...r, out };
  }

  it('refuses whiteouts, out-of-range owner ids and overlong names, naming package and entry; writes nothing', async () => {
    const cases: [string, RegExp][] = [
      ['whiteout', /whiteout-1\.0-r0\.apk: "etc\/\.wh\.good\.conf" is an OCI whiteout name/],
      ['opaque', /opaque-1\.0-r0\.apk: "usr\/bin\/\.wh\.\.wh\.\.opq" is an OCI whiteout name/],
      ['bigid', /bigid-1\.0-r0\.apk: .*PAX uid 9+ is too large/],
      ['minusone', /minusone-1\.0-r0\.apk: usr\/f: gid 4294967295 is out of range \(0 to 4294967294\)/],
      [
        'longname',
        /longname-1\.0-r0\.apk: entry "usr\/n+…" \(304 bytes\) has a component longer than 255 bytes/,
      ],
      ['hugename', /hugename-1\.0-r0\.apk: tar: extended header of 1048662 bytes/],
      ['toodeep', /toodeep-1\.0-r0\.apk: entry "d\/d.*" \(4095 bytes\) is longer than PATH_MAX/],
    ];
    const results = await Promise.all(
      cases.map(([pkg]) => build(['good', pkg], 'layering:\n  strategy: origin\n')),
    );
    for (const [i, [pkg, message]] of cases.entries()) {
      const r = results[i]!;
      assert.equal(r.status, 1, `${pkg}: ${r.stderr}`);
      assert.match(r.stderr, /^lading: error: /m, pkg);
      assert.match(r.stderr, message, pkg);
      assert.doesNotMatch(r.stderr, /internal error/);
      assert.deepEqual(readdirSync(r.out), [], `${pkg}: nothing written`);
    }
  });

  // 1,200 deep took 30 s before path resolution was linear (cubic: 70 s at 1,600); now about a second
  it('drops overlay xattrs with a warning; builds 1,200 nested directories (linear path resolution)', {
    timeout: 25_000,
  }, async () => {
    const r = await build(['good', 'overlay', 'deep']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(
      r.stderr,
      /warn.*package overlay-1\.0-r0: dropped overlayfs xattrs.*usr\/lib: trusted\.overlay\.opaque/,
    );
    const entries = layerTars(r.out).flatMap((tar) => [...readTar(tar)]);
    const lib = entries.find((e) => e.name === 'usr/lib');
    assert.ok(lib, 'usr/lib is in the layer');
    assert.deepEqual(Object.keys(lib.xattrs), []);
    assert.ok(entries.every((e) => !Object.keys(e.xattrs).some((x) => x.includes('overlay'))));
    const bottom = entries.find((e) => e.name.endsWith('/bottom'));
    assert.equal(bottom?.name, `${'d/'.repeat(1200)}bottom`);
  });
});
