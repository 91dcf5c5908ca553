/**
 * apk's apk_dep_is_materialized for `replaces` entries: does `dep` (e.g. `busybox`, `foo<2`) name
 * this package (and, when it has a version constraint, accept its version)?
 */
import type { PackageInfo } from '../apk/types.ts';

export type VersionMatcher = (dep: string, version: string) => boolean;

let matchVersion: VersionMatcher = () => true;

/** Installs the version-constraint check (from the dependency module) used for versioned replaces. */
export function setReplacesVersionMatcher(m: VersionMatcher): void {
  matchVersion = m;
}

export function satisfiesReplaces(dep: string, pkg: PackageInfo): boolean {
  const m = /^([^<>=~!]+)(.*)$/.exec(dep);
  if (m === null) return false;
  const name = m[1]!.split('@')[0];
  if (name !== pkg.name) return false;
  return m[2] === '' || matchVersion(dep, pkg.version);
}
