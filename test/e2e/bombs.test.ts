/**
 * Decompression bombs: a correctly signed package whose 2 MB data part inflates to 2 GiB, while its .PKGINFO
 * declares 4 KiB. `build`, `verify` and `index` each end with a clear error, and the peak RSS of the real
 * lading process (GNU time's maximum resident set size) stays flat. A package that honestly inflates to
 * 512 MiB is verified and indexed in the same flat memory: nothing is inflated into one buffer.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hostileRepo, testKey, zeroBomb } from '../helpers/hostile.ts';
import { ladingBin } from '../helpers/paths.ts';
import { requireTool, runAsync, tempDir } from '../helpers/tools.ts';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
/** The flat-memory promise: whatever a package inflates to, lading stays under this. */
const RSS_LIMIT_MIB = 256;

/** Runs the lading CLI under GNU time; returns its result and peak RSS in MiB. */
async function measured(
  args: string[],
): Promise<{ status: number; stdout: string; stderr: string; rssMiB: number }> {
  const time = requireTool('time');
  const r = await runAsync(time, ['-f', 'lading-peak-rss-kb=%M', process.execPath, ladingBin, ...args]);
  const m = /lading-peak-rss-kb=(\d+)\s*$/.exec(r.stderr);
  assert.ok(m, `GNU time printed no peak RSS:\n${r.stderr}`);
  return { ...r, stderr: r.stderr.slice(0, m.index), rssMiB: Number(m[1]) / 1024 };
}

describe('decompression bombs', () => {
  const tmp = tempDir('lading-bombs-');
  let repo: ReturnType<typeof hostileRepo>;
  const peaks: string[] = [];
  before(async () => {
    const key = await testKey();
    repo = hostileRepo(
      tmp.path,
      [
        { name: 'bomb', installedSize: 4096, data: zeroBomb(2 * GiB) },
        { name: 'big', installedSize: 512 * MiB, data: zeroBomb(512 * MiB) },
      ],
      key,
    );
  });
  after(() => {
    process.stdout.write(`# peak RSS (MiB): ${peaks.join(', ')}\n`);
    tmp.remove();
  });

  function flat(what: string, r: Awaited<ReturnType<typeof measured>>): void {
    peaks.push(`${what} ${r.rssMiB.toFixed(0)}`);
    assert.ok(
      r.rssMiB < RSS_LIMIT_MIB,
      `${what}: peak RSS ${r.rssMiB.toFixed(0)} MiB (limit ${RSS_LIMIT_MIB})`,
    );
  }

  it('build stops at the limit the declared size allows, with a clear error and no output', async () => {
    const config = join(tmp.path, 'bomb.yaml');
    writeFileSync(
      config,
      `contents:\n  repositories: [${repo.repo}]\n  keyring: [${repo.keyFile}]\n  packages: [bomb]\narchs: [x86_64]\n`,
    );
    const out = join(tmp.path, 'out');
    mkdirSync(out);
    const r = await measured([
      'build',
      config,
      'bomb:1',
      join(out, 'i.tar'),
      '--cache-dir',
      join(tmp.path, 'cache'),
    ]);
    assert.equal(r.status, 1, r.stderr);
    assert.match(
      r.stderr,
      /^lading: error: .*bomb-1\.0-r0\.apk: data part inflates to more than \d+ bytes, the most its declared installed size allows/m,
    );
    assert.deepEqual(readdirSync(out), []);
    flat('build of the bomb', r);
  });

  it('verify and index refuse the bomb; they check and index the honest 512 MiB package in the same memory', async () => {
    // side by side: each process's peak RSS is its own
    const [v, i, big, bigIndex] = await Promise.all([
      measured(['verify', '--keyring', join(tmp.path, 'keys'), repo.files.bomb!]),
      measured(['index', '-o', join(tmp.path, 'APKINDEX.tar.gz'), repo.files.bomb!]),
      measured(['verify', '--keyring', join(tmp.path, 'keys'), repo.files.big!]),
      measured(['index', '-o', join(tmp.path, 'big-APKINDEX.tar.gz'), repo.files.big!]),
    ]);
    assert.equal(v.status, 1, v.stderr);
    assert.match(v.stdout, /bomb-1\.0-r0\.apk: corrupt: .*inflates to more than \d+ bytes/);
    flat('verify of the bomb', v);

    assert.equal(i.status, 1);
    assert.match(i.stderr, /bomb-1\.0-r0\.apk: data part inflates to more than/);
    flat('index of the bomb', i);

    assert.equal(big.status, 0, big.stdout + big.stderr);
    assert.match(big.stdout, /big-1\.0-r0\.apk: OK/);
    flat('verify of 512 MiB', big);

    assert.equal(bigIndex.status, 0, bigIndex.stderr);
    flat('index of 512 MiB', bigIndex);
  });
});
