/**
 * The `paths` mutations of the config, applied in order after install. apko's semantics, with its
 * bugs fixed:
 * - an omitted `permissions` leaves the mode alone (apko chmods the target to 0000), and new entries
 *   get 0755 (directory), 0644 (empty-file) or 0777 (symlink);
 * - ownership: uid and gid both omitted → untouched (new entries root:root); one given → the other is 0
 *   (apko's rule, as the config schema documents it);
 * - missing parent directories are created 0755 root:root (apko's MkdirAll gives them the entry's
 *   mode, so a 0700 directory's parents became 0700 too);
 * - a path (or hardlink source) with a `..` component is refused with a clear message: paths stay
 *   inside the image; symlink targets may hold anything (they resolve inside the image anyway);
 * - a symlink onto an existing path is an error naming it; so is a `permissions` entry for a path that
 *   does not exist or that changes nothing, `recursive` on a type it does not apply to, and `source` on
 *   a type that has none.
 * Per type: `directory` = mkdir -p (an existing directory, or symlink to one, only gets the given
 * mode/owner); `empty-file` = create or truncate (following a symlink, as open(O_CREAT|O_TRUNC));
 * `hardlink` = replace whatever non-directory is at `path` by another name for `source` (link(2) does
 * not follow a symlink source); `symlink` = create; `permissions` = chmod/chown following a symlink.
 * For a symlink entry, `permissions` applies to the link target when it exists (a symlink has no mode
 * of its own; apko did the same), while uid/gid set the owner of the link itself.
 * `recursive` (directory, permissions) applies the mode and owner to everything below, walking without
 * following symlinks; symlinks below only get the owner. New entries get the build date as mtime;
 * chmod/chown leave mtimes alone.
 */
import { PATH_TYPES, type PathType } from '../../config/types.ts';
import { baseName, cleanPath, joinPath, parentOf } from '../../fs/path.ts';
import type { FsNode, ImageFS } from '../../fs/tree.ts';
import { ensureDir, inContext, type SourceLocation, type StepTime, show, stepError } from './common.ts';

export interface PathInput {
  path: string;
  type: PathType;
  uid?: number;
  gid?: number;
  /** Mode bits including setuid/setgid/sticky (0..0o7777). */
  permissions?: number;
  /** Link target: any text for a symlink, a path in the image for a hardlink. */
  source?: string;
  recursive?: boolean;
  at?: SourceLocation;
}

const MAX_ID = 4294967294;

interface Attrs {
  mode?: number;
  owner?: { uid: number; gid: number };
}

/** Applies `entries` in order. */
export function applyPaths(fs: ImageFS, entries: readonly PathInput[], time: StepTime): void {
  entries.forEach((entry, i) => {
    const label = `paths[${i}] (${entry.type} ${entry.path})`;
    const attrs = checkEntry(entry, label);
    const path = imagePath(entry.path, 'path', label, entry.at);
    inContext(label, entry.at, () => {
      switch (entry.type) {
        case 'directory':
          return makeDirectory(fs, path, attrs, entry, label, time.mtime);
        case 'empty-file':
          return emptyFile(fs, path, attrs, entry, label, time.mtime);
        case 'hardlink':
          return hardlink(
            fs,
            path,
            imagePath(entry.source!, 'source', label, entry.at),
            attrs,
            entry,
            label,
            time.mtime,
          );
        case 'symlink':
          return symlink(fs, path, entry.source!, attrs, entry, label, time.mtime);
        case 'permissions':
          return permissions(fs, path, attrs, entry, label);
      }
    });
  });
}

function checkEntry(e: PathInput, label: string): Attrs {
  if (typeof e.path !== 'string' || e.path === '') {
    throw stepError(
      'PATHS_BAD_PATH',
      `${label}: path is empty`,
      e.at,
      'give the path in the image, e.g. /app',
    );
  }
  if (!(PATH_TYPES as readonly string[]).includes(e.type)) {
    throw stepError(
      'PATHS_BAD_TYPE',
      `${label}: unknown type ${JSON.stringify(e.type)}`,
      e.at,
      `use one of ${PATH_TYPES.join(', ')}`,
    );
  }
  if (
    e.permissions !== undefined &&
    (!Number.isInteger(e.permissions) || e.permissions < 0 || e.permissions > 0o7777)
  ) {
    throw stepError(
      'PATHS_BAD_MODE',
      `${label}: permissions ${e.permissions} is not a mode`,
      e.at,
      'write the mode in octal, from 0o0 to 0o7777 (e.g. 0o755)',
    );
  }
  for (const [what, v] of [
    ['uid', e.uid],
    ['gid', e.gid],
  ] as const) {
    if (v !== undefined && (!Number.isInteger(v) || v < 0 || v > MAX_ID)) {
      throw stepError(
        'PATHS_BAD_ID',
        `${label}: ${what} ${v} is not a valid id`,
        e.at,
        `use a whole number from 0 to ${MAX_ID}`,
      );
    }
  }
  const linky = e.type === 'symlink' || e.type === 'hardlink';
  if (linky && (e.source === undefined || e.source === '')) {
    throw stepError('PATHS_NO_SOURCE', `${label}: a ${e.type} needs a source (the link target)`, e.at);
  }
  if (!linky && e.source !== undefined) {
    throw stepError(
      'PATHS_UNUSED_FIELD',
      `${label}: source is only used by symlink and hardlink entries`,
      e.at,
      'remove it',
    );
  }
  if (e.source?.includes('\0'))
    throw stepError('PATHS_BAD_PATH', `${label}: source must not contain NUL`, e.at);
  if (e.recursive && e.type !== 'directory' && e.type !== 'permissions') {
    throw stepError(
      'PATHS_UNUSED_FIELD',
      `${label}: recursive applies only to directory and permissions entries`,
      e.at,
      'remove it',
    );
  }
  const owner = e.uid === undefined && e.gid === undefined ? undefined : { uid: e.uid ?? 0, gid: e.gid ?? 0 };
  return { mode: e.permissions, owner };
}

