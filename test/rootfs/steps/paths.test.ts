import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ImageFS } from '../../../src/fs/tree.ts';
import { applyPaths, type PathInput } from '../../../src/rootfs/steps/index.ts';
import { isLadingError } from '../../../src/util/errors.ts';
import { throwsCode } from '../../helpers/assert.ts';
import { installOracleWorld } from '../../helpers/fixture-image.ts';

const T = { mtime: 1700000000 };

function image(): ImageFS {
  return installOracleWorld('minimal-world', { initdb: T }).fs;
}

function attrs(fs: ImageFS, p: string) {
  const n = fs.lstat(p);
  return n && { type: n.type, mode: n.mode, uid: n.uid, gid: n.gid };
}

test('directory: mkdir -p with the mode and owner on the last one, parents 0755 root, existing ones only adjusted', () => {
  const fs = image();
  const etc = { ...fs.lstat('etc')! };
  applyPaths(
    fs,
    [
      { path: '/var/lib/app/data', type: 'directory', permissions: 0o700, uid: 1000, gid: 1000 },
      { path: '/etc', type: 'directory' },
      { path: '/var/run/app', type: 'directory', uid: 100 },
      { path: '/tmp', type: 'directory', permissions: 0o1770 },
    ],
    T,
  );
  assert.deepEqual(attrs(fs, 'var/lib/app/data'), { type: 'directory', mode: 0o700, uid: 1000, gid: 1000 });
  assert.deepEqual(attrs(fs, 'var/lib/app'), { type: 'directory', mode: 0o755, uid: 0, gid: 0 });
  assert.equal(fs.lstat('var/lib/app/data')!.mtime, T.mtime);
  assert.deepEqual(fs.lstat('etc'), etc, 'omitted permissions leave an existing directory alone');
  // var/run -> /run: created through the symlink, one id given → the other is 0
  assert.deepEqual(attrs(fs, 'run/app'), { type: 'directory', mode: 0o755, uid: 100, gid: 0 });
  assert.equal(fs.lstat('var/run')!.type, 'symlink');
  assert.equal(fs.lstat('tmp')!.mode, 0o1770);
});

test('directory recursive: mode and owner for everything below, symlinks get the owner only and are not followed', () => {
  const fs = image();
  const sslCerts = { ...fs.lstat('etc/ssl/certs')! };
  applyPaths(
    fs,
    [{ path: '/etc/ssl1.1', type: 'directory', permissions: 0o750, uid: 0, gid: 42, recursive: true }],
    T,
  );
  assert.deepEqual(attrs(fs, 'etc/ssl1.1'), { type: 'directory', mode: 0o750, uid: 0, gid: 42 });
  assert.deepEqual(attrs(fs, 'etc/ssl1.1/certs'), { type: 'symlink', mode: 0o777, uid: 0, gid: 42 });
  assert.deepEqual(fs.lstat('etc/ssl/certs'), sslCerts);

  applyPaths(
    fs,
    [{ path: '/usr/share/udhcpc', type: 'permissions', permissions: 0o700, recursive: true }],
    T,
  );
  assert.deepEqual(attrs(fs, 'usr/share/udhcpc/default.script'), {
    type: 'file',
    mode: 0o700,
    uid: 0,
    gid: 0,
  });
});

test('empty-file: created with parents, or truncated in place keeping mode and owner', () => {
  const fs = image();
  const motd = fs.lstat('etc/motd')!;
  assert.ok(motd.size > 0);
  applyPaths(
    fs,
    [
      { path: '/etc/app/app.conf', type: 'empty-file' },
      { path: '/etc/app/secret', type: 'empty-file', permissions: 0o600, uid: 1000, gid: 1000 },
      { path: '/etc/motd-link', type: 'hardlink', source: '/etc/motd' },
      { path: '/etc/motd', type: 'empty-file' },
    ],
    T,
  );
  assert.deepEqual(attrs(fs, 'etc/app'), { type: 'directory', mode: 0o755, uid: 0, gid: 0 });
  assert.deepEqual(attrs(fs, 'etc/app/app.conf'), { type: 'file', mode: 0o644, uid: 0, gid: 0 });
  assert.deepEqual(attrs(fs, 'etc/app/secret'), { type: 'file', mode: 0o600, uid: 1000, gid: 1000 });
  assert.equal(fs.readFile('etc/app/app.conf').length, 0);
  assert.equal(fs.readFile('etc/motd').length, 0);
  assert.equal(fs.readFile('etc/motd-link').length, 0, 'the hard link sees the truncation');
  assert.deepEqual(
    [fs.lstat('etc/motd')!.mode, fs.lstat('etc/motd')!.sha1, fs.lstat('etc/motd')!.mtime],
    [0o644, undefined, T.mtime],
  );
  throwsCode(
    () => applyPaths(fs, [{ path: '/etc/apk', type: 'empty-file' }], T),
    'PATHS_EXISTS',
    /paths\[0\] \(empty-file \/etc\/apk\): \/etc\/apk exists and is a directory, not a file/,
  );
});

