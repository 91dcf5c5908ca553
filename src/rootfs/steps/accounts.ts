/**
 * Accounts: users and groups from the config are merged into the `/etc/passwd`, `/etc/group` and
 * `/etc/shadow` the packages installed, home directories are created, and `run-as` is resolved.
 *
 * apko appends every configured account, so an account a package already created ends up twice and
 * the first line wins in libc lookups. lading merges instead, with one rule per case:
 * - a user whose name exists with the same uid is the same account: the fields the config sets (gid,
 *   shell, homedir) replace the existing ones, the rest (GECOS, password entry) are kept, in place;
 * - a user whose name exists with another uid, or whose uid belongs to another user, is an error;
 * - a group whose name exists with the same gid gains the configured members (existing ones first);
 *   another gid, or a gid that belongs to another group, is an error;
 * - the same name twice in the config is an error.
 * New lines are appended: `name:x:uid:gid:Account created by lading:home:shell`, `name:x:gid:m1,m2`,
 * and `name:!:::::::` in /etc/shadow (locked password) when the user has no shadow entry yet.
 * Existing files keep their mode and owner (Alpine: shadow 0640 root:shadow); new ones are 0644
 * root:root, and /etc/shadow 0640 root:<gid of group "shadow", else 0>.
 * Home directories: 0700 owned uid:gid, missing parents 0755 root; an existing path (of any type)
 * and `/dev/null` are left alone. A file is only written when it changes (group: when groups are
 * configured; passwd, shadow: when users are), and nothing is written when any entry is refused.
 * uid 0 is not refused here (the config does that; updating `root` itself is allowed).
 */
import { baseName, cleanPath, joinPath, parentOf } from '../../fs/path.ts';
import type { ImageFS } from '../../fs/tree.ts';
import { AccountFile, GROUP, PASSWD, parseGroup, parsePasswd, SHADOW } from '../passwd.ts';
import {
  ensureDir,
  inContext,
  readTextIfExists,
  type SourceLocation,
  type StepTime,
  show,
  stepError,
  writeGeneratedFile,
} from './common.ts';

export interface UserInput {
  username: string;
  uid: number;
  /** Default: the uid. */
  gid?: number;
  /** Default /bin/sh for new users. */
  shell?: string;
  /** Default /home/<username> for new users. */
  homedir?: string;
  at?: SourceLocation;
}

export interface GroupInput {
  groupname: string;
  gid: number;
  members?: readonly string[];
  at?: SourceLocation;
}

export interface AccountsInput {
  users?: readonly UserInput[];
  groups?: readonly GroupInput[];
}

export interface AccountsResult {
  addedUsers: string[];
  updatedUsers: string[];
  addedGroups: string[];
  updatedGroups: string[];
  /** Home directories created (canonical image paths). */
  homeDirs: string[];
}

const GECOS = 'Account created by lading';
const NAME = /^[A-Za-z_][A-Za-z0-9_.-]*\$?$/;
const MAX_ID = 4294967294;

function checkId(value: number, what: string, label: string, at: SourceLocation | undefined): void {
  if (!Number.isInteger(value) || value < 0 || value > MAX_ID) {
    throw stepError(
      'ACCOUNT_BAD_ID',
      `${label}: ${what} ${value} is not a valid id`,
      at,
      `use a whole number from 0 to ${MAX_ID}`,
    );
  }
}

function checkName(name: string, what: string, label: string, at: SourceLocation | undefined): void {
  if (!NAME.test(name)) {
    throw stepError(
      'ACCOUNT_BAD_NAME',
      `${label}: ${what} ${JSON.stringify(name)} is not a valid account name`,
      at,
      'a name starts with a letter or "_" and holds only letters, digits, "_", "-" and "."',
    );
  }
}

function checkField(
  value: string | undefined,
  what: string,
  label: string,
  at: SourceLocation | undefined,
): void {
  if (value !== undefined && /[:\n\0]/.test(value)) {
    throw stepError(
      'ACCOUNT_BAD_FIELD',
      `${label}: ${what} ${JSON.stringify(value)} must not contain ":" or a newline`,
      at,
    );
  }
}

function userLabel(i: number, u: UserInput): string {
  return `accounts.users[${i}] (${u.username})`;
}

function groupLabel(i: number, g: GroupInput): string {
  return `accounts.groups[${i}] (${g.groupname})`;
}

