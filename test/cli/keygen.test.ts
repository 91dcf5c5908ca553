import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { lading, tempDir } from '../helpers/tools.ts';

const tmp = tempDir('lading-keygen-');
after(tmp.remove);

test('keygen writes a private key (0600) and a PKIX public key', () => {
  const name = join(tmp.path, 'me@example.com');
  const r = lading(['keygen', name, '--bits', '2048']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /me@example\.com\.rsa \(private/);
  assert.equal(statSync(`${name}.rsa`).mode & 0o777, 0o600);
  assert.equal(statSync(`${name}.rsa.pub`).mode & 0o777, 0o644);
  assert.match(readFileSync(`${name}.rsa`, 'utf8'), /^-----BEGIN RSA PRIVATE KEY-----/);
  assert.match(readFileSync(`${name}.rsa.pub`, 'utf8'), /^-----BEGIN PUBLIC KEY-----/);
  assert.deepEqual(readdirSync(tmp.path).sort(), ['me@example.com.rsa', 'me@example.com.rsa.pub']);

  // refuses to overwrite, leaving the pair untouched
  const before = readFileSync(`${name}.rsa`);
  const again = lading(['keygen', name, '--bits', '2048']);
  assert.equal(again.status, 1);
  assert.match(again.stderr, /me@example\.com\.rsa: key file already exists/);
  assert.deepEqual(readFileSync(`${name}.rsa`), before);

  const forced = lading(['keygen', name, '--bits', '2048', '--force']);
  assert.equal(forced.status, 0, forced.stderr);
  assert.notDeepEqual(readFileSync(`${name}.rsa`), before);
});

test('keygen errors: bad size, missing directory; nothing left behind', () => {
  const r = lading(['keygen', join(tmp.path, 'small'), '--bits', '512']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /key size 512 is not supported/);
  const missing = lading(['keygen', join(tmp.path, 'no/such/dir/k'), '--bits', '2048']);
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /no\/such\/dir\/k\.rsa: cannot write output/);
  assert.ok(!readdirSync(tmp.path).some((f) => f.startsWith('small') || f.startsWith('.')));
  writeFileSync(join(tmp.path, 'x'), ''); // keep the directory non-empty for the listing above
});

test('keygen --help describes the flags', () => {
  const r = lading(['keygen', '--help']);
  assert.equal(r.status, 0);
  for (const flag of ['--bits', '--force', 'NAME.rsa.pub', '0600']) assert.ok(r.stdout.includes(flag), flag);
});
