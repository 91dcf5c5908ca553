/**
 * Architecture names: apko accepts both OCI (`amd64`, `arm/v7`) and apk (`x86_64`, `armv7`) spellings and
 * normalises them to the OCI form. Unlike apko, unknown names are errors (apko passes them through and the
 * build later fails on a missing repository directory).
 */
import { endianness } from 'node:os';
import { compareBytes } from '../util/compare.ts';
import { LadingError } from '../util/errors.ts';
import { suggest } from '../util/suggest.ts';

/** Canonical (OCI) architecture names, the nine apko knows. */
export const ARCHS = [
  '386',
  'amd64',
  'arm/v6',
  'arm/v7',
  'arm64',
  'loong64',
  'ppc64le',
  'riscv64',
  's390x',
] as const;
export type Arch = (typeof ARCHS)[number];

interface ArchInfo {
  apk: string;
  platform: OciPlatform;
}

export interface OciPlatform {
  architecture: string;
  os: 'linux';
  variant?: string;
}

const INFO: Record<Arch, ArchInfo> = {
  '386': { apk: 'x86', platform: { architecture: '386', os: 'linux' } },
  amd64: { apk: 'x86_64', platform: { architecture: 'amd64', os: 'linux' } },
  'arm/v6': { apk: 'armhf', platform: { architecture: 'arm', os: 'linux', variant: 'v6' } },
  'arm/v7': { apk: 'armv7', platform: { architecture: 'arm', os: 'linux', variant: 'v7' } },
  arm64: { apk: 'aarch64', platform: { architecture: 'arm64', os: 'linux' } },
  loong64: { apk: 'loongarch64', platform: { architecture: 'loong64', os: 'linux' } },
  ppc64le: { apk: 'ppc64le', platform: { architecture: 'ppc64le', os: 'linux' } },
  riscv64: { apk: 'riscv64', platform: { architecture: 'riscv64', os: 'linux' } },
  s390x: { apk: 's390x', platform: { architecture: 's390x', os: 'linux' } },
};

/** Every accepted spelling (config `archs:` and `--arch`) mapped to its canonical name. */
const SPELLINGS: ReadonlyMap<string, Arch> = new Map<string, Arch>([
  ...ARCHS.map((a) => [a, a] as [string, Arch]),
  ...ARCHS.map((a) => [INFO[a].apk, a] as [string, Arch]),
]);

/** The accepted spellings, OCI names first, for the schema and messages. */
export const ARCH_SPELLINGS: readonly string[] = [...SPELLINGS.keys()];

/** The canonical name for an OCI or apk spelling, or undefined when it is not an architecture. */
export function tryParseArch(name: string): Arch | undefined {
  return SPELLINGS.get(name);
}

/** The canonical name for an OCI or apk spelling; throws a LadingError naming the valid ones otherwise. */
export function parseArch(name: string): Arch {
  const arch = tryParseArch(name);
  if (arch === undefined) {
    const guess = suggest(name, ARCH_SPELLINGS);
    throw new LadingError(
      'CONFIG_ARCH',
      `unknown architecture ${JSON.stringify(name)}${guess ? ` (did you mean ${JSON.stringify(guess)}?)` : ''}`,
      { hint: `use one of ${ARCH_SPELLINGS.join(', ')}` },
    );
  }
  return arch;
}

/** Canonical names deduplicated and sorted as apko sorts them (byte order of the OCI name). */
export function sortArchs(archs: Iterable<Arch>): Arch[] {
  return [...new Set(archs)].sort(compareBytes);
}

/**
 * Parses `--arch` values: OCI or apk spellings, `all` (the nine archs) and `host` (this machine's arch).
 * Deduplicated and sorted. Unlike apko, `all`/`host` may be mixed with other names.
 */
export function parseArchList(values: readonly string[], hostArch: string = process.arch): Arch[] {
  const out: Arch[] = [];
  for (const v of values) {
    if (v === 'all') out.push(...ARCHS);
    else if (v === 'host') out.push(hostArchitecture(hostArch));
    else out.push(parseArch(v));
  }
  return sortArchs(out);
}

/** The apk name (`x86_64`): `/etc/apk/arch`, repository sub-directory, SBOM file suffix. */
export function apkArch(arch: Arch): string {
  return INFO[arch].apk;
}

/** The OCI platform (`arm` + `v7` for arm/v7) for image configs and index entries. */
export function ociPlatform(arch: Arch): OciPlatform {
  return { ...INFO[arch].platform };
}

/** The canonical arch for an apk name (`aarch64` → `arm64`), or undefined. */
export function archFromApk(apk: string): Arch | undefined {
  return ARCHS.find((a) => INFO[a].apk === apk);
}

/** The canonical arch for an OCI platform (`{architecture: 'arm', variant: 'v7'}` → `arm/v7`), or undefined. */
export function archFromPlatform(platform: { architecture: string; variant?: string }): Arch | undefined {
  return ARCHS.find(
    (a) =>
      INFO[a].platform.architecture === platform.architecture &&
      (INFO[a].platform.variant ?? '') === (platform.variant ?? ''),
  );
}

const NODE_ARCH: Record<string, Arch> = {
  x64: 'amd64',
  arm64: 'arm64',
  ia32: '386',
  arm: 'arm/v7',
  loong64: 'loong64',
  riscv64: 'riscv64',
  s390x: 's390x',
};

/**
 * The architecture of this machine (Node's `process.arch` name), the default when neither `--arch` nor `archs:`
 * chooses: it is what a local runtime can run, and every repository carries the common ones (apko's default of
 * all nine architectures fails on most repositories).
 */
export function hostArchitecture(nodeArch: string = process.arch): Arch {
  if (nodeArch === 'ppc64' && endianness() === 'LE') return 'ppc64le';
  const arch = NODE_ARCH[nodeArch];
  if (arch === undefined) {
    throw new LadingError(
      'CONFIG_ARCH',
      `this machine's architecture (${nodeArch}) is not one lading can build for`,
      {
        hint: `set archs: in the config or pass --arch (${ARCHS.join(', ')})`,
      },
    );
  }
  return arch;
}
