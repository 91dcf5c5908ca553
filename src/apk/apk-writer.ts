/**
 * Building APK v2 packages, byte for byte reproducibly: the same spec and entries give the same bytes.
 *
 * Layout (as abuild writes it): signature member (cut tar with `.SIGN.RSA256.<key>.rsa.pub`), control
 * member (cut tar with `.PKGINFO` and scripts), data member (tar with `APK-TOOLS.checksum.SHA1` PAX records
 * on files, symlinks and hardlinks). Determinism rules: entries in the given order (readSourceTree walks
 * sorted by byte order), every mtime = the build time (SOURCE_DATE_EPOCH or 0), uname/gname `root` for id 0
 * and empty otherwise (host user names never leak in), fixed gzip settings.
 */

import { createHash } from 'node:crypto';
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { apkArch, hostArchitecture } from '../platform/arch.ts';
import type { TarEntryType } from '../tar/reader.ts';
import { encodeTarHeader, TAR_END, tarPadding } from '../tar/writer.ts';
import { compareBytes } from '../util/compare.ts';
import { LadingError } from '../util/errors.ts';
import { CHECKSUM_PAX_KEY } from './apk-data.ts';
import { APK_SCRIPT_NAMES, q1 } from './apk-reader.ts';
import { gzipDeterministic } from './gzip-members.ts';
import { formatPkgInfo, pkgInfoFields } from './pkginfo.ts';
import { checkPackageIdentity, PackageContentRules } from './rules.ts';
import { createSignatureMember, type SignatureAlgorithm, type SigningKey } from './signature.ts';
import { emptyPackage, type PackageInfo } from './types.ts';

/** One file-system object to put into the data tar. */
export interface ApkSourceEntry {
  /** Clean relative path (`usr/bin/tool`). */
  path: string;
  type: TarEntryType;
  /** Permission bits including setuid/setgid/sticky. */
  mode: number;
  uid: number;
  gid: number;
  /** Content of a regular file. */
  data?: Buffer;
  /** Symlink target (as written), or the path of the earlier file a hardlink shares content with. */
  linkTarget?: string;
  devmajor?: number;
  devminor?: number;
  xattrs?: Record<string, Buffer>;
}

/** The package metadata that goes into .PKGINFO. */
export interface PackageSpec {
  name: string;
  version: string;
  /** Default: hostApkArch(). */
  arch?: string;
  description?: string;
  url?: string;
  license?: string;
  origin?: string;
  maintainer?: string;
  packager?: string;
  commit?: string;
  depends?: readonly string[];
  provides?: readonly string[];
  replaces?: readonly string[];
  installIf?: readonly string[];
  providerPriority?: number;
  replacesPriority?: number;
  triggers?: readonly string[];
}

export interface CreateApkOptions {
  /** Sign with this key; without one the package is unsigned. */
  signingKey?: SigningKey;
  /** Default RSA256 (SHA-256); RSA (SHA-1) for apk-tools older than 2.12. */
  algorithm?: SignatureAlgorithm;
  /** builddate and every entry's mtime (default 0). */
  buildTime?: number;
  /** Control scripts, e.g. { name: '.post-install', data }. Written in the given order after .PKGINFO. */
  scripts?: readonly { name: string; data: Buffer }[];
}

export interface CreatedApk {
  bytes: Buffer;
  /** `Q1…` checksum of the control member (C:). */
  checksum: string;
  /** Hex SHA-256 of the data member (.PKGINFO datahash). */
  datahash: string;
  /** The package as an index record (checksum and size included). */
  info: PackageInfo;
}

function invalid(message: string, hint?: string): LadingError {
  return new LadingError('APK_BAD_INPUT', message, { hint });
}

/**
 * The apk architecture of this machine, the default for new packages. Not `noarch`: apk-tools 2 fetches a
 * package from REPO/<its arch>/, so a noarch package only in REPO/x86_64/ (beside its index) is not found.
 */
export function hostApkArch(): string {
  try {
    return apkArch(hostArchitecture());
  } catch {
    return process.arch;
  }
}

