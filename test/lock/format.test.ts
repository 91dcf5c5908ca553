/**
 * The lock file format against apko's own lock fixtures: read and written back byte for byte, old versions
 * recognised, architectures in one spelling, and the summary of what changes between two locks.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { diffLocks, formatLockDiff } from '../../src/lock/diff.ts';
import { lockedByArch, splitPackageUrl } from '../../src/lock/entries.ts';
import { formatLock, type LockFile, parseLock, parseRange } from '../../src/lock/format.ts';
import { lockRepository } from '../../src/lock/make.ts';
import { LadingError } from '../../src/util/errors.ts';
import { fixture } from '../helpers/paths.ts';

const testdata = (name: string) => fixture('apko/internal/cli/testdata', name);
const read = (name: string) => readFileSync(testdata(name), 'utf8');

describe('lock format', () => {
  it("writes apko's locks back byte for byte", () => {
    for (const name of ['apko.lock.json', 'apko-discover.lock.json', 'image_on_top.apko.lock.json']) {
      const text = read(name);
      assert.equal(formatLock(parseLock(text, name)), text, name);
    }
  });

  it('reads a lock from before apko 0.13 (no config, no package checksums)', () => {
    const lock = parseLock(read('apko.pre-0.13.lock.json'), 'old.lock.json');
    assert.equal(lock.config, undefined);
    assert.ok(lock.contents.packages.length > 0);
    assert.ok(lock.contents.packages.every((p) => p.checksum === ''));
    assert.deepEqual(lock.contents.build_repositories, []);
  });

  it('groups packages by architecture in one spelling, noarch entries by their URL', () => {
    const lock = parseLock(read('apko.lock.json'), 'apko.lock.json');
    const byArch = lockedByArch(lock, 'apko.lock.json');
    assert.deepEqual([...byArch.keys()], ['amd64', 'arm64']);
    assert.deepEqual(
      byArch.get('arm64')!.map((p) => p.name),
      ['pretend-baselayout', 'replayout'],
    );
    const p = byArch.get('amd64')![1]!;
    assert.deepEqual(splitPackageUrl(p, 'x'), { repository: './testdata/packages', dir: 'x86_64' });
    const noarch = structuredClone(lock);
    noarch.contents.packages[3]!.architecture = 'noarch';
    noarch.contents.packages[3]!.url = noarch.contents.packages[3]!.url.replace('/aarch64/', '/noarch/');
    // in apk-tools' layout the URL names no architecture: the entry belongs with the ones before it
    assert.equal(lockedByArch(noarch, 'x').get('arm64')!.length, 2);
    // arm/v6 and arm/v7 are two architectures, in either spelling
    const arm = structuredClone(lock);
    arm.contents.packages[0]!.architecture = 'armhf';
    arm.contents.packages[1]!.architecture = 'arm/v7';
    assert.deepEqual([...lockedByArch(arm, 'x').keys()], ['arm/v6', 'arm/v7', 'arm64']);
    assert.deepEqual(lockRepository('@local https://example.com/repo', 'armv7'), {
      name: 'https://example.com/repo/armv7',
      url: 'https://example.com/repo/armv7/APKINDEX.tar.gz',
      architecture: 'armv7',
    });
  });

  it('refuses what it cannot read with a clear error', () => {
    const code = (text: string) => {
      try {
        parseLock(text, 'x.lock.json');
      } catch (e) {
        assert.ok(e instanceof LadingError);
        assert.match(e.hint ?? '', /lading lock/);
        return e.code;
      }
      return 'parsed';
    };
    assert.equal(code('{'), 'LOCK_INVALID');
    assert.equal(code('{"version":"v2","contents":{}}'), 'LOCK_VERSION');
    assert.equal(code('{"version":"v1","contents":{"packages":[{"name":1}]}}'), 'LOCK_INVALID');
    assert.equal(code('{"version":"v1","contents":{}}'), 'parsed');
  });

  it("escapes as Go's encoder does", () => {
    const lock: LockFile = {
      version: 'v1',
      contents: {
        keyring: [{ name: 'k', url: 'https://x/?a=1&b=<2>', content: 'line\u2028' }],
        build_repositories: [],
        runtime_repositories: [],
        repositories: [],
        packages: [],
      },
    };
    const text = formatLock(lock);
    assert.match(text, /"url": "https:\/\/x\/\?a=1\\u0026b=\\u003c2\\u003e"/);
    assert.match(text, /"content": "line\\u2028"/);
    assert.deepEqual(parseLock(text, 'x'), lock);
    assert.deepEqual(parseRange('bytes=647-1628'), [647, 1628]);
    assert.equal(parseRange('bytes=9-1'), undefined);
  });

  it('says per architecture what a fresh lock adds, removes, upgrades and downgrades', () => {
    const before = parseLock(read('apko.lock.json'), 'a');
    const after = structuredClone(before);
    const [x0, x1, a0, a1] = after.contents.packages as [
      LockFile['contents']['packages'][number],
      LockFile['contents']['packages'][number],
      LockFile['contents']['packages'][number],
      LockFile['contents']['packages'][number],
    ];
    x1.version = '1.0.1-r0';
    a1.version = '0.9-r0';
    x0.checksum = 'Q1other';
    after.contents.packages = [x0, x1, { ...a0, name: 'other' }, a1];
    const diff = diffLocks(before, after, { before: 'a', after: 'b' });
    assert.equal(diff.same, false);
    assert.deepEqual(formatLockDiff(diff), [
      'x86_64:',
      '  upgraded: replayout 1.0.0-r0 → 1.0.1-r0',
      '  rebuilt (same version, new checksum): pretend-baselayout-1.0.0-r0',
      'aarch64:',
      '  added: other-1.0.0-r0',
      '  removed: pretend-baselayout-1.0.0-r0',
      '  downgraded: replayout 1.0.0-r0 → 0.9-r0',
    ]);
    assert.equal(diffLocks(before, structuredClone(before), { before: 'a', after: 'b' }).same, true);
  });
});
