import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { bytesContent } from '../../../src/fs/content.ts';
import { ImageFS } from '../../../src/fs/tree.ts';
import {
  installCertificates,
  parseCertificates,
  writeCaChecksumSidecars,
} from '../../../src/rootfs/steps/index.ts';
import { throwsCode } from '../../helpers/assert.ts';
import { APKO_REPO, installOracleWorld, loadFixturePackage } from '../../helpers/fixture-image.ts';
import { requireTool, run, tempDir } from '../../helpers/tools.ts';

const T = { mtime: 1700000000 };
const BUNDLE = 'etc/ssl/certs/ca-certificates.crt';
let dir: { path: string; remove: () => void };
let openssl: string;
let caPem: string;
let leafPath: string;

function sh(args: string[]): void {
  const r = run(openssl, args, { cwd: dir.path });
  assert.equal(r.status, 0, r.stderr);
}

before(() => {
  openssl = requireTool('openssl');
  dir = tempDir();
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  sh([
    'req',
    '-x509',
    ...ec,
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
    '-days',
    '3650',
    '-subj',
    '/CN=lading test CA',
  ]);
  sh(['req', '-new', ...ec, '-keyout', 'leaf.key', '-out', 'leaf.csr', '-subj', '/CN=leaf.example']);
  sh([
    'x509',
    '-req',
    '-in',
    'leaf.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'leaf.pem',
    '-days',
    '30',
  ]);
  caPem = readFileSync(join(dir.path, 'ca.pem'), 'utf8');
  leafPath = join(dir.path, 'leaf.pem');
});
after(() => dir?.remove());

function image(): ImageFS {
  return installOracleWorld('minimal-world', { initdb: T }).fs;
}

/** Does the real openssl trust the leaf with this bundle? */
function opensslTrusts(bundle: Buffer): boolean {
  const path = join(dir.path, 'bundle.crt');
  writeFileSync(path, bundle);
  return run(openssl, ['verify', '-CAfile', path, leafPath]).status === 0;
}

test('an additional certificate is installed and appended to the real ca-certificates bundle, which openssl then trusts', () => {
  const fs = image();
  const original = fs.readFile(BUNDLE);
  const bundleNode = { ...fs.lstat(BUNDLE)! };
  assert.equal(opensslTrusts(original), false);
  const der = new X509Certificate(caPem).raw;
  const fp = createHash('sha256').update(der).digest('hex');

  const result = installCertificates(fs, { additional: [{ name: 'corp-ca', content: caPem }] }, T);
  assert.deepEqual(result, {
    written: [`usr/local/share/ca-certificates/corp-ca-${fp}.crt`],
    bundles: [BUNDLE],
    appended: 1,
    warnings: [],
  });
  const crt = fs.lstat(result.written[0]!)!;
  assert.deepEqual([crt.mode, crt.uid, crt.gid, crt.mtime], [0o644, 0, 0, T.mtime]);
  assert.equal(
    fs.readFile(result.written[0]!).toString(),
    caPem,
    'openssl writes canonical PEM, so re-encoding keeps it',
  );
  assert.deepEqual(
    [fs.lstat('usr/local/share/ca-certificates')!.mode, fs.lstat('usr/local/share')!.mtime !== T.mtime],
    [0o755, true],
  );

  const bundle = fs.readFile(BUNDLE);
  assert.ok(bundle.subarray(0, original.length).equals(original), 'the bundle is appended to, not rewritten');
  assert.equal(bundle.subarray(original.length).toString(), `${caPem}\n`);
  assert.equal(
    parseCertificates(bundle.toString()).certs.length,
    parseCertificates(original.toString()).certs.length + 1,
  );
  assert.ok(opensslTrusts(bundle));
  const node = fs.lstat(BUNDLE)!;
  assert.deepEqual(
    [node.mode, node.uid, node.gid, node.mtime, node.sha1],
    [bundleNode.mode, 0, 0, T.mtime, undefined],
  );
  // /etc/ssl/cert.pem -> certs/ca-certificates.crt sees it as well
  assert.ok(fs.readFile('etc/ssl/cert.pem').equals(bundle));
});

test('certificates from provider packages (apko’s custom-ca-certs-1) are appended; duplicates only once', () => {
  const img = installOracleWorld('minimal-world', { initdb: T });
  const pkg = loadFixturePackage(APKO_REPO(), 'custom-ca-certs-1');
  img.installer.install(pkg);
  const fs = img.fs;
  const original = fs.readFile(BUNDLE).toString();
  const firstOfBundle = parseCertificates(original).certs[0]!;
  const files = pkg.entries.map((e) => e.name);
  assert.ok(files.includes('usr/local/share/ca-certificates/cert-a.crt'));

  const result = installCertificates(
    fs,
    {
      additional: [
        { name: 'corp', content: caPem },
        { name: 'corp-again', content: caPem },
        { name: 'already-trusted', content: firstOfBundle.pem },
      ],
      providers: [{ package: 'custom-ca-certs-1', files }],
    },
    T,
  );
  assert.equal(
    result.appended,
    3,
    'corp once, cert-a, cert-b; the bundle’s own certificate is not added again',
  );
  assert.equal(result.written.length, 3);
  const after = parseCertificates(fs.readFile(BUNDLE).toString()).certs.map((c) => c.fingerprint);
  assert.equal(after.length, parseCertificates(original).certs.length + 3);
  assert.equal(new Set(after).size, after.length);
  const pkgCerts = ['cert-a.crt', 'cert-b.crt'].flatMap(
    (f) => parseCertificates(fs.readFile(`usr/local/share/ca-certificates/${f}`).toString()).certs,
  );
  assert.deepEqual(
    after.slice(-2),
    pkgCerts.map((c) => c.fingerprint),
    'provider files in sorted order, after the additional ones',
  );
  // the package's own files are untouched
  assert.equal(fs.lstat('usr/local/share/ca-certificates/cert-a.crt')!.uid, 501);
});

