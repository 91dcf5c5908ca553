/**
 * apk's apk_dep_is_materialized for `replaces` entries: does `dep` (e.g. `busybox`, `libcap<2.64-r1`) name
 * this package and accept its version?
 */
import { dependencySatisfiedBy, tryParseDependency } from '../apk/dependency.ts';
import type { PackageInfo } from '../apk/types.ts';

export function satisfiesReplaces(dep: string, pkg: PackageInfo): boolean {
  const d = tryParseDependency(dep);
  if (typeof d === 'string' || d.conflict || d.name !== pkg.name) return false;
  return dependencySatisfiedBy(d, { version: pkg.version, checksum: pkg.checksum });
}
