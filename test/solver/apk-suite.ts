/**
 * Adapter for apk-tools' solver test suite (test/*.test in the 2.x format): turns a case's @ARGS into
 * repositories, an installed database, a world and solver flags the way apk's applets do
 * (app_add.c, app_del.c, app_upgrade.c, app_fix.c), runs lading's resolver and renders apk's output.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseApkIndexText } from '../../src/apk/apkindex-text.ts';
import { parseDependency } from '../../src/apk/dependency.ts';
import type { PackageInfo } from '../../src/apk/types.ts';
import { compareVersions } from '../../src/apk/version.ts';
import type { InstalledPackage, SolverRepository } from '../../src/solver/package-index.ts';
import { buildPackageIndex, type ResolveOptions, resolve } from '../../src/solver/resolve.ts';
import {
  type NameFlags,
  SOLVERF_AVAILABLE,
  SOLVERF_IGNORE_UPGRADE,
  SOLVERF_LATEST,
  SOLVERF_REINSTALL,
  SOLVERF_UPGRADE,
} from '../../src/solver/state.ts';
import { isLadingError } from '../../src/util/errors.ts';

export interface SuiteCase {
  name: string;
  args: string[];
  expect: string[];
  /** Other sections (lading's own cases: @APK214, @APK3_INSTALL_IF, @NOTE), by name, as lines. */
  sections: Record<string, string[]>;
  /** Starts from an empty installed database (and is not a self-upgrade). */
  fresh: boolean;
}

/** Splits @ARGS lines into words, honouring double quotes. */
function words(lines: string[]): string[] {
  const out: string[] = [];
  for (const line of lines) {
    for (const m of line.matchAll(/"([^"]*)"|(\S+)/g)) out.push(m[1] ?? m[2]!);
  }
  return out;
}

export function readCase(dir: string, file: string): SuiteCase {
  const text = readFileSync(join(dir, file), 'utf8');
  const sections: Record<string, string[]> = {};
  let section: string[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('@')) {
      section = sections[line.trim()] ??= [];
      continue;
    }
    section.push(line);
  }
  const argv = words(sections['@ARGS'] ?? []);
  const expect = (sections['@EXPECT'] ?? []).filter((l) => l.trim() !== '');
  delete sections['@ARGS'];
  delete sections['@EXPECT'];
  return {
    name: file.replace(/\.test$/, ''),
    args: argv,
    expect,
    sections,
    fresh: !argv.includes('--test-instdb') && !argv.includes('--self-upgrade-only'),
  };
}

/** apk appends repeated `p:`/`D:`/`i:`/`r:` lines of one record; the shared text parser keeps the last. */
function joinRepeatedFields(text: string): string {
  const out: string[] = [];
  let seen = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '') {
      seen = new Map();
      out.push(line);
      continue;
    }
    const key = line.slice(0, 2);
    const at = seen.get(key);
    if (at !== undefined && 'DpirD'.includes(key[0]!) && key[1] === ':') {
      out[at] += ` ${line.slice(2)}`;
      continue;
    }
    seen.set(key, out.length);
    out.push(line);
  }
  return out.join('\n');
}

export function readIndex(dir: string, file: string): PackageInfo[] {
  return parseApkIndexText(joinRepeatedFields(readFileSync(join(dir, file), 'utf8')), file);
}

export interface RunResult {
  /** apk-style output lines (without the final "OK:" line). */
  lines: string[];
  error?: string;
}

const VIRTUAL_VERSION = '20190603.131426'; // apk's test mode clock

/**
 * Runs one case through lading, rendering what apk would print. `apk214`: decide as apk-tools 2.14.4 does
 * (no apk 3 behaviours, packages of other architectures kept); `apk3InstallIf`: with apk 3's negated install_if.
 */
