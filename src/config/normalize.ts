/**
 * Merged raw config → ImageConfig: defaults filled in, names normalised, and the rules that span fields or
 * files (duplicates across includes, base-image restrictions, service bundles) checked with locations.
 */

import { posix } from 'node:path';
import { sortArchs, tryParseArch } from '../platform/arch.ts';
import { parseRepositoryRef } from '../repo/ref.ts';
import { LadingError } from '../util/errors.ts';
import type { ConfigProblem, ConfigWarning, SourceLocation } from './problems.ts';
import type { RawConfig } from './schema.ts';
import { splitWords } from './shlex.ts';
import { sortedRecord } from './text.ts';
import type { ImageConfig, NamedPem, PathMutation } from './types.ts';
import type { ParsedYaml } from './yaml-source.ts';

/** What apko runs for `entrypoint.type: service-bundle`. */
export const S6_COMMAND = '/bin/s6-svscan /sv';

/** Finds where merged values came from, across the config and its includes (config first). */
export class Locator {
  private readonly files: { raw: RawConfig; parsed: ParsedYaml; file: string }[];

  constructor(files: { raw: RawConfig; parsed: ParsedYaml; file: string }[]) {
    this.files = files;
  }

  /** Where an object or list produced by the YAML reader starts. */
  of(value: object): SourceLocation | undefined {
    for (const f of this.files) {
      const at = f.parsed.origins.get(value);
      if (at) return at;
    }
    return undefined;
  }

  /** Where `key` of a produced object is written. */
  keyOf(value: object, key: string): SourceLocation | undefined {
    for (const f of this.files) {
      const at = f.parsed.keyOrigins.get(value)?.get(key);
      if (at) return at;
    }
    return undefined;
  }

  /** Where a top-level field path (e.g. ['contents', 'baseimage']) is first written, config first. */
  field(path: readonly string[]): SourceLocation | undefined {
    for (const f of this.files) {
      let obj: unknown = f.raw;
      for (let i = 0; i < path.length - 1 && obj !== undefined; i++) {
        obj = (obj as Record<string, unknown>)[path[i]!];
      }
      if (obj !== null && typeof obj === 'object') {
        const at = f.parsed.keyOrigins.get(obj)?.get(path.at(-1)!);
        if (at) return at;
      }
    }
    return undefined;
  }

  /** The config file itself, line 1 (fallback). */
  top(): SourceLocation {
    return { file: this.files[0]!.file, line: 1, column: 1 };
  }
}

export interface NormalizeResult {
  config: ImageConfig;
  problems: ConfigProblem[];
  warnings: ConfigWarning[];
}

const trimRepository = (r: string): string => r.replace(/\/+$/, '') || r;

/** `/a/b` for `a/b`, `/a//b/`, `/a/./b`; callers have rejected paths that climb above the root. */
/** The most package layers runtimes take beside the top layer (Docker stops at 125 layers; layers/plan.ts). */
export const PACKAGE_LAYERS_MAX = 124;

export function cleanImagePath(p: string): string {
  return posix.normalize(`/${p}`).replace(/(.)\/+$/, '$1');
}

/** Whether one world entry names package `name` (`s6`, `s6=2.1`, `s6>2`, `s6@edge`). */
function namesPackage(entry: string, name: string): boolean {
  return entry.split(/[=<>~@]/, 1)[0] === name;
}

