/**
 * The text of an APKINDEX (and the package part of an installed-DB stanza): records separated by
 * blank lines, one `X:value` field per line. Written by hand because it is the hot path of every
 * resolve (the Alpine community index is 7.6 MB of text) and because field order must match apk-tools.
 */
import { LadingError } from '../util/errors.ts';
import { emptyPackage, type PackageInfo } from './types.ts';

const splitList = (v: string): string[] => (v.length === 0 ? [] : v.split(' ').filter((s) => s.length > 0));

function parseInteger(value: string, key: string, line: number, file?: string): number {
  if (!/^[0-9]+$/.test(value)) {
    throw new LadingError(
      'APKINDEX_BAD_FIELD',
      `field ${key}: is not a number: ${JSON.stringify(value.slice(0, 40))}`,
      {
        file,
        line,
        hint: 'the index is corrupt; rebuild it with `lading index`',
      },
    );
  }
  return Number(value);
}

/** Applies one `key:value` field to a record. Returns false for keys that are not package fields. */
export function applyIndexField(
  pkg: PackageInfo,
  key: string,
  value: string,
  line: number,
  file?: string,
): boolean {
  switch (key) {
    case 'P':
      pkg.name = value;
      return true;
    case 'V':
      pkg.version = value;
      return true;
    case 'A':
      pkg.arch = value;
      return true;
    case 'C':
      pkg.checksum = value;
      return true;
    case 'S':
      pkg.size = parseInteger(value, key, line, file);
      return true;
    case 'I':
      pkg.installedSize = parseInteger(value, key, line, file);
      return true;
    case 'T':
      pkg.description = value;
      return true;
    case 'U':
      pkg.url = value;
      return true;
    case 'L':
      pkg.license = value;
      return true;
    case 'o':
      pkg.origin = value;
      return true;
    case 'm':
      pkg.maintainer = value;
      return true;
    case 't':
      pkg.buildTime = parseInteger(value, key, line, file);
      return true;
    case 'c':
      pkg.commit = value;
      return true;
    case 'k':
      pkg.providerPriority = parseInteger(value, key, line, file);
      return true;
    case 'D':
      // apk appends repeated list fields
      pkg.depends = pkg.depends.length ? pkg.depends.concat(splitList(value)) : splitList(value);
      return true;
    case 'p':
      // apk appends repeated list fields
      pkg.provides = pkg.provides.length ? pkg.provides.concat(splitList(value)) : splitList(value);
      return true;
    case 'i':
      // apk appends repeated list fields
      pkg.installIf = pkg.installIf.length ? pkg.installIf.concat(splitList(value)) : splitList(value);
      return true;
    case 'r':
      // apk appends repeated list fields
      pkg.replaces = pkg.replaces.length ? pkg.replaces.concat(splitList(value)) : splitList(value);
      return true;
    case 'q':
      pkg.replacesPriority = parseInteger(value, key, line, file);
      return true;
    default:
      return false;
  }
}

/**
 * Parses APKINDEX text. Unknown single-letter fields are kept in `extra` in their order.
 * Throws LadingError naming the line for a malformed line or a record without P:/V:.
 */
export function parseApkIndexText(text: string, file?: string): PackageInfo[] {
  const out: PackageInfo[] = [];
  let pkg: PackageInfo | null = null;
  let recordLine = 0;
  let lineNo = 0;
  let pos = 0;
  const finish = () => {
    if (pkg === null) return;
    if (pkg.name === '' || pkg.version === '') {
      throw new LadingError(
        'APKINDEX_BAD_RECORD',
        `record starting at line ${recordLine} has no ${pkg.name === '' ? 'P:' : 'V:'} field`,
        {
          file,
          line: recordLine,
          hint: 'the index is corrupt; rebuild it with `lading index`',
        },
      );
    }
    out.push(pkg);
    pkg = null;
  };
  while (pos <= text.length) {
    let end = text.indexOf('\n', pos);
    if (end === -1) end = text.length;
    lineNo++;
    const line = text.slice(pos, end);
    pos = end + 1;
    if (line.length === 0) {
      finish();
      if (end === text.length) break;
      continue;
    }
    if (line.length < 2 || line.charCodeAt(1) !== 58 /* : */) {
      throw new LadingError(
        'APKINDEX_BAD_LINE',
        `malformed line ${JSON.stringify(line.slice(0, 60))} (expected X:value)`,
        {
          file,
          line: lineNo,
          hint: 'the index is corrupt; rebuild it with `lading index`',
        },
      );
    }
    if (pkg === null) {
      pkg = emptyPackage('', '');
      recordLine = lineNo;
    }
    const key = line[0]!;
    const value = line.slice(2);
    if (!applyIndexField(pkg, key, value, lineNo, file)) pkg.extra.push([key, value]);
  }
  finish();
  return out;
}

/**
 * The package fields of one record as apk-tools writes them (apk_pkg_write_index_header):
 * `C P V A S I T U L o m t c k D p i`, where S, I, T, U and L are always present (possibly empty),
 * A/o/m/c only when set, t and k only when non-zero, D/p/i only when non-empty. With
 * `installed: true` also `r:` and `q:` as the installed DB has them. Extra fields follow in their
 * original order. No terminating blank line.
 */
export function formatIndexRecord(pkg: PackageInfo, options: { installed?: boolean } = {}): string {
  const lines: string[] = [];
  const add = (key: string, value: string | number | undefined) => {
    if (value !== undefined) lines.push(`${key}:${value}`);
  };
  add('C', pkg.checksum);
  add('P', pkg.name);
  add('V', pkg.version);
  add('A', pkg.arch);
  add('S', pkg.size ?? 0);
  add('I', pkg.installedSize ?? 0);
  add('T', pkg.description ?? '');
  add('U', pkg.url ?? '');
  add('L', pkg.license ?? '');
  add('o', pkg.origin || undefined);
  add('m', pkg.maintainer || undefined);
  if (pkg.buildTime) add('t', pkg.buildTime);
  add('c', pkg.commit || undefined);
  if (pkg.providerPriority) add('k', pkg.providerPriority);
  if (pkg.depends.length) add('D', pkg.depends.join(' '));
  if (pkg.provides.length) add('p', pkg.provides.join(' '));
  if (pkg.installIf.length) add('i', pkg.installIf.join(' '));
  if (options.installed) {
    if (pkg.replaces.length) add('r', pkg.replaces.join(' '));
    if (pkg.replacesPriority) add('q', pkg.replacesPriority);
  }
  for (const [k, v] of pkg.extra) lines.push(`${k}:${v}`);
  return lines.join('\n');
}

/** A whole APKINDEX text: every record followed by a blank line, as apk-tools writes it. */
export function formatApkIndexText(pkgs: readonly PackageInfo[]): string {
  let out = '';
  for (const p of pkgs) out += `${formatIndexRecord(p)}\n\n`;
  return out;
}