/** SOURCE_DATE_EPOCH as a number (0 when unset); a malformed value is an error. */
export function sourceDateEpoch(env: NodeJS.ProcessEnv = process.env): number {
  const v = env.SOURCE_DATE_EPOCH;
  if (v === undefined || v === '') return 0;
  if (!/^[0-9]{1,12}$/.test(v)) {
    throw invalid(`SOURCE_DATE_EPOCH must be a whole number of seconds, not ${JSON.stringify(v)}`);
  }
  return Number(v);
}

function checkWord(what: string, value: string): void {
  if (value === '' || /[\s=<>~]/.test(value) || value.includes('\0')) {
    throw invalid(
      `${what} ${JSON.stringify(value)} is not valid`,
      `a ${what} is one word without spaces or = < > ~`,
    );
  }
}

function checkList(what: string, values: readonly string[]): string[] {
  for (const v of values) {
    if (v === '' || /\s/.test(v))
      throw invalid(`${what} entry ${JSON.stringify(v)} is empty or contains spaces`);
  }
  return [...values];
}

function checksumRecord(sha1hex: string): Record<string, string> {
  return { [CHECKSUM_PAX_KEY]: sha1hex };
}

function ownerNames(uid: number, gid: number): { uname: string; gname: string } {
  return { uname: uid === 0 ? 'root' : '', gname: gid === 0 ? 'root' : '' };
}

/** The data tar (uncompressed) and the installed size. */
function buildDataTar(
  entries: readonly ApkSourceEntry[],
  mtime: number,
): { tar: Buffer; installedSize: number } {
  const chunks: Buffer[] = [];
  const fileSums = new Map<string, string>();
  const seen = new Set<string>();
  // the rules build, verify and index apply: a package lading makes is one they accept
  const rules = new PackageContentRules();
  let installedSize = 0;
  for (const e of entries) {
    const xattrs = { ...e.xattrs };
    const checked = rules.check({
      name: e.path,
      type: e.type,
      mode: e.mode,
      uid: e.uid,
      gid: e.gid,
      uname: '',
      gname: '',
      size: 0,
      mtime,
      linkname: e.linkTarget ?? '',
      devmajor: 0,
      devminor: 0,
      pax: {},
      xattrs,
      headerOffset: 0,
      dataOffset: 0,
    });
    const path = checked?.path;
    if (path !== e.path)
      throw invalid(
        `entry path ${JSON.stringify(e.path)} is not clean (expected ${path ?? 'a path below the root'})`,
      );
    if (seen.has(path)) throw invalid(`entry ${path} appears twice`);
    seen.add(path);
    const base = {
      name: path,
      type: e.type,
      mode: e.mode & 0o7777,
      uid: e.uid,
      gid: e.gid,
      ...ownerNames(e.uid, e.gid),
      size: 0,
      mtime,
      xattrs,
    };
    switch (e.type) {
      case 'file': {
        const data = e.data ?? Buffer.alloc(0);
        const sum = createHash('sha1').update(data).digest('hex');
        fileSums.set(path, sum);
        installedSize += data.length;
        chunks.push(
          encodeTarHeader({ ...base, size: data.length, pax: checksumRecord(sum) }),
          data,
          tarPadding(data.length),
        );
        break;
      }
      case 'symlink': {
        const target = e.linkTarget ?? '';
        if (target === '') throw invalid(`symlink ${path} has no target`);
        // abuild-tar: a symlink's checksum is the SHA-1 of its target text
        const sum = createHash('sha1').update(target).digest('hex');
        chunks.push(encodeTarHeader({ ...base, linkname: target, pax: checksumRecord(sum) }));
        break;
      }
      case 'hardlink': {
        const target = checked!.linkPath!;
        const sum = fileSums.get(target);
        if (sum === undefined) throw invalid(`hardlink ${path} must follow the file it links to (${target})`);
        // as melange: the checksum of the shared content, so the installed DB gets a Z: line for it
        chunks.push(encodeTarHeader({ ...base, linkname: target, pax: checksumRecord(sum) }));
        break;
      }
      case 'chardev':
      case 'blockdev':
        chunks.push(encodeTarHeader({ ...base, devmajor: e.devmajor ?? 0, devminor: e.devminor ?? 0 }));
        break;
      default:
        chunks.push(encodeTarHeader(base));
    }
  }
  chunks.push(TAR_END);
  return { tar: Buffer.concat(chunks), installedSize };
}

