/**
 * Lays out one architecture's image filesystem: the apk database skeleton, the packages in install
 * order, apk's commit (busybox links, database files), then the config-driven post-install steps.
 */
import { type DbPackage, formatInstalledDb, formatTriggers, scriptsTar } from '../apk/installed-db.ts';
import type { ImageConfig } from '../config/types.ts';
import { ImageFS } from '../fs/tree.ts';
import { type InstallablePackage, Installer } from './install.ts';
import {
  applyPostInstall,
  initApkDatabase,
  installBusyboxLinks,
  isUsrMergedPackageSet,
  linkUsrMergedApkDb,
  type PostInstallResult,
  USR_MERGED_DB_DIR,
  writeApkDatabase,
  writeBuildKeyring,
} from './steps/index.ts';

/** A package to install, with the repository tag it was chosen by (`@tag`, kept in the installed database). */
export type FilesystemPackage = InstallablePackage & { resolved: { tag?: string } };

export interface FilesystemInput {
  config: ImageConfig;
  /** apk architecture name. */
  arch: string;
  packages: readonly FilesystemPackage[];
  /** The world as configured (config packages plus -p extras), for /etc/apk/world. */
  world: readonly string[];
  /** The build keyring, copied into /etc/apk/keys. */
  keys: readonly { name: string; content: Buffer }[];
  /** Runtime repositories for /etc/apk/repositories. */
  runtimeRepositories: readonly string[];
  /** The build date epoch: the mtime of everything lading creates. */
  mtime: number;
  /**
   * A base image to install on (its filesystem is changed in place): its database's packages are taken over as
   * installed (packages.ts gives only the new ones), and its world is kept in /etc/apk/world.
   */
  base?: {
    fs: ImageFS;
    packages: readonly DbPackage[];
    world: readonly string[];
    /** Where the base keeps its database (`usr/lib/apk/db`: usr-merged). */
    dbDir: string;
  };
}

export interface BuiltFilesystem {
  fs: ImageFS;
  installer: Installer;
  /** The database records, in install order. */
  db: DbPackage[];
  post: PostInstallResult;
}

export function buildFilesystem(input: FilesystemInput): BuiltFilesystem {
  const { config, mtime } = input;
  const time = { mtime };
  const { base } = input;
  const fs = base?.fs ?? new ImageFS({ mtime });
  const usrMerged = base?.dbDir === USR_MERGED_DB_DIR || isUsrMergedPackageSet(input.packages);
  initApkDatabase(fs, { arch: input.arch, mtime, usrMerged });
  writeBuildKeyring(fs, input.keys, time);

  const installer = new Installer(fs);
  const db: DbPackage[] = [...(base?.packages ?? [])];
  installer.adopt(db);
  for (const p of input.packages) {
    const record = installer.install(p);
    const dbPackage: DbPackage = {
      info: p.info,
      dirs: record.dirs,
      scripts: p.scripts.map((s) => ({ action: s.name.replace(/^\./, ''), data: s.data })),
      triggers: p.triggers,
    };
    if (p.resolved.tag !== undefined) dbPackage.tag = p.resolved.tag;
    db.push(dbPackage);
  }

  const installed = db.map((p) => p.info);
  installBusyboxLinks(fs, installed, time);
  writeApkDatabase(
    fs,
    {
      installed: formatInstalledDb(db),
      scriptsTar: scriptsTar(db),
      triggers: formatTriggers(db),
      world: [...(base?.world ?? []), ...input.world],
    },
    time,
  );
  if (usrMerged) linkUsrMergedApkDb(fs, time);

  const post = applyPostInstall(fs, {
    mtime,
    accounts: { users: config.accounts.users, groups: config.accounts.groups, runAs: config.accounts.runAs },
    paths: config.paths,
    certificates: {
      additional: config.certificates.additional,
      providers: certificateProviders(config.certificates.providers, db),
    },
    runtimeKeyring: config.contents.runtimeKeyring,
    services: config.entrypoint.services,
    packages: installed,
    repositories: input.runtimeRepositories,
  });
  return { fs, installer, db, post };
}

/** For `certificates.providers`: the installed packages providing those names, with their CA files. */
function certificateProviders(names: readonly string[], db: readonly DbPackage[]) {
  if (names.length === 0) return [];
  const wanted = new Set(names);
  const out: { package: string; files: string[] }[] = [];
  for (const p of db) {
    const provides = p.info.provides.map((x) => x.split(/[<>=~]/)[0]!);
    if (!wanted.has(p.info.name) && !provides.some((x) => wanted.has(x))) continue;
    const files: string[] = [];
    for (const d of p.dirs) {
      if (!`${d.path}/`.startsWith('usr/local/share/ca-certificates/')) continue;
      for (const f of d.files) if (/\.(crt|pem)$/.test(f.name)) files.push(`${d.path}/${f.name}`);
    }
    out.push({ package: p.info.name, files: files.sort() });
  }
  return out;
}
