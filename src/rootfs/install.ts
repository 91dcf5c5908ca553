/**
 * Installs packages into the image filesystem with apk-tools 2.14's rules, and records what each
 * package owns for the installed database. Package scripts are never run (as apko): they are kept for
 * `scripts.tar`. Rules taken from apk-tools' database.c (apk_db_install_file):
 * - top-level entries starting with `.` are skipped, `.keep_*` files are skipped;
 * - a file overwriting another package's file is allowed for the same package name or origin, or when
 *   `replaces` says so (with replaces_priority); the old owner keeps it when it has the higher priority;
 *   otherwise it is a conflict — which we report as an error naming both packages and the path.
 *   Identical content (same SHA-1 and type) is not a conflict (the first owner keeps it);
 * - a directory shared by packages gets the lowest uid/gid among them and the AND of their modes;
 * - names the package content rules (apk/rules.ts) refuse — absolute, `..`, control characters — stop the
 *   build (apk skips them with a warning; a signed package carrying one is broken or malicious).
 */
import { createHash } from 'node:crypto';
import type { Acl, DbDir, DbFile, DbPackage } from '../apk/installed-db.ts';
import { cleanEntryPath, isRootEntry } from '../apk/rules.ts';
import type { PackageInfo } from '../apk/types.ts';
import type { ContentSource } from '../fs/content.ts';
import { baseName, parentOf } from '../fs/path.ts';
import { directoryNode, type FsNode, type ImageFS } from '../fs/tree.ts';
import type { Layer } from '../oci/types.ts';
import type { TarEntry } from '../tar/reader.ts';
import { LadingError } from '../util/errors.ts';
import { satisfiesReplaces } from './replaces.ts';

/** A package ready to install: metadata from its .PKGINFO and the entries of its data tar. */
export interface InstallablePackage {
  info: PackageInfo;
  /** `Q1…` checksum of the control member (C:). */
  checksum: string;
  /** .PKGINFO `triggers` values. */
  triggers: string[];
  /** Control-tar scripts such as `.post-install`, with their tar metadata. */
  scripts: { name: string; data: Buffer; mtime: number }[];
  /** Entries of the data tar, in archive order. */
  entries: TarEntry[];
  /** Where the data tar's bytes are: entry data is at `entry.dataOffset` within it. */
  data: { kind: 'file'; path: string } | { kind: 'bytes'; data: Buffer };
  /** Hex SHA-256 of the data member(s); identifies the content for cache keys. */
  datahash: string;
  /**
   * The package's compressed data stream as an image layer, when the build keeps it (`layering: {strategy:
   * package}`); the installer ignores it.
   */
  dataLayer?: PackageDataLayer;
}

/** A package's data stream as an image layer: its digest is the datahash, its diff ID the uncompressed tar's. */
export interface PackageDataLayer {
  layer: Layer;
  /**
   * What runtimes unpacking the stream as it is would read differently from the installer (a global PAX header,
   * a sub-second mtime, …): then the layer is rebuilt from the installed files instead.
   */
  differences: readonly string[];
}

/** What one package owns after installation, in apk's order (directories as first seen in the archive). */
export interface InstallRecord {
  pkg: InstallablePackage;
  dirs: DbDir[];
}

/**
 * What a package installed at a path that is not a directory, as it was right after installation (later
 * steps may change or replace the node: compare `node` with what the image holds now, and its fields with
 * `attrs`).
 */
export interface InstalledFile {
  readonly installed: InstallRecord;
  /** The node object the installer put at the path. */
  readonly node: FsNode;
  /** A copy of the node's fields as installed; the hard links of one node share one copy. */
  readonly attrs: FsNode;
}

/** A directory entry of a package: what it declared, at the canonical path it was installed at. */
export interface InstalledDirectory {
  readonly installed: InstallRecord;
  readonly path: string;
  readonly uid: number;
  readonly gid: number;
  readonly mode: number;
  readonly mtime: number;
  readonly xattrs?: Record<string, Buffer>;
}

