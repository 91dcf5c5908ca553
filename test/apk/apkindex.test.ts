import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import {
  readApkIndex,
  readApkIndexAsync,
  requireTrusted,
  sortIndexRecords,
  verifyApkIndex,
  writeApkIndex,
} from '../../src/apk/apkindex.ts';
import { formatApkIndexText } from '../../src/apk/apkindex-text.ts';
import { createKeyring, loadKeyring } from '../../src/apk/keyring.ts';
import { signingKeyFromPem } from '../../src/apk/signature.ts';
import { entryData, readTar } from '../../src/tar/reader.ts';
import { flipped } from '../helpers/bytes.ts';
import { fixture } from '../helpers/paths.ts';

const mainFile = fixture('alpine/indexes/v3.19-main-x86_64-APKINDEX.tar.gz');
const main = readFileSync(mainFile);

function indexText(signed: Buffer): string {
  const tar = gunzipSync(signed);
  for (const e of readTar(tar)) if (e.name === 'APKINDEX') return entryData(tar, e).toString('utf8');
  throw new Error('no APKINDEX');
}

test('reads a real Alpine index: description, every record, its signature', async () => {
  const index = readApkIndex(main, { file: mainFile });
  assert.equal(index.description, 'v3.19.1-643-gec825d20535');
  assert.equal(index.packages.length, 5443);
  assert.equal(index.packages.filter((p) => p.installIf.length > 0).length, 1753);
  assert.equal(index.packages.filter((p) => p.provides.length > 0).length, 2258);
  const musl = index.packages.find((p) => p.name === 'musl')!;
  assert.equal(musl.arch, 'x86_64');
  assert.match(musl.checksum!, /^Q1/);
  const keyring = await loadKeyring([fixture('alpine/keys')]);
  assert.equal(verifyApkIndex(index, keyring).status, 'OK');
  assert.deepEqual((await readApkIndexAsync(main, { file: mainFile })).packages, index.packages);
});

test('round trip: re-writing a real Alpine index gives the same records and the same APKINDEX text', () => {
  // two releases and architectures of main (a few thousand records each); community's 17,587 records add time,
  // not kinds of field (its every D:, p: and i: entry is round-tripped in dependency.test.ts)
  for (const f of [
    'alpine/indexes/v3.19-main-x86_64-APKINDEX.tar.gz',
    'alpine/indexes/v3.17-main-aarch64-APKINDEX.tar.gz',
  ]) {
    const original = readApkIndex(readFileSync(fixture(f)));
    const rewritten = writeApkIndex({ packages: original.packages, description: original.description });
    const again = readApkIndex(rewritten);
    assert.deepEqual(again.packages, original.packages, f);
    assert.equal(again.description, original.description);
    assert.equal(indexText(rewritten), indexText(original.signedBytes), `${f}: text differs`);
    assert.equal(formatApkIndexText(again.packages), indexText(original.signedBytes));
  }
});

test('a written index is signed, deterministic, and verification catches tampering', () => {
  const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const key = signingKeyFromPem(pair.privateKey.export({ type: 'pkcs1', format: 'pem' }), 'repo.rsa');
  const keyring = createKeyring([
    { name: 'repo.rsa.pub', pem: pair.publicKey.export({ type: 'spki', format: 'pem' }) },
  ]);
  const packages = readApkIndex(
    readFileSync(fixture('alpine/v3.19.1-iso-repo/x86_64/APKINDEX.tar.gz')),
  ).packages;
  const a = writeApkIndex({ packages, description: 'test', signingKey: key, mtime: 1700000000 });
  assert.deepEqual(a, writeApkIndex({ packages, description: 'test', signingKey: key, mtime: 1700000000 }));
  const index = readApkIndex(a);
  assert.equal(index.signatures[0]!.entryName, '.SIGN.RSA256.repo.rsa.pub');
  assert.equal(verifyApkIndex(index, keyring).status, 'OK');
  // DESCRIPTION comes first, as Alpine's indexes (apk reads it before APKINDEX)
  assert.deepEqual(
    [...readTar(gunzipSync(index.signedBytes))].map((e) => e.name),
    ['DESCRIPTION', 'APKINDEX'],
  );

  const tampered = flipped(a, -20); // inside the gzip trailer: still readable? no — CRC fails
  assert.throws(() => readApkIndex(tampered, { file: 't.tar.gz' }), {
    name: 'LadingError',
    file: 't.tar.gz',
  });
  // swap in different content under the same signature
  const sigEnd = a.length - index.signedBytes.length;
  const other = writeApkIndex({ packages: packages.slice(1), description: 'test' });
  const forged = readApkIndex(Buffer.concat([a.subarray(0, sigEnd), other]));
  const r = verifyApkIndex(forged, keyring);
  assert.equal(r.status, 'BAD');
  assert.throws(() => requireTrusted(r, 'forged.tar.gz'), { code: 'SIGNATURE_BAD', file: 'forged.tar.gz' });

  const unsigned = readApkIndex(writeApkIndex({ packages }));
  assert.equal(verifyApkIndex(unsigned, keyring).status, 'UNSIGNED');
  assert.throws(() => requireTrusted(verifyApkIndex(unsigned, keyring), 'u'), { code: 'SIGNATURE_UNSIGNED' });
});

test('records sort by name, version and checksum whatever the input order', () => {
  const packages = readApkIndex(main).packages.slice(0, 300);
  const shuffled = [...packages].reverse();
  assert.deepEqual(sortIndexRecords(shuffled), sortIndexRecords(packages));
});

test('bad indexes are typed errors naming the file', () => {
  const file = 'x/APKINDEX.tar.gz';
  assert.throws(() => readApkIndex(main.subarray(0, 20000), { file }), { code: 'GZIP_TRUNCATED', file });
  assert.throws(() => readApkIndex(Buffer.from('nope'), { file }), { code: 'GZIP_TRUNCATED', file });
  const pkg = readFileSync(fixture('alpine/v3.19.1-iso-repo/x86_64/zlib-1.3.1-r0.apk'));
  assert.throws(() => readApkIndex(pkg, { file }), { code: 'APKINDEX_IS_PACKAGE', file });
  assert.throws(() => readApkIndex(main, { file, maxSize: 1000 }), { code: 'GZIP_TOO_LARGE', file });
});
