/**
 * A full disk under the cache: the prepared "disk is full" error (exit 1), not an internal error, and no
 * temporary file left behind. The disk is a real 512 KiB tmpfs (the tests run as root).
 */
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { hostileRepo, testKey } from '../helpers/hostile.ts';
import { ladingAsync, run, tempDir } from '../helpers/tools.ts';

const tmp = tempDir('lading-full-disk-');
const disk = join(tmp.path, 'disk');
let config: string;

before(async () => {
  const repo = hostileRepo(
    tmp.path,
    [
      {
        name: 'fat',
        entries: [
          { name: 'usr', type: 'directory' },
          // random bytes: the package cannot be compressed below the disk's size
          { name: 'usr/fat', data: Buffer.from(Array.from({ length: 1 << 20 }, (_, i) => (i * 7919) % 251)) },
        ],
      },
    ],
    await testKey(),
  );
  config = join(tmp.path, 'c.yaml');
  writeFileSync(
    config,
    `contents:\n  repositories: [${repo.repo}]\n  keyring: [${repo.keyFile}]\n  packages: [fat]\narchs: [x86_64]\n`,
  );
  mkdirSync(disk);
  const m = run('mount', ['-t', 'tmpfs', '-o', 'size=512k', 'tmpfs', disk]);
  assert.equal(m.status, 0, `mounting a small tmpfs needs root: ${m.stderr}`);
});
after(() => {
  run('umount', [disk]);
  tmp.remove();
});

test('a full cache disk: "the disk is full", exit 1, no temporary file left', async () => {
  const cache = join(disk, 'cache');
  const r = await ladingAsync(['build', config, 'fat:1', join(tmp.path, 'out.tar'), '--cache-dir', cache]);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /^lading: error: cannot write to the cache \(ENOSPC\)/m);
  assert.match(r.stderr, /hint: the disk is full: free space or prune the cache \(lading clean\)/);
  assert.doesNotMatch(r.stderr, /internal error/);
  assert.deepEqual(readdirSync(join(cache, 'v1/tmp')), []);
  assert.deepEqual(readdirSync(join(cache, 'v1.pins')), []);
});
