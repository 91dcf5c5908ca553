/**
 * Hand-assembled packages for bad-input tests: createApk refuses unsafe input, so malicious or broken
 * packages are put together here from raw tar headers and gzip members.
 */
import { createHash } from 'node:crypto';
import { gzipDeterministic } from '../../src/apk/gzip-members.ts';
import type { TarEntryType } from '../../src/tar/reader.ts';
import { encodeTarHeader, TAR_END, tarPadding } from '../../src/tar/writer.ts';

export interface RawEntry {
  name: string;
  type?: TarEntryType;
  data?: Buffer | string;
  linkname?: string;
  mode?: number;
}

export function rawTar(entries: readonly RawEntry[], end = true): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const data = typeof e.data === 'string' ? Buffer.from(e.data) : (e.data ?? Buffer.alloc(0));
    const type = e.type ?? 'file';
    // the writer refuses nothing: names go in verbatim
    parts.push(
      encodeTarHeader({
        name: e.name,
        type,
        mode: e.mode ?? (type === 'directory' ? 0o755 : 0o644),
        uid: 0,
        gid: 0,
        size: type === 'file' ? data.length : 0,
        mtime: 0,
        linkname: e.linkname,
      }),
    );
    if (type === 'file') parts.push(data, tarPadding(data.length));
  }
  if (end) parts.push(TAR_END);
  return Buffer.concat(parts);
}

/** An unsigned package with the given data entries and a matching datahash. */
export function rawApk(dataEntries: readonly RawEntry[], pkginfoExtra = ''): Buffer {
  const data = gzipDeterministic(rawTar(dataEntries));
  const datahash = createHash('sha256').update(data).digest('hex');
  const pkginfo = `pkgname = evil\npkgver = 1-r0\n${pkginfoExtra}datahash = ${datahash}\n`;
  const control = gzipDeterministic(rawTar([{ name: '.PKGINFO', data: pkginfo }], false));
  return Buffer.concat([control, data]);
}
