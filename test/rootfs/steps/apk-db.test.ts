import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ImageFS } from '../../../src/fs/tree.ts';
import {
  apkDbDir,
  formatRepositories,
  formatWorld,
  initApkDatabase,
  isUsrMergedPackageSet,
  linkUsrMergedApkDb,
  writeApkDatabase,
  writeRepositories,
} from '../../../src/rootfs/steps/index.ts';
import { isLadingError } from '../../../src/util/errors.ts';
import { redactUrl } from '../../../src/util/redact.ts';
import { throwsCode } from '../../helpers/assert.ts';
import {
  ISO_REPO,
  imageTree,
  installOracleWorld,
  loadFixturePackage,
  readOracleTree,
} from '../../helpers/fixture-image.ts';
import { apkOracle, fixture } from '../../helpers/paths.ts';
import { run, tempDir } from '../../helpers/tools.ts';

const T = { mtime: 1700000000 };

test('initApkDatabase creates exactly what apk --initdb creates (the replayout oracle tree minus its packages)', () => {
  const fs = new ImageFS();
  assert.equal(initApkDatabase(fs, { arch: 'x86_64', ...T }), 'lib/apk/db');
  const oracle = readOracleTree('apko-testdata-replayout');
  const ours = imageTree(fs);
  // the packages of that world own etc/os-release, usr/local/…, var/lib/…; everything else is apk's own
  const fromApk = [...oracle.values()].filter(
    (e) =>
      !/^(etc\/os-release|usr|var\/lib)/.test(e.path) &&
      e.path !== 'lib/apk/db/installed' &&
      e.path !== 'etc/apk/world',
  );
  assert.deepEqual(
    [...ours.values()].filter((e) => e.path !== 'lib/apk/db/installed' && e.path !== 'etc/apk/world'),
    fromApk,
  );
  assert.deepEqual(
    [...ours.keys()],
    [
      'dev',
      'dev/console',
      'dev/null',
      'dev/random',
      'dev/urandom',
      'dev/zero',
      'etc',
      'etc/apk',
      'etc/apk/arch',
      'etc/apk/world',
      'lib',
      'lib/apk',
      'lib/apk/db',
      'lib/apk/db/installed',
      'lib/apk/db/lock',
      'lib/apk/db/scripts.tar',
      'lib/apk/db/triggers',
      'proc',
      'tmp',
      'var',
      'var/cache',
      'var/cache/apk',
      'var/cache/misc',
    ],
  );
  assert.deepEqual(
    [fs.lstat('dev/console')?.devmajor, fs.lstat('dev/console')?.devminor, fs.lstat('dev/zero')?.devminor],
    [5, 1, 5],
  );
  assert.equal(fs.readFile('etc/apk/arch').toString(), 'x86_64\n');
  assert.equal(fs.readFile('etc/apk/world').toString(), '\n');
  assert.ok(fs.readFile('lib/apk/db/scripts.tar').equals(Buffer.alloc(1024)));
  for (const [, node] of fs.walk()) assert.equal(node.mtime, T.mtime);
});

test('initApkDatabase is idempotent, keeps what exists and refuses a non-directory where a directory belongs', () => {
  const fs = new ImageFS();
  initApkDatabase(fs, { arch: 'x86_64', ...T });
  const before = imageTree(fs);
  initApkDatabase(fs, { arch: 'x86_64', ...T });
  assert.deepEqual(imageTree(fs), before);

  const bad = new ImageFS();
  bad.put('tmp', { type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0, size: 0 });
  throwsCode(
    () => initApkDatabase(bad, { arch: 'x86_64', ...T }),
    'APKDB_NOT_DIR',
    /\/tmp must be a directory, but it is a file/,
  );
  throwsCode(() => initApkDatabase(new ImageFS(), { arch: 'x86 64', ...T }), 'APKDB_BAD_ARCH');
});

test('usr-merged layout: the database goes to usr/lib/apk/db, and lib/apk reaches it after install', () => {
  // a real package set is not usr-merged; a package shipping `lib` as a symlink makes it so
  const alpine = ['musl', 'busybox', 'alpine-baselayout-data'].map((n) => loadFixturePackage(ISO_REPO(), n));
  assert.equal(isUsrMergedPackageSet(alpine), false);
  const merged = [...alpine, { entries: [{ name: 'lib', type: 'symlink' }] }];
  assert.equal(isUsrMergedPackageSet(merged), true);

  // lib -> usr/lib installed by a package: nothing more to do, apk finds lib/apk/db through it
  const fs = new ImageFS();
  assert.equal(initApkDatabase(fs, { arch: 'aarch64', usrMerged: true, ...T }), 'usr/lib/apk/db');
  assert.equal(fs.lstat('lib'), undefined);
  fs.put('lib', { type: 'symlink', mode: 0o777, uid: 0, gid: 0, mtime: 0, size: 0, linkname: 'usr/lib' });
  linkUsrMergedApkDb(fs, T);
  assert.equal(fs.lstat('lib')?.linkname, 'usr/lib');
  assert.equal(apkDbDir(fs), 'lib/apk/db');
  assert.equal(fs.resolve('lib/apk/db/installed'), 'usr/lib/apk/db/installed');

  // no lib at all: lib/ is created with lib/apk -> ../usr/lib/apk (apko's link)
  const fs2 = new ImageFS();
  initApkDatabase(fs2, { arch: 'aarch64', usrMerged: true, ...T });
  linkUsrMergedApkDb(fs2, T);
  assert.equal(fs2.lstat('lib')?.type, 'directory');
  assert.equal(fs2.lstat('lib/apk')?.linkname, '../usr/lib/apk');
  assert.equal(fs2.resolve('lib/apk/db/lock'), 'usr/lib/apk/db/lock');

  // a lib/apk with only empty directories is replaced; with files it is an error
  const fs3 = new ImageFS();
  initApkDatabase(fs3, { arch: 'aarch64', usrMerged: true, ...T });
  fs3.mkdirAll('lib/apk/exec');
  linkUsrMergedApkDb(fs3, T);
  assert.equal(fs3.lstat('lib/apk')?.type, 'symlink');
  const fs4 = new ImageFS();
  initApkDatabase(fs4, { arch: 'aarch64', usrMerged: true, ...T });
  fs4.mkdirAll('lib/apk/db');
  fs4.put('lib/apk/db/installed', { type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0, size: 0 });
  throwsCode(() => linkUsrMergedApkDb(fs4, T), 'APKDB_LIB_APK', /\/lib\/apk holds files/);
});