/** Merges the configured users and groups into the image's account files and creates home directories. */
export function applyAccounts(fs: ImageFS, input: AccountsInput, time: StepTime): AccountsResult {
  const result: AccountsResult = {
    addedUsers: [],
    updatedUsers: [],
    addedGroups: [],
    updatedGroups: [],
    homeDirs: [],
  };
  const users = input.users ?? [];
  const groups = input.groups ?? [];

  // merge everything first, write after: an error leaves the image as it was
  const read = (path: string) =>
    new AccountFile(inContext('accounts', undefined, () => readTextIfExists(fs, path)));
  const group = read(GROUP);
  mergeGroups(group, groups, result);
  const passwd = read(PASSWD);
  const shadow = read(SHADOW);
  const homes = mergeUsers(passwd, shadow, users, result);

  if (groups.length > 0) writeAccountFile(fs, GROUP, group, 0o644, 0, time.mtime);
  if (users.length > 0) {
    writeAccountFile(fs, PASSWD, passwd, 0o644, 0, time.mtime);
    const shadowGid = Number(group.find('shadow')?.fields?.[2] ?? 0) || 0;
    writeAccountFile(fs, SHADOW, shadow, 0o640, shadowGid, time.mtime);
    for (const h of homes) {
      const created = createHome(fs, h, time.mtime);
      if (created !== undefined) result.homeDirs.push(created);
    }
  }
  return result;
}

function writeAccountFile(
  fs: ImageFS,
  path: string,
  file: AccountFile,
  mode: number,
  gid: number,
  mtime: number,
): void {
  if (!file.changed && file.existed) return;
  inContext(`accounts: writing ${show(path)}`, undefined, () =>
    writeGeneratedFile(fs, path, file.toString(), { mtime, mode, uid: 0, gid }),
  );
}

function mergeGroups(file: AccountFile, groups: readonly GroupInput[], result: AccountsResult): void {
  const seen = new Map<string, number>();
  groups.forEach((g, i) => {
    const label = groupLabel(i, g);
    checkName(g.groupname, 'group name', label, g.at);
    checkId(g.gid, 'gid', label, g.at);
    for (const m of g.members ?? []) checkName(m, 'member', label, g.at);
    const earlier = seen.get(g.groupname);
    if (earlier !== undefined) {
      throw stepError(
        'ACCOUNT_DUPLICATE',
        `${label}: group ${g.groupname} is configured twice (also accounts.groups[${earlier}])`,
        g.at,
        'merge the two entries into one',
      );
    }
    seen.set(g.groupname, i);
    const gid = String(g.gid);
    const existing = file.find(g.groupname);
    if (existing !== undefined) {
      const f = existing.fields!;
      if (f[2] !== gid) {
        throw stepError(
          'ACCOUNT_GROUP_CONFLICT',
          `${label}: group ${g.groupname} already exists in /etc/group with gid ${f[2]}, not ${gid}`,
          g.at,
          `use gid ${f[2]} to add members to the existing group, or choose another group name`,
        );
      }
      const members = (f[3] ?? '').split(',').filter((m) => m !== '');
      const added = (g.members ?? []).filter((m) => !members.includes(m));
      if (added.length > 0) {
        const next = [...f];
        while (next.length < 4) next.push('');
        next[3] = [...members, ...new Set(added)].join(',');
        file.set(existing, next);
      }
      result.updatedGroups.push(g.groupname);
      return;
    }
    const owner = file.findBy(2, gid);
    if (owner !== undefined) {
      throw stepError(
        'ACCOUNT_GID_TAKEN',
        `${label}: gid ${gid} already belongs to group ${owner.fields![0]} in /etc/group`,
        g.at,
        `choose another gid, or name the group ${owner.fields![0]} to add members to it`,
      );
    }
    file.append([g.groupname, 'x', gid, [...new Set(g.members ?? [])].join(',')]);
    result.addedGroups.push(g.groupname);
  });
}

interface HomeDir {
  path: string;
  uid: number;
  gid: number;
  label: string;
  at?: SourceLocation;
}