/** The package described by `spec` as an index record, before checksum and sizes are known. */
function specToPackage(spec: PackageSpec, buildTime: number, installedSize: number): PackageInfo {
  checkPackageIdentity(spec);
  if (spec.arch !== undefined) checkWord('architecture', spec.arch);
  const p = emptyPackage(spec.name, spec.version);
  // only defined fields, so the record equals one read back from the package
  const optional: Partial<PackageInfo> = {
    arch: spec.arch ?? hostApkArch(),
    installedSize,
    description: spec.description,
    url: spec.url,
    license: spec.license,
    origin: spec.origin ?? spec.name,
    maintainer: spec.maintainer,
    buildTime,
    commit: spec.commit,
    providerPriority: spec.providerPriority,
    replacesPriority: spec.replacesPriority,
  };
  for (const [k, v] of Object.entries(optional)) if (v !== undefined) Object.assign(p, { [k]: v });
  p.depends = checkList('depends', spec.depends ?? []);
  p.provides = checkList('provides', spec.provides ?? []);
  p.replaces = checkList('replaces', spec.replaces ?? []);
  p.installIf = checkList('install-if', spec.installIf ?? []);
  for (const n of [p.providerPriority, p.replacesPriority]) {
    if (n !== undefined && (!Number.isInteger(n) || n < 0))
      throw invalid(`priority ${n} must be a whole number ≥ 0`);
  }
  return p;
}

function cutTar(files: readonly { name: string; mode: number; data: Buffer }[], mtime: number): Buffer {
  const chunks: Buffer[] = [];
  for (const f of files) {
    chunks.push(
      encodeTarHeader({
        name: f.name,
        type: 'file',
        mode: f.mode,
        uid: 0,
        gid: 0,
        uname: 'root',
        gname: 'root',
        size: f.data.length,
        mtime,
      }),
      f.data,
      tarPadding(f.data.length),
    );
  }
  // no end-of-archive blocks: apk reads the members as one tar stream
  return Buffer.concat(chunks);
}

/** Builds a complete .apk in memory. */
export function createApk(
  spec: PackageSpec,
  entries: readonly ApkSourceEntry[],
  options: CreateApkOptions = {},
): CreatedApk {
  const buildTime = options.buildTime ?? 0;
  if (!Number.isInteger(buildTime) || buildTime < 0)
    throw invalid(`build time ${buildTime} must be whole seconds ≥ 0`);
  const { tar, installedSize } = buildDataTar(entries, buildTime);
  const dataMember = gzipDeterministic(tar);
  const datahash = createHash('sha256').update(dataMember).digest('hex');
  const pkg = specToPackage(spec, buildTime, installedSize);
  const triggers = checkList('triggers', spec.triggers ?? []);
  const pkginfo = formatPkgInfo(pkgInfoFields({ package: pkg, datahash, packager: spec.packager, triggers }));
  const controlFiles: { name: string; mode: number; data: Buffer }[] = [
    { name: '.PKGINFO', mode: 0o644, data: Buffer.from(pkginfo, 'utf8') },
  ];
  for (const s of options.scripts ?? []) {
    if (!APK_SCRIPT_NAMES.has(s.name)) {
      throw invalid(
        `unknown script ${JSON.stringify(s.name)}`,
        `scripts are ${[...APK_SCRIPT_NAMES].join(', ')}`,
      );
    }
    controlFiles.push({ name: s.name, mode: 0o755, data: s.data });
  }
  if (triggers.length > 0 && !controlFiles.some((f) => f.name === '.trigger')) {
    throw invalid(
      'triggers are set but there is no .trigger script',
      'add a .trigger script or drop the triggers',
    );
  }
  const controlMember = gzipDeterministic(cutTar(controlFiles, buildTime));
  const parts = [controlMember, dataMember];
  if (options.signingKey) {
    parts.unshift(
      createSignatureMember(controlMember, options.signingKey, {
        algorithm: options.algorithm,
        mtime: buildTime,
      }),
    );
  }
  const bytes = Buffer.concat(parts);
  const checksum = q1(createHash('sha1').update(controlMember).digest());
  return { bytes, checksum, datahash, info: { ...pkg, checksum, size: bytes.length } };
}

