/**
 * Hostile packages for bad-input tests: put together from raw tar headers and gzip members (createApk
 * refuses them), correctly signed and indexed so they get past every integrity check and reach the code
 * that must refuse them. Also decompression bombs, built in milliseconds from one compressed block of
 * zeros repeated as gzip members (a 2 GiB bomb is 2 MB).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { readApk } from '../../src/apk/apk-reader.ts';
import { writeApkIndex } from '../../src/apk/apkindex.ts';
import { gzipDeterministic } from '../../src/apk/gzip-members.ts';
import {
  createSignatureMember,
  generateRsaKeyPair,
  type SigningKey,
  signingKeyFromPem,
} from '../../src/apk/signature.ts';
import type { TarEntryType } from '../../src/tar/reader.ts';
import { encodeTarHeader, TAR_END, tarPadding } from '../../src/tar/writer.ts';

export interface HostileEntry {
  name: string;
  type?: TarEntryType;
  data?: Buffer | string;
  linkname?: string;
  mode?: number;
  /** Extra PAX records, written verbatim (e.g. { uid: '99999999999999999999999' }). */
  pax?: Record<string, string>;
  xattrs?: Record<string, Buffer>;
}

export interface HostilePackage {
  name: string;
  version?: string;
  entries?: readonly HostileEntry[];
  /** The .PKGINFO `size` (default: the sum of the file sizes). */
  installedSize?: number;
  /** The data part as given (a bomb), instead of one built from `entries`. */
  data?: Buffer;
  depends?: readonly string[];
  replaces?: readonly string[];
}

export interface TestKey {
  signing: SigningKey;
  /** The public key file name, as the signature names it. */
  name: string;
  publicPem: string;
}

export async function testKey(name = 'hostile@lading.rsa.pub'): Promise<TestKey> {
  const pair = await generateRsaKeyPair(2048);
  return {
    signing: signingKeyFromPem(pair.privatePem, 'hostile.rsa', name),
    name,
    publicPem: pair.publicPem,
  };
}

/**
 * An uncompressed tar of the entries, headers verbatim (nothing is checked); files carry apk's checksum record.
 * `end: false` leaves out the end-of-archive blocks, as in apk's control and signature parts.
 */
export function hostileTar(entries: readonly HostileEntry[], end = true): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const data = typeof e.data === 'string' ? Buffer.from(e.data) : (e.data ?? Buffer.alloc(0));
    const type = e.type ?? 'file';
    const pax: Record<string, string> = { ...e.pax };
    if (type === 'file') pax['APK-TOOLS.checksum.SHA1'] = createHash('sha1').update(data).digest('hex');
    parts.push(
      encodeTarHeader({
        name: e.name,
        type,
        mode: e.mode ?? (type === 'directory' ? 0o755 : 0o644),
        uid: 0,
        gid: 0,
        size: type === 'file' ? data.length : 0,
        mtime: 0,
        linkname: e.linkname,
        pax,
        xattrs: e.xattrs,
      }),
    );
    if (type === 'file') parts.push(data, tarPadding(data.length));
  }
  if (end) parts.push(TAR_END);
  return Buffer.concat(parts);
}

/** A package (signed when a key is given) with a matching datahash, so only its content can be refused. */
export function hostileApk(pkg: HostilePackage, key?: TestKey): Buffer {
  const entries = pkg.entries ?? [];
  const data = pkg.data ?? gzipDeterministic(hostileTar(entries));
  const datahash = createHash('sha256').update(data).digest('hex');
  const size =
    pkg.installedSize ??
    entries.reduce((n, e) => n + ((e.type ?? 'file') === 'file' ? Buffer.byteLength(e.data ?? '') : 0), 0);
  const pkginfo = [
    `pkgname = ${pkg.name}`,
    `pkgver = ${pkg.version ?? '1.0-r0'}`,
    'pkgdesc = a hostile test package',
    'arch = x86_64',
    `size = ${size}`,
    `origin = ${pkg.name}`,
    ...(pkg.depends ?? []).map((d) => `depend = ${d}`),
    ...(pkg.replaces ?? []).map((r) => `replaces = ${r}`),
    `datahash = ${datahash}`,
    '',
  ].join('\n');
  const controlTar = Buffer.concat([
    encodeTarHeader({
      name: '.PKGINFO',
      type: 'file',
      mode: 0o644,
      uid: 0,
      gid: 0,
      size: pkginfo.length,
      mtime: 0,
    }),
    Buffer.from(pkginfo),
    tarPadding(pkginfo.length),
  ]);
  const control = gzipDeterministic(controlTar);
  const parts = [control, data];
  if (key) parts.unshift(createSignatureMember(control, key.signing));
  return Buffer.concat(parts);
}

/**
 * The gzip data part of a tar holding one file of `size` zero bytes at `path` (after its directory `dir`):
 * one compressed block of zeros repeated as gzip members, so even a many-GiB bomb costs milliseconds.
 */
export function zeroBomb(size: number, dir = 'usr', path = 'usr/bomb'): Buffer {
  const BLOCK = 16 * 1024 * 1024;
  const head = hostileTar([{ name: dir, type: 'directory' }]).subarray(0, -1024);
  const header = encodeTarHeader({ name: path, type: 'file', mode: 0o644, uid: 0, gid: 0, size, mtime: 0 });
  const zeros = gzipSync(Buffer.alloc(BLOCK), { level: 9 });
  const parts = [gzipSync(Buffer.concat([head, header]))];
  for (let left = size; left > 0; left -= BLOCK) {
    parts.push(left >= BLOCK ? zeros : gzipSync(Buffer.alloc(left), { level: 9 }));
  }
  parts.push(gzipSync(Buffer.concat([tarPadding(size), TAR_END])));
  return Buffer.concat(parts);
}

/**
 * A signed repository of the packages under DIR/repo/x86_64 with its index, and the public key under
 * DIR/keys. Returns the repository directory and the key file.
 */
export function hostileRepo(
  dir: string,
  packages: readonly HostilePackage[],
  key: TestKey,
): { repo: string; keyFile: string; files: Record<string, string> } {
  const arch = join(dir, 'repo', 'x86_64');
  const keys = join(dir, 'keys');
  mkdirSync(arch, { recursive: true });
  mkdirSync(keys, { recursive: true });
  const keyFile = join(keys, key.name);
  writeFileSync(keyFile, key.publicPem);
  const records = [];
  const files: Record<string, string> = {};
  for (const p of packages) {
    const bytes = hostileApk(p, key);
    // a hostile name ('a/b', a newline) must not break the helper: lading refuses it before any file is read
    const file = join(arch, `${p.name}-${p.version ?? '1.0-r0'}.apk`.replace(/[/\x00-\x1f]/g, '_'));
    writeFileSync(file, bytes);
    files[p.name] = file;
    records.push(readApk(bytes, { verifyDataHash: false }).info);
  }
  writeFileSync(join(arch, 'APKINDEX.tar.gz'), writeApkIndex({ packages: records, signingKey: key.signing }));
  return { repo: join(dir, 'repo'), keyFile, files };
}
