import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bytesContent } from '../../../src/fs/content.ts';
import { ImageFS } from '../../../src/fs/tree.ts';
import { parseGroup, parsePasswd } from '../../../src/rootfs/passwd.ts';
import { applyAccounts, resolveRunAs } from '../../../src/rootfs/steps/index.ts';
import { isLadingError } from '../../../src/util/errors.ts';
import { throwsCode } from '../../helpers/assert.ts';
import { installOracleWorld } from '../../helpers/fixture-image.ts';

const T = { mtime: 1700000000 };

function alpine() {
  const img = installOracleWorld('minimal-world', { initdb: T });
  const text = (p: string) => img.fs.readFile(p).toString();
  return { fs: img.fs, passwd: text('etc/passwd'), group: text('etc/group'), shadow: text('etc/shadow') };
}

test('users and groups are appended to the passwd, group and shadow alpine-baselayout-data installed', () => {
  const { fs, passwd, group, shadow } = alpine();
  const shadowBefore = fs.lstat('etc/shadow')!;
  assert.deepEqual([shadowBefore.mode, shadowBefore.uid, shadowBefore.gid], [0o640, 0, 42]);
  const result = applyAccounts(
    fs,
    {
      groups: [{ groupname: 'app', gid: 1000, members: ['app', 'app'] }],
      users: [
        { username: 'app', uid: 1000 },
        { username: 'svc', uid: 1001, gid: 1000, shell: '/sbin/nologin', homedir: '/srv/svc/home' },
      ],
    },
    T,
  );
  assert.deepEqual(result, {
    addedUsers: ['app', 'svc'],
    updatedUsers: [],
    addedGroups: ['app'],
    updatedGroups: [],
    homeDirs: ['home/app', 'srv/svc/home'],
  });
  assert.equal(
    fs.readFile('etc/passwd').toString(),
    `${passwd}app:x:1000:1000:Account created by lading:/home/app:/bin/sh\nsvc:x:1001:1000:Account created by lading:/srv/svc/home:/sbin/nologin\n`,
  );
  assert.equal(fs.readFile('etc/group').toString(), `${group}app:x:1000:app\n`);
  assert.equal(fs.readFile('etc/shadow').toString(), `${shadow}app:!:::::::\nsvc:!:::::::\n`);
  // modes and owners of the package's files are kept; the generated files are new nodes stamped with the build date
  for (const [p, mode, gid] of [
    ['etc/passwd', 0o644, 0],
    ['etc/group', 0o644, 0],
    ['etc/shadow', 0o640, 42],
  ] as const) {
    const n = fs.lstat(p)!;
    assert.deepEqual(
      [n.mode, n.uid, n.gid, n.mtime, n.sha1, n.content?.kind],
      [mode, 0, gid, T.mtime, undefined, 'bytes'],
      p,
    );
  }
  // homes: 0700 owned by the user, missing parents 0755 root, /home (from alpine-baselayout) untouched
  const home = fs.lstat('home/app')!;
  assert.deepEqual(
    [home.type, home.mode, home.uid, home.gid, home.mtime],
    ['directory', 0o700, 1000, 1000, T.mtime],
  );
  assert.notEqual(fs.lstat('home')!.mtime, T.mtime);
  assert.deepEqual([fs.lstat('srv/svc')!.mode, fs.lstat('srv/svc')!.uid], [0o755, 0]);
  assert.deepEqual(
    [fs.lstat('srv/svc/home')!.mode, fs.lstat('srv/svc/home')!.uid, fs.lstat('srv/svc/home')!.gid],
    [0o700, 1001, 1000],
  );
  assert.deepEqual(
    parsePasswd(fs.readFile('etc/passwd').toString()).find((u) => u.name === 'svc'),
    { name: 'svc', uid: 1001, gid: 1000, home: '/srv/svc/home', shell: '/sbin/nologin' },
  );
});

test('an account that already exists with the same id is updated in place, never duplicated', () => {
  const { fs, passwd, group, shadow } = alpine();
  const result = applyAccounts(
    fs,
    {
      users: [{ username: 'nobody', uid: 65534, shell: '/bin/sh' }],
      groups: [{ groupname: 'wheel', gid: 10, members: ['root', 'nobody'] }],
    },
    T,
  );
  assert.deepEqual(
    [result.updatedUsers, result.addedUsers, result.updatedGroups, result.homeDirs],
    [['nobody'], [], ['wheel'], []],
  );
  assert.equal(
    fs.readFile('etc/passwd').toString(),
    passwd.replace('nobody:x:65534:65534:nobody:/:/sbin/nologin', 'nobody:x:65534:65534:nobody:/:/bin/sh'),
  );
  assert.equal(
    fs.readFile('etc/group').toString(),
    group.replace('wheel:x:10:root\n', 'wheel:x:10:root,nobody\n'),
  );
  // its shadow entry exists already: the file is not rewritten
  assert.equal(fs.readFile('etc/shadow').toString(), shadow);
  assert.notEqual(fs.lstat('etc/shadow')!.mtime, T.mtime);
});