export function normalizeConfig(raw: RawConfig, where: Locator): NormalizeResult {
  const problems: ConfigProblem[] = [];
  const warnings: ConfigWarning[] = [];
  const at = (loc: SourceLocation | undefined) => loc ?? where.top();
  const c = raw.contents ?? {};

  const config: ImageConfig = {
    contents: {
      repositories: (c.repositories ?? []).map(trimRepository),
      buildRepositories: (c.build_repositories ?? []).map(trimRepository),
      runtimeRepositories: (c.runtime_repositories ?? []).map(trimRepository),
      keyring: [...(c.keyring ?? [])],
      runtimeKeyring: (c.runtime_keyring ?? []).map((k) => ({ name: k.name, content: k.content })),
      packages: [...(c.packages ?? [])],
      ...(c.baseimage
        ? {
            baseimage: {
              image: c.baseimage.image,
              ...(c.baseimage.apkindex === undefined ? {} : { apkindex: c.baseimage.apkindex }),
            },
          }
        : {}),
    },
    entrypoint: { services: sortedRecord(raw.entrypoint?.services) },
    accounts: { users: [], groups: [] },
    archs: sortArchs((raw.archs ?? []).map((a) => tryParseArch(a)!)),
    environment: sortedRecord(raw.environment),
    paths: [],
    annotations: sortedRecord(raw.annotations),
    volumes: [...(raw.volumes ?? [])],
    certificates: {
      additional: (raw.certificates?.additional ?? []).map((k) => ({ name: k.name, content: k.content })),
      providers: [...(raw.certificates?.providers ?? [])],
    },
    format: 'tar',
  };
  const optional = <K extends 'cmd' | 'stopSignal' | 'workDir' | 'vcsUrl'>(
    key: K,
    value: string | undefined,
  ) => {
    if (value !== undefined && value !== '') config[key] = value;
  };
  optional('cmd', raw.cmd);
  optional('stopSignal', raw['stop-signal']);
  optional('workDir', raw['work-dir']);
  optional('vcsUrl', raw['vcs-url']);

  // Entrypoint
  const e = raw.entrypoint;
  if (e?.command) config.entrypoint.command = e.command;
  if (e?.['shell-fragment']) config.entrypoint.shellFragment = e['shell-fragment'];
  if (e?.command && e['shell-fragment']) {
    warnings.push({
      ...at(where.field(['entrypoint', 'command'])),
      message: 'entrypoint has both command and shell-fragment; shell-fragment is used',
    });
  }
  if (e?.type === 'service-bundle') {
    config.entrypoint.type = 'service-bundle';
    if ((e.command && e.command !== S6_COMMAND) || e['shell-fragment']) {
      warnings.push({
        ...at(where.field(['entrypoint', 'type'])),
        message:
          'entrypoint.type service-bundle runs /bin/s6-svscan /sv; the command/shell-fragment given is ignored',
      });
    }
    config.entrypoint.command = S6_COMMAND;
    delete config.entrypoint.shellFragment;
    if (!config.contents.packages.some((p) => namesPackage(p, 's6'))) config.contents.packages.push('s6');
  } else if (Object.keys(config.entrypoint.services).length > 0) {
    warnings.push({
      ...at(where.field(['entrypoint', 'services'])),
      message: 'entrypoint.services are written to /sv but nothing starts them without type: service-bundle',
    });
  }

  checkWords(
    config.entrypoint.type ? undefined : config.entrypoint.command,
    ['entrypoint', 'command'],
    where,
    problems,
    warnings,
  );
  checkWords(config.cmd, ['cmd'], where, problems, warnings);

  // Accounts
  const runAs = raw.accounts?.['run-as'];
  if (runAs !== undefined && runAs !== '') config.accounts.runAs = runAs;
  const userNames = new Map<string, SourceLocation | undefined>();
  for (const u of raw.accounts?.users ?? []) {
    const loc = where.of(u);
    if (userNames.has(u.username)) {
      problems.push({
        ...at(loc),
        message: `user ${JSON.stringify(u.username)} is defined twice`,
        hint: duplicateHint(userNames.get(u.username)),
      });
    }
    userNames.set(u.username, loc);
    config.accounts.users.push({
      username: u.username,
      uid: u.uid,
      gid: u.gid ?? u.uid,
      shell: u.shell || '/bin/sh',
      homedir: u.homedir || `/home/${u.username}`,
    });
  }
  const groupNames = new Map<string, SourceLocation | undefined>();
  for (const g of raw.accounts?.groups ?? []) {
    const loc = where.of(g);
    if (groupNames.has(g.groupname)) {
      problems.push({
        ...at(loc),
        message: `group ${JSON.stringify(g.groupname)} is defined twice`,
        hint: duplicateHint(groupNames.get(g.groupname)),
      });
    }
    groupNames.set(g.groupname, loc);
    config.accounts.groups.push({ groupname: g.groupname, gid: g.gid, members: [...(g.members ?? [])] });
  }

  // Repository entries as the build will read them (`@tag` names, URLs), so a bad one points at the config
  for (const key of ['repositories', 'build_repositories', 'runtime_repositories'] as const) {
    (raw.contents?.[key] ?? []).forEach((entry, i) => {
      try {
        parseRepositoryRef(trimRepository(entry));
      } catch (e) {
        if (!(e instanceof LadingError)) throw e;
        problems.push({
          ...at(where.field(['contents', key])),
          message: `contents.${key}[${i}]: ${e.message}`,
          hint: e.hint,
        });
      }
    });
  }

  checkUniqueNames(raw.contents?.runtime_keyring ?? [], 'runtime_keyring', where, problems);
  checkUniqueNames(raw.certificates?.additional ?? [], 'certificate', where, problems);

  // Paths
  for (const m of raw.paths ?? []) {
    const mutation: PathMutation = {
      path: cleanImagePath(m.path),
      type: m.type,
      recursive: m.recursive ?? false,
    };
    if (m.uid !== undefined || m.gid !== undefined) {
      mutation.uid = m.uid ?? 0;
      mutation.gid = m.gid ?? 0;
    }
    if (m.permissions !== undefined) mutation.permissions = m.permissions;
    if (m.source !== undefined) {
      if (m.type === 'hardlink') mutation.source = cleanImagePath(m.source);
      else if (m.type === 'symlink') mutation.source = m.source;
      else {
        warnings.push({
          ...at(where.keyOf(m, 'source') ?? where.of(m)),
          message: `paths: source is only used by symlink and hardlink, not ${m.type}`,
        });
      }
    }
    if (m.recursive && m.type !== 'directory' && m.type !== 'permissions') {
      warnings.push({
        ...at(where.keyOf(m, 'recursive') ?? where.of(m)),
        message: `paths: recursive only applies to directory and permissions, not ${m.type}`,
      });
    }
    config.paths.push(mutation);
  }

  // Layering
  const l = raw.layering;
  if (l !== undefined && (l.strategy !== undefined || l.budget !== undefined)) {
    if (l.strategy === undefined) {
      problems.push({
        ...at(where.field(['layering'])),
        message: 'layering.budget needs layering.strategy (origin or package)',
      });
    } else {
      // package: as many package layers as runtimes take (125 layers in all, the top one included)
      const budget = l.budget ?? (l.strategy === 'package' ? PACKAGE_LAYERS_MAX : 0);
      config.layering = { strategy: l.strategy, budget };
    }
  }

  // Base image: apko allows only contents, archs and include alongside it, and no layering.
  if (c.baseimage) {
    const forbidden = [
      'entrypoint',
      'cmd',
      'stop-signal',
      'work-dir',
      'accounts',
      'environment',
      'paths',
      'annotations',
      'layering',
    ] as const;
    for (const key of forbidden) {
      const v = raw[key];
      const set = v !== undefined && v !== '' && !(typeof v === 'object' && Object.keys(v).length === 0);
      if (set) {
        problems.push({
          ...at(where.field([key]) ?? where.field(['contents', 'baseimage'])),
          message: `${key} cannot be used with contents.baseimage (only contents, archs and include can)`,
        });
      }
    }
  }

  return { config, problems, warnings };
}

