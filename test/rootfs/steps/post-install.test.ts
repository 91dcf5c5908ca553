import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { ImageFS } from '../../../src/fs/tree.ts';
import { applyPostInstall, buildDateEpoch } from '../../../src/rootfs/steps/index.ts';
import { isLadingError } from '../../../src/util/errors.ts';
import { installOracleWorld } from '../../helpers/fixture-image.ts';
import { fixture } from '../../helpers/paths.ts';

const MTIME = 1706291505;

test('applyPostInstall runs every step on alpine-base in apko’s order', () => {
  const img = installOracleWorld('alpine-base', { initdb: { mtime: MTIME } });
  const fs = img.fs;
  const result = applyPostInstall(fs, {
    mtime: MTIME,
    accounts: {
      users: [{ username: 'app', uid: 1000 }],
      groups: [{ groupname: 'app', gid: 1000, members: ['app'] }],
      runAs: 'app:app',
    },
    paths: [
      { path: '/app', type: 'directory', uid: 1000, gid: 1000, permissions: 0o750 },
      // an applet path: paths run before the busybox links, which then keep it
      { path: '/usr/bin/wget', type: 'symlink', source: '/app/wget' },
    ],
    runtimeKeyring: [
      {
        name: 'wolfi-signing.rsa.pub',
        content: readFileSync(fixture('wolfi', 'keys', 'wolfi-signing.rsa.pub'), 'utf8'),
      },
    ],
    packages: img.packages.map((p) => p.info),
    repositories: [
      '@edge https://user:secret@mirror.example/alpine/edge/main',
      'https://dl-cdn.alpinelinux.org/alpine/v3.19/main',
    ],
  });
  assert.equal(result.user, '1000:1000');
  assert.deepEqual(result.warnings, []);
  assert.equal(result.accounts.homeDirs[0], 'home/app');
  assert.equal(fs.lstat('usr/bin/wget')!.linkname, '/app/wget');
  assert.equal(fs.lstat('bin/ls')!.linkname, '/bin/busybox');
  assert.equal(fs.lstat('bin/su')!.linkname, '/bin/bbsuid');
  assert.deepEqual([fs.lstat('app')!.mode, fs.lstat('app')!.uid], [0o750, 1000]);
  // no certificates were added, so no bundle changed and no checksum sidecar is written
  assert.equal(fs.lstat('etc/ssl/certs/.ca-certificates.crt.sha256'), undefined);
  assert.ok(fs.lstat('etc/apk/keys/wolfi-signing.rsa.pub'));
  assert.equal(
    fs.readFile('etc/apk/repositories').toString(),
    '@edge https://mirror.example/alpine/edge/main\nhttps://dl-cdn.alpinelinux.org/alpine/v3.19/main\n',
  );
  // running the busybox step again (install already did it) changes nothing
  const again = applyPostInstall(fs, { mtime: MTIME, packages: img.packages.map((p) => p.info) });
  assert.deepEqual(again.busybox.created, []);
});

test('run-as naming no user stops the build with a clear error', () => {
  const img = installOracleWorld('minimal-world', { initdb: { mtime: MTIME } });
  assert.throws(
    () =>
      applyPostInstall(img.fs, {
        mtime: MTIME,
        packages: [],
        accounts: { runAs: 'nonroot', runAsAt: { file: 'x.yaml', line: 3 } },
      }),
    (e: unknown) =>
      isLadingError(e) &&
      e.code === 'RUN_AS_UNKNOWN_USER' &&
      e.format().startsWith('x.yaml:3: accounts.run-as names user "nonroot"'),
  );
});

test('an image without /etc/os-release, /etc/passwd or /etc/group gets a warning for each, as in apko', () => {
  // alpine-baselayout brings passwd and group; nothing in this world provides os-release (alpine-release does)
  const img = installOracleWorld('minimal-world', { initdb: { mtime: MTIME } });
  const result = applyPostInstall(img.fs, { mtime: MTIME, packages: img.packages.map((p) => p.info) });
  assert.deepEqual(result.warnings, [
    'the image has no /etc/os-release: scanners cannot tell the distribution, and the SBOM names its packages pkg:apk/unknown/… (add a package that provides it, e.g. alpine-release on Alpine or wolfi-baselayout on Wolfi)',
  ]);
  const empty = applyPostInstall(new ImageFS({ mtime: MTIME }), { mtime: MTIME, packages: [] });
  assert.deepEqual(
    empty.warnings.map((w) => w.split(':')[0]),
    ['the image has no /etc/passwd', 'the image has no /etc/group', 'the image has no /etc/os-release'],
  );
});

test('buildDateEpoch: SOURCE_DATE_EPOCH wins, else the newest of --build-date and the package build times', () => {
  const times = installOracleWorld('minimal-world').packages.map((p) => p.info.buildTime);
  assert.equal(buildDateEpoch({ packageBuildTimes: times }), Math.max(...times.map((t) => t ?? 0)));
  assert.equal(buildDateEpoch({ packageBuildTimes: times, buildDate: 2000000000 }), 2000000000);
  assert.equal(
    buildDateEpoch({ sourceDateEpoch: '42', packageBuildTimes: times, buildDate: 2000000000 }),
    42,
  );
  assert.equal(buildDateEpoch({ sourceDateEpoch: '', packageBuildTimes: [] }), 0);
  assert.throws(
    () => buildDateEpoch({ sourceDateEpoch: '2024-01-01' }),
    (e: unknown) =>
      isLadingError(e) &&
      e.code === 'BAD_SOURCE_DATE_EPOCH' &&
      /SOURCE_DATE_EPOCH="2024-01-01" is not a unix time/.test(e.message),
  );
});