/** The clean image path of a config path; `..` is refused (it could only be meant to leave the image). */
function imagePath(p: string, what: string, label: string, at: SourceLocation | undefined): string {
  if (p.includes('\0')) throw stepError('PATHS_BAD_PATH', `${label}: ${what} must not contain NUL`, at);
  let depth = 0;
  let outside = false;
  for (const seg of p.split('/')) {
    if (seg === '..') depth--;
    else if (seg !== '' && seg !== '.') depth++;
    if (depth < 0) outside = true;
  }
  if (p.split('/').includes('..')) {
    throw stepError(
      'PATHS_OUTSIDE_IMAGE',
      outside
        ? `${label}: ${what} ${JSON.stringify(p)} is outside the image`
        : `${label}: ${what} ${JSON.stringify(p)} contains ".."`,
      at,
      'write the path from the image root without ".." (e.g. /usr/bin/tool)',
    );
  }
  return cleanPath(p);
}

function setAttrs(node: FsNode, attrs: Attrs): void {
  if (attrs.mode !== undefined && node.type !== 'symlink') node.mode = attrs.mode;
  if (attrs.owner) {
    node.uid = attrs.owner.uid;
    node.gid = attrs.owner.gid;
  }
}

/** Mode and owner for every entry below the directory `dir` (canonical), not following symlinks. */
function applyBelow(fs: ImageFS, dir: string, attrs: Attrs): void {
  for (const [, node] of fs.walk(dir)) setAttrs(node, attrs);
}

/** Creates `path`'s missing parents (0755 root) and returns the canonical path to create `path` at. */
function placeFor(fs: ImageFS, path: string, mtime: number): string {
  const parent = ensureDir(fs, parentOf(path), mtime);
  return joinPath(parent, baseName(path));
}

function makeDirectory(
  fs: ImageFS,
  path: string,
  attrs: Attrs,
  e: PathInput,
  label: string,
  mtime: number,
): void {
  const node = fs.stat(path);
  let canonical: string;
  if (node === undefined) {
    refuseDangling(fs, path, e, label);
    const at = path === '' ? '' : placeFor(fs, path, mtime);
    fs.put(at, {
      type: 'directory',
      mode: attrs.mode ?? 0o755,
      uid: attrs.owner?.uid ?? 0,
      gid: attrs.owner?.gid ?? 0,
      mtime,
      size: 0,
    });
    canonical = at;
  } else {
    if (node.type !== 'directory') {
      throw stepError(
        'PATHS_EXISTS',
        `${label}: ${show(path)} exists and is a ${node.type}, not a directory`,
        e.at,
        'choose another path, or remove the package file first',
      );
    }
    setAttrs(node, attrs);
    canonical = fs.resolve(path, true)!;
  }
  if (e.recursive) applyBelow(fs, canonical, attrs);
}

function refuseDangling(fs: ImageFS, path: string, e: PathInput, label: string): void {
  const link = fs.lstat(path);
  if (link?.type === 'symlink') {
    throw stepError(
      'PATHS_DANGLING_SYMLINK',
      `${label}: ${show(path)} is a symlink to ${link.linkname}, which does not exist`,
      e.at,
      'create the link target first, or use another path',
    );
  }
}