test('hardlink: another name for the same node; omitted permissions leave the target alone (apko made it 0000)', () => {
  const fs = image();
  const busybox = fs.lstat('bin/busybox')!;
  applyPaths(
    fs,
    [
      { path: '/usr/local/bin/bb', type: 'hardlink', source: '/bin/busybox' },
      { path: '/etc/issue', type: 'hardlink', source: '/etc/motd' },
    ],
    T,
  );
  assert.equal(fs.lstat('usr/local/bin/bb'), busybox);
  assert.equal(busybox.mode, 0o755);
  assert.equal(fs.lstat('etc/issue'), fs.lstat('etc/motd'));
  applyPaths(
    fs,
    [{ path: '/usr/local/bin/bb', type: 'hardlink', source: '/bin/busybox', permissions: 0o4755 }],
    T,
  );
  assert.equal(fs.lstat('bin/busybox')!.mode, 0o4755, 'permissions apply to the shared node');

  const errors: [PathInput, string, RegExp][] = [
    [{ path: '/x', type: 'hardlink', source: '/nope' }, 'PATHS_NO_SOURCE', /source \/nope does not exist/],
    [{ path: '/x', type: 'hardlink', source: '/etc' }, 'PATHS_SOURCE_IS_DIR', /source \/etc is a directory/],
    [
      { path: '/etc/apk', type: 'hardlink', source: '/etc/motd' },
      'PATHS_EXISTS',
      /\/etc\/apk is a directory; a hard link cannot replace it/,
    ],
    [
      { path: '/x', type: 'hardlink', source: '/../etc/motd' },
      'PATHS_OUTSIDE_IMAGE',
      /source "\/\.\.\/etc\/motd" is outside the image/,
    ],
    [{ path: '/x', type: 'hardlink' }, 'PATHS_NO_SOURCE', /a hardlink needs a source/],
  ];
  for (const [entry, code, message] of errors) throwsCode(() => applyPaths(fs, [entry], T), code, message);
});

test('symlink: created as given (0777, root unless uid/gid), never over an existing path', () => {
  const fs = image();
  applyPaths(
    fs,
    [
      { path: '/usr/local/bin/python', type: 'symlink', source: '/usr/bin/python3' },
      { path: '/usr/local/bin/sh', type: 'symlink', source: '../../../bin/busybox', uid: 1000, gid: 1000 },
    ],
    T,
  );
  const link = fs.lstat('usr/local/bin/python')!;
  assert.deepEqual(
    [link.type, link.linkname, link.mode, link.uid, link.mtime],
    ['symlink', '/usr/bin/python3', 0o777, 0, T.mtime],
  );
  assert.deepEqual(attrs(fs, 'usr/local/bin/sh'), { type: 'symlink', mode: 0o777, uid: 1000, gid: 1000 });
  assert.equal(fs.stat('usr/local/bin/sh'), fs.lstat('bin/busybox'));
  assert.equal(
    fs.lstat('bin/busybox')!.mode,
    0o755,
    'the target keeps its mode when permissions are omitted',
  );

  throwsCode(
    () => applyPaths(fs, [{ path: '/bin/sh', type: 'symlink', source: '/bin/bash' }], T),
    'PATHS_EXISTS',
    /paths\[0\] \(symlink \/bin\/sh\): \/bin\/sh already exists \(a symlink to \/bin\/busybox\)/,
  );
  throwsCode(
    () => applyPaths(fs, [{ path: '/etc/motd', type: 'symlink', source: '/etc/issue' }], T),
    'PATHS_EXISTS',
    /\/etc\/motd already exists \(a file\)/,
  );
  throwsCode(() => applyPaths(fs, [{ path: '/x', type: 'symlink', source: '' }], T), 'PATHS_NO_SOURCE');
});

