/**
 * The files most tools expect in an image, checked once it is complete. apko warns when /etc/passwd,
 * /etc/group or /etc/os-release is missing and builds anyway; so does lading, saying what each one is for and
 * which package provides it (on Alpine; Wolfi's wolfi-baselayout provides all three).
 */
import type { ImageFS } from '../../fs/tree.ts';

const EXPECTED: { path: string; why: string; provider: string }[] = [
  {
    path: 'etc/passwd',
    why: 'user names (run-as, `docker run --user NAME`) cannot be resolved',
    provider: 'alpine-baselayout-data',
  },
  { path: 'etc/group', why: 'group names cannot be resolved', provider: 'alpine-baselayout-data' },
  {
    path: 'etc/os-release',
    why: 'scanners cannot tell the distribution, and the SBOM names its packages pkg:apk/unknown/…',
    provider: 'alpine-release',
  },
];

/** One warning per expected file the image lacks (a symlink counts when it resolves to a file). */
export function missingExpectedFiles(fs: ImageFS): string[] {
  return EXPECTED.filter((e) => fs.stat(e.path)?.type !== 'file').map(
    (e) =>
      `the image has no /${e.path}: ${e.why} (add a package that provides it, e.g. ${e.provider} on Alpine or wolfi-baselayout on Wolfi)`,
  );
}
