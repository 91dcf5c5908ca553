/**
 * Every real .apk and APKINDEX.tar.gz under fixtures/ parses and verifies against the keys that signed it,
 * and lading's verdict agrees with the real apk-tools' `apk verify` on the same file and keys.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { after, describe, test } from 'node:test';
import { listApkData } from '../../src/apk/apk-data.ts';
import { inflateApkDataSync, readApk, readApkData } from '../../src/apk/apk-reader.ts';
import { readApkIndex, verifyApkIndex } from '../../src/apk/apkindex.ts';
import { splitGzipMembers } from '../../src/apk/gzip-members.ts';
import { loadKeyring } from '../../src/apk/keyring.ts';
import { checkFile } from '../../src/apk/verify.ts';
import { apkOracle, fixture, fixturesDir } from '../helpers/paths.ts';
import { run, tempDir } from '../helpers/tools.ts';

const F = (p: string) => fixture(p);
const ALPINE = [F('alpine/keys')];
const WOLFI = [F('wolfi/keys')];
const APKO_MELANGE = [F('apko/internal/cli/testdata/packages/melange.rsa.pub')];
const PRIVATE = [F('apko/internal/cli/testdata/private_packages/private_pkg_key.rsa.pub')];
const LOCAL_MELANGE = [F('apko-history/local-melange.rsa.pub')];
const RSA256 = [F('apko/pkg/apk/apk/testdata/rsa256-signed/test-rsa256.rsa.pub')];
const SIGNING = [F('apko/pkg/apk/apk/testdata/signing/keys')];

interface Expectation {
  keys: string[];
  status: 'OK' | 'BAD' | 'UNTRUSTED' | 'UNSIGNED' | 'CORRUPT';
}

/** Which keys apply to each fixture and what the verdict must be (see fixtures-guide.md §1, §3). */
function expectationFor(rel: string): Expectation {
  if (rel.startsWith('alpine/')) return { keys: ALPINE, status: 'OK' };
  if (rel.startsWith('wolfi/bad-signature/')) return { keys: WOLFI, status: 'BAD' };
  if (rel.startsWith('wolfi/unsigned/')) return { keys: WOLFI, status: 'UNSIGNED' };
  if (rel.startsWith('wolfi/')) return { keys: WOLFI, status: 'OK' };
  if (rel.startsWith('apko-history/')) return { keys: LOCAL_MELANGE, status: 'OK' };
  if (rel.startsWith('apko/internal/cli/testdata/packages/')) return { keys: APKO_MELANGE, status: 'OK' };
  if (rel.startsWith('apko/internal/cli/testdata/private_packages/')) return { keys: PRIVATE, status: 'OK' };
  if (rel === 'apko/pkg/apk/apk/testdata/rsa256-signed/APKINDEX.tar.gz')
    return { keys: RSA256, status: 'OK' };
  // a 45-byte git symlink stub standing in for a package: not gzip at all
  if (rel === 'apko/pkg/apk/apk/testdata/rsa256-signed/alpine-baselayout-3.2.0-r23.apk') {
    return { keys: RSA256, status: 'CORRUPT' };
  }
  if (rel === 'apko/pkg/apk/apk/testdata/signing/APKINDEX.tar.gz') return { keys: SIGNING, status: 'OK' };
  // signed by melange.rsa.pub / local-melange.rsa.pub keys that were never published: no key → UNTRUSTED
  if (rel === 'apko/pkg/apk/apk/testdata/hello-wolfi-2.12.1-r0.apk')
    return { keys: WOLFI, status: 'UNTRUSTED' };
  if (rel === 'apko/pkg/apk/fs/testdata/hello-2.12-r0.apk') return { keys: WOLFI, status: 'UNTRUSTED' };
  // its `.SIGN` entry sits inside the index tar, not in a signature member, so nothing signs it
  if (rel === 'apko/pkg/apk/apk/testdata/APKINDEX.tar.gz') return { keys: WOLFI, status: 'UNSIGNED' };
  if (rel === 'apko/pkg/apk/apk/testdata/hello-0.1.0-r0.apk') return { keys: WOLFI, status: 'UNSIGNED' };
  if (rel === 'apko/pkg/apk/apk/testdata/replaces/replaces-0.0.1-r0.apk')
    return { keys: WOLFI, status: 'UNSIGNED' };
  throw new Error(`no expectation for fixture ${rel}: add one`);
}

const files = execFileSync(
  'find',
  [fixturesDir, '(', '-name', '*.apk', '-o', '-name', '*APKINDEX.tar.gz', ')'],
  {
    encoding: 'utf8',
  },
)
  .trim()
  .split('\n')
  .sort();

const tmp = tempDir('lading-fixtures-');
after(tmp.remove);

/** apk needs a keys directory: copy the key files (or a directory's files) into one. */
function keysDir(keys: string[]): string {
  const dir = join(tmp.path, `keys-${keys.map((k) => basename(k)).join('+')}`.slice(0, 200));
  mkdirSync(dir, { recursive: true });
  for (const k of keys) {
    const list = k.endsWith('.pub') ? [k] : readdirFiles(k);
    for (const f of list) copyFileSync(f, join(dir, basename(f)));
  }
  return dir;
}

function readdirFiles(dir: string): string[] {
  return execFileSync('find', [dir, '-maxdepth', '1', '-type', 'f'], { encoding: 'utf8' }).trim().split('\n');
}

