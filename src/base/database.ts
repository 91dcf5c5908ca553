/**
 * What apk knows is installed in a base image: its database (`installed`, `scripts.tar`, `triggers`) and world,
 * read from the base's own filesystem (`lib/apk/db`, or `usr/lib/apk/db` of a usr-merged image), or, as apko
 * takes them, from a directory of `<apk arch>/APKINDEX` files in installed-database format (`apkindex:`).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type DbPackage, parseInstalledDb, parseScriptsTar, parseTriggers } from '../apk/installed-db.ts';
import type { ImageFS } from '../fs/tree.ts';
import { ALPINE_DB_DIR, USR_MERGED_DB_DIR, WORLD } from '../rootfs/steps/apk-db.ts';
import { LadingError } from '../util/errors.ts';

export interface BaseDatabase {
  /** The packages, in the database's order, with their files, scripts and triggers. */
  packages: DbPackage[];
  /** The base's `/etc/apk/world` entries (none when it has no world file). */
  world: string[];
  /** Where the base keeps its database: `lib/apk/db` or `usr/lib/apk/db`. */
  dbDir: string;
}

const text = (fs: ImageFS, path: string): string | undefined =>
  fs.stat(path)?.type === 'file' ? fs.readFile(path).toString('utf8') : undefined;

/** The database the base image holds; `apkindexDir` (apko's `apkindex:`) replaces its `installed` file. */
export function baseDatabase(
  fs: ImageFS,
  apkArch: string,
  where: string,
  apkindexDir?: string,
): BaseDatabase {
  const dbDir =
    fs.stat(`${ALPINE_DB_DIR}/installed`)?.type === 'file'
      ? ALPINE_DB_DIR
      : fs.stat(`${USR_MERGED_DB_DIR}/installed`)?.type === 'file'
        ? USR_MERGED_DB_DIR
        : undefined;
  let installed: string | undefined;
  let file: string;
  if (apkindexDir !== undefined) {
    file = join(apkindexDir, apkArch, 'APKINDEX');
    try {
      installed = readFileSync(file, 'utf8');
    } catch (e) {
      throw new LadingError('BASE_APKINDEX', `cannot read ${file} (${(e as NodeJS.ErrnoException).code})`, {
        hint: `contents.baseimage.apkindex names a directory of <apk arch>/APKINDEX files (the base's installed database); or leave it out: lading reads the database from the base image`,
      });
    }
  } else {
    file = `${where}:/${dbDir ?? ALPINE_DB_DIR}/installed`;
    if (dbDir !== undefined) installed = text(fs, `${dbDir}/installed`);
    if (installed === undefined) {
      throw new LadingError(
        'BASE_NO_DATABASE',
        `${where} has no apk database (/lib/apk/db/installed or /usr/lib/apk/db/installed)`,
        {
          hint: 'build on an image made by apk, apko or lading; or give contents.baseimage.apkindex',
        },
      );
    }
  }
  const packages = parseInstalledDb(installed, file);
  const db = dbDir ?? ALPINE_DB_DIR;
  const scripts =
    fs.stat(`${db}/scripts.tar`)?.type === 'file'
      ? parseScriptsTar(fs.readFile(`${db}/scripts.tar`))
      : new Map();
  const triggers = parseTriggers(text(fs, `${db}/triggers`) ?? '');
  for (const p of packages) {
    const checksum = p.info.checksum ?? '';
    p.scripts = scripts.get(checksum) ?? [];
    p.triggers = triggers.get(checksum) ?? [];
  }
  const world = (text(fs, WORLD) ?? '').split('\n').filter((l) => l.trim() !== '');
  return { packages, world, dbDir: db };
}
