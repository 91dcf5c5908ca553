/** The real Alpine v3.19 x86_64 main + community indexes, read the way a build reads them, for resolver tests. */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { parseApkIndexText } from '../../src/apk/apkindex-text.ts';
import type { PackageInfo } from '../../src/apk/types.ts';
import type { SolverRepository } from '../../src/solver/package-index.ts';
import { readTar } from '../../src/tar/reader.ts';
import { fixture } from './paths.ts';

export const ALPINE_INDEXES = {
  main: 'alpine/indexes/v3.19-main-x86_64-APKINDEX.tar.gz',
  community: 'alpine/indexes/v3.19-community-x86_64-APKINDEX.tar.gz',
} as const;

/** The APKINDEX text inside an APKINDEX.tar.gz (signature not checked here: the index tests do that). */
export function apkIndexText(path: string): string {
  const buf = gunzipSync(readFileSync(path));
  const entry = [...readTar(buf)].find((e) => e.name === 'APKINDEX');
  if (entry === undefined) throw new Error(`${path}: no APKINDEX member`);
  return buf.toString('utf8', entry.dataOffset, entry.dataOffset + entry.size);
}

let cache: { main: string; community: string } | undefined;

export function alpineTexts(): { main: string; community: string } {
  cache ??= {
    main: apkIndexText(fixture(ALPINE_INDEXES.main)),
    community: apkIndexText(fixture(ALPINE_INDEXES.community)),
  };
  return cache;
}

/** main + community as the resolver's repositories (community optionally tagged). */
export function alpineRepositories(communityTag?: string): SolverRepository[] {
  const t = alpineTexts();
  const community: SolverRepository = { repository: 'community', text: t.community };
  if (communityTag !== undefined) community.tag = communityTag;
  return [{ repository: 'main', text: t.main }, community];
}

export function alpinePackages(): { main: PackageInfo[]; community: PackageInfo[] } {
  const t = alpineTexts();
  return { main: parseApkIndexText(t.main), community: parseApkIndexText(t.community) };
}

export const BENCHMARK_WORLD = [
  'python3',
  'nginx',
  'postgresql16',
  'nodejs',
  'git',
  'curl',
  'build-base',
  'py3-numpy',
  'ffmpeg',
  'imagemagick',
];