test('permissions: chmod including setuid/setgid/sticky, chown when ids are given, following a symlink', () => {
  const fs = image();
  const before = { ...fs.lstat('etc/motd')! };
  applyPaths(
    fs,
    [
      { path: '/bin/bbsuid-like', type: 'empty-file' },
      { path: '/bin/bbsuid-like', type: 'permissions', permissions: 0o4711 },
      { path: '/var/spool', type: 'permissions', permissions: 0o3775 },
      { path: '/etc/motd', type: 'permissions', gid: 1000 },
      { path: '/etc/ssl/cert.pem', type: 'permissions', permissions: 0o640 },
    ],
    T,
  );
  assert.equal(fs.lstat('bin/bbsuid-like')!.mode, 0o4711);
  assert.equal(fs.lstat('var/spool')!.mode, 0o3775);
  assert.deepEqual(
    [fs.lstat('etc/motd')!.uid, fs.lstat('etc/motd')!.gid, fs.lstat('etc/motd')!.mode],
    [0, 1000, before.mode],
  );
  assert.equal(fs.lstat('etc/motd')!.mtime, before.mtime, 'chmod/chown keep the mtime');
  assert.equal(fs.lstat('etc/ssl/certs/ca-certificates.crt')!.mode, 0o640);
  assert.equal(fs.lstat('etc/ssl/cert.pem')!.mode, 0o777);

  throwsCode(
    () => applyPaths(fs, [{ path: '/opt/nothing', type: 'permissions', permissions: 0o755 }], T),
    'PATHS_NOT_FOUND',
    /\/opt\/nothing does not exist/,
  );
  throwsCode(() => applyPaths(fs, [{ path: '/etc/motd', type: 'permissions' }], T), 'PATHS_NOTHING_TO_DO');
  applyPaths(fs, [{ path: '/usr/local/bin/dangling', type: 'symlink', source: '/nowhere' }], T);
  throwsCode(
    () => applyPaths(fs, [{ path: '/usr/local/bin/dangling', type: 'permissions', permissions: 0o755 }], T),
    'PATHS_NOT_FOUND',
    /is a symlink to \/nowhere, which does not exist/,
  );
  throwsCode(
    () => applyPaths(fs, [{ path: '/usr/local/bin/dangling', type: 'directory' }], T),
    'PATHS_DANGLING_SYMLINK',
  );
});

test('bad entries are refused with the entry, the reason and where it was written', () => {
  const fs = image();
  const at = { file: 'image.yaml', line: 12, column: 5 };
  const cases: [PathInput, string, RegExp][] = [
    [
      { path: '/../../etc/passwd', type: 'empty-file', at },
      'PATHS_OUTSIDE_IMAGE',
      /paths\[0\] \(empty-file \/\.\.\/\.\.\/etc\/passwd\): path "\/\.\.\/\.\.\/etc\/passwd" is outside the image/,
    ],
    [{ path: '/usr/../etc/x', type: 'empty-file', at }, 'PATHS_OUTSIDE_IMAGE', /contains "\.\."/],
    [
      { path: '/etc/x', type: 'directory', permissions: 0o10000, at },
      'PATHS_BAD_MODE',
      /permissions 4096 is not a mode/,
    ],
    [{ path: '/etc/x', type: 'directory', uid: 1.5, at }, 'PATHS_BAD_ID', /uid 1\.5/],
    [
      { path: '/etc/x', type: 'symlink', source: '/a', recursive: true, at },
      'PATHS_UNUSED_FIELD',
      /recursive applies only to directory and permissions/,
    ],
    [
      { path: '/etc/x', type: 'directory', source: '/a', at },
      'PATHS_UNUSED_FIELD',
      /source is only used by symlink and hardlink/,
    ],
    [{ path: '/etc/x', type: 'socket' as never, at }, 'PATHS_BAD_TYPE', /unknown type "socket"/],
    [
      { path: '/etc/motd', type: 'directory', at },
      'PATHS_EXISTS',
      /\/etc\/motd exists and is a file, not a directory/,
    ],
    [
      { path: '/etc/motd/x', type: 'empty-file', at },
      'FS_NOT_DIR',
      /paths\[0\] \(empty-file \/etc\/motd\/x\): cannot create directory \/etc\/motd: a file is in the way/,
    ],
  ];
  for (const [entry, code, message] of cases) {
    assert.throws(
      () => applyPaths(fs, [entry], T),
      (e: unknown) => {
        assert.ok(isLadingError(e), String(e));
        assert.equal(e.code, code, e.message);
        assert.match(e.message, message);
        assert.ok(e.format().startsWith('image.yaml:12:5: paths[0]'), e.format());
        return true;
      },
    );
  }
});

test('entries apply in order, so later ones can use what earlier ones made', () => {
  const fs = image();
  applyPaths(
    fs,
    [
      { path: '/app', type: 'directory', uid: 1000, gid: 1000 },
      { path: '/app/run.sh', type: 'empty-file', permissions: 0o755 },
      { path: '/usr/local/bin/run', type: 'symlink', source: '/app/run.sh' },
      { path: '/app', type: 'permissions', uid: 1000, gid: 1000, recursive: true },
    ],
    T,
  );
  assert.deepEqual(attrs(fs, 'app/run.sh'), { type: 'file', mode: 0o755, uid: 1000, gid: 1000 });
  assert.equal(fs.stat('usr/local/bin/run'), fs.lstat('app/run.sh'));
});
