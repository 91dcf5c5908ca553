import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  ARCHS,
  apkArch,
  archFromApk,
  archFromPlatform,
  hostArchitecture,
  ociPlatform,
  parseArch,
  parseArchList,
  tryParseArch,
} from '../../src/config/index.ts';
import { LadingError } from '../../src/util/errors.ts';

describe('architecture names', () => {
  test('apk and OCI spellings normalise to the OCI name (census §3.6)', () => {
    const table: [string, string, string, { architecture: string; variant?: string }][] = [
      ['386', 'x86', 'x86', { architecture: '386' }],
      ['amd64', 'x86_64', 'x86_64', { architecture: 'amd64' }],
      ['arm64', 'aarch64', 'aarch64', { architecture: 'arm64' }],
      ['arm/v6', 'armhf', 'armhf', { architecture: 'arm', variant: 'v6' }],
      ['arm/v7', 'armv7', 'armv7', { architecture: 'arm', variant: 'v7' }],
      ['loong64', 'loongarch64', 'loongarch64', { architecture: 'loong64' }],
      ['ppc64le', 'ppc64le', 'ppc64le', { architecture: 'ppc64le' }],
      ['riscv64', 'riscv64', 'riscv64', { architecture: 'riscv64' }],
      ['s390x', 's390x', 's390x', { architecture: 's390x' }],
    ];
    for (const [oci, alias, apk, platform] of table) {
      assert.equal(parseArch(oci), oci);
      assert.equal(parseArch(alias), oci);
      const arch = parseArch(oci);
      assert.equal(apkArch(arch), apk);
      assert.deepEqual(ociPlatform(arch), { ...platform, os: 'linux' });
      assert.equal(archFromApk(apk), oci);
      assert.equal(archFromPlatform(platform), oci);
    }
    assert.equal(table.length, ARCHS.length);
  });

  test('unknown names are errors with a suggestion (apko passes them through)', () => {
    assert.equal(tryParseArch('x86-64'), undefined);
    assert.throws(
      () => parseArch('aarch46'),
      (e: unknown) =>
        e instanceof LadingError && /did you mean "aarch64"/.test(e.message) && /amd64/.test(e.hint ?? ''),
    );
    assert.equal(archFromApk('sparc'), undefined);
    assert.equal(archFromPlatform({ architecture: 'arm' }), undefined);
  });

  test('--arch lists: deduplicated, sorted as apko sorts, with all and host', () => {
    assert.deepEqual(parseArchList(['riscv64', 'x86_64', 'amd64', 'armhf', 'arm64']), [
      'amd64',
      'arm/v6',
      'arm64',
      'riscv64',
    ]);
    assert.deepEqual(parseArchList(['all']), [
      '386',
      'amd64',
      'arm/v6',
      'arm/v7',
      'arm64',
      'loong64',
      'ppc64le',
      'riscv64',
      's390x',
    ]);
    assert.deepEqual(parseArchList(['host'], 'arm64'), ['arm64']);
    assert.deepEqual(parseArchList(['host', 'x86_64'], 'x64'), ['amd64']);
    assert.throws(() => parseArchList(['amd64', 'mips']), LadingError);
  });

  test('the host architecture maps Node names to OCI names', () => {
    assert.equal(hostArchitecture('x64'), 'amd64');
    assert.equal(hostArchitecture('arm64'), 'arm64');
    assert.equal(hostArchitecture('ia32'), '386');
    assert.equal(hostArchitecture('arm'), 'arm/v7');
    assert.equal(hostArchitecture('s390x'), 's390x');
    assert.throws(() => hostArchitecture('mips'), /not one lading can build for/);
  });
});
