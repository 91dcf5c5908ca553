/**
 * The apk database files exactly as apk-tools 2.14 writes them: `lib/apk/db/installed`
 * (apk_db_fdb_write), `scripts.tar` (apk_db_scriptdb_write) and `triggers` (apk_db_triggers_write); and read
 * back (a base image's database).
 */
import { entryData, readTar } from '../tar/reader.ts';
import { LadingError } from '../util/errors.ts';
import { applyIndexField, formatIndexRecord } from './apkindex-text.ts';
import { emptyPackage, type PackageInfo } from './types.ts';

export interface Acl {
  uid: number;
  gid: number;
  mode: number;
  /** `Q1…` digest of the entry's xattrs (apk's xattr checksum), when it has any. */
  xattrDigest?: string;
}

export interface DbFile {
  name: string;
  acl: Acl;
  /** `Q1…` SHA-1 of the content or symlink target (Z:). */
  checksum?: string;
}

export interface DbDir {
  /** Directory path as named in the package ('' for files at the root). */
  path: string;
  acl: Acl;
  files: DbFile[];
}

export interface DbScript {
  /** `pre-install`, `post-install`, … (without the leading dot). */
  action: string;
  data: Buffer;
}

export interface DbPackage {
  /** Index fields (C: … i:) plus replaces / replaces_priority from .PKGINFO. */
  info: PackageInfo;
  /** Repository tag the package was pinned from (`s:`), if any. */
  tag?: string;
  dirs: DbDir[];
  scripts: DbScript[];
  triggers: string[];
}

const DEFAULT_DIR: Acl = { uid: 0, gid: 0, mode: 0o755 };
const DEFAULT_FILE: Acl = { uid: 0, gid: 0, mode: 0o644 };

function isDefault(acl: Acl, d: Acl): boolean {
  return acl.uid === d.uid && acl.gid === d.gid && acl.mode === d.mode && acl.xattrDigest === undefined;
}

function aclLine(field: string, acl: Acl): string {
  return `${field}:${acl.uid}:${acl.gid}:${acl.mode.toString(8)}${acl.xattrDigest ? `:${acl.xattrDigest}` : ''}\n`;
}

/** One stanza of `lib/apk/db/installed`, including its terminating blank line. */
export function formatInstalledRecord(p: DbPackage): string {
  let out = `${formatIndexRecord(p.info, { installed: true })}\n`;
  if (p.tag) out += `s:${p.tag}\n`;
  for (const d of p.dirs) {
    out += `F:${d.path}\n`;
    if (!isDefault(d.acl, DEFAULT_DIR)) out += aclLine('M', d.acl);
    for (const f of d.files) {
      out += `R:${f.name}\n`;
      if (!isDefault(f.acl, DEFAULT_FILE)) out += aclLine('a', f.acl);
      if (f.checksum) out += `Z:${f.checksum}\n`;
    }
  }
  return `${out}\n`;
}

/** The whole `installed` file: apk writes the packages sorted by name (not in install order). */
export function formatInstalledDb(packages: readonly DbPackage[]): string {
  return [...packages]
    .sort((a, b) => (a.info.name < b.info.name ? -1 : a.info.name > b.info.name ? 1 : 0))
    .map(formatInstalledRecord)
    .join('');
}

/** `lib/apk/db/triggers`: `<checksum> <trigger>…` for each package with triggers, in install order. */
export function formatTriggers(packages: readonly DbPackage[]): string {
  let out = '';
  for (const p of packages) {
    if (p.triggers.length > 0) out += `${p.info.checksum} ${p.triggers.join(' ')}\n`;
  }
  return out;
}

/** apk's script order within a package (apk_script_types). */
export const SCRIPT_ACTIONS = [
  'pre-install',
  'post-install',
  'pre-deinstall',
  'post-deinstall',
  'pre-upgrade',
  'post-upgrade',
  'trigger',
] as const;

/**
 * `lib/apk/db/scripts.tar`: entries `<name>-<version>.<Q1 checksum>.<action>` (mode 0755, owner
 * root/root, mtime = the package build time), old-GNU tar headers as apk's tar writer emits them,
 * then two zero blocks.
 */