/** `command` and `cmd` must split into words; shell syntax in them is almost always a mistake. */
function checkWords(
  value: string | undefined,
  field: string[],
  where: Locator,
  problems: ConfigProblem[],
  warnings: ConfigWarning[],
): void {
  if (value === undefined) return;
  const loc = where.field(field) ?? where.top();
  const name = field.join('.');
  try {
    const { words, shellSyntax } = splitWords(value);
    if (words.length === 0) {
      problems.push({ ...loc, message: `${name} holds no words`, hint: `remove ${name} or give a command` });
    } else if (shellSyntax) {
      warnings.push({
        ...loc,
        message: `${name} is not run by a shell, so $variables, pipes, redirections and ; are passed literally`,
        hint: 'use entrypoint.shell-fragment to run it with /bin/sh -c',
      });
    }
  } catch (e) {
    problems.push({
      ...loc,
      message: `${name} ${(e as Error).message}`,
      hint: 'quote with \'…\' or "…", or escape with \\',
    });
  }
}

function duplicateHint(first: SourceLocation | undefined): string | undefined {
  return first ? `first defined at ${first.file}:${first.line}:${first.column}` : undefined;
}

function checkUniqueNames(
  entries: NamedPem[],
  what: string,
  where: Locator,
  problems: ConfigProblem[],
): void {
  const seen = new Map<string, SourceLocation | undefined>();
  for (const entry of entries) {
    const loc = where.of(entry);
    if (seen.has(entry.name)) {
      problems.push({
        ...(loc ?? where.top()),
        message: `${what} name ${JSON.stringify(entry.name)} is used twice`,
        hint: duplicateHint(seen.get(entry.name)),
      });
    }
    seen.set(entry.name, loc);
  }
}