test('conflicting accounts are errors that say what to do', () => {
  const cases: [Parameters<typeof applyAccounts>[1], string, RegExp][] = [
    [
      { users: [{ username: 'nobody', uid: 1000 }] },
      'ACCOUNT_USER_CONFLICT',
      /accounts\.users\[0\] \(nobody\): user nobody already exists in \/etc\/passwd with uid 65534, not 1000/,
    ],
    [
      { users: [{ username: 'app', uid: 65534 }] },
      'ACCOUNT_UID_TAKEN',
      /uid 65534 already belongs to user nobody/,
    ],
    [
      {
        users: [
          { username: 'a', uid: 2000 },
          { username: 'b', uid: 2000 },
        ],
      },
      'ACCOUNT_UID_TAKEN',
      /accounts\.users\[1\] \(b\): uid 2000 already belongs to user a/,
    ],
    [
      {
        users: [
          { username: 'a', uid: 2000 },
          { username: 'a', uid: 2001 },
        ],
      },
      'ACCOUNT_DUPLICATE',
      /user a is configured twice \(also accounts\.users\[0\]\)/,
    ],
    [
      { groups: [{ groupname: 'wheel', gid: 11 }] },
      'ACCOUNT_GROUP_CONFLICT',
      /group wheel already exists in \/etc\/group with gid 10, not 11/,
    ],
    [
      { groups: [{ groupname: 'admins', gid: 10 }] },
      'ACCOUNT_GID_TAKEN',
      /gid 10 already belongs to group wheel/,
    ],
    [
      {
        groups: [
          { groupname: 'g', gid: 3000 },
          { groupname: 'g', gid: 3000 },
        ],
      },
      'ACCOUNT_DUPLICATE',
      /group g is configured twice/,
    ],
    [
      { users: [{ username: 'bad:name', uid: 2000 }] },
      'ACCOUNT_BAD_NAME',
      /"bad:name" is not a valid account name/,
    ],
    [
      { groups: [{ groupname: 'g', gid: 3000, members: ['ok', 'not ok'] }] },
      'ACCOUNT_BAD_NAME',
      /member "not ok"/,
    ],
    [{ users: [{ username: 'a', uid: -1 }] }, 'ACCOUNT_BAD_ID', /uid -1 is not a valid id/],
    [
      { users: [{ username: 'a', uid: 2000, shell: '/bin/sh\nroot::0:0::/:/bin/sh' }] },
      'ACCOUNT_BAD_FIELD',
      /shell .* must not contain ":" or a newline/,
    ],
    [
      { users: [{ username: 'a', uid: 2000, homedir: 'home/a' }] },
      'ACCOUNT_BAD_FIELD',
      /must be an absolute path/,
    ],
    [
      { users: [{ username: 'a', uid: 2000, homedir: '/home/../../x' }] },
      'ACCOUNT_BAD_FIELD',
      /without "\.\."/,
    ],
  ];
  for (const [input, code, message] of cases) {
    const { fs, passwd } = alpine();
    throwsCode(() => applyAccounts(fs, input, T), code, message);
    assert.equal(fs.readFile('etc/passwd').toString(), passwd, 'nothing written on error');
  }
  const file = new ImageFS();
  file.mkdirAll('srv');
  file.put('srv/app', { type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0, size: 0 });
  throwsCode(
    () => applyAccounts(file, { users: [{ username: 'a', uid: 2000, homedir: '/srv/app/home' }] }, T),
    'FS_NOT_DIR',
    /accounts\.users\[0\] \(a\): home directory \/srv\/app\/home: cannot create directory \/srv\/app: a file is in the way/,
  );
});

test('existing homes and /dev/null are left alone', () => {
  const { fs } = alpine();
  const root = { ...fs.lstat('root')! };
  const result = applyAccounts(
    fs,
    {
      users: [
        { username: 'root', uid: 0, homedir: '/root' },
        { username: 'nohome', uid: 2000, homedir: '/dev/null' },
      ],
    },
    T,
  );
  assert.deepEqual(result.homeDirs, []);
  assert.deepEqual(fs.lstat('root'), root);
  assert.equal(fs.lstat('dev/null')!.type, 'chardev');
});

