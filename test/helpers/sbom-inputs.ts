/**
 * SBOM inputs built from real packages, the way a build would: index records, `.PKGINFO` datahash,
 * `/etc/os-release` and `var/lib/db/sbom/*.spdx.json` read from the `.apk` files themselves.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { parseApkIndexText } from '../../src/apk/apkindex-text.ts';
import type { PackageInfo } from '../../src/apk/types.ts';
import { parseOsRelease } from '../../src/sbom/os-release.ts';
import type { EmbeddedSbom, ImageSbomInput, OsRelease, SbomPackage } from '../../src/sbom/types.ts';
import { entryData, readTar } from '../../src/tar/reader.ts';
import { fixture } from './paths.ts';

export function readIndex(path: string): PackageInfo[] {
  const tar = gunzipSync(readFileSync(path));
  for (const e of readTar(tar)) {
    if (e.name === 'APKINDEX') return parseApkIndexText(entryData(tar, e).toString('utf8'), path);
  }
  throw new Error(`${path} has no APKINDEX`);
}

/** Every entry of an .apk (signature, control and data tars are consecutive gzip members). */
export function apkFiles(path: string): Map<string, Buffer> {
  const buf = gunzipSync(readFileSync(path));
  const out = new Map<string, Buffer>();
  for (const e of readTar(buf, { allowTruncated: true }))
    if (e.type === 'file') out.set(e.name, entryData(buf, e));
  return out;
}

export function pkginfoDatahash(files: Map<string, Buffer>): string {
  const m = /^datahash = ([0-9a-f]{64})$/m.exec(files.get('.PKGINFO')?.toString('utf8') ?? '');
  if (!m) throw new Error('.PKGINFO without datahash');
  return m[1]!;
}

/** Installed package → installed packages satisfying its `D:` entries (by name or `p:` provides). */
export function resolveEdges(pkgs: readonly PackageInfo[]): Map<string, string[]> {
  const provider = new Map<string, string>();
  for (const p of pkgs) {
    provider.set(p.name, p.name);
    for (const prov of p.provides) provider.set(prov.replace(/[=<>~].*$/, ''), p.name);
  }
  const edges = new Map<string, string[]>();
  for (const p of pkgs) {
    const targets = new Set<string>();
    for (const dep of p.depends) {
      if (dep.startsWith('!')) continue;
      const to = provider.get(dep.replace(/[=<>~].*$/, ''));
      if (to === undefined) throw new Error(`${p.name}: nothing installed provides ${dep}`);
      if (to !== p.name) targets.add(to);
    }
    edges.set(p.name, [...targets].sort());
  }
  return edges;
}

/** Dependencies before dependents, as an installer would go. */
export function installOrder(
  pkgs: readonly PackageInfo[],
  edges: ReadonlyMap<string, readonly string[]>,
): PackageInfo[] {
  const byName = new Map(pkgs.map((p) => [p.name, p]));
  const done = new Set<string>();
  const out: PackageInfo[] = [];
  const visit = (name: string) => {
    if (done.has(name)) return;
    done.add(name);
    for (const d of edges.get(name) ?? []) visit(d);
    out.push(byName.get(name)!);
  };
  for (const p of pkgs) visit(p.name);
  return out;
}

const fakeDigest = (what: string) => `sha256:${createHash('sha256').update(what).digest('hex')}`;

export const ALPINE_MIRROR = 'https://builder:s3cret-token@mirror.example.com/alpine/v3.19/main';

