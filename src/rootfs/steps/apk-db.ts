/**
 * The apk database and configuration in the image, as apk-tools 2.14.4 lays them out.
 *
 * `initApkDatabase` creates what `apk add --initdb` creates before it installs anything (checked with
 * the real apk 2.14.4 on an empty world): dev/ with console (5,1 0600), null (1,3), random (1,8),
 * urandom (1,9), zero (1,5) (0666); etc/apk/arch; etc/apk/world; lib/apk/db/{installed, lock (0600),
 * scripts.tar (1024 zero bytes), triggers}; proc 0555; tmp 1777; var/cache/{apk,misc}; every directory
 * 0755 root unless said otherwise. It does not create etc/apk/keys, etc/apk/protected_paths.d or
 * lib/apk/exec: those come from packages (alpine-keys, alpine-baselayout, apk-tools). Existing
 * directories and devices are kept; a non-directory where a directory belongs is an error.
 *
 * Where the database lives: apk-tools (Alpine) reads `lib/apk/db`, so that is the default and the apk
 * inside an Alpine container finds it. A usr-merged package set (a package ships `lib` as a symlink,
 * as Wolfi's baselayout does with `lib -> usr/lib`; see `isUsrMergedPackageSet`) gets the database in
 * `usr/lib/apk/db` and no `lib` directory before install, so the package's symlink can be installed;
 * `linkUsrMergedApkDb` then makes `lib/apk` reach it when `lib` did not become that symlink (apko's
 * `lib/apk -> ../usr/lib/apk`). `apkDbDir` finds the database in either place.
 */

import { joinPath } from '../../fs/path.ts';
import type { FsNode, ImageFS } from '../../fs/tree.ts';
import { compareBytes } from '../../util/compare.ts';
import { redactUrl } from '../../util/redact.ts';
import {
  ensureDir,
  inContext,
  type SourceLocation,
  type StepTime,
  show,
  stepError,
  writeGeneratedFile,
} from './common.ts';

export const ALPINE_DB_DIR = 'lib/apk/db';
export const USR_MERGED_DB_DIR = 'usr/lib/apk/db';
export const WORLD = 'etc/apk/world';
export const ARCH = 'etc/apk/arch';
export const REPOSITORIES = 'etc/apk/repositories';
/** apk's empty scripts.tar: the two zero blocks that end a tar. */
export const EMPTY_SCRIPTS_TAR = Buffer.alloc(1024);

export interface InitApkDatabaseOptions extends StepTime {
  /** apk architecture (`x86_64`, `aarch64`, …), written to /etc/apk/arch. */
  arch: string;
  /** Put the database in usr/lib/apk/db (see isUsrMergedPackageSet). */
  usrMerged?: boolean;
}

const DEVICES: { path: string; major: number; minor: number; mode: number }[] = [
  { path: 'dev/console', major: 5, minor: 1, mode: 0o600 },
  { path: 'dev/null', major: 1, minor: 3, mode: 0o666 },
  { path: 'dev/random', major: 1, minor: 8, mode: 0o666 },
  { path: 'dev/urandom', major: 1, minor: 9, mode: 0o666 },
  { path: 'dev/zero', major: 1, minor: 5, mode: 0o666 },
];

/** Creates a directory with an exact mode, keeping one that exists. */
function dir(fs: ImageFS, path: string, mode: number, mtime: number): void {
  const node = fs.stat(path);
  if (node !== undefined) {
    if (node.type !== 'directory') {
      throw stepError(
        'APKDB_NOT_DIR',
        `apk database: ${show(path)} must be a directory, but it is a ${node.type}`,
        undefined,
      );
    }
    return;
  }
  inContext('apk database', undefined, () => {
    const parent = ensureDir(fs, path.split('/').slice(0, -1).join('/'), mtime);
    fs.put(joinPath(parent, path.split('/').at(-1)!), {
      type: 'directory',
      mode,
      uid: 0,
      gid: 0,
      mtime,
      size: 0,
    });
  });
}

function fileIfMissing(fs: ImageFS, path: string, data: Buffer | string, mode: number, mtime: number): void {
  if (fs.lstat(path) !== undefined) return;
  inContext('apk database', undefined, () =>
    writeGeneratedFile(fs, path, data, { mtime, mode, uid: 0, gid: 0 }),
  );
}

