/**
 * A lock from a resolution: apko's layout (keys sorted by name with their content, then per architecture its
 * repositories and its packages in install order), each package with the byte ranges and checksums of its
 * gzip members so a lock-driven fetch (Bazel's http_file, lading's --lockfile) can check every byte.
 */
import { createHash } from 'node:crypto';
import type { ApkFile } from '../apk/apk-reader.ts';
import { compareBytes } from '../util/compare.ts';
import { stripScheme, withoutTag } from './entries.ts';
import {
  LOCK_VERSION,
  type LockFile,
  type LockPackage,
  type LockRepository,
  packageRanges,
} from './format.ts';

/** The byte ranges and checksums of a package's signature, control and data members. */
export function apkRanges(
  apk: Pick<ApkFile, 'signatureMember' | 'control' | 'data'> & { dataHash?: string },
) {
  const sha = (algorithm: string, bytes: Buffer) => createHash(algorithm).update(bytes).digest();
  return packageRanges({
    ...(apk.signatureMember
      ? { signature: { length: apk.signatureMember.length, sha1: sha('sha1', apk.signatureMember) } }
      : {}),
    control: { length: apk.control.length, sha1: sha('sha1', apk.control) },
    // the reader hashed the data part already (a package's largest member)
    data: {
      length: apk.data.length,
      sha256: apk.dataHash === undefined ? sha('sha256', apk.data) : Buffer.from(apk.dataHash, 'hex'),
    },
  });
}

/** `<entry>/<arch>` as apko names a locked repository (scheme stripped before the tag, as apko does). */
export function lockRepository(entry: string, arch: string): LockRepository {
  return {
    name: withoutTag(stripScheme(`${entry}/${arch}`)),
    url: withoutTag(`${entry}/${arch}/APKINDEX.tar.gz`),
    architecture: arch,
  };
}

export interface MakeLockInput {
  /** The config path as given. */
  configFile: string;
  checksum: string;
  /** Every keyring entry (config and -k) with the key's bytes. */
  keys: readonly { entry: string; content: Buffer }[];
  repositories: readonly string[];
  buildRepositories: readonly string[];
  runtimeRepositories: readonly string[];
  /** Per architecture, in build order: its packages in install order. */
  archs: readonly { apkArch: string; packages: readonly LockPackage[] }[];
}

export function makeLock(input: MakeLockInput): LockFile {
  const lock: LockFile = {
    version: LOCK_VERSION,
    config: { name: input.configFile, checksum: input.checksum },
    contents: {
      keyring: input.keys
        .map((k) => ({ name: stripScheme(k.entry), url: k.entry, content: k.content.toString('utf8') }))
        .sort((a, b) => compareBytes(a.name, b.name)),
      build_repositories: [],
      runtime_repositories: [],
      repositories: [],
      packages: [],
    },
  };
  const c = lock.contents;
  for (const arch of input.archs) {
    c.packages.push(...arch.packages);
    for (const r of input.buildRepositories) c.build_repositories.push(lockRepository(r, arch.apkArch));
    for (const r of input.runtimeRepositories) c.runtime_repositories.push(lockRepository(r, arch.apkArch));
    for (const r of input.repositories) c.repositories.push(lockRepository(r, arch.apkArch));
  }
  return lock;
}
