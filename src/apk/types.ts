/**
 * One package as described by an APKINDEX record, a .PKGINFO or an installed-DB stanza.
 * Dependency-like fields keep apk's text form (`so:libc.musl-x86_64.so.1`, `cmd:sh=1.2-r0`);
 * the dependency module parses them where they are needed.
 */
export interface PackageInfo {
  /** P: / pkgname */
  name: string;
  /** V: / pkgver */
  version: string;
  /** A: / arch (absent in some old or synthetic indexes) */
  arch?: string;
  /** C: `Q1` + base64(SHA-1 of the control gzip member) */
  checksum?: string;
  /** S: size of the .apk file in bytes */
  size?: number;
  /** I: / size — installed size in bytes */
  installedSize?: number;
  /** T: / pkgdesc */
  description?: string;
  /** U: / url */
  url?: string;
  /** L: / license */
  license?: string;
  /** o: / origin */
  origin?: string;
  /** m: / maintainer */
  maintainer?: string;
  /** t: / builddate (unix seconds) */
  buildTime?: number;
  /** c: / commit */
  commit?: string;
  /** k: / provider_priority */
  providerPriority?: number;
  /** D: / depend (space separated in indexes, repeated in .PKGINFO) */
  depends: string[];
  /** p: / provides */
  provides: string[];
  /** i: / install_if */
  installIf: string[];
  /** r: / replaces */
  replaces: string[];
  /** q: / replaces_priority */
  replacesPriority?: number;
  /** Fields this version of lading does not interpret, in the order they appeared: [key, value]. */
  extra: [string, string][];
}

/** A package plus where it can be fetched from: the repository it was listed in. */
export interface RepositoryPackage extends PackageInfo {
  /** The repository as configured (URL or local path, without the `@tag ` prefix). */
  repository: string;
  /**
   * The repository tag the package is pinned to (apk's repository_tag, `s:` in the installed database): set
   * when it comes from a repository configured as `@tag repo` and was asked for with `@tag`.
   */
  tag?: string;
  /** Position of the repository in the configured order (0 = first). */
  repositoryIndex: number;
}

export function emptyPackage(name: string, version: string): PackageInfo {
  return { name, version, depends: [], provides: [], installIf: [], replaces: [], extra: [] };
}
