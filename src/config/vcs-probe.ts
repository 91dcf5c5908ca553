/**
 * `--vcs`: the config's git checkout as apko finds it (pkg/vcs/vcs.go): from the config file's directory up to
 * the working directory (never above it), the first directory that is a git repository; its `origin` remote's
 * first URL, with scp-style `git@host:org/repo` rewritten to `git+ssh://git@host/org/repo` and any userinfo
 * removed; and the commit `HEAD` names. The result is apko's `vcs-url` form, `URL@COMMIT`.
 *
 * The repository is read directly (`.git` directory or `gitdir:` file, `commondir` of linked worktrees,
 * `config`, `HEAD`, loose refs, `packed-refs`): no git binary is needed, as apko uses go-git. Anything missing
 * or unreadable means "no VCS information", never an error, as in apko.
 */
import { readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve, sep } from 'node:path';

interface GitDirs {
  /** HEAD and per-worktree refs. */
  gitDir: string;
  /** config, refs and packed-refs shared by every worktree. */
  commonDir: string;
}

/** The git files a probe read: the no-op build record checks them (a new commit changes the revision). */
export interface ProbedFiles {
  read: string[];
  /**
   * False when the answer also rests on a file's absence (a ref read from packed-refs: a later commit writes a
   * loose ref there), which a record cannot check.
   */
  recordable: boolean;
}

function reader(probed: ProbedFiles): (path: string) => string | undefined {
  return (path) => {
    try {
      const text = readFileSync(path, 'utf8');
      probed.read.push(path);
      return text;
    } catch {
      return undefined;
    }
  };
}

const isDir = (path: string): boolean => statSync(path, { throwIfNoEntry: false })?.isDirectory() ?? false;

/** The git directories of a work tree at `dir` (a `.git` directory, or a `.git` file saying `gitdir: …`). */
function gitDirsAt(dir: string, read: (path: string) => string | undefined): GitDirs | undefined {
  const dotGit = join(dir, '.git');
  let gitDir: string | undefined;
  if (isDir(dotGit)) gitDir = dotGit;
  else {
    const pointer = /^gitdir:\s*(.+?)\s*$/m.exec(read(dotGit) ?? '')?.[1];
    if (pointer) gitDir = isAbsolute(pointer) ? pointer : resolve(dir, pointer);
  }
  if (gitDir === undefined || read(join(gitDir, 'HEAD')) === undefined) return undefined;
  const common = read(join(gitDir, 'commondir'))?.trim();
  return { gitDir, commonDir: common ? resolve(gitDir, common) : gitDir };
}

/** The first URL of remote `name` in a git config file. */
export function remoteUrl(configText: string, name: string): string | undefined {
  let inRemote = false;
  for (const raw of configText.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const section = /^\[\s*([^\s\]"]+)(?:\s+"((?:[^"\\]|\\.)*)")?\s*\]/.exec(line);
    if (section) {
      inRemote = section[1]!.toLowerCase() === 'remote' && section[2]?.replace(/\\(.)/g, '$1') === name;
      continue;
    }
    if (!inRemote) continue;
    const kv = /^url\s*=\s*(.*)$/i.exec(line);
    if (kv) return unquote(kv[1]!);
  }
  return undefined;
}

function unquote(value: string): string {
  const v = value.replace(/\s+[#;].*$/, '').trim();
  return v.startsWith('"') && v.endsWith('"') && v.length >= 2 ? v.slice(1, -1).replace(/\\(.)/g, '$1') : v;
}

/** The commit a ref names: a loose ref file, else `packed-refs`; symbolic refs are followed. */
function resolveRef(
  dirs: GitDirs,
  ref: string,
  read: (path: string) => string | undefined,
  probed: ProbedFiles,
  depth = 0,
): string | undefined {
  if (depth > 10) return undefined;
  const text = (read(join(dirs.gitDir, ref)) ?? read(join(dirs.commonDir, ref)))?.trim();
  if (text !== undefined) {
    if (/^[0-9a-f]{40}([0-9a-f]{24})?$/.test(text)) return text;
    const symbolic = /^ref:\s*(\S+)$/.exec(text)?.[1];
    return symbolic ? resolveRef(dirs, symbolic, read, probed, depth + 1) : undefined;
  }
  probed.recordable = false;
  for (const line of (read(join(dirs.commonDir, 'packed-refs')) ?? '').split('\n')) {
    const m = /^([0-9a-f]{40}(?:[0-9a-f]{24})?) (\S+)$/.exec(line.trim());
    if (m && m[2] === ref) return m[1];
  }
  return undefined;
}

/**
 * apko's URL normalisation: a URL that does not parse (scp-like `user@host:path`) becomes
 * `git+ssh://user@host/path`; the userinfo is removed either way.
 */
export function normalizeRemoteUrl(url: string): string | undefined {
  // a local path is a URL to Go (a path without a scheme): kept as it is
  if (url.startsWith('/') || !url.includes(':')) return url;
  let text = url;
  if (!/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(url)) text = `git+ssh://${url.replace(':', '/')}`;
  let parsed: URL;
  try {
    parsed = new URL(text);
  } catch {
    return undefined;
  }
  parsed.username = '';
  parsed.password = '';
  return parsed.href;
}

/**
 * `URL@COMMIT` for the git checkout holding `startDir` (searched upwards, not above `topDir`); undefined when
 * there is none, it has no `origin`, or HEAD names no commit.
 */
export function probeVcsUrl(startDir: string, topDir: string): { vcsUrl?: string; files: ProbedFiles } {
  const files: ProbedFiles = { read: [], recordable: true };
  const read = reader(files);
  const top = resolve(topDir);
  let dir = resolve(startDir);
  for (;;) {
    // a directory that appears later (git init) would change the answer: only a found repository is recordable
    if (dir !== top && !dir.startsWith(top === sep ? top : `${top}${sep}`)) return { files };
    const dirs = gitDirsAt(dir, read);
    if (dirs) {
      const url = remoteUrl(read(join(dirs.commonDir, 'config')) ?? '', 'origin');
      const normalized = url === undefined ? undefined : normalizeRemoteUrl(url);
      if (normalized === undefined) return { files };
      // apko gives up when HEAD names no commit (a repository without commits)
      const commit = resolveRef(dirs, 'HEAD', read, files);
      return commit ? { vcsUrl: `${normalized}@${commit}`, files } : { files };
    }
    if (dir === top || dirname(dir) === dir) return { files };
    dir = dirname(dir);
  }
}
