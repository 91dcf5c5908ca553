/**
 * Test helper: an image filesystem holding the real Alpine 3.19.1 packages of an oracle install
 * (../shared/fixtures/oracle-apk-tools-2.14.4/<world>), installed with the real installer in the order
 * the real apk used. Stands in for the build pipeline until it exists.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { parseApkIndexText } from '../../src/apk/apkindex-text.ts';
import {
  type DbPackage,
  formatInstalledDb,
  formatTriggers,
  SCRIPT_ACTIONS,
  scriptsTar,
} from '../../src/apk/installed-db.ts';
import type { PackageInfo } from '../../src/apk/types.ts';
import { type FsNode, ImageFS, readContent } from '../../src/fs/tree.ts';
import { type InstallablePackage, Installer } from '../../src/rootfs/install.ts';
import { initApkDatabase } from '../../src/rootfs/steps/apk-db.ts';
import { readTar } from '../../src/tar/reader.ts';
import { fixture } from './paths.ts';

/** The real Alpine 3.19.1 x86_64 packages (alpine-base closure). */
export const ISO_REPO = () => fixture('alpine', 'v3.19.1-iso-repo', 'x86_64');
/** apko's signed test packages (pretend-baselayout, replayout, custom-ca-certs-1/2). */
export const APKO_REPO = () => fixture('apko', 'internal', 'cli', 'testdata', 'packages', 'x86_64');
export const oracleDir = (world: string) => fixture('oracle-apk-tools-2.14.4', world);
export const ORACLE_WORLDS = ['alpine-base', 'minimal-world', 'apko-testdata-replayout'] as const;

function repoOf(world: string): string {
  return world === 'apko-testdata-replayout' ? APKO_REPO() : ISO_REPO();
}

const indexCache = new Map<string, Map<string, PackageInfo>>();

/** The packages of a repository directory's APKINDEX.tar.gz, by name. */
export function repoIndex(repo: string): Map<string, PackageInfo> {
  const cached = indexCache.get(repo);
  if (cached) return cached;
  const buf = gunzipSync(readFileSync(join(repo, 'APKINDEX.tar.gz')));
  for (const e of readTar(buf, { allowTruncated: true })) {
    if (e.name === 'APKINDEX') {
      const text = buf.toString('utf8', e.dataOffset, e.dataOffset + e.size);
      const index = new Map(parseApkIndexText(text).map((p) => [p.name, p]));
      indexCache.set(repo, index);
      return index;
    }
  }
  throw new Error(`no APKINDEX in ${repo}`);
}

/** Loads package `name` of a fixture repository. */
export function loadFixturePackage(repo: string, name: string): InstallablePackage {
  const info = repoIndex(repo).get(name);
  if (info === undefined) throw new Error(`${name} is not in ${repo}`);
  return loadApk(join(repo, `${name}-${info.version}.apk`), info);
}

/** The packages apk installed for an oracle world, in its order: [name, version]. */
export function oracleOrder(world: string): [string, string][] {
  const out = readFileSync(join(oracleDir(world), 'stdout.txt'), 'utf8');
  return [...out.matchAll(/Installing (\S+) \((\S+)\)/g)].map((m) => [m[1]!, m[2]!]);
}

/** Reads a real .apk into what the installer takes (index fields, plus replaces and triggers from .PKGINFO). */
export function loadApk(path: string, indexInfo: PackageInfo): InstallablePackage {
  const info: PackageInfo = { ...indexInfo, replaces: [] };
  const buf = gunzipSync(readFileSync(path));
  const entries = [...readTar(buf, { allowTruncated: true })];
  const first = entries.findIndex((e) => !e.name.startsWith('.'));
  const control = first < 0 ? entries : entries.slice(0, first);
  const data = first < 0 ? [] : entries.slice(first);
  const triggers: string[] = [];
  const scripts: InstallablePackage['scripts'] = [];
  for (const e of control) {
    const body = buf.subarray(e.dataOffset, e.dataOffset + e.size);
    if (e.name === '.PKGINFO') {
      for (const line of body.toString('utf8').split('\n')) {
        const m = /^(\w+) = (.*)$/.exec(line);
        if (m?.[1] === 'triggers') triggers.push(...m[2]!.split(' ').filter(Boolean));
        if (m?.[1] === 'replaces') info.replaces.push(m[2]!);
        if (m?.[1] === 'replaces_priority') info.replacesPriority = Number(m[2]);
      }
    } else if ((SCRIPT_ACTIONS as readonly string[]).includes(e.name.slice(1))) {
      scripts.push({ name: e.name, data: body, mtime: e.mtime });
    }
  }
  return {
    info,
    checksum: info.checksum!,
    triggers,
    scripts,
    entries: data,
    data: { kind: 'bytes', data: buf },
    datahash: createHash('sha256').update(path).digest('hex'),
  };
}

export interface FixtureImage {
  fs: ImageFS;
  installer: Installer;
  packages: InstallablePackage[];
  /** The world apk recorded (etc/apk/world of the oracle). */
  world: string[];
  /** The database files for writeApkDatabase. */
  db: { installed: string; scriptsTar: Buffer; triggers: string };
}

/**
 * Installs an oracle world's packages into a fresh ImageFS. With `initdb`, initApkDatabase runs first
 * (as apk --initdb does).
 */
