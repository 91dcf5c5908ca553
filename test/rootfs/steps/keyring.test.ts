import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ImageFS } from '../../../src/fs/tree.ts';
import { writeBuildKeyring, writeRuntimeKeyring } from '../../../src/rootfs/steps/index.ts';
import { throwsCode } from '../../helpers/assert.ts';
import { installOracleWorld } from '../../helpers/fixture-image.ts';
import { apkOracle, fixture } from '../../helpers/paths.ts';
import { requireTool, run, tempDir } from '../../helpers/tools.ts';

const T = { mtime: 1700000000 };
const WOLFI_KEY = () => readFileSync(fixture('wolfi', 'keys', 'wolfi-signing.rsa.pub'), 'utf8');
const ALPINE_KEY = 'alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub';

test('a runtime key is written to /etc/apk/keys and the real apk verifies packages with it', (t) => {
  const fs = installOracleWorld('minimal-world', { initdb: T }).fs;
  // a key as users paste it: CRLF line ends and surrounding blank lines
  const pasted = `\n${WOLFI_KEY().replace(/\n/g, '\r\n')}\n`;
  assert.deepEqual(writeRuntimeKeyring(fs, [{ name: 'wolfi-signing.rsa.pub', content: pasted }], T), [
    'etc/apk/keys/wolfi-signing.rsa.pub',
  ]);
  const node = fs.lstat('etc/apk/keys/wolfi-signing.rsa.pub')!;
  assert.deepEqual([node.mode, node.uid, node.gid, node.mtime], [0o644, 0, 0, T.mtime]);
  assert.equal(
    fs.readFile('etc/apk/keys/wolfi-signing.rsa.pub').toString(),
    WOLFI_KEY(),
    're-encoded to the canonical PEM',
  );

  const keys = tempDir();
  t.after(keys.remove);
  for (const name of fs.list('etc/apk/keys'))
    writeFileSync(join(keys.path, name), fs.readFile(`etc/apk/keys/${name}`));
  const r = run(apkOracle, [
    '--keys-dir',
    keys.path,
    'verify',
    fixture('wolfi', 'packages', 'hello-wolfi-2.12-r1.apk'),
  ]);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /hello-wolfi-2\.12-r1\.apk: 0 - OK/);
});

test('runtime keys must be one RSA public key with a safe, unique name', (t) => {
  const dir = tempDir();
  t.after(dir.remove);
  const openssl = requireTool('openssl');
  const ec = run(openssl, [
    'genpkey',
    '-algorithm',
    'EC',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-out',
    join(dir.path, 'ec.key'),
  ]);
  assert.equal(ec.status, 0, ec.stderr);
  const ecPub = run(openssl, ['pkey', '-in', join(dir.path, 'ec.key'), '-pubout']);
  assert.equal(ecPub.status, 0, ecPub.stderr);
  const ecPrivate = readFileSync(join(dir.path, 'ec.key'), 'utf8');
  const rsa = WOLFI_KEY();
  const cases: [{ name: string; content: string }[], string, RegExp][] = [
    [
      [{ name: 'ec.rsa.pub', content: ecPub.stdout }],
      'KEYRING_NOT_RSA',
      /contents\.runtime_keyring\[0\] \(ec\.rsa\.pub\): the key is ec, but apk only accepts RSA keys/,
    ],
    [[{ name: 'k.pub', content: rsa + rsa }], 'KEYRING_NOT_ONE', /found 2 PEM block/],
    [[{ name: 'k.pub', content: ecPrivate }], 'KEYRING_NOT_ONE', /exactly one PEM "PUBLIC KEY" block/],
    [
      [{ name: 'k.pub', content: '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n' }],
      'KEYRING_INVALID',
      /not a valid public key/,
    ],
    [
      [{ name: '../k.pub', content: rsa }],
      'KEYRING_BAD_NAME',
      /name "\.\.\/k\.pub" cannot be a key file name/,
    ],
    [
      [
        { name: 'k.pub', content: rsa },
        { name: 'k.pub', content: rsa },
      ],
      'KEYRING_DUPLICATE',
      /contents\.runtime_keyring\[1\] \(k\.pub\): the name k\.pub is used twice/,
    ],
  ];
  for (const [keys, code, message] of cases)
    throwsCode(() => writeRuntimeKeyring(new ImageFS(), keys, T), code, message);

  // an identical key file already there is fine; a different key under that name is not
  const fs = new ImageFS();
  writeRuntimeKeyring(fs, [{ name: 'k.pub', content: rsa }], T);
  writeRuntimeKeyring(fs, [{ name: 'k.pub', content: rsa }], T);
  const other = readFileSync(fixture('alpine', 'keys', ALPINE_KEY), 'utf8');
  throwsCode(
    () => writeRuntimeKeyring(fs, [{ name: 'k.pub', content: other }], T),
    'KEYRING_COLLISION',
    /\/etc\/apk\/keys\/k\.pub already exists in the image with different content/,
  );
});

test('the build keyring: keys the packages installed are kept when identical, new ones written, clashes refused', () => {
  const fs = installOracleWorld('minimal-world', { initdb: T }).fs;
  const shipped = { ...fs.lstat(`etc/apk/keys/${ALPINE_KEY}`)! };
  const alpine = readFileSync(fixture('alpine', 'keys', ALPINE_KEY));
  const aarch64 = 'alpine-devel@lists.alpinelinux.org-616ae350.rsa.pub';
  const written = writeBuildKeyring(
    fs,
    [
      { name: ALPINE_KEY, content: alpine },
      { name: aarch64, content: readFileSync(fixture('alpine', 'keys', aarch64)) },
      { name: aarch64, content: readFileSync(fixture('alpine', 'keys', aarch64)) },
    ],
    T,
  );
  assert.deepEqual(written, [`etc/apk/keys/${ALPINE_KEY}`, `etc/apk/keys/${aarch64}`]);
  assert.deepEqual(
    fs.lstat(`etc/apk/keys/${ALPINE_KEY}`),
    shipped,
    'the package’s identical file is kept as it is',
  );
  assert.equal(fs.lstat(`etc/apk/keys/${aarch64}`)!.mtime, T.mtime);

  throwsCode(
    () => writeBuildKeyring(fs, [{ name: ALPINE_KEY, content: WOLFI_KEY() }], T),
    'KEYRING_COLLISION',
    /keyring\[0\] \(alpine-devel@lists\.alpinelinux\.org-6165ee59\.rsa\.pub\): \/etc\/apk\/keys\/.* already exists in the image with different content/,
  );
  throwsCode(
    () =>
      writeBuildKeyring(
        new ImageFS(),
        [
          { name: 'a', content: 'x' },
          { name: 'a', content: 'y' },
        ],
        T,
      ),
    'KEYRING_DUPLICATE',
  );
  throwsCode(() => writeBuildKeyring(new ImageFS(), [{ name: 'a/b', content: 'x' }], T), 'KEYRING_BAD_NAME');
  const empty = new ImageFS();
  writeBuildKeyring(empty, [{ name: 'k.rsa.pub', content: 'x' }], T);
  assert.deepEqual(
    [empty.lstat('etc/apk/keys')!.mode, empty.lstat('etc/apk/keys/k.rsa.pub')!.mode],
    [0o755, 0o644],
  );
});