test('warnings: an unusable provider file, no bundle, a Java truststore that is not updated', () => {
  const fs = image();
  const junk = Buffer.from(
    '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n',
  );
  fs.mkdirAll('usr/local/share/ca-certificates');
  fs.put('usr/local/share/ca-certificates/junk.crt', {
    type: 'file',
    mode: 0o644,
    uid: 0,
    gid: 0,
    mtime: 0,
    size: junk.length,
    content: bytesContent(junk),
  });
  fs.mkdirAll('etc/ssl/certs/java');
  fs.put('etc/ssl/certs/java/cacerts', { type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0, size: 0 });
  const r = installCertificates(
    fs,
    {
      additional: [{ name: 'corp', content: caPem }],
      providers: [
        {
          package: 'junk-certs',
          files: [
            '/usr/local/share/ca-certificates/junk.crt',
            '/usr/share/doc/README',
            '/usr/local/share/ca-certificates/gone.pem',
          ],
        },
      ],
    },
    T,
  );
  assert.deepEqual(r.warnings, [
    'certificates: /usr/local/share/ca-certificates/gone.pem of package junk-certs is not in the image; skipped',
    'certificates: /usr/local/share/ca-certificates/junk.crt of package junk-certs holds no usable certificate; skipped',
    'certificates: the Java truststore /etc/ssl/certs/java/cacerts was not updated (lading does not write JKS); Java programs will not trust the added certificates',
  ]);

  const bare = new ImageFS();
  const r2 = installCertificates(bare, { additional: [{ name: 'corp', content: caPem }] }, T);
  assert.equal(r2.written.length, 1);
  assert.match(r2.warnings[0]!, /the image has no CA bundle/);
  assert.deepEqual(installCertificates(bare, {}, T), { written: [], bundles: [], appended: 0, warnings: [] });
});

test('bad certificates are errors naming the entry', () => {
  const fs = image();
  const key = readFileSync(join(dir.path, 'ca.key'), 'utf8');
  const leaf = readFileSync(leafPath, 'utf8');
  const notACert = '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n';
  const cases: [{ name: string; content: string }[], string, RegExp][] = [
    [
      [{ name: '.hidden', content: caPem }],
      'CERT_BAD_NAME',
      /certificates\.additional\[0\] \(\.hidden\): name "\.hidden" cannot be a file name/,
    ],
    [[{ name: 'a/b', content: caPem }], 'CERT_BAD_NAME', /cannot be a file name/],
    [[{ name: 'two', content: caPem + leaf }], 'CERT_NOT_ONE', /exactly one PEM CERTIFICATE block, found 2/],
    [[{ name: 'withkey', content: caPem + key }], 'CERT_NOT_ONE', /found 1 and PRIVATE KEY/],
    [[{ name: 'none', content: 'hello' }], 'CERT_NOT_ONE', /found 0/],
    [
      [{ name: 'junk', content: notACert }],
      'CERT_INVALID',
      /certificates\.additional\[0\] \(junk\): content is not a valid X\.509 certificate/,
    ],
    [
      [{ name: 'badb64', content: '-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n' }],
      'CERT_INVALID',
      /base64/,
    ],
    [
      [
        { name: 'dup', content: caPem },
        { name: 'dup', content: leaf },
      ],
      'CERT_DUPLICATE',
      /certificates\.additional\[1\] \(dup\): the name dup is used twice/,
    ],
  ];
  const original = fs.readFile(BUNDLE);
  for (const [additional, code, message] of cases) {
    throwsCode(() => installCertificates(fs, { additional }, T), code, message);
  }
  assert.ok(fs.readFile(BUNDLE).equals(original));
});

test('checksum sidecars match what sha256sum computes, 0444, for every CA store present', () => {
  const fs = image();
  installCertificates(fs, { additional: [{ name: 'corp', content: caPem }] }, T);
  assert.deepEqual(writeCaChecksumSidecars(fs, T), ['etc/ssl/certs/.ca-certificates.crt.sha256']);
  const sidecar = fs.lstat('etc/ssl/certs/.ca-certificates.crt.sha256')!;
  assert.deepEqual([sidecar.mode, sidecar.uid, sidecar.gid, sidecar.mtime], [0o444, 0, 0, T.mtime]);
  const out = tempDir();
  try {
    writeFileSync(join(out.path, 'ca-certificates.crt'), fs.readFile(BUNDLE));
    writeFileSync(join(out.path, 'sums'), fs.readFile('etc/ssl/certs/.ca-certificates.crt.sha256'));
    const r = run(requireTool('sha256sum'), ['-c', 'sums'], { cwd: out.path });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.equal(r.stdout, 'ca-certificates.crt: OK\n');
  } finally {
    out.remove();
  }
  assert.deepEqual(writeCaChecksumSidecars(new ImageFS(), T), []);
});
