/**
 * The build steps around the installer, as pure functions over the image filesystem.
 *
 * Before install: `initApkDatabase` (what `apk add --initdb` creates).
 * After install: `installBusyboxLinks` is apk's trigger and `writeApkDatabase` its commit; then
 * `applyPostInstall` runs the config-driven steps in apko's order (it matters for overrides):
 * accounts → paths → certificates → CA checksum sidecars (when a bundle changed) → runtime keyring → s6
 * supervision tree → busybox links → device nodes → /etc/apk/repositories, and resolves `run-as` against the
 * final /etc/passwd; then warns about expected files the image lacks (/etc/passwd, /etc/group,
 * /etc/os-release, as apko does). apko's /etc/apko.json (after accounts) and ld.so.cache (after devices) are
 * not written here.
 */
import type { ImageFS } from '../../fs/tree.ts';
import { type AccountsInput, type AccountsResult, applyAccounts, resolveRunAs } from './accounts.ts';
import { ensureDeviceNodes, type RepositoryInput, writeRepositories } from './apk-db.ts';
import { type BusyboxResult, type InstalledPackageRef, installBusyboxLinks } from './busybox.ts';
import {
  type CertificatesInput,
  type CertificatesResult,
  installCertificates,
  writeCaChecksumSidecars,
} from './certificates.ts';
import type { SourceLocation, StepTime } from './common.ts';
import { missingExpectedFiles } from './expected-files.ts';
import { type RuntimeKeyInput, writeRuntimeKeyring } from './keyring.ts';
import { applyPaths, type PathInput } from './paths.ts';
import { writeSupervisionTree } from './s6.ts';

export * from './accounts.ts';
export * from './apk-db.ts';
export * from './busybox.ts';
export * from './certificates.ts';
export type { SourceLocation, StepTime } from './common.ts';
export * from './expected-files.ts';
export * from './keyring.ts';
export * from './paths.ts';
export * from './s6.ts';
export * from './time.ts';

export interface PostInstallInput extends StepTime {
  accounts?: AccountsInput & { runAs?: string; runAsAt?: SourceLocation };
  paths?: readonly PathInput[];
  certificates?: CertificatesInput;
  runtimeKeyring?: readonly RuntimeKeyInput[];
  /** `entrypoint.services`: s6 services by name, written to /sv/<name>/run. */
  services?: Readonly<Record<string, string>>;
  /** The installed packages (for the busybox links). */
  packages: readonly InstalledPackageRef[];
  /** The runtime repositories for /etc/apk/repositories (credentials are removed). */
  repositories?: readonly (string | RepositoryInput)[];
}

export interface PostInstallResult {
  accounts: AccountsResult;
  certificates: CertificatesResult;
  busybox: BusyboxResult;
  /** The OCI User (run-as resolved to numbers), or undefined. */
  user?: string;
  warnings: string[];
}

/** The config-driven steps after install, in apko's order. */
export function applyPostInstall(fs: ImageFS, input: PostInstallInput): PostInstallResult {
  const time = { mtime: input.mtime };
  const accounts = applyAccounts(fs, input.accounts ?? {}, time);
  applyPaths(fs, input.paths ?? [], time);
  const certificates = installCertificates(fs, input.certificates ?? {}, time);
  // apko writes the sidecars whenever a bundle exists; they only mean something when we changed a bundle,
  // and otherwise they would be files in the image that no package owns
  if (certificates.bundles.length > 0) writeCaChecksumSidecars(fs, time);
  writeRuntimeKeyring(fs, input.runtimeKeyring ?? [], time);
  writeSupervisionTree(fs, input.services ?? {}, time);
  const busybox = installBusyboxLinks(fs, input.packages, time);
  ensureDeviceNodes(fs, time);
  writeRepositories(fs, input.repositories ?? [], time);
  const user = resolveRunAs(fs, input.accounts?.runAs, input.accounts?.runAsAt);
  return {
    accounts,
    certificates,
    busybox,
    user,
    warnings: [...certificates.warnings, ...busybox.warnings, ...missingExpectedFiles(fs)],
  };
}