/** The character devices apk --initdb creates; existing entries are kept. */
export function ensureDeviceNodes(fs: ImageFS, time: StepTime): void {
  dir(fs, 'dev', 0o755, time.mtime);
  for (const d of DEVICES) {
    if (fs.lstat(d.path) !== undefined) continue;
    const node: FsNode = {
      type: 'chardev',
      mode: d.mode,
      uid: 0,
      gid: 0,
      mtime: time.mtime,
      size: 0,
      devmajor: d.major,
      devminor: d.minor,
    };
    inContext('apk database', undefined, () => fs.put(d.path, node));
  }
}

/** What `apk add --initdb` creates before installing. Returns the database directory. */
export function initApkDatabase(fs: ImageFS, options: InitApkDatabaseOptions): string {
  const { mtime } = options;
  if (!/^[a-z0-9_]+$/.test(options.arch)) {
    throw stepError(
      'APKDB_BAD_ARCH',
      `apk database: ${JSON.stringify(options.arch)} is not an apk architecture`,
      undefined,
      'use an apk architecture name such as x86_64 or aarch64',
    );
  }
  const dbDir = options.usrMerged ? USR_MERGED_DB_DIR : ALPINE_DB_DIR;
  ensureDeviceNodes(fs, { mtime });
  for (const d of ['etc', 'etc/apk']) dir(fs, d, 0o755, mtime);
  const parts = dbDir.split('/');
  for (let i = 1; i <= parts.length; i++) dir(fs, parts.slice(0, i).join('/'), 0o755, mtime);
  dir(fs, 'proc', 0o555, mtime);
  dir(fs, 'tmp', 0o1777, mtime);
  for (const d of ['var', 'var/cache', 'var/cache/apk', 'var/cache/misc']) dir(fs, d, 0o755, mtime);
  inContext('apk database', undefined, () =>
    writeGeneratedFile(fs, ARCH, `${options.arch}\n`, {
      mtime,
      mode: 0o644,
      uid: 0,
      gid: 0,
      forceAttrs: true,
    }),
  );
  fileIfMissing(fs, WORLD, '\n', 0o644, mtime);
  fileIfMissing(fs, `${dbDir}/installed`, '', 0o644, mtime);
  fileIfMissing(fs, `${dbDir}/lock`, '', 0o600, mtime);
  fileIfMissing(fs, `${dbDir}/scripts.tar`, EMPTY_SCRIPTS_TAR, 0o644, mtime);
  fileIfMissing(fs, `${dbDir}/triggers`, '', 0o644, mtime);
  return dbDir;
}

/** The directory holding the apk database in this image (lib/apk/db, possibly through a symlink, or usr/lib/apk/db). */
export function apkDbDir(fs: ImageFS): string {
  for (const d of [ALPINE_DB_DIR, USR_MERGED_DB_DIR]) {
    if (fs.stat(d)?.type === 'directory') return d;
  }
  throw stepError(
    'APKDB_MISSING',
    'apk database: neither /lib/apk/db nor /usr/lib/apk/db exists',
    undefined,
    'initApkDatabase must run before the packages are installed',
  );
}

/** Whether a package set is usr-merged: one of its packages ships `lib` as a symlink (Wolfi: lib -> usr/lib). */
export function isUsrMergedPackageSet(
  packages: Iterable<{ entries: readonly { name: string; type: string }[] }>,
): boolean {
  for (const p of packages) {
    for (const e of p.entries) {
      if (e.type === 'symlink' && e.name.replace(/^(\.\/)+|\/+$/g, '') === 'lib') return true;
    }
  }
  return false;
}

/**
 * After install, for a database in usr/lib/apk/db: makes `lib/apk` reach it. Nothing to do when `lib`
 * (or `lib/apk`) already resolves to usr/lib(/apk); otherwise `lib/apk -> ../usr/lib/apk` is created
 * (and `lib` 0755 when missing). A `lib/apk` directory with files in it is an error.
 */
export function linkUsrMergedApkDb(fs: ImageFS, time: StepTime): void {
  if (fs.stat(USR_MERGED_DB_DIR)?.type !== 'directory') return;
  if (fs.resolve('lib/apk', true) === 'usr/lib/apk') return;
  const existing = fs.lstat('lib/apk');
  if (existing !== undefined) {
    const hasFiles =
      existing.type !== 'directory' ||
      [...fs.walk(fs.resolve('lib/apk', false)!)].some(([, n]) => n.type !== 'directory');
    if (hasFiles) {
      throw stepError(
        'APKDB_LIB_APK',
        'apk database: /lib/apk holds files, but the database of this usr-merged image is in /usr/lib/apk',
        undefined,
        'a package installs files under /lib/apk; usr-merged images need it to be a symlink to /usr/lib/apk',
      );
    }
    fs.remove('lib/apk', true);
  }
  dir(fs, 'lib', 0o755, time.mtime);
  fs.put(joinPath(fs.resolve('lib', true)!, 'apk'), {
    type: 'symlink',
    mode: 0o777,
    uid: 0,
    gid: 0,
    mtime: time.mtime,
    size: 0,
    linkname: '../usr/lib/apk',
  });
}

