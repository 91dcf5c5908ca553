/**
 * Stand-ins for the Alpine v3.19 main packages the examples use that the fixture repository does not hold
 * (it has alpine-base's 25 packages). Each is made with `lading package` from the real package's index entry
 * (name, version, origin, dependencies, provides: from the full v3.19 main index in the fixtures) around one
 * file installed where the real package installs its own busybox build. The binary is the caller's choice:
 * this machine's static busybox to run the image, or fixed bytes for reproducible digests.
 */
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { readApkIndex } from '../../src/apk/apkindex.ts';
import type { PackageInfo } from '../../src/apk/types.ts';
import { fixture } from './paths.ts';
import { lading } from './tools.ts';

export const FULL_MAIN_INDEX = () => fixture('alpine/indexes/v3.19-main-x86_64-APKINDEX.tar.gz');

/** The packages the fixture repository lacks, and where each real package installs its binary. */
export const STAND_INS: Readonly<Record<string, string>> = {
  'busybox-extras': 'bin/busybox-extras',
  'busybox-static': 'bin/busybox.static',
};

let fullIndex: Map<string, PackageInfo> | undefined;

/** The full Alpine v3.19 main index, by package name. */
export function fullMainIndex(): Map<string, PackageInfo> {
  fullIndex ??= new Map(readApkIndex(readFileSync(FULL_MAIN_INDEX())).packages.map((p) => [p.name, p]));
  return fullIndex;
}

/**
 * Writes REPO/x86_64/<stand-in>.apk and APKINDEX.tar.gz into `repo` with `binary` as each package's file;
 * signed with `privateKey` when given, else unsigned (build with --ignore-signatures).
 */
export function makeStandInRepo(repo: string, binary: Buffer, privateKey?: string): string {
  const archDir = join(repo, 'x86_64');
  mkdirSync(archDir, { recursive: true });
  const sign = privateKey === undefined ? [] : ['--key', privateKey];
  const apks: string[] = [];
  for (const [name, file] of Object.entries(STAND_INS)) {
    const real = fullMainIndex().get(name);
    if (!real) throw new Error(`${name} is not in the Alpine v3.19 main index`);
    const src = join(repo, '..', 'stand-in-src', name);
    mkdirSync(dirname(join(src, file)), { recursive: true });
    writeFileSync(join(src, file), binary);
    chmodSync(join(src, file), 0o755);
    const apk = join(archDir, `${name}-${real.version}.apk`);
    const args = ['package', src, '-o', apk, '--name', name, '--version', real.version, '--arch', 'x86_64'];
    args.push('--origin', real.origin ?? name, '--root-owned', ...sign);
    for (const d of real.depends) args.push('--depends', d);
    for (const p of real.provides) args.push('--provides', p);
    const r = lading(args, { env: { ...process.env, SOURCE_DATE_EPOCH: '0' } });
    if (r.status !== 0) throw new Error(`lading package ${name}: ${r.stderr}`);
    apks.push(apk);
  }
  const r = lading(['index', ...sign, '-o', join(archDir, 'APKINDEX.tar.gz'), ...apks], {
    env: { ...process.env, SOURCE_DATE_EPOCH: '0' },
  });
  if (r.status !== 0) throw new Error(`lading index: ${r.stderr}`);
  return repo;
}
