/**
 * Property-based robustness: random and mutated real packages and indexes never make the readers throw
 * anything but a LadingError, never hang (the test has a timeout), and never yield a path that would land
 * outside the target directory. npm test runs a fixed-seed sample, 500 cases per reader; the full 10,000+
 * per reader, from a new seed each time, run with `node scripts/fuzz.ts` (test/helpers/fuzz.ts).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { listApkData } from '../../src/apk/apk-data.ts';
import { inflateApkDataSync, readApk, verifyApk } from '../../src/apk/apk-reader.ts';
import { readApkIndex, verifyApkIndex } from '../../src/apk/apkindex.ts';
import { splitGzipMembers } from '../../src/apk/gzip-members.ts';
import { createKeyring } from '../../src/apk/keyring.ts';
import { parsePkgInfo } from '../../src/apk/pkginfo.ts';
import { LadingError } from '../../src/util/errors.ts';
import { fuzzRuns, fuzzTimeout } from '../helpers/fuzz.ts';
import { fixture } from '../helpers/paths.ts';

const keyring = createKeyring([
  {
    name: 'alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub',
    pem: readFileSync(fixture('alpine/keys/alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub')),
  },
]);
const TARGET = resolve('/target');
/** A hang fails the test instead of stopping the suite. */
const HANG = { timeout: fuzzTimeout(120_000) };

/** A mutation: flip/set/insert/delete bytes, or cut the input. */
const mutation = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), pos: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('flip' as const), pos: fc.nat(), byte: fc.integer({ min: 1, max: 255 }) }),
  fc.record({
    kind: fc.constant('insert' as const),
    pos: fc.nat(),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 600 }),
  }),
  fc.record({ kind: fc.constant('delete' as const), pos: fc.nat(), len: fc.integer({ min: 1, max: 600 }) }),
  fc.record({ kind: fc.constant('cut' as const), pos: fc.nat() }),
);
type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

function mutate(input: Buffer, ops: readonly Mutation[]): Buffer {
  let buf = Buffer.from(input);
  for (const op of ops) {
    if (buf.length === 0) break;
    const pos = op.pos % buf.length;
    switch (op.kind) {
      case 'set':
        buf[pos] = op.byte;
        break;
      case 'flip':
        buf[pos] = buf[pos]! ^ op.byte;
        break;
      case 'insert':
        buf = Buffer.concat([buf.subarray(0, pos), Buffer.from(op.bytes), buf.subarray(pos)]);
        break;
      case 'delete':
        buf = Buffer.concat([buf.subarray(0, pos), buf.subarray(pos + op.len)]);
        break;
      case 'cut':
        buf = buf.subarray(0, pos);
        break;
    }
  }
  return buf;
}

const ops = fc.array(mutation, { minLength: 1, maxLength: 4 });

/** Runs `fn`; anything thrown must be a LadingError. */
function onlyLadingErrors(fn: () => void): void {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof LadingError)) throw e;
  }
}

function insideTarget(path: string): void {
  const full = resolve(join(TARGET, path));
  assert.ok(full.startsWith(TARGET + sep), `${path} escapes the target`);
}

/** Everything a consumer of a package does with untrusted bytes. */
function readWholePackage(buf: Buffer): void {
  const apk = readApk(buf, { file: 'fuzz.apk', verifyDataHash: false });
  verifyApk(apk, keyring);
  const tar = inflateApkDataSync(apk, { maxSize: 64 << 20 });
  const entries = listApkData(tar, { file: 'fuzz.apk', checkChecksums: true });
  for (const e of entries) {
    insideTarget(e.path);
    if (e.linkPath !== undefined) insideTarget(e.linkPath);
  }
}

/** Rebuilds a multi-member file with one member's content mutated, to reach the tar and text parsers. */
function remix(buf: Buffer, memberIndex: number, edits: readonly Mutation[]): Buffer {
  const members = splitGzipMembers(buf);
  const i = memberIndex % members.length;
  return Buffer.concat(
    members.map((m, j) =>
      j === i ? gzipSync(mutate(m.data, edits), { level: 1 }) : buf.subarray(m.start, m.end),
    ),
  );
}

