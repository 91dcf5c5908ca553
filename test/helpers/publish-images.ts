/**
 * Small runnable images for the registry tests, built once per test file with the real CLI: a signed test
 * repository for x86_64 and aarch64 whose `shell` package is this machine's static busybox (`/bin/sh`), plus
 * two small packages, and configs whose images print a known line when run.
 */
import { mkdirSync } from 'node:fs';
import { makeRepo, type TestRepo } from './make-repo.ts';
import { requireTool } from './tools.ts';

export const GREETING = 'hello from a published image';

/** The test repository (both architectures), made once per file. */
export function makePublishRepo(dir: string): TestRepo {
  requireTool('busybox');
  mkdirSync(dir, { recursive: true });
  return makeRepo(
    dir,
    [
      {
        name: 'shell',
        files: { 'bin/busybox': { copy: '/bin/busybox' }, 'bin/sh': { symlink: 'busybox' } },
        origin: 'shell',
      },
      { name: 'greeting', files: { 'etc/greeting': `${GREETING}\n` }, origin: 'greeting' },
      {
        name: 'extra',
        files: { 'usr/share/extra/data.txt': 'a layer only the second image has\n' },
        origin: 'extra',
      },
    ],
    undefined,
    ['x86_64', 'aarch64'],
  );
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