/** The 25 packages of the Alpine 3.19.1 ISO repository (alpine-base and its closure) as one image. */
export function alpineBaseInput(): ImageSbomInput & { packages: SbomPackage[]; osRelease: OsRelease } {
  const dir = fixture('alpine/v3.19.1-iso-repo/x86_64');
  const present = new Set(readdirSync(dir));
  const index = readIndex(join(dir, 'APKINDEX.tar.gz')).filter((p) =>
    present.has(`${p.name}-${p.version}.apk`),
  );
  const edges = resolveEdges(index);
  let osRelease: OsRelease | undefined;
  const packages: SbomPackage[] = installOrder(index, edges).map((p) => {
    const file = `${p.name}-${p.version}.apk`;
    const files = apkFiles(join(dir, file));
    const os = files.get('etc/os-release');
    if (os) osRelease = parseOsRelease(os.toString('utf8'));
    // the build strips credentials before handing URLs over; keep them here to prove the SBOM never leaks them
    return {
      ...p,
      dataHash: pkginfoDatahash(files),
      repository: ALPINE_MIRROR,
      downloadUrl: `${ALPINE_MIRROR}/x86_64/${file}`,
    };
  });
  if (osRelease === undefined) throw new Error('no package ships etc/os-release');
  const layer = fakeDigest('alpine-base layer');
  return {
    reference: 'alpine-base:latest',
    arch: { apk: 'x86_64', oci: 'amd64' },
    manifestDigest: fakeDigest('alpine-base manifest'),
    configDigest: fakeDigest('alpine-base config'),
    layers: [{ digest: layer, diffId: fakeDigest('alpine-base diff') }],
    buildDate: Math.max(...packages.map((p) => p.buildTime ?? 0)),
    osRelease,
    packages,
    dependencies: edges,
    toolVersion: '0.1.0',
  };
}

/**
 * apko's golden image: pretend-baselayout + replayout, melange-built packages that each carry an
 * SPDX document, with the digests of apko's golden x86_64 image.
 */
export function wolfiStyleInput(): ImageSbomInput & { embeddedSboms: EmbeddedSbom[] } {
  const dir = fixture('apko/internal/cli/testdata/packages/x86_64');
  const index = readIndex(join(dir, 'APKINDEX.tar.gz')).filter(
    (p) => p.name === 'pretend-baselayout' || p.name === 'replayout',
  );
  const edges = resolveEdges(index);
  const embeddedSboms: EmbeddedSbom[] = [];
  let osRelease: OsRelease | undefined;
  const packages: SbomPackage[] = installOrder(index, edges).map((p) => {
    const file = `${p.name}-${p.version}.apk`;
    const files = apkFiles(join(dir, file));
    for (const [name, data] of files) {
      if (/^var\/lib\/db\/sbom\/[^/]+\.spdx\.json$/.test(name))
        embeddedSboms.push({ owner: p.name, path: `/${name}`, text: data.toString('utf8') });
    }
    // replayout replaces pretend-baselayout's files, so its os-release is the image's
    const os = files.get('etc/os-release');
    if (os && p.name === 'replayout') osRelease = parseOsRelease(os.toString('utf8'));
    return { ...p, dataHash: pkginfoDatahash(files), repository: dir, downloadUrl: join(dir, file) };
  });
  return {
    reference: 'golden:latest',
    arch: { apk: 'x86_64', oci: 'amd64' },
    manifestDigest: 'sha256:69f0237c7f8cf0b8a329d1bf1d6870c870c4ec323e39d3a6da59596632d0f2f4',
    configDigest: fakeDigest('golden config'),
    layers: [
      {
        digest: 'sha256:c7557730da0e2d7fb242d8d1ac6dcf7e3a2439732aa5981270b4f3a02454b738',
        diffId: fakeDigest('golden diff'),
      },
    ],
    buildDate: 0,
    osRelease,
    packages,
    dependencies: edges,
    embeddedSboms,
    toolVersion: '0.1.0',
  };
}

/** The golden apko SBOMs, for comparison. */
export function goldenSbomDir(): string {
  return fixture('apko/internal/cli/testdata/golden/sboms');
}

export function listGoldenSboms(): string[] {
  return readdirSync(goldenSbomDir()).filter((f) => f.endsWith('.spdx.json'));
}
