/**
 * Small runnable images for the registry tests: a signed repository for x86_64 and aarch64 whose `shell`
 * package is this machine's static busybox (`/bin/sh`), plus two small packages, and configs whose images
 * print a known line when run. The repository is made in-process with lading's own package and index writers
 * (the CLI that wraps them is tested in test/cli): registry test files start in tens of milliseconds, not
 * seconds of process start-ups.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ApkSourceEntry, createApk } from '../../src/apk/apk-writer.ts';
import { writeApkIndex } from '../../src/apk/apkindex.ts';
import { generateRsaKeyPair, signingKeyFromPem } from '../../src/apk/signature.ts';
import type { TestRepo } from './make-repo.ts';
import { requireTool } from './tools.ts';

export const GREETING = 'hello from a published image';

const file = (path: string, data: Buffer | string): ApkSourceEntry => ({
  path,
  type: 'file',
  mode: 0o755,
  uid: 0,
  gid: 0,
  data: Buffer.from(data),
});
const dir = (path: string): ApkSourceEntry => ({ path, type: 'directory', mode: 0o755, uid: 0, gid: 0 });

/** The test repository (both architectures), made once per file. */
export async function makePublishRepo(root: string): Promise<TestRepo> {
  const busybox = readFileSync(requireTool('busybox'));
  const keys = join(root, 'keys');
  mkdirSync(keys, { recursive: true });
  const pair = await generateRsaKeyPair(2048);
  const key = join(keys, 'publish-test.rsa.pub');
  const privateKey = join(keys, 'publish-test.rsa');
  writeFileSync(key, pair.publicPem);
  writeFileSync(privateKey, pair.privatePem, { mode: 0o600 });
  const signingKey = signingKeyFromPem(pair.privatePem, privateKey, 'publish-test.rsa.pub');
  const packages: { name: string; entries: ApkSourceEntry[] }[] = [
    {
      name: 'shell',
      entries: [
        dir('bin'),
        file('bin/busybox', busybox),
        { path: 'bin/sh', type: 'symlink', mode: 0o777, uid: 0, gid: 0, linkTarget: 'busybox' },
      ],
    },
    {
      name: 'greeting',
      entries: [
        dir('etc'),
        { ...file('etc/greeting', `${GREETING}\n`), mode: 0o644 },
        { ...file('etc/group', 'root:x:0:\n'), mode: 0o644 },
        { ...file('etc/os-release', 'ID=lading-test\nNAME="lading test"\nVERSION_ID=1\n'), mode: 0o644 },
        { ...file('etc/passwd', 'root:x:0:0:root:/root:/bin/sh\n'), mode: 0o644 },
      ],
    },
    {
      name: 'extra',
      entries: [
        dir('usr'),
        dir('usr/share'),
        dir('usr/share/extra'),
        file('usr/share/extra/data.txt', 'only in the second image\n'),
      ],
    },
  ];
  const repo = join(root, 'repo');
  for (const arch of ['x86_64', 'aarch64']) {
    mkdirSync(join(repo, arch), { recursive: true });
    const records = packages.map((p) => {
      const apk = createApk(
        { name: p.name, version: '1.0-r0', arch, origin: p.name, license: 'MIT' },
        p.entries,
        {
          signingKey,
          buildTime: 1700000000,
        },
      );
      writeFileSync(join(repo, arch, `${p.name}-1.0-r0.apk`), apk.bytes);
      return apk.info;
    });
    writeFileSync(
      join(repo, arch, 'APKINDEX.tar.gz'),
      writeApkIndex({ packages: records, signingKey, mtime: 1700000000 }),
    );
  }
  return { repo, keys, key, privateKey };
}

/** A config for the test repository: `archs`, `packages`, one layer per package (layering: origin). */
export function publishConfig(
  repo: TestRepo,
  archs: string[],
  packages: string[] = ['shell', 'greeting'],
): string {
  return `contents:
  repositories: [${repo.repo}]
  keyring: [${repo.key}]
  packages: [${packages.join(', ')}]
archs: [${archs.join(', ')}]
entrypoint:
  command: /bin/sh -c
cmd: "'cat /etc/greeting'"
layering: {strategy: origin, budget: 4}
`;
}