interface Owner extends InstalledFile {
  dir: DbDir;
  file: DbFile;
}

interface DirOwnership {
  uid: number;
  gid: number;
  mode: number;
}

export class Installer {
  readonly fs: ImageFS;
  readonly installed: InstallRecord[] = [];
  /** Canonical path → which package's file record owns it. */
  readonly #owners = new Map<string, Owner>();
  /** Canonical directory path → the merged ownership apk computes from every package that has it. */
  readonly #dirAcl = new Map<string, DirOwnership>();
  /** Canonical directory path → the packages' directory entries for it, in install order. */
  readonly #dirEntries = new Map<string, InstalledDirectory[]>();
  /** Installed node → the copy of its fields as installed (for InstalledFile.attrs). */
  readonly #installedAttrs = new WeakMap<FsNode, FsNode>();

  constructor(fs: ImageFS) {
    this.fs = fs;
  }

  install(pkg: InstallablePackage): InstallRecord {
    const record: InstallRecord = { pkg, dirs: [] };
    const dirsByPath = new Map<string, DbDir>();
    const hardlinkTargets = new Map<string, string>(); // entry name → canonical path in the image
    const where = `${pkg.info.name}-${pkg.info.version}`;
    const dirFor = (path: string): DbDir => {
      let d = dirsByPath.get(path);
      if (d === undefined) {
        d = { path, acl: { uid: 0, gid: 0, mode: 0o755 }, files: [] };
        dirsByPath.set(path, d);
        record.dirs.push(d);
      }
      return d;
    };

    for (const entry of pkg.entries) {
      const name = checkEntryName(entry.name, where);
      if (name === '' || name.startsWith('.')) continue;
      const acl = aclOf(entry);

      if (entry.type === 'directory') {
        const d = dirFor(name);
        d.acl = acl;
        this.#installDirectory(name, entry, acl, where, record);
        continue;
      }

      const dirPath = parentOf(name);
      const fileName = baseName(name);
      if (fileName.startsWith('.keep_')) continue;
      if (dirPath !== '' && !dirsByPath.has(dirPath)) {
        throw new LadingError(
          'PACKAGE_NO_DIRENT',
          `package ${where}: ${name}: its directory is not in the archive`,
          {
            hint: 'the package is malformed; rebuild it with its directories included',
          },
        );
      }
      const dir = dirFor(dirPath);

      const target = this.fs.resolve(name, false);
      if (target === undefined) {
        throw new LadingError(
          'PACKAGE_BAD_PATH',
          `package ${where}: cannot install ${name}: a parent is not a directory`,
        );
      }
      const existing = this.fs.lstat(target);
      if (existing?.type === 'directory') {
        throw new LadingError(
          'FILE_CONFLICT',
          `package ${where}: cannot install ${entry.type} /${name}: a directory is already there${this.#ownerNote(target)}`,
        );
      }

      const checksum = fileChecksum(entry, hardlinkTargets, pkg);
      const previous = this.#owners.get(target);
      if (previous !== undefined && previous.installed !== record) {
        const decision = replaceDecision(previous.installed.pkg.info, pkg.info);
        const identical =
          existing !== undefined &&
          previous.file.checksum !== undefined &&
          previous.file.checksum === checksum &&
          existing.type === nodeTypeOf(entry) &&
          (entry.type !== 'symlink' || existing.linkname === entry.linkname);
        if (decision === 'keep' || (decision === 'conflict' && identical)) {
          continue;
        }
        if (decision === 'conflict') {
          const other = previous.installed.pkg.info;
          throw new LadingError(
            'FILE_CONFLICT',
            `packages ${other.name}-${other.version} and ${where} both contain /${name} with different contents`,
            {
              hint:
                `the packages conflict; install only one of them, or have one declare replaces="${other.name}" ` +
                'if it is meant to take over the file',
            },
          );
        }
        // the new package takes the file over: drop it from the previous owner's record
        const files = previous.dir.files;
        files.splice(files.indexOf(previous.file), 1);
      }

      const node = this.#nodeFor(entry, pkg, hardlinkTargets, where);
      if (entry.type === 'hardlink') {
        this.fs.put(target, node);
      } else {
        this.fs.put(target, node);
      }
      hardlinkTargets.set(name, target);
      const file: DbFile = { name: fileName, acl, checksum };
      const sameRecord = previous?.installed === record ? previous : undefined;
      if (sameRecord) sameRecord.file.acl = acl;
      if (sameRecord) sameRecord.file.checksum = checksum;
      else dir.files.push(file);
      const attrs = this.#installedAttrs.get(node) ?? { ...node };
      this.#installedAttrs.set(node, attrs);
      this.#owners.set(target, {
        installed: record,
        dir: sameRecord?.dir ?? dir,
        file: sameRecord?.file ?? file,
        node,
        attrs,
      });
    }
    this.installed.push(record);
    return record;
  }

  /**
   * Takes over what a base image's packages own (their installed-database records, already in the filesystem),
   * so packages installed on top replace or conflict with their files as apk decides, and shared directories
   * merge their owners and modes as apk merges them. A file taken over leaves its old owner's record, as in
   * install().
   */
  adopt(records: readonly DbPackage[]): void {
    for (const db of records) {
      const record: InstallRecord = {
        pkg: {
          info: db.info,
          checksum: db.info.checksum ?? '',
          triggers: db.triggers,
          scripts: [],
          entries: [],
          data: { kind: 'bytes', data: Buffer.alloc(0) },
          datahash: '',
        },
        dirs: db.dirs,
      };
      for (const dir of db.dirs) {
        const dirPath = this.fs.resolve(dir.path, true);
        if (dirPath !== undefined && dirPath !== '') {
          this.#dirAcl.set(dirPath, mergeDirAcl(this.#dirAcl.get(dirPath), dir.acl));
        }
        for (const file of dir.files) {
          const path = this.fs.resolve(dir.path === '' ? file.name : `${dir.path}/${file.name}`, false);
          const node = path === undefined ? undefined : this.fs.lstat(path);
          if (path === undefined || node === undefined || node.type === 'directory') continue;
          const attrs = this.#installedAttrs.get(node) ?? { ...node };
          this.#installedAttrs.set(node, attrs);
          this.#owners.set(path, { installed: record, dir, file, node, attrs });
        }
      }
    }
  }

  /** Creates or updates a directory. A symlink to a directory (usr-merge) is kept as it is. */
  #installDirectory(name: string, entry: TarEntry, acl: Acl, where: string, record: InstallRecord): void {
    const resolved = this.fs.resolve(name, true);
    if (resolved === undefined) {
      throw new LadingError(
        'PACKAGE_BAD_PATH',
        `package ${where}: cannot create directory /${name}: a parent is not a directory`,
      );
    }
    const existing = this.fs.lstat(resolved);
    if (existing !== undefined && existing.type !== 'directory') {
      throw new LadingError(
        'FILE_CONFLICT',
        `package ${where}: cannot create directory /${name}: a ${existing.type} is already there${this.#ownerNote(resolved)}`,
      );
    }
    const declared: InstalledDirectory = {
      installed: record,
      path: resolved,
      uid: acl.uid,
      gid: acl.gid,
      mode: acl.mode,
      mtime: entry.mtime,
      xattrs: xattrsOf(entry),
    };
    const entries = this.#dirEntries.get(resolved);
    if (entries) entries.push(declared);
    else this.#dirEntries.set(resolved, [declared]);
    if (existing !== undefined && !this.#dirAcl.has(resolved)) {
      // a directory that was there before any package (the apk database skeleton, a base image) keeps
      // its attributes, as apk leaves an existing directory with other permissions alone
      return;
    }
    const merged = mergeDirAcl(this.#dirAcl.get(resolved), acl);
    this.#dirAcl.set(resolved, merged);
    if (existing === undefined) {
      if (this.fs.resolve(parentOf(resolved), true) === undefined || !this.fs.stat(parentOf(resolved))) {
        this.fs.mkdirAll(parentOf(resolved));
      }
      this.fs.put(resolved, directoryNode({ ...merged, mtime: entry.mtime, xattrs: xattrsOf(entry) }));
    } else {
      existing.uid = merged.uid;
      existing.gid = merged.gid;
      existing.mode = merged.mode;
      existing.mtime = entry.mtime;
      const x = xattrsOf(entry);
      if (x) existing.xattrs = x;
    }
  }

  #nodeFor(entry: TarEntry, pkg: InstallablePackage, hardlinks: Map<string, string>, where: string): FsNode {
    const base = {
      mode: entry.mode,
      uid: entry.uid,
      gid: entry.gid,
      mtime: entry.mtime,
      xattrs: xattrsOf(entry),
      size: 0,
    };
    switch (entry.type) {
      case 'file':
        return {
          ...base,
          type: 'file',
          size: entry.size,
          content: contentOf(pkg, entry),
          contentId: `${pkg.datahash}:${entry.dataOffset}`,
          sha1: entry.pax['APK-TOOLS.checksum.SHA1'],
        };
      case 'symlink':
        return { ...base, type: 'symlink', linkname: entry.linkname };
      case 'hardlink': {
        const target = hardlinks.get(stripSlash(entry.linkname));
        const node = target === undefined ? undefined : this.fs.lstat(target);
        if (node === undefined) {
          throw new LadingError(
            'PACKAGE_BAD_HARDLINK',
            `package ${where}: hard link ${entry.name} points at ${entry.linkname}, which is not earlier in the archive`,
          );
        }
        return node;
      }
      case 'chardev':
      case 'blockdev':
      case 'fifo':
        return { ...base, type: entry.type, devmajor: entry.devmajor, devminor: entry.devminor };
      default:
        throw new LadingError(
          'PACKAGE_BAD_ENTRY',
          `package ${where}: unsupported entry type for ${entry.name}`,
        );
    }
  }

  #ownerNote(path: string): string {
    const o = this.#owners.get(path);
    return o ? ` (owned by ${o.installed.pkg.info.name}-${o.installed.pkg.info.version})` : '';
  }

  /** The package that owns a path in the image, if any. */
  ownerOf(path: string): PackageInfo | undefined {
    const p = this.fs.resolve(path, false);
    return p === undefined ? undefined : this.#owners.get(p)?.installed.pkg.info;
  }

  /**
   * What the owning package installed at a canonical path (not a directory), if a package owns it. The
   * record stays after a later step removed or replaced the node: check that the image still holds `node`.
   */
  installedFile(canonicalPath: string): InstalledFile | undefined {
    return this.#owners.get(canonicalPath);
  }

  /** The packages' directory entries for a canonical directory path, in install order. */
  installedDirectories(canonicalPath: string): readonly InstalledDirectory[] {
    return this.#dirEntries.get(canonicalPath) ?? [];
  }
}