export function runCase(
  dir: string,
  c: SuiteCase,
  { apk214 = false, apk3InstallIf = false } = {},
): RunResult {
  const repositories: SolverRepository[] = [];
  const repoPackages: PackageInfo[] = [];
  let installed: InstalledPackage[] = [];
  let world: string[] = [];
  const opts = new Set<string>();
  let applet = '';
  const appletArgs: string[] = [];
  let virtual: string | undefined;
  const a = c.args;
  for (let i = 0; i < a.length; i++) {
    const w = a[i]!;
    if (w === '--test-repo') {
      let spec = a[++i]!;
      let tag: string | undefined;
      // `!file` is apk's cache (always reachable); other test repositories count as remote.
      const remote = !spec.startsWith('!');
      if (!remote) spec = spec.slice(1);
      const colon = spec.indexOf(':');
      if (colon !== -1) {
        tag = spec.slice(0, colon);
        spec = spec.slice(colon + 1);
      }
      // the index goes in as text, through the resolver's own scanner
      const repo: SolverRepository = {
        repository: spec,
        text: readFileSync(join(dir, spec), 'utf8'),
        file: spec,
      };
      repoPackages.push(...readIndex(dir, spec));
      if (tag !== undefined) repo.tag = tag;
      if (remote && a.includes('--no-network')) repo.available = false;
      repositories.push(repo);
    } else if (w === '--test-instdb') {
      installed = readIndex(dir, a[++i]!).map((info) => {
        const s = info.extra.find(([k]) => k === 's');
        return s ? { info, tag: s[1] } : { info };
      });
    } else if (w === '--test-world') {
      world = a[++i]!.split(/\s+/).filter(Boolean);
    } else if (w === '-t' || w === '--virtual') {
      virtual = a[++i]!;
    } else if (w.startsWith('-')) {
      opts.add(w);
    } else if (applet === '') {
      applet = w;
    } else {
      appletArgs.push(w);
    }
  }

  const options: ResolveOptions = { width: 50, apk214, apk3InstallIf };
  let header: string | undefined;
  const nameFlags: NameFlags[] = [];
  const has = (...o: string[]) => o.some((x) => opts.has(x));
  if (has('--force', '--force-broken-world')) options.forceBrokenWorld = true;
  const withDep = (list: string[], entry: string) => {
    const name = parseDependency(entry).name;
    const at = list.findIndex((x) => parseDependency(x).name === name);
    if (at === -1) list.push(entry);
    else list[at] = entry;
  };

  if (applet === 'add') {
    const flags =
      (has('-u', '--upgrade') ? SOLVERF_UPGRADE : 0) | (has('-l', '--latest') ? SOLVERF_LATEST : 0);
    if (virtual !== undefined) {
      const depends: string[] = [];
      for (const arg of appletArgs) {
        if (parseDependency(arg).tag !== undefined) {
          return {
            lines: [],
            error: `'${arg}' is not a valid child dependency, format is name([<>~=]version)`,
          };
        }
        withDep(depends, arg);
      }
      const pkg: PackageInfo = {
        name: virtual,
        version: VIRTUAL_VERSION,
        installedSize: 0,
        depends,
        provides: [],
        installIf: [],
        replaces: [],
        extra: [],
      };
      repositories.push({ repository: '(virtual)', packages: [pkg] });
      repoPackages.push(pkg);
      withDep(world, `${virtual}=${VIRTUAL_VERSION}`);
      nameFlags.push({ name: virtual, flags, inheritable: flags });
    } else {
      for (const arg of appletArgs) {
        withDep(world, arg);
        nameFlags.push({ name: parseDependency(arg).name, flags, inheritable: flags });
      }
    }
  } else if (applet === 'del') {
    const names = new Set(appletArgs);
    world = world.filter((w) => !names.has(parseDependency(w).name));
  } else if (applet === 'upgrade' && has('--self-upgrade-only')) {
    // apk_do_self_upgrade: only when a newer apk-tools is available, upgrade it with minimal other changes
    const current = installed.find((p) => p.info.name === 'apk-tools');
    const newer = repoPackages.some(
      (p) => p.name === 'apk-tools' && current && compareVersions(p.version, current.info.version) > 0,
    );
    if (!newer) return { lines: [] };
    options.selfUpgrade = true;
    nameFlags.push({ name: 'apk-tools', flags: SOLVERF_UPGRADE, inheritable: 0 });
    header = 'Upgrading critical system libraries and apk-tools:';
  } else if (applet === 'upgrade') {
    let flags =
      SOLVERF_UPGRADE |
      (has('-a', '--available') ? SOLVERF_AVAILABLE : 0) |
      (has('--latest', '-l') ? SOLVERF_LATEST : 0);
    if (has('--prune')) {
      const inRepos = new Set<string>();
      for (const p of repoPackages) {
        inRepos.add(p.name);
        for (const x of p.provides) inRepos.add(x.split('=')[0]!);
      }
      world = world.filter((w) => inRepos.has(parseDependency(w).name));
    }
    if (appletArgs.length > 0) {
      if (!has('--ignore')) flags &= ~SOLVERF_UPGRADE;
      for (const name of appletArgs)
        nameFlags.push({
          name,
          flags: has('--ignore') ? SOLVERF_IGNORE_UPGRADE : SOLVERF_UPGRADE,
          inheritable: 0,
        });
    }
    options.flags = flags;
  } else if (applet === 'fix') {
    let flags =
      (has('-r', '--reinstall') ? SOLVERF_REINSTALL : 0) | (has('-u', '--upgrade') ? SOLVERF_UPGRADE : 0);
    if (flags === 0) flags = SOLVERF_REINSTALL;
    for (const name of appletArgs)
      nameFlags.push({ name, flags, inheritable: has('-d', '--depends') ? flags : 0 });
  }
  // `apk add NAME…` on an empty world marks exactly the world's names, as the resolver does by default
  // (so that default is what these cases check); otherwise only the names the applet was given are marked
  const onlyAdded = applet === 'add' && virtual === undefined && world.length === appletArgs.length;
  if (!onlyAdded || nameFlags.some((f) => f.flags !== 0 || f.inheritable !== 0))
    options.nameFlags = nameFlags;

  const index = buildPackageIndex({ repositories, installed, arch: apk214 ? undefined : 'x86_64' });
  try {
    const r = resolve(index, world, options);
    const shown = r.changes.filter((ch) => ch.action !== 'keep');
    const lines = shown.map((ch, i) => {
      const status = `(${i + 1}/${shown.length})`;
      const pkg = ch.new ?? ch.old!;
      const name = ch.new?.tag ? `${pkg.name}@${ch.new.tag}` : pkg.name;
      switch (ch.action) {
        case 'install':
          return `${status} Installing ${name} (${pkg.version})`;
        case 'remove':
          return `${status} Purging ${name} (${pkg.version})`;
        case 'reinstall':
          return `${status} Reinstalling ${name} (${pkg.version})`;
        case 'repin':
          return `${status} Updating pinning ${name} (${pkg.version})`;
        default: {
          const cmp = compareVersions(ch.new!.version, ch.old!.version);
          const msg = cmp < 0 ? 'Downgrading' : cmp > 0 ? 'Upgrading' : 'Replacing';
          return `${status} ${msg} ${name} (${ch.old!.version} -> ${ch.new!.version})`;
        }
      }
    });
    return { lines: header && lines.length ? [header, ...lines] : lines };
  } catch (e) {
    if (!isLadingError(e)) throw e;
    return { lines: [], error: e.message };
  }
}

