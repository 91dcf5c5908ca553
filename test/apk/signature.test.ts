import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { test } from 'node:test';
import { inflateGzipMember } from '../../src/apk/gzip-members.ts';
import { createKeyring } from '../../src/apk/keyring.ts';
import {
  createSignatureMember,
  generateRsaKeyPair,
  parseSignatureTar,
  signingKeyFromPem,
  verifySignatures,
} from '../../src/apk/signature.ts';

const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
const pem = {
  private: pair.privateKey.export({ type: 'pkcs1', format: 'pem' }) as string,
  public: pair.publicKey.export({ type: 'spki', format: 'pem' }) as string,
};
const key = signingKeyFromPem(pem.private, 'keys/me.rsa');
const keyring = createKeyring([{ name: 'me.rsa.pub', pem: pem.public }]);
const data = Buffer.from('the control member');

test('the key name is the private key file name + .pub, as abuild names it', () => {
  assert.equal(key.name, 'me.rsa.pub');
});

for (const algorithm of ['RSA', 'RSA256', 'RSA512'] as const) {
  test(`${algorithm} signatures verify, and fail on other data`, () => {
    const member = createSignatureMember(data, key, { algorithm });
    const sigs = parseSignatureTar(inflateGzipMember(member, 0).data);
    assert.equal(sigs.length, 1);
    assert.equal(sigs[0]!.entryName, `.SIGN.${algorithm}.me.rsa.pub`);
    assert.equal(verifySignatures(sigs, data, keyring).status, 'OK');
    const bad = verifySignatures(sigs, Buffer.from('other'), keyring);
    assert.equal(bad.status, 'BAD');
    assert.match(bad.message, /^BAD signature \(key me\.rsa\.pub/);
  });
}

test('signing is deterministic', () => {
  assert.deepEqual(
    createSignatureMember(data, key, { mtime: 5 }),
    createSignatureMember(data, key, { mtime: 5 }),
  );
});

test('unknown keys give UNTRUSTED, no signatures UNSIGNED, unsupported algorithms are skipped', () => {
  const sigs = parseSignatureTar(inflateGzipMember(createSignatureMember(data, key), 0).data);
  const empty = createKeyring([]);
  assert.equal(verifySignatures(sigs, data, empty).status, 'UNTRUSTED');
  assert.equal(verifySignatures([], data, keyring).status, 'UNSIGNED');
  const dsa = [{ ...sigs[0]!, algorithm: 'DSA', digest: undefined }];
  assert.equal(verifySignatures(dsa, data, keyring).status, 'UNTRUSTED');
  const garbage = [{ ...sigs[0]!, signature: Buffer.from('short') }];
  assert.equal(verifySignatures(garbage, data, keyring).status, 'BAD');
});

test('one good signature among failing ones is enough', () => {
  const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const otherKey = signingKeyFromPem(other.privateKey.export({ type: 'pkcs1', format: 'pem' }), 'x/me.rsa');
  const wrong = parseSignatureTar(inflateGzipMember(createSignatureMember(data, otherKey), 0).data);
  const right = parseSignatureTar(inflateGzipMember(createSignatureMember(data, key), 0).data);
  assert.equal(verifySignatures([...wrong, ...right], data, keyring).status, 'OK');
  assert.equal(verifySignatures(wrong, data, keyring).status, 'BAD');
});

test('a public key or a non-RSA key cannot sign', () => {
  assert.throws(() => signingKeyFromPem(pem.public, 'k.rsa.pub'), { code: 'KEY_INVALID', file: 'k.rsa.pub' });
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  assert.throws(() => signingKeyFromPem(ec.privateKey.export({ type: 'pkcs8', format: 'pem' }), 'ec.rsa'), {
    code: 'KEY_NOT_RSA',
  });
  assert.throws(() => signingKeyFromPem('nonsense', 'n.rsa'), { code: 'KEY_INVALID' });
});

test('generated key pairs are PKCS#1 private and PKIX public PEM', async () => {
  const g = await generateRsaKeyPair(2048);
  assert.match(g.privatePem, /^-----BEGIN RSA PRIVATE KEY-----/);
  assert.match(g.publicPem, /^-----BEGIN PUBLIC KEY-----/);
  const k = signingKeyFromPem(g.privatePem, 'g.rsa');
  const sigs = parseSignatureTar(inflateGzipMember(createSignatureMember(data, k), 0).data);
  assert.equal(
    verifySignatures(sigs, data, createKeyring([{ name: 'g.rsa.pub', pem: g.publicPem }])).status,
    'OK',
  );
});