export function scriptsTar(packages: readonly DbPackage[]): Buffer {
  const parts: Buffer[] = [];
  for (const p of packages) {
    const byAction = new Map(p.scripts.map((s) => [s.action, s.data]));
    for (const action of SCRIPT_ACTIONS) {
      const data = byAction.get(action);
      if (data === undefined) continue;
      const name = `${p.info.name}-${p.info.version}.${p.info.checksum}.${action}`;
      parts.push(apkTarHeader(name, data.length, p.info.buildTime ?? 0), data);
      const pad = (512 - (data.length % 512)) % 512;
      if (pad) parts.push(Buffer.alloc(pad));
    }
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

function octal(b: Buffer, off: number, width: number, value: number): void {
  b.write(value.toString(8).padStart(width - 1, '0'), off, width - 1, 'latin1');
}

/** The header apk-tools' apk_tar_write_entry writes: GNU magic, "root" names, no device numbers. */
function apkTarHeader(name: string, size: number, mtime: number): Buffer {
  const b = Buffer.alloc(512);
  b.write(name, 0, 100, 'utf8');
  octal(b, 100, 8, 0o755);
  octal(b, 108, 8, 0);
  octal(b, 116, 8, 0);
  // apk writes size and mtime as 12 digits without a terminating NUL
  b.write(size.toString(8).padStart(12, '0'), 124, 12, 'latin1');
  b.write(mtime.toString(8).padStart(12, '0'), 136, 12, 'latin1');
  b[156] = 0x30;
  b.write('ustar  \0', 257, 8, 'latin1');
  b.write('root', 265, 32, 'latin1');
  b.write('root', 297, 32, 'latin1');
  b.fill(32, 148, 156);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += b[i]!;
  b.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
  return b;
}

/** `M:`/`a:` value → Acl (`uid:gid:mode[:xattr digest]`, mode in octal). */
function parseAcl(value: string, line: number, file?: string): Acl {
  const [uid, gid, mode, xattrDigest] = value.split(':');
  const acl: Acl = { uid: Number(uid), gid: Number(gid), mode: Number.parseInt(mode ?? '', 8) };
  if (![acl.uid, acl.gid, acl.mode].every((n) => Number.isInteger(n) && n >= 0)) {
    throw new LadingError('INSTALLED_DB_BAD_FIELD', `bad owner and mode ${JSON.stringify(value)}`, {
      file,
      line,
      hint: 'the installed database is damaged',
    });
  }
  if (xattrDigest) acl.xattrDigest = xattrDigest;
  return acl;
}

/**
 * Reads `lib/apk/db/installed` (what apk-tools and apko write) back into records: the package fields, the
 * repository tag (`s:`), directories (`F:`, `M:`) and their files (`R:`, `a:`, `Z:`). Scripts and triggers
 * live in other files (see parseScriptsTar, parseTriggers). apko writes empty lists as `[]` (a Go slice
 * printed): read as empty.
 */
export function parseInstalledDb(text: string, file?: string): DbPackage[] {
  const out: DbPackage[] = [];
  let pkg: DbPackage | undefined;
  let dir: DbDir | undefined;
  let fileEntry: DbFile | undefined;
  const lines = text.split('\n');
  lines.forEach((raw, i) => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line === '') {
      pkg = undefined;
      return;
    }
    const colon = line.indexOf(':');
    if (colon !== 1) {
      throw new LadingError(
        'INSTALLED_DB_BAD_LINE',
        `not a "X:value" line: ${JSON.stringify(line.slice(0, 60))}`,
        {
          file,
          line: i + 1,
          hint: 'the installed database is damaged',
        },
      );
    }
    const key = line[0]!;
    const value = line.slice(2);
    if (pkg === undefined) {
      pkg = { info: emptyPackage('', ''), dirs: [], scripts: [], triggers: [] };
      dir = undefined;
      fileEntry = undefined;
      out.push(pkg);
    }
    switch (key) {
      case 'F':
        dir = { path: value, acl: { ...DEFAULT_DIR }, files: [] };
        fileEntry = undefined;
        pkg.dirs.push(dir);
        return;
      case 'M':
        if (dir) dir.acl = parseAcl(value, i + 1, file);
        return;
      case 'R':
        // files at the top level have no F: before them
        if (!dir) pkg.dirs.push((dir = { path: '', acl: { ...DEFAULT_DIR }, files: [] }));
        fileEntry = { name: value, acl: { ...DEFAULT_FILE } };
        dir.files.push(fileEntry);
        return;
      case 'a':
        if (fileEntry) fileEntry.acl = parseAcl(value, i + 1, file);
        return;
      case 'Z':
        if (fileEntry) fileEntry.checksum = value;
        return;
      case 's':
        pkg.tag = value;
        return;
      default:
        if (!applyIndexField(pkg.info, key, value === '[]' ? '' : value, i + 1, file))
          pkg.info.extra.push([key, value]);
    }
  });
  for (const p of out) {
    if (!p.info.name || !p.info.version) {
      throw new LadingError('INSTALLED_DB_BAD_RECORD', 'a package record has no P: or V:', {
        file,
        hint: 'the installed database is damaged',
      });
    }
  }
  return out;
}

/**
 * `scripts.tar` entries by the package's `Q1…` checksum: apk names each `<name>-<version>.<checksum>.<action>`.
 * Entries whose name does not parse are skipped.
 */
export function parseScriptsTar(tar: Buffer): Map<string, DbScript[]> {
  const out = new Map<string, DbScript[]>();
  for (const e of readTar(tar, { allowTruncated: true })) {
    if (e.type !== 'file') continue;
    const m = /\.(Q1[A-Za-z0-9+/=]+)\.([a-z-]+)$/.exec(e.name);
    if (!m || !(SCRIPT_ACTIONS as readonly string[]).includes(m[2]!)) continue;
    const list = out.get(m[1]!) ?? [];
    list.push({ action: m[2]!, data: Buffer.from(entryData(tar, e)) });
    out.set(m[1]!, list);
  }
  return out;
}

/** `triggers`: `<checksum> <path glob>…` per line, by checksum. */
export function parseTriggers(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const [checksum, ...globs] = line.trim().split(/\s+/);
    if (checksum && globs.length > 0) out.set(checksum, globs);
  }
  return out;
}