/** The expected lines without apk's summary and warnings. */
export function expectedLines(c: SuiteCase): { lines: string[]; error?: string } {
  const lines = c.expect.filter((l) => !l.startsWith('OK:') && !l.startsWith('WARNING:'));
  if (lines[0]?.startsWith('ERROR: ')) {
    return { lines: [], error: [lines[0].slice('ERROR: '.length), ...lines.slice(1)].join('\n') };
  }
  return { lines };
}

/**
 * The error tree as comparable data: each "  header:" with its labels and their (sorted) tokens, so that
 * wrapping and the order of tokens within a label do not matter (as the recorded oracle run normalised).
 */
export function normaliseTree(text: string): string {
  const out: string[] = [];
  let label = '';
  let tokens: string[] = [];
  const flush = () => {
    if (label) out.push(`${label} ${tokens.sort().join(' ')}`);
    label = '';
    tokens = [];
  };
  for (const line of text.split('\n')) {
    const m = /^ {4}(\S[^:]*:)(.*)$/.exec(line);
    if (/^ {2}\S/.test(line)) {
      flush();
      out.push(line.trim());
    } else if (m && !line.startsWith('     ')) {
      flush();
      label = m[1]!;
      tokens.push(...m[2]!.trim().split(/\s+/).filter(Boolean));
    } else {
      tokens.push(...line.trim().split(/\s+/).filter(Boolean));
    }
  }
  flush();
  return out.join('\n');
}