export interface ReadSourceTreeOptions {
  /** Record every entry as owned by 0:0 instead of the owners on disk. */
  rootOwned?: boolean;
  /** Absolute paths to leave out, e.g. the output .apk when it is written inside the tree. */
  exclude?: readonly string[];
}

const compareNames = compareBytes;

/** Runs a file-system call, turning a failure (EACCES, a name that is not UTF-8, …) into a LadingError. */
async function fsCall<T>(path: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw new LadingError(
      'APK_SOURCE_UNREADABLE',
      `cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
      {
        file: path,
        hint: 'check permissions; file names must be valid UTF-8',
      },
    );
  }
}

/**
 * Walks `dir` (not following symlinks) in byte order, depth first, and returns its entries with modes,
 * owners, contents, symlink targets and device numbers. Files sharing an inode become hardlinks to the
 * first path seen. Sockets cannot be packaged and are an error.
 */
export async function readSourceTree(
  dir: string,
  options: ReadSourceTreeOptions = {},
): Promise<ApkSourceEntry[]> {
  const out: ApkSourceEntry[] = [];
  const inodes = new Map<string, string>();
  let top: Awaited<ReturnType<typeof lstat>>;
  try {
    top = await lstat(dir);
  } catch (e) {
    throw new LadingError(
      'APK_SOURCE_MISSING',
      `cannot read the package directory (${(e as NodeJS.ErrnoException).code})`,
      {
        file: dir,
      },
    );
  }
  if (!top.isDirectory()) throw new LadingError('APK_SOURCE_MISSING', 'not a directory', { file: dir });
  const exclude = new Set((options.exclude ?? []).map((p) => resolve(p)));
  const walk = async (abs: string, rel: string): Promise<void> => {
    const names = (await fsCall(abs, () => readdir(abs))).sort(compareNames);
    for (const name of names) {
      const path = rel === '' ? name : `${rel}/${name}`;
      const full = join(abs, name);
      if (exclude.has(resolve(full))) continue;
      const st = await fsCall(full, () => lstat(full, { bigint: true }));
      const owner = options.rootOwned ? { uid: 0, gid: 0 } : { uid: Number(st.uid), gid: Number(st.gid) };
      const base = { path, mode: Number(st.mode & 0o7777n), ...owner };
      if (st.isDirectory()) {
        out.push({ ...base, type: 'directory' });
        await walk(full, path);
      } else if (st.isSymbolicLink()) {
        out.push({ ...base, type: 'symlink', linkTarget: await fsCall(full, () => readlink(full)) });
      } else if (st.isFile()) {
        const key = `${st.dev}:${st.ino}`;
        const first = st.nlink > 1n ? inodes.get(key) : undefined;
        if (first !== undefined) out.push({ ...base, type: 'hardlink', linkTarget: first });
        else {
          if (st.nlink > 1n) inodes.set(key, path);
          out.push({ ...base, type: 'file', data: await fsCall(full, () => readFile(full)) });
        }
      } else if (st.isCharacterDevice() || st.isBlockDevice()) {
        const rdev = st.rdev;
        // Linux dev_t encoding (glibc gnu_dev_major/minor)
        const major = Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn));
        const minor = Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn));
        out.push({
          ...base,
          type: st.isCharacterDevice() ? 'chardev' : 'blockdev',
          devmajor: major,
          devminor: minor,
        });
      } else if (st.isFIFO()) {
        out.push({ ...base, type: 'fifo' });
      } else {
        throw new LadingError('APK_SOURCE_UNSUPPORTED', 'sockets cannot be packaged', {
          file: full,
          hint: 'remove the socket from the package directory',
        });
      }
    }
  };
  await walk(dir, '');
  return out;
}
