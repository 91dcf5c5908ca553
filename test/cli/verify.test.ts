import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fixture } from '../helpers/paths.ts';
import { lading, tempDir } from '../helpers/tools.ts';

const tmp = tempDir('lading-verify-');
after(tmp.remove);

const alpineKeys = fixture('alpine/keys');
const wolfiKeys = fixture('wolfi/keys');

test('good packages and indexes: one OK line each, exit 0', () => {
  const files = [
    fixture('alpine/v3.19.1-iso-repo/x86_64/musl-1.2.4_git20230717-r4.apk'),
    fixture('alpine/v3.19.1-iso-repo/x86_64/APKINDEX.tar.gz'),
    fixture('wolfi/packages/libcap-2.69-r0.apk'),
  ];
  const r = lading(['verify', '--keyring', alpineKeys, '--keyring', wolfiKeys, ...files]);
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 3);
  assert.match(
    lines[0]!,
    /musl-1\.2\.4_git20230717-r4\.apk: OK \(key alpine-devel@lists\.alpinelinux\.org-6165ee59\.rsa\.pub, RSA\)$/,
  );
  assert.match(lines[1]!, /APKINDEX\.tar\.gz: OK /);
  assert.match(lines[2]!, /libcap-2\.69-r0\.apk: OK \(key wolfi-signing\.rsa\.pub, RSA\)$/);
});

test('bad signature, untrusted, unsigned and corrupt files: reported, exit 1', () => {
  const truncated = join(tmp.path, 'truncated.apk');
  writeFileSync(
    truncated,
    readFileSync(fixture('alpine/v3.19.1-iso-repo/x86_64/zlib-1.3.1-r0.apk')).subarray(0, 20000),
  );
  const garbage = join(tmp.path, 'garbage.apk');
  writeFileSync(garbage, 'this is not a package');
  const files = [
    fixture('wolfi/bad-signature/neon-4604-r0.apk'),
    fixture('alpine/v3.19.1-iso-repo/x86_64/zlib-1.3.1-r0.apk'),
    fixture('wolfi/unsigned/perl-json-4.11-r0.apk'),
    truncated,
    garbage,
    fixture('wolfi/packages/libcap-2.69-r0.apk'),
  ];
  const r = lading(['verify', '--keyring', wolfiKeys, ...files]);
  assert.equal(r.status, 1);
  const lines = r.stdout.trim().split('\n');
  assert.match(lines[0]!, /neon-4604-r0\.apk: BAD signature \(key wolfi-signing\.rsa\.pub/);
  assert.match(lines[1]!, /zlib-1\.3\.1-r0\.apk: UNTRUSTED \(no trusted key for alpine-devel@/);
  assert.match(lines[2]!, /perl-json-4\.11-r0\.apk: UNSIGNED$/);
  assert.match(lines[3]!, /truncated\.apk: corrupt: .*truncated/);
  assert.match(lines[4]!, /garbage\.apk: corrupt: .*not gzip/);
  assert.match(lines[5]!, /libcap-2\.69-r0\.apk: OK/);
});

test('a wrong key under the right name is a BAD signature', () => {
  const keys = join(tmp.path, 'wrong-keys');
  mkdirSync(keys);
  copyFileSync(
    fixture('wolfi/keys/wolfi-signing.rsa.pub'),
    join(keys, 'alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub'),
  );
  const r = lading([
    'verify',
    '--keyring',
    keys,
    fixture('alpine/v3.19.1-iso-repo/x86_64/zlib-1.3.1-r0.apk'),
  ]);
  assert.equal(r.status, 1);
  assert.match(r.stdout, /BAD signature/);
});

test('keyring problems are errors naming the file, with a non-zero exit', () => {
  const notKey = join(tmp.path, 'not-a-key.rsa.pub');
  writeFileSync(notKey, 'hello');
  const r = lading(['verify', '--keyring', notKey, fixture('wolfi/packages/libcap-2.69-r0.apk')]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /not-a-key\.rsa\.pub: key is not a PEM public key/);
  const missing = lading([
    'verify',
    '--keyring',
    join(tmp.path, 'nope'),
    fixture('wolfi/packages/libcap-2.69-r0.apk'),
  ]);
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /nope: keyring path does not exist/);
  const none = lading(['verify', fixture('wolfi/packages/libcap-2.69-r0.apk')]);
  assert.notEqual(none.status, 0);
  assert.match(none.stderr, /--keyring/);
});

test('verify --help lists every verdict', () => {
  const r = lading(['verify', '--help']);
  assert.equal(r.status, 0);
  for (const word of ['OK', 'BAD signature', 'UNTRUSTED', 'UNSIGNED', 'corrupt', '--keyring'])
    assert.ok(r.stdout.includes(word), word);
});