const apks = [
  'alpine/v3.19.1-iso-repo/x86_64/busybox-binsh-1.36.1-r15.apk',
  'alpine/v3.19.1-iso-repo/x86_64/alpine-baselayout-3.4.3-r2.apk',
  'apko/internal/cli/testdata/packages/x86_64/replayout-1.0.0-r0.apk',
  'wolfi/packages/kubeflow-pipelines-2.1.3-r7.apk',
].map((f) => readFileSync(fixture(f)));

test('.apk reader: random and mutated packages (500 cases; 10,000 in full)', HANG, () => {
  const apk = fc.constantFrom(...apks);
  fc.assert(
    fc.property(apk, ops, (buf, edits) => onlyLadingErrors(() => readWholePackage(mutate(buf, edits)))),
    fuzzRuns(150, 3000),
  );
  fc.assert(
    fc.property(apk, fc.nat(), ops, (buf, member, edits) =>
      onlyLadingErrors(() => readWholePackage(remix(buf, member, edits))),
    ),
    fuzzRuns(300, 6000),
  );
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 2000 }), (bytes) =>
      onlyLadingErrors(() => readWholePackage(Buffer.from(bytes))),
    ),
    fuzzRuns(25, 500),
  );
  // random bytes that at least are gzip, so the tar and .PKGINFO parsers see them
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 3000 }), fc.uint8Array({ maxLength: 3000 }), (a, b) =>
      onlyLadingErrors(() => readWholePackage(Buffer.concat([gzipSync(a), gzipSync(b)]))),
    ),
    fuzzRuns(25, 500),
  );
});

const indexes = [
  'apko/internal/cli/testdata/packages/x86_64/APKINDEX.tar.gz',
  'alpine/v3.19.1-iso-repo/x86_64/APKINDEX.tar.gz',
  'apko/pkg/apk/apk/testdata/signing/APKINDEX.tar.gz',
].map((f) => readFileSync(fixture(f)));

function readWholeIndex(buf: Buffer): void {
  const index = readApkIndex(buf, { file: 'fuzz.tar.gz', maxSize: 64 << 20 });
  verifyApkIndex(index, keyring);
  for (const p of index.packages) assert.equal(typeof p.name, 'string');
}

test('APKINDEX reader: random and mutated indexes (500 cases; 10,000 in full)', HANG, () => {
  const index = fc.constantFrom(...indexes);
  fc.assert(
    fc.property(index, ops, (buf, edits) => onlyLadingErrors(() => readWholeIndex(mutate(buf, edits)))),
    fuzzRuns(200, 4000),
  );
  fc.assert(
    fc.property(index, fc.nat(), ops, (buf, member, edits) =>
      onlyLadingErrors(() => readWholeIndex(remix(buf, member, edits))),
    ),
    fuzzRuns(275, 5500),
  );
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 4000 }), (bytes) =>
      onlyLadingErrors(() => readWholeIndex(gzipSync(Buffer.from(bytes)))),
    ),
    fuzzRuns(25, 500),
  );
});

test('.PKGINFO parser: arbitrary text (500 cases; 2,000 in full)', () => {
  const line = fc.oneof(
    fc.string({ maxLength: 40 }),
    fc
      .tuple(
        fc.constantFrom('pkgname', 'pkgver', 'size', 'builddate', 'datahash', 'depend', 'triggers'),
        fc.string({ maxLength: 70 }),
      )
      .map(([k, v]) => `${k} = ${v}`),
  );
  fc.assert(
    fc.property(fc.array(line, { maxLength: 20 }), (lines) =>
      onlyLadingErrors(() => void parsePkgInfo(lines.join('\n'))),
    ),
    fuzzRuns(500, 2000),
  );
});