type Decision = 'replace' | 'keep' | 'conflict';

/** apk-tools' apk_pkg_replaces_file: may package `b` overwrite a file owned by `a`? */
export function replaceDecision(a: PackageInfo, b: PackageInfo): Decision {
  if (a.name === b.name) return 'replace';
  if (a.origin !== undefined && a.origin === b.origin) return 'replace';
  let aPrio = -1;
  let bPrio = -1;
  if (a.replaces.some((r) => satisfiesReplaces(r, b))) aPrio = a.replacesPriority ?? 0;
  if (b.replaces.some((r) => satisfiesReplaces(r, a))) bPrio = b.replacesPriority ?? 0;
  if (aPrio > bPrio) return 'keep';
  if (bPrio >= 0) return 'replace';
  return 'conflict';
}

/** apk's rule for a directory several packages have: the lowest uid/gid, and the AND of their modes. */
export function mergeDirAcl(current: DirOwnership | undefined, acl: Acl): DirOwnership {
  if (current === undefined) return { uid: acl.uid, gid: acl.gid, mode: acl.mode };
  if (acl.uid < current.uid || (acl.uid === current.uid && acl.gid < current.gid)) {
    return { uid: acl.uid, gid: acl.gid, mode: acl.mode };
  }
  if (acl.uid === current.uid && acl.gid === current.gid)
    return { ...current, mode: current.mode & acl.mode };
  return current;
}