function emptyFile(
  fs: ImageFS,
  path: string,
  attrs: Attrs,
  e: PathInput,
  label: string,
  mtime: number,
): void {
  if (path === '') throw stepError('PATHS_EXISTS', `${label}: the image root is a directory`, e.at);
  const node = fs.stat(path);
  if (node !== undefined) {
    if (node.type !== 'file') {
      throw stepError(
        'PATHS_EXISTS',
        `${label}: ${show(path)} exists and is a ${node.type}, not a file`,
        e.at,
      );
    }
    // truncate in place: every hard link to the file sees it, as with O_TRUNC
    node.size = 0;
    node.content = undefined;
    node.contentId = undefined;
    node.sha1 = undefined;
    node.mtime = mtime;
    setAttrs(node, attrs);
    return;
  }
  let at: string;
  if (fs.lstat(path)?.type === 'symlink') {
    // open(O_CREAT) through a dangling symlink creates its target, if the target's directory exists
    const target = fs.resolve(path, true);
    if (target === undefined || fs.lstat(parentOf(target))?.type !== 'directory')
      refuseDangling(fs, path, e, label);
    at = target!;
  } else {
    at = placeFor(fs, path, mtime);
  }
  fs.put(at, {
    type: 'file',
    mode: attrs.mode ?? 0o644,
    uid: attrs.owner?.uid ?? 0,
    gid: attrs.owner?.gid ?? 0,
    mtime,
    size: 0,
  });
}

function hardlink(
  fs: ImageFS,
  path: string,
  source: string,
  attrs: Attrs,
  e: PathInput,
  label: string,
  mtime: number,
): void {
  if (path === '') throw stepError('PATHS_EXISTS', `${label}: the image root is a directory`, e.at);
  const src = fs.lstat(source);
  if (src === undefined) {
    throw stepError(
      'PATHS_NO_SOURCE',
      `${label}: source ${show(source)} does not exist`,
      e.at,
      'link to a path that is in the image after install',
    );
  }
  if (src.type === 'directory') {
    throw stepError(
      'PATHS_SOURCE_IS_DIR',
      `${label}: source ${show(source)} is a directory; directories cannot be hard-linked`,
      e.at,
      'use type: symlink',
    );
  }
  const existing = fs.lstat(path);
  if (existing?.type === 'directory') {
    throw stepError(
      'PATHS_EXISTS',
      `${label}: ${show(path)} is a directory; a hard link cannot replace it`,
      e.at,
    );
  }
  if (existing !== undefined && existing === src) return void applyLinkAttrs(fs, path, src, attrs);
  if (existing !== undefined) fs.remove(path);
  fs.link(placeFor(fs, path, mtime), source);
  applyLinkAttrs(fs, path, src, attrs);
}

function applyLinkAttrs(fs: ImageFS, path: string, node: FsNode, attrs: Attrs): void {
  if (node.type === 'symlink') {
    if (attrs.owner) setAttrs(node, { owner: attrs.owner });
    const target = fs.stat(path);
    if (target && attrs.mode !== undefined && target.type !== 'symlink') target.mode = attrs.mode;
    return;
  }
  setAttrs(node, attrs);
}

function symlink(
  fs: ImageFS,
  path: string,
  source: string,
  attrs: Attrs,
  e: PathInput,
  label: string,
  mtime: number,
): void {
  if (path === '') throw stepError('PATHS_EXISTS', `${label}: the image root already exists`, e.at);
  const existing = fs.lstat(path);
  if (existing !== undefined) {
    const what = existing.type === 'symlink' ? `a symlink to ${existing.linkname}` : `a ${existing.type}`;
    throw stepError(
      'PATHS_EXISTS',
      `${label}: ${show(path)} already exists (${what})`,
      e.at,
      'choose another path; a symlink never replaces an existing entry',
    );
  }
  const at = placeFor(fs, path, mtime);
  const node: FsNode = {
    type: 'symlink',
    mode: 0o777,
    uid: attrs.owner?.uid ?? 0,
    gid: attrs.owner?.gid ?? 0,
    mtime,
    size: 0,
    linkname: source,
  };
  fs.put(at, node);
  if (attrs.mode !== undefined) {
    const target = fs.stat(at);
    if (target !== undefined) target.mode = attrs.mode;
  }
}

function permissions(fs: ImageFS, path: string, attrs: Attrs, e: PathInput, label: string): void {
  if (attrs.mode === undefined && attrs.owner === undefined) {
    throw stepError(
      'PATHS_NOTHING_TO_DO',
      `${label}: nothing to change`,
      e.at,
      'set permissions, uid or gid (or remove the entry)',
    );
  }
  const node = fs.stat(path);
  if (node === undefined) {
    const dangling = fs.lstat(path);
    throw stepError(
      'PATHS_NOT_FOUND',
      dangling
        ? `${label}: ${show(path)} is a symlink to ${dangling.linkname}, which does not exist`
        : `${label}: ${show(path)} does not exist`,
      e.at,
      'create it first (an earlier paths entry or a package), or fix the path',
    );
  }
  setAttrs(node, attrs);
  if (e.recursive && node.type === 'directory') applyBelow(fs, fs.resolve(path, true)!, attrs);
}
