/** Writes test configs that point at the fixture repositories, and runs `lading build` on them. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixture } from './paths.ts';
import { lading, type RunResult } from './tools.ts';

export const isoRepoDir = () => fixture('alpine/v3.19.1-iso-repo');
export const alpineKey = () => fixture('alpine/keys/alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub');

/** Image settings beyond the packages (entrypoint, cmd, a user and group, work-dir, environment). */
export const APP_EXTRA = `entrypoint:
  command: /bin/sh -c
cmd: "'echo hello from cmd'"
accounts:
  groups:
    - groupname: app
      gid: 1000
  users:
    - username: app
      uid: 1000
  run-as: app
work-dir: /home/app
environment:
  GREETING: hi there
`;

/**
 * alpine-base with steps that change package files: accounts rewrite /etc/passwd and /etc/group, a
 * permissions change in place, a second name for a package file outside its package; then `extra`.
 */
export const alpineChangedFiles = (extra = '') => `contents:
  repositories: [${isoRepoDir()}]
  keyring: [${alpineKey()}]
  packages: [alpine-base]
archs: [x86_64]
accounts:
  users: [{username: app, uid: 1000}]
  groups: [{groupname: app, gid: 1000}]
  run-as: app
paths:
  - {path: /etc/motd, type: permissions, permissions: 0o600}
  - {path: /opt/bb, type: hardlink, source: /bin/busybox}
${extra}`;

/** A config file with the fixture ISO repository and Alpine key, plus `extra` YAML lines. */
export function writeAlpineConfig(dir: string, name: string, packages: string[], extra = ''): string {
  const path = join(dir, name);
  writeFileSync(
    path,
    `contents:
  repositories:
    - ${isoRepoDir()}
  keyring:
    - ${alpineKey()}
  packages:
${packages.map((p) => `    - ${p}`).join('\n')}
archs: [x86_64]
${extra}`,
  );
  return path;
}

/** `lading build CONFIG TAG OUT` with a private cache dir, quiet logs. */
export function ladingBuild(
  config: string,
  tag: string,
  out: string,
  cacheDir: string,
  args: string[] = [],
  options: Parameters<typeof lading>[1] = {},
): RunResult {
  return lading(
    ['build', config, tag, out, '--cache-dir', cacheDir, '--log-level', 'warn', ...args],
    options,
  );
}