/** The entry's clean path by the package content rules (expansion checked them already; this is the backstop). */
function checkEntryName(raw: string, where: string): string {
  if (isRootEntry(raw)) return '';
  try {
    return cleanEntryPath(raw);
  } catch (e) {
    throw new LadingError('PACKAGE_UNSAFE_PATH', `package ${where}: ${(e as Error).message}`, {
      hint: 'the package is malformed or malicious; it was not installed',
    });
  }
}

function stripSlash(s: string): string {
  let end = s.length;
  while (end > 0 && s.charCodeAt(end - 1) === 47) end--;
  return s.slice(0, end);
}

function nodeTypeOf(entry: TarEntry): string {
  return entry.type === 'hardlink' ? 'file' : entry.type;
}

function aclOf(entry: TarEntry): Acl {
  const acl: Acl = { uid: entry.uid, gid: entry.gid, mode: entry.mode };
  const digest = xattrDigest(entry.xattrs);
  if (digest) acl.xattrDigest = digest;
  return acl;
}

function xattrsOf(entry: TarEntry): Record<string, Buffer> | undefined {
  return Object.keys(entry.xattrs).length > 0 ? entry.xattrs : undefined;
}

/** apk's xattr digest: SHA-1 over (be32 len, name, be32 len, value) of the xattrs sorted by name. */
export function xattrDigest(xattrs: Record<string, Buffer>): string | undefined {
  const names = Object.keys(xattrs).sort();
  if (names.length === 0) return undefined;
  const h = createHash('sha1');
  const len = Buffer.alloc(4);
  for (const n of names) {
    const nb = Buffer.from(n);
    len.writeUInt32BE(nb.length);
    h.update(len).update(nb);
    len.writeUInt32BE(xattrs[n]!.length);
    h.update(len).update(xattrs[n]!);
  }
  return `Q1${h.digest('base64')}`;
}

/** The Z: checksum of a file: apk's PAX SHA-1 (hex) as Q1 base64; hard links take their target's. */
function fileChecksum(
  entry: TarEntry,
  hardlinks: Map<string, string>,
  pkg: InstallablePackage,
): string | undefined {
  const hex = entry.pax['APK-TOOLS.checksum.SHA1'];
  if (hex && /^[0-9a-f]{40}$/i.test(hex)) return `Q1${Buffer.from(hex, 'hex').toString('base64')}`;
  if (hex?.startsWith('Q1')) return hex;
  if (entry.type === 'hardlink') {
    const t = pkg.entries.find((e) => stripSlash(e.name) === stripSlash(entry.linkname));
    return t ? fileChecksum(t, hardlinks, pkg) : undefined;
  }
  return undefined;
}

function contentOf(pkg: InstallablePackage, entry: TarEntry): ContentSource {
  if (pkg.data.kind === 'bytes') {
    return { kind: 'bytes', data: pkg.data.data.subarray(entry.dataOffset, entry.dataOffset + entry.size) };
  }
  return { kind: 'file', path: pkg.data.path, offset: entry.dataOffset, size: entry.size };
}
