/**
 * `.PKGINFO`, the package metadata file in the control part of an .apk: `key = value` lines, `#` comments,
 * some keys repeatable. Parsed as apk-tools does (split at the first " = ", lines without one ignored) and
 * written in abuild's key order.
 */
import { LadingError } from '../util/errors.ts';
import { emptyPackage, type PackageInfo } from './types.ts';

export interface PkgInfo {
  /** Every `key = value` line in file order (comments, blank and malformed lines dropped). */
  fields: [string, string][];
  /** The package fields, mapped as apk-tools maps them (checksum and S: size are not in .PKGINFO). */
  package: PackageInfo;
  /** Hex SHA-256 of the data part, when the package has one (every package since abuild 2.x). */
  datahash?: string;
  packager?: string;
  /** `triggers` values (directory globs), split at spaces. */
  triggers: string[];
}

/** Keys that may appear more than once, each occurrence adding to a list. */
export const PKGINFO_LIST_KEYS: ReadonlySet<string> = new Set([
  'depend',
  'provides',
  'install_if',
  'replaces',
  'triggers',
  'checkdepend',
]);

const INTEGER_KEYS = new Set(['size', 'builddate', 'provider_priority', 'replaces_priority']);

const splitWords = (v: string): string[] => v.split(/[ \t]+/).filter((s) => s.length > 0);

/** All values of `key`, in order. */
export function pkgInfoValues(info: PkgInfo, key: string): string[] {
  return info.fields.filter(([k]) => k === key).map(([, v]) => v);
}

export function parsePkgInfo(text: string, file?: string): PkgInfo {
  const fields: [string, string][] = [];
  const pkg = emptyPackage('', '');
  const result: PkgInfo = { fields, package: pkg, triggers: [] };
  let lineNo = 0;
  for (const raw of text.split('\n')) {
    lineNo++;
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.length === 0 || line[0] === '#') continue;
    const sep = line.indexOf(' = ');
    if (sep < 0) continue; // apk-tools ignores such lines
    const key = line.slice(0, sep);
    const value = line.slice(sep + 3);
    fields.push([key, value]);
    let n = 0;
    if (INTEGER_KEYS.has(key)) {
      if (!/^[0-9]{1,15}$/.test(value)) {
        throw new LadingError(
          'PKGINFO_BAD_FIELD',
          `.PKGINFO: ${key} is not a number: ${JSON.stringify(value.slice(0, 40))}`,
          {
            file,
            line: lineNo,
            hint: 'the package is corrupt; rebuild it',
          },
        );
      }
      n = Number(value);
    }
    switch (key) {
      case 'pkgname':
        pkg.name = value;
        break;
      case 'pkgver':
        pkg.version = value;
        break;
      case 'arch':
        pkg.arch = value;
        break;
      case 'pkgdesc':
        pkg.description = value;
        break;
      case 'url':
        pkg.url = value;
        break;
      case 'license':
        pkg.license = value;
        break;
      case 'origin':
        pkg.origin = value;
        break;
      case 'maintainer':
        pkg.maintainer = value;
        break;
      case 'commit':
        pkg.commit = value;
        break;
      case 'builddate':
        pkg.buildTime = n;
        break;
      case 'size':
        pkg.installedSize = n;
        break;
      case 'provider_priority':
        pkg.providerPriority = n;
        break;
      case 'replaces_priority':
        pkg.replacesPriority = n;
        break;
      case 'depend':
        pkg.depends.push(...splitWords(value));
        break;
      case 'provides':
        pkg.provides.push(...splitWords(value));
        break;
      case 'install_if':
        pkg.installIf.push(...splitWords(value));
        break;
      case 'replaces':
        pkg.replaces.push(...splitWords(value));
        break;
      case 'triggers':
        result.triggers.push(...splitWords(value));
        break;
      case 'packager':
        result.packager = value;
        break;
      case 'datahash':
        if (!/^[0-9a-fA-F]{64}$/.test(value)) {
          throw new LadingError('PKGINFO_BAD_FIELD', '.PKGINFO: datahash is not a hex SHA-256', {
            file,
            line: lineNo,
            hint: 'the package is corrupt; rebuild it',
          });
        }
        result.datahash = value.toLowerCase();
        break;
    }
  }
  if (pkg.name === '' || pkg.version === '') {
    throw new LadingError(
      'PKGINFO_MISSING_FIELD',
      `.PKGINFO has no ${pkg.name === '' ? 'pkgname' : 'pkgver'}`,
      {
        file,
        hint: 'the package is corrupt or not an APK; rebuild it',
      },
    );
  }
  return result;
}

/** What lading writes into a .PKGINFO: the package fields plus those PackageInfo does not carry. */
export interface PkgInfoInput {
  package: PackageInfo;
  datahash?: string;
  packager?: string;
  triggers?: readonly string[];
}

/** The `key = value` fields for a package, in abuild's order; absent optional fields are left out. */
export function pkgInfoFields(input: PkgInfoInput): [string, string][] {
  const p = input.package;
  const out: [string, string][] = [];
  const add = (key: string, value: string | number | undefined) => {
    if (value === undefined) return;
    const text = String(value);
    if (/[\n\r]/.test(text)) {
      throw new LadingError(
        'PKGINFO_BAD_VALUE',
        `${key} must be a single line: ${JSON.stringify(text.slice(0, 60))}`,
        {
          hint: 'remove the line break',
        },
      );
    }
    out.push([key, text]);
  };
  add('pkgname', p.name);
  add('pkgver', p.version);
  add('pkgdesc', p.description);
  add('url', p.url);
  add('builddate', p.buildTime);
  add('packager', input.packager);
  add('size', p.installedSize);
  add('arch', p.arch);
  add('origin', p.origin);
  add('commit', p.commit);
  add('maintainer', p.maintainer);
  if (p.providerPriority !== undefined) add('provider_priority', p.providerPriority);
  if (p.replacesPriority !== undefined) add('replaces_priority', p.replacesPriority);
  add('license', p.license);
  for (const v of p.replaces) add('replaces', v);
  if (input.triggers?.length) add('triggers', input.triggers.join(' '));
  for (const v of p.depends) add('depend', v);
  for (const v of p.provides) add('provides', v);
  for (const v of p.installIf) add('install_if', v);
  add('datahash', input.datahash);
  return out;
}

/** The text of a .PKGINFO: a comment line, then one `key = value` line per field. */
export function formatPkgInfo(fields: readonly [string, string][], comment = 'Generated by lading'): string {
  let out = `# ${comment}\n`;
  for (const [k, v] of fields) out += `${k} = ${v}\n`;
  return out;
}
