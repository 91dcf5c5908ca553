import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { createKeyring, findKey, loadKeyring } from '../../src/apk/keyring.ts';
import { fixture } from '../helpers/paths.ts';
import { tempDir } from '../helpers/tools.ts';

const tmp = tempDir();
after(tmp.remove);

test('loads every Alpine key from a directory, looked up by file name with or without .rsa.pub', async () => {
  const kr = await loadKeyring([fixture('alpine/keys')]);
  assert.equal(kr.keys.size, 17);
  const name = 'alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub';
  assert.equal(findKey(kr, name)?.name, name);
  assert.equal(findKey(kr, name.replace('.rsa.pub', ''))?.name, name);
  assert.equal(findKey(kr, 'nobody.rsa.pub'), undefined);
  // a keyring whose files lost the suffix still serves the full name
  const stripped = createKeyring([
    { name: 'wolfi-signing', pem: readFileSync(fixture('wolfi/keys/wolfi-signing.rsa.pub')) },
  ]);
  assert.equal(findKey(stripped, 'wolfi-signing.rsa.pub')?.name, 'wolfi-signing');
});

test('a non-RSA key, a private key, garbage and a missing path are clear errors naming the file', async () => {
  const dir = join(tmp.path, 'bad');
  mkdirSync(dir);
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const cases: [string, string | Buffer, string, RegExp][] = [
    ['ec.rsa.pub', ec.publicKey.export({ type: 'spki', format: 'pem' }), 'KEY_NOT_RSA', /ec RSA|is ec/],
    ['private.rsa.pub', ec.privateKey.export({ type: 'pkcs8', format: 'pem' }), 'KEY_INVALID', /private key/],
    ['garbage.rsa.pub', Buffer.from([0, 1, 2, 3]), 'KEY_INVALID', /not a PEM/],
    [
      'broken.rsa.pub',
      '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n',
      'KEY_INVALID',
      /cannot be read/,
    ],
  ];
  for (const [name, content, code, message] of cases) {
    const f = join(dir, name);
    writeFileSync(f, content);
    await assert.rejects(loadKeyring([f]), { name: 'LadingError', code, file: f, message });
  }
  await assert.rejects(loadKeyring([join(tmp.path, 'missing')]), { code: 'KEYRING_NOT_FOUND' });
});

test('dotfiles, subdirectories and private keys in a keyring directory are skipped', async () => {
  const dir = join(tmp.path, 'mixed');
  mkdirSync(join(dir, 'x86_64'), { recursive: true });
  writeFileSync(join(dir, '.gitkeep'), '');
  // `lading keygen` writes NAME.rsa beside NAME.rsa.pub: the private half is never a trusted key
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  writeFileSync(join(dir, 'mine.rsa'), rsa.privateKey.export({ type: 'pkcs1', format: 'pem' }));
  writeFileSync(
    join(dir, 'wolfi-signing.rsa.pub'),
    readFileSync(fixture('wolfi/keys/wolfi-signing.rsa.pub')),
  );
  const kr = await loadKeyring([dir]);
  assert.deepEqual([...kr.keys.keys()], ['wolfi-signing.rsa.pub']);
});
