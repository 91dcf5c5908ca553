/**
 * `include:` merge rules, as apko: the including file wins for single values (taken from the base only when
 * unset or empty), lists are concatenated base first, maps merge with the including file winning per key,
 * and `vcs-url` is never inherited.
 */
import type { RawConfig } from './schema.ts';

type Contents = NonNullable<RawConfig['contents']>;
type Accounts = NonNullable<RawConfig['accounts']>;

const isUnset = (v: unknown): boolean => v === undefined || v === '' || (Array.isArray(v) && v.length === 0);

function concat<T>(base: T[] | undefined, top: T[] | undefined): T[] | undefined {
  if (base === undefined && top === undefined) return undefined;
  return [...(base ?? []), ...(top ?? [])];
}

function mergeMaps(
  base: Record<string, string> | undefined,
  top: Record<string, string> | undefined,
): Record<string, string> | undefined {
  if (base === undefined) return top;
  if (top === undefined) return { ...base };
  return { ...base, ...top };
}

function isEmptyEntrypoint(e: RawConfig['entrypoint']): boolean {
  if (e === undefined) return true;
  return (
    isUnset(e.type) &&
    isUnset(e.command) &&
    isUnset(e['shell-fragment']) &&
    (e.services === undefined || Object.keys(e.services).length === 0)
  );
}

function mergeContents(base: Contents | undefined, top: Contents | undefined): Contents | undefined {
  if (base === undefined) return top;
  if (top === undefined) return { ...base };
  const out: Contents = {};
  const lists = [
    'build_repositories',
    'runtime_repositories',
    'repositories',
    'keyring',
    'packages',
  ] as const;
  for (const k of lists) {
    const v = concat(base[k], top[k]);
    if (v !== undefined) out[k] = v;
  }
  const keys = concat(base.runtime_keyring, top.runtime_keyring);
  if (keys !== undefined) out.runtime_keyring = keys;
  const baseimage = top.baseimage ?? base.baseimage;
  if (baseimage !== undefined) out.baseimage = baseimage;
  return out;
}

function mergeAccounts(base: Accounts | undefined, top: Accounts | undefined): Accounts | undefined {
  if (base === undefined) return top;
  if (top === undefined) return { ...base };
  const out: Accounts = {};
  const runAs = isUnset(top['run-as']) ? base['run-as'] : top['run-as'];
  if (runAs !== undefined) out['run-as'] = runAs;
  const users = concat(base.users, top.users);
  if (users !== undefined) out.users = users;
  const groups = concat(base.groups, top.groups);
  if (groups !== undefined) out.groups = groups;
  return out;
}

/** `top` with `base` (an included file, itself already merged) underneath. Neither input is changed. */
export function mergeInclude(base: RawConfig, top: RawConfig): RawConfig {
  const out: RawConfig = { ...top };
  const set = <K extends keyof RawConfig>(key: K, value: RawConfig[K] | undefined) => {
    if (value === undefined) delete out[key];
    else out[key] = value;
  };
  for (const key of [
    'cmd',
    'stop-signal',
    'work-dir',
    'archs',
    'layering',
    'format',
    'certificates',
  ] as const) {
    if (isUnset(top[key])) set(key, base[key] as never);
  }
  if (isEmptyEntrypoint(top.entrypoint)) set('entrypoint', base.entrypoint);
  set('contents', mergeContents(base.contents, top.contents));
  set('accounts', mergeAccounts(base.accounts, top.accounts));
  set('environment', mergeMaps(base.environment, top.environment));
  set('annotations', mergeMaps(base.annotations, top.annotations));
  set('paths', concat(base.paths, top.paths));
  set('volumes', concat(base.volumes, top.volumes));
  return out;
}