test('apkDbDir says what to do when there is no database', () => {
  throwsCode(
    () => apkDbDir(new ImageFS()),
    'APKDB_MISSING',
    /neither \/lib\/apk\/db nor \/usr\/lib\/apk\/db/,
  );
  throwsCode(
    () =>
      writeApkDatabase(
        new ImageFS(),
        { installed: '', scriptsTar: Buffer.alloc(1024), triggers: '', world: [] },
        T,
      ),
    'APKDB_MISSING',
  );
});

test('writeApkDatabase writes the database files and the world byte-for-byte as apk does (minimal-world)', () => {
  const img = installOracleWorld('minimal-world', { initdb: T });
  assert.equal(writeApkDatabase(img.fs, { ...img.db, world: img.world }, T), 'lib/apk/db');
  const oracle = fixture('oracle-apk-tools-2.14.4', 'minimal-world');
  for (const [ours, theirs] of [
    ['lib/apk/db/installed', 'installed'],
    ['lib/apk/db/scripts.tar', 'scripts.tar'],
    ['lib/apk/db/triggers', 'triggers'],
    ['etc/apk/world', 'world'],
  ] as const) {
    assert.ok(img.fs.readFile(ours).equals(readFileSync(join(oracle, theirs))), ours);
    const node = img.fs.lstat(ours)!;
    assert.deepEqual([node.mode, node.uid, node.gid, node.mtime], [0o644, 0, 0, T.mtime], ours);
  }
});

test('formatWorld sorts by package name as the real apk does', (t) => {
  const world = ['zlib<2', 'musl-utils', 'musl>=1', 'busybox', 'alpine-baselayout-data'];
  const root = tempDir();
  t.after(root.remove);
  const r = run(apkOracle, [
    'add',
    '--root',
    root.path,
    '--initdb',
    '--no-network',
    '--no-scripts',
    '--arch',
    'x86_64',
    '--allow-untrusted',
    '--repository',
    fixture('alpine', 'v3.19.1-iso-repo'),
    ...world,
  ]);
  assert.equal(r.status, 0, r.stderr);
  const theirs = readFileSync(join(root.path, 'etc/apk/world'), 'utf8');
  assert.equal(formatWorld(world), theirs);
  assert.equal(theirs, 'alpine-baselayout-data\nbusybox\nmusl>=1\nmusl-utils\nzlib<2\n');
  assert.equal(formatWorld([]), '\n');
  assert.equal(formatWorld(['b', 'a', 'b']), 'a\nb\n');
  throwsCode(() => formatWorld(['a b']), 'APKDB_BAD_WORLD');
});

test('/etc/apk/repositories: tags kept, credentials never written, duplicates dropped, order kept', () => {
  assert.equal(
    redactUrl('https://user:p%40ss@example.com/alpine/v3.19/main'),
    'https://example.com/alpine/v3.19/main',
  );
  assert.equal(redactUrl('https://user:p@ss@example.com/x'), 'https://example.com/x');
  assert.equal(redactUrl('/srv/repo/with@sign'), '/srv/repo/with@sign');
  assert.equal(redactUrl('https://example.com/path/with@sign'), 'https://example.com/path/with@sign');
  const repos = [
    'https://dl-cdn.alpinelinux.org/alpine/v3.19/main',
    '@local /work/repo',
    { repository: '@private https://token:s3cret@repo.example.com/packages' },
    'https://dl-cdn.alpinelinux.org/alpine/v3.19/main',
  ];
  const expected =
    'https://dl-cdn.alpinelinux.org/alpine/v3.19/main\n@local /work/repo\n@private https://repo.example.com/packages\n';
  assert.equal(formatRepositories(repos), expected);
  const fs = new ImageFS();
  initApkDatabase(fs, { arch: 'x86_64', ...T });
  writeRepositories(fs, repos, T);
  const text = fs.readFile('etc/apk/repositories').toString();
  assert.equal(text, expected);
  assert.doesNotMatch(text, /s3cret|token/);
  assert.deepEqual(
    [fs.lstat('etc/apk/repositories')?.mode, fs.lstat('etc/apk/repositories')?.mtime],
    [0o644, T.mtime],
  );

  const none = new ImageFS();
  writeRepositories(none, [], T);
  assert.equal(none.lstat('etc/apk/repositories'), undefined);

  assert.throws(
    () => formatRepositories(['@tag https://u:secret@host/x extra']),
    (e: unknown) => isLadingError(e) && e.code === 'APKDB_BAD_REPOSITORY' && !e.message.includes('secret'),
  );
});