/** apk-tools' verdict, mapped to lading's words (apk calls unsigned files UNTRUSTED). */
function oracleVerdict(file: string, keys: string): string {
  const r = run(apkOracle, ['--keys-dir', keys, 'verify', file]);
  const out = r.stdout + r.stderr;
  if (/ - OK/.test(out)) return 'OK';
  if (/BAD signature/.test(out)) return 'BAD';
  if (/UNTRUSTED/.test(out)) return 'UNTRUSTED';
  return 'CORRUPT';
}

describe('every real package and index in fixtures/', () => {
  test('the fixture set is the expected one', () => {
    assert.ok(files.length >= 70, `found ${files.length} files`);
  });

  for (const file of files) {
    const rel = relative(fixturesDir, file);
    test(rel, async () => {
      const want = expectationFor(rel);
      const keyring = await loadKeyring(want.keys);
      const got = await checkFile(file, keyring);
      assert.equal(got.status, want.status, got.message);
      if (want.status === 'CORRUPT') assert.match(got.message, /^corrupt: /);

      const apk = oracleVerdict(file, keysDir(want.keys));
      const expectedFromApk = want.status === 'UNSIGNED' ? 'UNTRUSTED' : want.status;
      assert.equal(apk, expectedFromApk, `apk-tools says ${apk}`);
    });
  }
});

describe('identity and integrity', () => {
  const repos = [
    'alpine/v3.19.1-iso-repo/x86_64',
    'apko/internal/cli/testdata/packages/x86_64',
    'apko/internal/cli/testdata/packages/aarch64',
    'apko/internal/cli/testdata/private_packages/packages/x86_64',
    'apko/internal/cli/testdata/private_packages/packages/aarch64',
  ];
  for (const repo of repos) {
    test(`C: and S: of every package in ${repo} equal its APKINDEX record`, () => {
      const index = readApkIndex(readFileSync(F(`${repo}/APKINDEX.tar.gz`)));
      const apks = files.filter((f) => f.startsWith(join(fixturesDir, repo)) && f.endsWith('.apk'));
      assert.ok(apks.length >= 2);
      for (const f of apks) {
        const apk = readApk(readFileSync(f), { file: f });
        const rec = index.packages.find((p) => p.name === apk.info.name && p.version === apk.info.version);
        assert.ok(rec, `${f} is not in the index`);
        assert.equal(apk.checksum, rec.checksum, f);
        assert.equal(apk.size, rec.size, f);
        assert.equal(apk.info.installedSize, rec.installedSize, f);
        assert.deepEqual(apk.info.depends, rec.depends, f);
        assert.deepEqual(apk.info.provides, rec.provides, f);
      }
    });
  }

  test('datahash in .PKGINFO equals SHA-256 of the data members for every well-formed package', () => {
    let n = 0;
    for (const f of files.filter((x) => x.endsWith('.apk') && !/rsa256-signed|bad-signature/.test(x))) {
      const apk = readApk(readFileSync(f), { file: f }); // throws on a mismatch
      assert.equal(apk.pkginfo.datahash, apk.dataHash, f);
      n++;
    }
    assert.ok(n >= 55);
  });

  test('the tampered Wolfi packages also fail their datahash', () => {
    for (const f of files.filter((x) => x.includes('/bad-signature/'))) {
      assert.throws(() => readApk(readFileSync(f), { file: f }), { code: 'APK_DATAHASH_MISMATCH', file: f });
    }
  });

  test('tzdata: the data part spans 4 gzip members and still reads as one tar', async () => {
    const file = F('apko-history/tzdata-2023c-r0-multigzip.apk');
    const buf = readFileSync(file);
    const members = splitGzipMembers(buf);
    assert.equal(members.length, 6);
    assert.deepEqual(
      Buffer.concat(members.map((m) => buf.subarray(m.start, m.end))),
      buf,
      'member ranges tile the file exactly',
    );
    const apk = readApk(buf, { file });
    assert.equal(apk.data.byteOffset - buf.byteOffset, members[2]!.start);
    const tar = inflateApkDataSync(apk);
    assert.deepEqual(tar, Buffer.concat(members.slice(2).map((m) => m.data)));
    const { entries } = await readApkData(apk, { checkChecksums: true });
    assert.deepEqual(listApkData(tar, { file, checkChecksums: true }), entries);
    assert.ok(entries.length > 1000);
    assert.ok(entries.some((e) => e.type === 'hardlink'));
    assert.ok(
      entries.some((e) => Object.keys(e.xattrs).length > 0),
      'xattrs are read',
    );
  });

  test('an index signed by three keys verifies with any one of them', async () => {
    const index = readApkIndex(readFileSync(F('apko/pkg/apk/apk/testdata/signing/APKINDEX.tar.gz')));
    assert.equal(index.signatures.length, 3);
    for (const key of readdirFiles(F('apko/pkg/apk/apk/testdata/signing/keys'))) {
      const r = verifyApkIndex(index, await loadKeyring([key]));
      assert.equal(r.status, 'OK');
      assert.equal(r.keyName, basename(key));
    }
  });

  test('a different key with the right name is a BAD signature, as apk-tools says', async () => {
    const wrongKeys = [F('apko/internal/cli/testdata/melange.rsa.pub')];
    const file = F('apko/pkg/apk/apk/testdata/hello-wolfi-2.12.1-r0.apk');
    const got = await checkFile(file, await loadKeyring(wrongKeys));
    assert.equal(got.status, 'BAD');
    assert.equal(oracleVerdict(file, keysDir(wrongKeys)), 'BAD');
  });
});
