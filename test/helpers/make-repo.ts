/**
 * Builds a small signed repository with the real CLI (`lading keygen`, `lading package`, `lading index`):
 * REPO/x86_64/NAME-VERSION.apk + APKINDEX.tar.gz, and the public key in KEYS/.
 */
import { copyFileSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { lading } from './tools.ts';

export interface PackageSpec {
  name: string;
  version?: string;
  /** Relative path → content (a string is a file; { symlink } a link; { copy } this machine's file, mode kept). */
  files: Record<string, string | { symlink: string } | { copy: string }>;
  origin?: string;
  depends?: string[];
  provides?: string[];
  replaces?: string[];
  providerPriority?: number;
}

export interface TestRepo {
  repo: string;
  keys: string;
  /** The public key file. */
  key: string;
  /** The private key file. */
  privateKey: string;
}

function ok(r: { status: number; stderr: string; stdout: string }, what: string): void {
  if (r.status !== 0) throw new Error(`${what} failed: ${r.stderr}${r.stdout}`);
}

export function makeKey(dir: string, name = 'test@lading'): { key: string; privateKey: string } {
  mkdirSync(dir, { recursive: true });
  const base = join(dir, `${name}.rsa`).replace(/\.rsa$/, '');
  ok(lading(['keygen', base, '--bits', '2048']), 'keygen');
  return { key: `${base}.rsa.pub`, privateKey: `${base}.rsa` };
}

export function makeRepo(
  dir: string,
  packages: PackageSpec[],
  key?: { key: string; privateKey: string },
  /** The apk architecture (REPO/<arch>/); call again with the same dir and key for another one. */
  arch = 'x86_64',
): TestRepo {
  const keys = join(dir, 'keys');
  const k = key ?? makeKey(keys);
  const repo = join(dir, 'repo');
  const archDir = join(repo, arch);
  mkdirSync(archDir, { recursive: true });
  const apks = packages.map((p) => packageInto(join(dir, 'src'), archDir, p, k.privateKey, arch));
  ok(
    lading(['index', '--key', k.privateKey, '-o', join(archDir, 'APKINDEX.tar.gz'), ...apks]),
    'lading index',
  );
  return { repo, keys: dirname(k.key), key: k.key, privateKey: k.privateKey };
}

/** One package built with `lading package` into ARCHDIR/NAME-VERSION.apk (its tree made under SRCROOT/NAME). */
function packageInto(
  srcRoot: string,
  archDir: string,
  p: PackageSpec,
  privateKey: string,
  arch = 'x86_64',
): string {
  const src = join(srcRoot, p.name);
  mkdirSync(src, { recursive: true });
  for (const [path, content] of Object.entries(p.files)) {
    const full = join(src, path);
    mkdirSync(dirname(full), { recursive: true });
    if (typeof content === 'string') writeFileSync(full, content);
    else if ('copy' in content) copyFileSync(content.copy, full);
    else symlinkSync(content.symlink, full);
  }
  const version = p.version ?? '1.0-r0';
  const out = join(archDir, `${p.name}-${version}.apk`);
  const args = [
    'package',
    src,
    '-o',
    out,
    '--name',
    p.name,
    '--version',
    version,
    '--arch',
    arch,
    '--key',
    privateKey,
  ];
  if (p.origin) args.push('--origin', p.origin);
  for (const d of p.depends ?? []) args.push('--depends', d);
  for (const d of p.provides ?? []) args.push('--provides', d);
  for (const d of p.replaces ?? []) args.push('--replaces', d);
  if (p.providerPriority !== undefined) args.push('--provider-priority', String(p.providerPriority));
  ok(lading(args), `lading package ${p.name}`);
  return out;
}

/**
 * New packages (or new versions) into an existing test repository, which is indexed again: the packages already
 * there keep their bytes (a repository update, as a package bump makes it).
 */
export function addPackages(dir: string, repo: TestRepo, packages: PackageSpec[]): void {
  const archDir = join(repo.repo, 'x86_64');
  for (const [i, p] of packages.entries())
    packageInto(join(dir, `src-added-${i}`), archDir, p, repo.privateKey);
  const apks = readdirSync(archDir)
    .filter((f) => f.endsWith('.apk'))
    .sort()
    .map((f) => join(archDir, f));
  ok(
    lading(['index', '--key', repo.privateKey, '-o', join(archDir, 'APKINDEX.tar.gz'), ...apks]),
    'lading index',
  );
}

/** A config for a test repository. */
export function writeRepoConfig(
  dir: string,
  name: string,
  repo: TestRepo,
  packages: string[],
  extra = '',
): string {
  const path = join(dir, name);
  writeFileSync(
    path,
    `contents:
  repositories: [${repo.repo}]
  keyring: [${repo.key}]
  packages: [${packages.join(', ')}]
archs: [x86_64]
${extra}`,
  );
  return path;
}