test('an image without account files gets new ones (passwd and group 0644, shadow 0640), ending in a newline', () => {
  const fs = new ImageFS();
  applyAccounts(
    fs,
    { users: [{ username: 'app', uid: 1000 }], groups: [{ groupname: 'app', gid: 1000 }] },
    T,
  );
  assert.equal(
    fs.readFile('etc/passwd').toString(),
    'app:x:1000:1000:Account created by lading:/home/app:/bin/sh\n',
  );
  assert.equal(fs.readFile('etc/group').toString(), 'app:x:1000:\n');
  assert.equal(fs.readFile('etc/shadow').toString(), 'app:!:::::::\n');
  assert.deepEqual([fs.lstat('etc/shadow')!.mode, fs.lstat('etc/shadow')!.gid], [0o640, 0]);
  assert.deepEqual(
    [fs.lstat('etc')!.mode, fs.lstat('home')!.mode, fs.lstat('home/app')!.mode],
    [0o755, 0o755, 0o700],
  );

  // a file without a final newline, a comment and a NIS line are kept as they are
  const odd = new ImageFS();
  odd.mkdirAll('etc');
  const text = '# users\nroot:x:0:0:root:/root:/bin/sh\n+@nis';
  odd.put('etc/passwd', {
    type: 'file',
    mode: 0o600,
    uid: 0,
    gid: 0,
    mtime: 0,
    size: text.length,
    content: bytesContent(text),
  });
  applyAccounts(odd, { users: [{ username: 'app', uid: 1000 }] }, T);
  assert.equal(
    odd.readFile('etc/passwd').toString(),
    `${text}\napp:x:1000:1000:Account created by lading:/home/app:/bin/sh\n`,
  );
  assert.equal(odd.lstat('etc/passwd')!.mode, 0o600);
  assert.deepEqual(parseGroup('x:x:notanumber:\nwheel:x:10:root,adm\n'), [
    { name: 'wheel', gid: 10, members: ['root', 'adm'] },
  ]);
});

test('run-as: names resolve against the final passwd and group, numbers pass, unknown names are errors', () => {
  const { fs } = alpine();
  applyAccounts(
    fs,
    { users: [{ username: 'app', uid: 1000, gid: 1001 }], groups: [{ groupname: 'appgrp', gid: 1001 }] },
    T,
  );
  assert.equal(resolveRunAs(fs, 'app'), '1000');
  assert.equal(resolveRunAs(fs, 'nobody'), '65534');
  assert.equal(resolveRunAs(fs, 'app:appgrp'), '1000:1001');
  assert.equal(resolveRunAs(fs, 'nobody:nogroup'), '65534:65533');
  assert.equal(resolveRunAs(fs, '65532'), '65532');
  assert.equal(resolveRunAs(fs, '65532:65532'), '65532:65532');
  assert.equal(resolveRunAs(fs, 'root:0'), '0:0');
  assert.equal(resolveRunAs(fs, undefined), undefined);
  assert.equal(resolveRunAs(fs, ''), undefined);
  const at = { file: 'image.yaml', line: 7, column: 11 };
  assert.throws(
    () => resolveRunAs(fs, 'nonroot', at),
    (e: unknown) =>
      isLadingError(e) &&
      e.code === 'RUN_AS_UNKNOWN_USER' &&
      e
        .format()
        .startsWith(
          'image.yaml:7:11: accounts.run-as names user "nonroot", but no such user is in the image’s /etc/passwd',
        ) &&
      /accounts\.users/.test(e.hint ?? ''),
  );
  throwsCode(() => resolveRunAs(fs, 'app:nogrp'), 'RUN_AS_UNKNOWN_GROUP', /group "nogrp"/);
  throwsCode(() => resolveRunAs(fs, 'a:b:c'), 'RUN_AS_INVALID');
  throwsCode(() => resolveRunAs(fs, 'app:'), 'RUN_AS_INVALID');
  throwsCode(
    () => resolveRunAs(new ImageFS(), 'app'),
    'RUN_AS_UNKNOWN_USER',
    /the image has no \/etc\/passwd/,
  );
});

test('an error in users leaves the groups unwritten too', () => {
  const { fs, group } = alpine();
  throwsCode(
    () =>
      applyAccounts(
        fs,
        { groups: [{ groupname: 'app', gid: 1000 }], users: [{ username: 'nobody', uid: 1 }] },
        T,
      ),
    'ACCOUNT_USER_CONFLICT',
  );
  assert.equal(fs.readFile('etc/group').toString(), group);
});
