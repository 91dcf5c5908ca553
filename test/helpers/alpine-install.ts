/**
 * Installs real Alpine packages from the fixture ISO repository into an ImageFS, in the order the
 * real apk-tools used (read from the oracle's stdout.txt). A test helper for the installer; the
 * build pipeline does the same with verification and caching.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { parseApkIndexText } from '../../src/apk/apkindex-text.ts';
import type { DbPackage } from '../../src/apk/installed-db.ts';
import type { PackageInfo } from '../../src/apk/types.ts';
import { ImageFS } from '../../src/fs/tree.ts';
import { type InstallablePackage, Installer } from '../../src/rootfs/install.ts';
import { readTar, type TarEntry } from '../../src/tar/reader.ts';
import { fixture } from './paths.ts';

export const isoRepo = () => fixture('alpine/v3.19.1-iso-repo/x86_64');

export function isoIndex(): Map<string, PackageInfo> {
  const idx = gunzipSync(readFileSync(join(isoRepo(), 'APKINDEX.tar.gz')));
  for (const e of readTar(idx)) {
    if (e.name === 'APKINDEX') {
      const text = idx.toString('utf8', e.dataOffset, e.dataOffset + e.size);
      return new Map(parseApkIndexText(text).map((p) => [p.name, p]));
    }
  }
  throw new Error('no APKINDEX in the fixture index');
}

/** The [name, version] install order apk-tools printed for one of the oracle fixtures. */
export function oracleOrder(world: string): [string, string][] {
  const out = readFileSync(fixture('oracle-apk-tools-2.14.4', world, 'stdout.txt'), 'utf8');
  return [...out.matchAll(/Installing (\S+) \((\S+)\)/g)].map((m) => [m[1]!, m[2]!]);
}

/** Reads a real .apk into what the installer needs (control fields from .PKGINFO, data entries). */
export function loadInstallable(file: string, indexInfo: PackageInfo): InstallablePackage {
  const buf = gunzipSync(readFileSync(file));
  const info: PackageInfo = { ...indexInfo, replaces: [] };
  const scripts: InstallablePackage['scripts'] = [];
  const triggers: string[] = [];
  const entries: TarEntry[] = [];
  let inData = false;
  for (const e of readTar(buf, { allowTruncated: true })) {
    if (!inData && e.name.startsWith('.')) {
      const data = buf.subarray(e.dataOffset, e.dataOffset + e.size);
      if (e.name === '.PKGINFO') {
        for (const line of data.toString().split('\n')) {
          const m = /^(\w+) = (.*)$/.exec(line);
          if (m?.[1] === 'replaces') info.replaces.push(m[2]!);
          if (m?.[1] === 'replaces_priority') info.replacesPriority = Number(m[2]);
          if (m?.[1] === 'triggers') triggers.push(...m[2]!.split(' '));
        }
      } else if (!e.name.startsWith('.SIGN')) {
        scripts.push({ name: e.name, data, mtime: e.mtime });
      }
      continue;
    }
    inData = true;
    entries.push(e);
  }
  return {
    info,
    checksum: info.checksum!,
    triggers,
    scripts,
    entries,
    data: { kind: 'bytes', data: buf },
    datahash: info.checksum!,
  };
}

export function dbPackage(p: InstallablePackage, dirs: DbPackage['dirs']): DbPackage {
  return {
    info: p.info,
    dirs,
    scripts: p.scripts.map((s) => ({ action: s.name.slice(1), data: s.data })),
    triggers: p.triggers,
  };
}

/** Installs an oracle fixture's package set; returns the filesystem and the database records. */
export function installOracleWorld(world: string): { fs: ImageFS; installer: Installer; db: DbPackage[] } {
  const index = isoIndex();
  const fs = new ImageFS();
  const installer = new Installer(fs);
  const db: DbPackage[] = [];
  for (const [name, version] of oracleOrder(world)) {
    const p = loadInstallable(join(isoRepo(), `${name}-${version}.apk`), index.get(name)!);
    db.push(dbPackage(p, installer.install(p).dirs));
  }
  return { fs, installer, db };
}