export function installOracleWorld(
  world: string,
  options: { initdb?: { mtime: number } } = {},
): FixtureImage {
  const repo = repoOf(world);
  const index = repoIndex(repo);
  const fs = new ImageFS();
  if (options.initdb) initApkDatabase(fs, { arch: 'x86_64', mtime: options.initdb.mtime });
  const installer = new Installer(fs);
  const packages: InstallablePackage[] = [];
  const records: DbPackage[] = [];
  for (const [name, version] of oracleOrder(world)) {
    const info = index.get(name);
    if (info === undefined || info.version !== version)
      throw new Error(`${name}-${version} is not in the fixture index`);
    const pkg = loadApk(join(repo, `${name}-${version}.apk`), info);
    const rec = installer.install(pkg);
    packages.push(pkg);
    records.push({
      info: pkg.info,
      dirs: rec.dirs,
      scripts: pkg.scripts.map((s) => ({ action: s.name.slice(1), data: s.data })),
      triggers: pkg.triggers,
    });
  }
  const worldText = readFileSync(join(oracleDir(world), 'world'), 'utf8');
  return {
    fs,
    installer,
    packages,
    world: worldText.split('\n').filter(Boolean),
    db: {
      installed: formatInstalledDb(records),
      scriptsTar: scriptsTar(records),
      triggers: formatTriggers(records),
    },
  };
}

/** One line of an oracle tree.txt. */
export interface TreeEntry {
  path: string;
  /** `ls -l` mode string, e.g. `-rw-r--r--`, `lrwxrwxrwx`, `crw-rw-rw-`. */
  mode: string;
  owner: string;
  size?: number;
  sha256?: string;
  link?: string;
}

/** Parses an oracle tree.txt: `<mode> <uid>:<gid> [size] ./path [sha256=…|-> target]`. */
export function parseTree(text: string): Map<string, TreeEntry> {
  const out = new Map<string, TreeEntry>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const m = /^(\S{10}) (\d+:\d+) (?:(\d+) )?\.\/(.*?)(?: sha256=([0-9a-f]{64})| -> (.*))?$/.exec(line);
    if (m === null) throw new Error(`unparsable tree.txt line: ${line}`);
    out.set(m[4]!, {
      path: m[4]!,
      mode: m[1]!,
      owner: m[2]!,
      ...(m[3] !== undefined ? { size: Number(m[3]) } : {}),
      ...(m[5] !== undefined ? { sha256: m[5] } : {}),
      ...(m[6] !== undefined ? { link: m[6] } : {}),
    });
  }
  return out;
}

export function readOracleTree(world: string): Map<string, TreeEntry> {
  return parseTree(readFileSync(join(oracleDir(world), 'tree.txt'), 'utf8'));
}

const TYPE_CHAR: Record<FsNode['type'], string> = {
  file: '-',
  directory: 'd',
  symlink: 'l',
  chardev: 'c',
  blockdev: 'b',
  fifo: 'p',
};

/** `ls -l` style mode string of a node (setuid/setgid/sticky as s/S, t/T). */
export function modeString(node: FsNode): string {
  const m = node.mode;
  const bits = (r: number, w: number, x: number, special: boolean, ch: string) =>
    (m & r ? 'r' : '-') +
    (m & w ? 'w' : '-') +
    (special ? (m & x ? ch : ch.toUpperCase()) : m & x ? 'x' : '-');
  return (
    TYPE_CHAR[node.type] +
    bits(0o400, 0o200, 0o100, (m & 0o4000) !== 0, 's') +
    bits(0o040, 0o020, 0o010, (m & 0o2000) !== 0, 's') +
    bits(0o004, 0o002, 0o001, (m & 0o1000) !== 0, 't')
  );
}

/** The image as tree.txt entries (symlinks shown with mode lrwxrwxrwx as ls does). */
export function imageTree(fs: ImageFS): Map<string, TreeEntry> {
  const out = new Map<string, TreeEntry>();
  for (const [path, node] of fs.walk()) {
    const e: TreeEntry = { path, mode: modeString(node), owner: `${node.uid}:${node.gid}` };
    if (node.type === 'symlink') {
      e.mode = 'lrwxrwxrwx';
      e.link = node.linkname;
    }
    if (node.type === 'file') {
      const data = readContent(node);
      e.size = data.length;
      e.sha256 = createHash('sha256').update(data).digest('hex');
    }
    out.set(path, e);
  }
  return out;
}

/** Human-readable differences between two trees (`path: field ours != theirs`). */
export function diffTrees(ours: Map<string, TreeEntry>, theirs: Map<string, TreeEntry>): string[] {
  const out: string[] = [];
  for (const [p, t] of theirs) {
    const o = ours.get(p);
    if (o === undefined) {
      out.push(`${p}: missing (oracle: ${t.mode}${t.link ? ` -> ${t.link}` : ''})`);
      continue;
    }
    for (const k of ['mode', 'owner', 'size', 'sha256', 'link'] as const) {
      if (o[k] !== t[k]) out.push(`${p}: ${k} ${o[k]} != ${t[k]}`);
    }
  }
  for (const [p, o] of ours)
    if (!theirs.has(p)) out.push(`${p}: extra (${o.mode}${o.link ? ` -> ${o.link}` : ''})`);
  return out.sort();
}
