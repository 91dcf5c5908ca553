/**
 * Busybox applet links, in place of the busybox trigger lading does not run. Alpine's trigger runs
 * `bbsuid --install` (when busybox-suid is installed), then `busybox --install -s`; this does the same
 * in the image:
 * 1. if `/bin/bbsuid` is a regular file: its 8 applets (`mount umount su crontab passwd traceroute
 *    traceroute6 vlock`) become symlinks to `/bin/bbsuid` — an existing symlink is replaced, a regular
 *    file kept, a missing directory skipped (what bbsuid does, tested with the real binary);
 * 2. for each installed package named `busybox` or providing `busybox`/`cmd:busybox`, when `/bin/busybox`
 *    exists: the paths in `/etc/busybox-paths.d/<package>` (one per line; `#` comments and blanks
 *    skipped), or, when the package ships none, the applet list of Alpine busybox 1.36.1
 *    (busybox-applets.ts; apko keeps per-version tables, but every busybox since Alpine 3.17 ships the
 *    paths.d file, so one fallback list is enough — a warning says when it was used). Each path becomes
 *    an absolute symlink to `/bin/busybox`; anything already there (file, link, directory) is kept;
 *    missing parent directories are created 0755 root (apko's rule).
 * Links and directories get the build date as mtime (apko gives directories busybox's mtime).
 */
import { baseName, cleanPath, joinPath, parentOf } from '../../fs/path.ts';
import type { ImageFS } from '../../fs/tree.ts';
import { isLadingError } from '../../util/errors.ts';
import { BUSYBOX_1_36_APPLETS } from './busybox-applets.ts';
import { ensureDir, inContext, type StepTime, stepError } from './common.ts';

export const BUSYBOX = 'bin/busybox';
export const BBSUID = 'bin/bbsuid';
export const BUSYBOX_PATHS_DIR = 'etc/busybox-paths.d';
/** What `bbsuid --install` links (from the bbsuid binary of busybox-suid 1.36.1-r15). */
export const BBSUID_APPLETS = [
  'bin/mount',
  'bin/umount',
  'bin/su',
  'usr/bin/crontab',
  'usr/bin/passwd',
  'usr/bin/traceroute',
  'usr/bin/traceroute6',
  'usr/bin/vlock',
] as const;

/** The fields of an installed package the step looks at. */
export interface InstalledPackageRef {
  name: string;
  version: string;
  provides?: readonly string[];
}

export interface BusyboxResult {
  /** Symlinks created (canonical paths), bbsuid's first. */
  created: string[];
  /** Per busybox package: where its list came from. */
  sources: { package: string; from: 'paths.d' | 'builtin-1.36.1' }[];
  warnings: string[];
}

function isBusybox(p: InstalledPackageRef): boolean {
  if (p.name === 'busybox') return true;
  return (p.provides ?? []).some((dep) => {
    const name = dep.split(/[=<>~]/, 1)[0];
    return name === 'busybox' || name === 'cmd:busybox';
  });
}

/** Creates bbsuid's and busybox's applet links. */
export function installBusyboxLinks(
  fs: ImageFS,
  packages: readonly InstalledPackageRef[],
  time: StepTime,
): BusyboxResult {
  const result: BusyboxResult = { created: [], sources: [], warnings: [] };
  const busyboxes = packages.filter(isBusybox);
  if (busyboxes.length === 0 || fs.stat(BUSYBOX) === undefined) return result;
  // the trigger runs bbsuid first, so its applets win over busybox's
  if (fs.stat(BBSUID)?.type === 'file') {
    for (const p of BBSUID_APPLETS) {
      const existing = fs.lstat(p);
      const dir = fs.resolve(parentOf(p), true);
      if (existing !== undefined && (existing.type !== 'symlink' || existing.linkname === '/bin/bbsuid'))
        continue;
      if (dir === undefined || fs.lstat(dir)?.type !== 'directory') continue;
      if (existing !== undefined) fs.remove(p);
      result.created.push(fs.put(joinPath(dir, baseName(p)), link('/bin/bbsuid', time.mtime)));
    }
  }

  for (const pkg of busyboxes) {
    const listFile = joinPath(BUSYBOX_PATHS_DIR, pkg.name);
    let paths: string[];
    if (fs.stat(listFile)?.type === 'file') {
      paths = fs
        .readFile(listFile)
        .toString('utf8')
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l !== '' && !l.startsWith('#'));
      result.sources.push({ package: pkg.name, from: 'paths.d' });
    } else {
      paths = [...BUSYBOX_1_36_APPLETS];
      result.sources.push({ package: pkg.name, from: 'builtin-1.36.1' });
      result.warnings.push(
        `busybox: ${pkg.name}-${pkg.version} ships no /${listFile}; used the applet list of busybox 1.36.1`,
      );
    }
    for (const raw of paths) {
      let path: string;
      try {
        path = cleanPath(raw);
      } catch (e) {
        if (!isLadingError(e)) throw e;
        throw stepError(
          'BUSYBOX_BAD_PATH',
          `busybox: /${listFile} of ${pkg.name}-${pkg.version} lists ${JSON.stringify(raw)}, which leaves the image`,
          undefined,
          'the package is broken; report it to its maintainers',
        );
      }
      if (path === '' || fs.lstat(path) !== undefined) continue;
      const created = inContext(`busybox: applet link /${path}`, undefined, () => {
        const dir = ensureDir(fs, parentOf(path), time.mtime);
        return fs.put(joinPath(dir, baseName(path)), link('/bin/busybox', time.mtime));
      });
      result.created.push(created);
    }
  }
  return result;
}

function link(target: string, mtime: number) {
  return { type: 'symlink' as const, mode: 0o777, uid: 0, gid: 0, mtime, size: 0, linkname: target };
}