function mergeUsers(
  passwd: AccountFile,
  shadow: AccountFile,
  users: readonly UserInput[],
  result: AccountsResult,
): HomeDir[] {
  const seen = new Map<string, number>();
  const homes: HomeDir[] = [];
  users.forEach((u, i) => {
    const label = userLabel(i, u);
    checkName(u.username, 'user name', label, u.at);
    checkId(u.uid, 'uid', label, u.at);
    if (u.gid !== undefined) checkId(u.gid, 'gid', label, u.at);
    checkField(u.shell, 'shell', label, u.at);
    checkField(u.homedir, 'homedir', label, u.at);
    if (u.homedir !== undefined && (!u.homedir.startsWith('/') || u.homedir.split('/').includes('..'))) {
      throw stepError(
        'ACCOUNT_BAD_FIELD',
        `${label}: homedir ${JSON.stringify(u.homedir)} must be an absolute path without ".."`,
        u.at,
      );
    }
    const earlier = seen.get(u.username);
    if (earlier !== undefined) {
      throw stepError(
        'ACCOUNT_DUPLICATE',
        `${label}: user ${u.username} is configured twice (also accounts.users[${earlier}])`,
        u.at,
        'merge the two entries into one',
      );
    }
    seen.set(u.username, i);
    const uid = String(u.uid);
    const existing = passwd.find(u.username);
    let gid: number;
    let home: string | undefined;
    if (existing !== undefined) {
      const f = [...existing.fields!];
      while (f.length < 7) f.push('');
      const padded = f.join(':');
      if (f[2] !== uid) {
        throw stepError(
          'ACCOUNT_USER_CONFLICT',
          `${label}: user ${u.username} already exists in /etc/passwd with uid ${f[2]}, not ${uid}`,
          u.at,
          `use uid ${f[2]} to change the existing user, or choose another user name`,
        );
      }
      if (u.gid !== undefined) f[3] = String(u.gid);
      if (u.homedir !== undefined) f[5] = u.homedir;
      if (u.shell !== undefined) f[6] = u.shell;
      if (f.join(':') !== padded) passwd.set(existing, f);
      gid = Number(f[3]) || 0;
      home = u.homedir;
      result.updatedUsers.push(u.username);
    } else {
      const owner = passwd.findBy(2, uid);
      if (owner !== undefined) {
        throw stepError(
          'ACCOUNT_UID_TAKEN',
          `${label}: uid ${uid} already belongs to user ${owner.fields![0]} in /etc/passwd`,
          u.at,
          `choose another uid, or name the user ${owner.fields![0]} to change that account`,
        );
      }
      gid = u.gid ?? u.uid;
      home = u.homedir ?? `/home/${u.username}`;
      passwd.append([u.username, 'x', uid, String(gid), GECOS, home, u.shell ?? '/bin/sh']);
      result.addedUsers.push(u.username);
    }
    if (shadow.find(u.username) === undefined) shadow.append([u.username, '!', '', '', '', '', '', '', '']);
    if (home !== undefined) homes.push({ path: home, uid: u.uid, gid, label, at: u.at });
  });
  return homes;
}

function createHome(fs: ImageFS, h: HomeDir, mtime: number): string | undefined {
  if (h.path === '/dev/null') return undefined;
  return inContext(`${h.label}: home directory ${h.path}`, h.at, () => {
    if (fs.exists(h.path)) return undefined;
    const parent = ensureDir(fs, parentOf(cleanPath(h.path)), mtime);
    const path = joinPath(parent, baseName(cleanPath(h.path)));
    return fs.put(path, { type: 'directory', mode: 0o700, uid: h.uid, gid: h.gid, mtime, size: 0 });
  });
}

/**
 * The OCI `User` for `run-as`, with names resolved against the final image: `name` → its uid,
 * `name:group` → `uid:gid` (each part a name or a number), numbers pass through. An unknown name is
 * an error (a container would fail to start with it). Empty or undefined → undefined (runtime default).
 */
export function resolveRunAs(
  fs: ImageFS,
  runAs: string | undefined,
  at?: SourceLocation,
): string | undefined {
  if (runAs === undefined || runAs.trim() === '') return undefined;
  const value = runAs.trim();
  const parts = value.split(':');
  if (parts.length > 2 || parts.some((p) => p === '')) {
    throw stepError(
      'RUN_AS_INVALID',
      `accounts.run-as ${JSON.stringify(runAs)} is not a user, uid, user:group or uid:gid`,
      at,
      'write e.g. "nonroot", "65532" or "65532:65532"',
    );
  }
  const [userPart, groupPart] = parts as [string, string | undefined];
  let uid = userPart;
  if (!/^\d+$/.test(userPart)) {
    const text = readTextIfExists(fs, PASSWD);
    const user = text === undefined ? undefined : parsePasswd(text).find((u) => u.name === userPart);
    if (user === undefined) {
      throw stepError(
        'RUN_AS_UNKNOWN_USER',
        `accounts.run-as names user ${JSON.stringify(userPart)}, but ${text === undefined ? 'the image has no /etc/passwd' : 'no such user is in the image’s /etc/passwd'}`,
        at,
        'add the user under accounts.users, install the package that creates it, or give a numeric uid',
      );
    }
    uid = String(user.uid);
  }
  if (groupPart === undefined) return uid;
  let gid = groupPart;
  if (!/^\d+$/.test(groupPart)) {
    const text = readTextIfExists(fs, GROUP);
    const group = text === undefined ? undefined : parseGroup(text).find((g) => g.name === groupPart);
    if (group === undefined) {
      throw stepError(
        'RUN_AS_UNKNOWN_GROUP',
        `accounts.run-as names group ${JSON.stringify(groupPart)}, but ${text === undefined ? 'the image has no /etc/group' : 'no such group is in the image’s /etc/group'}`,
        at,
        'add the group under accounts.groups, or give a numeric gid',
      );
    }
    gid = String(group.gid);
  }
  return `${uid}:${gid}`;
}
