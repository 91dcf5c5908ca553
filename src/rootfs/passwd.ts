/**
 * The passwd, group and shadow file format: colon-separated lines, comments and NIS lines kept as they are.
 * The accounts step edits these files; the layer writer reads owner names from them.
 */

export const PASSWD = 'etc/passwd';
export const GROUP = 'etc/group';
export const SHADOW = 'etc/shadow';

/** One line of a colon-separated account file; `fields` is undefined for comments, blanks and NIS `+`/`-` lines. */
interface Line {
  text: string;
  fields?: string[];
}

/** An account file split into lines, written back byte-for-byte except for the lines we change. */
export class AccountFile {
  readonly lines: Line[];
  readonly existed: boolean;
  changed = false;

  constructor(text: string | undefined) {
    this.existed = text !== undefined;
    const body = text ?? '';
    const raw = body === '' ? [] : body.replace(/\n$/, '').split('\n');
    this.lines = raw.map((t) =>
      t === '' || t.startsWith('#') || t.startsWith('+') || t.startsWith('-')
        ? { text: t }
        : { text: t, fields: t.split(':') },
    );
  }

  find(name: string): Line | undefined {
    return this.lines.find((l) => l.fields?.[0] === name);
  }

  findBy(index: number, value: string): Line | undefined {
    return this.lines.find((l) => l.fields?.[index] === value);
  }

  set(line: Line, fields: string[]): void {
    line.fields = fields;
    line.text = fields.join(':');
    this.changed = true;
  }

  append(fields: string[]): void {
    this.lines.push({ text: fields.join(':'), fields });
    this.changed = true;
  }

  toString(): string {
    return this.lines.map((l) => `${l.text}\n`).join('');
  }
}

export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
}

/** The users of an /etc/passwd text (comments, NIS and malformed lines skipped). */
export function parsePasswd(text: string): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const l of new AccountFile(text).lines) {
    const f = l.fields;
    if (f === undefined || f.length < 4 || !/^\d+$/.test(f[2]!) || !/^\d+$/.test(f[3]!)) continue;
    out.push({ name: f[0]!, uid: Number(f[2]), gid: Number(f[3]), home: f[5] ?? '', shell: f[6] ?? '' });
  }
  return out;
}

export interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

/** The groups of an /etc/group text (comments, NIS and malformed lines skipped). */
export function parseGroup(text: string): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const l of new AccountFile(text).lines) {
    const f = l.fields;
    if (f === undefined || f.length < 3 || !/^\d+$/.test(f[2]!)) continue;
    out.push({ name: f[0]!, gid: Number(f[2]), members: (f[3] ?? '').split(',').filter((m) => m !== '') });
  }
  return out;
}