/** The name a world entry is sorted by (`!foo>=1@tag` → foo). */
function worldName(entry: string): string {
  return entry.replace(/^!/, '').split(/[@<>=~]/, 1)[0]!;
}

/** `/etc/apk/world`: unique entries sorted by package name as apk writes it, one per line ("\n" when empty). */
export function formatWorld(entries: readonly string[]): string {
  for (const e of entries) {
    if (e === '' || /\s/.test(e)) {
      throw stepError('APKDB_BAD_WORLD', `apk world: ${JSON.stringify(e)} is not a world entry`, undefined);
    }
  }
  const sorted = [...new Set(entries)].sort((a, b) => {
    const na = worldName(a);
    const nb = worldName(b);
    return compareBytes(na, nb) || compareBytes(a, b);
  });
  return sorted.length === 0 ? '\n' : sorted.map((e) => `${e}\n`).join('');
}

export interface ApkDatabaseFiles {
  /** `lib/apk/db/installed` (formatInstalledDb). */
  installed: Buffer | string;
  /** `lib/apk/db/scripts.tar` (scriptsTar). */
  scriptsTar: Buffer;
  /** `lib/apk/db/triggers` (formatTriggers). */
  triggers: Buffer | string;
  /** The world entries for /etc/apk/world. */
  world: readonly string[];
}

/** Writes the database files after install (0644 root, build-date mtime). Returns the database directory. */
export function writeApkDatabase(fs: ImageFS, files: ApkDatabaseFiles, time: StepTime): string {
  const db = apkDbDir(fs);
  const opts = { mtime: time.mtime, mode: 0o644, uid: 0, gid: 0, forceAttrs: true };
  inContext('apk database', undefined, () => {
    writeGeneratedFile(fs, `${db}/installed`, files.installed, opts);
    writeGeneratedFile(fs, `${db}/scripts.tar`, files.scriptsTar, opts);
    writeGeneratedFile(fs, `${db}/triggers`, files.triggers, opts);
    writeGeneratedFile(fs, WORLD, formatWorld(files.world), opts);
  });
  return db;
}

export interface RepositoryInput {
  /** `url`, `/local/dir` or `@tag url`. */
  repository: string;
  at?: SourceLocation;
}

/**
 * `/etc/apk/repositories` lines: `@tag url` or `url`, credentials (URL userinfo) removed, duplicates
 * dropped, the order kept (it is apk's repository order; apko sorts them, which loses it).
 */
export function formatRepositories(repos: readonly (string | RepositoryInput)[]): string {
  const lines: string[] = [];
  repos.forEach((r, i) => {
    const { repository, at } = typeof r === 'string' ? { repository: r, at: undefined } : r;
    const m = /^\s*(?:(@\S+)\s+)?(\S+)\s*$/.exec(repository);
    if (m === null) {
      throw stepError(
        'APKDB_BAD_REPOSITORY',
        `repositories[${i}]: ${JSON.stringify(repository.split(/(\s+)/).map(redactUrl).join(''))} is not a repository`,
        at,
        'write a URL or a directory, optionally tagged: "@tag https://…"',
      );
    }
    const line = m[1] ? `${m[1]} ${redactUrl(m[2]!)}` : redactUrl(m[2]!);
    if (!lines.includes(line)) lines.push(line);
  });
  return lines.map((l) => `${l}\n`).join('');
}

/** Writes the runtime repositories (nothing when there are none). Returns the file's text. */
export function writeRepositories(
  fs: ImageFS,
  repos: readonly (string | RepositoryInput)[],
  time: StepTime,
): string {
  const text = formatRepositories(repos);
  if (text !== '') {
    inContext('apk repositories', undefined, () =>
      writeGeneratedFile(fs, REPOSITORIES, text, {
        mtime: time.mtime,
        mode: 0o644,
        uid: 0,
        gid: 0,
        forceAttrs: true,
      }),
    );
  }
  return text;
}
