/**
 * The tar reader and the deterministic header writer: round trips (property-based), interoperability with
 * GNU tar and bsdtar in both directions, and robustness against mutated real archives.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { splitGzipMembers } from '../../src/apk/gzip-members.ts';
import { entryData, readTar, type TarEntry, type TarEntryType } from '../../src/tar/reader.ts';
import { TarStreamParser } from '../../src/tar/stream.ts';
import { encodeTarHeader, TAR_END, type TarHeaderInput, tarPadding } from '../../src/tar/writer.ts';
import { LadingError } from '../../src/util/errors.ts';
import { flipped } from '../helpers/bytes.ts';
import { fuzzRuns, fuzzTimeout } from '../helpers/fuzz.ts';
import { fixture } from '../helpers/paths.ts';
import { requireTool, run, tempDir } from '../helpers/tools.ts';

const tmp = tempDir('lading-tar-');
after(tmp.remove);

interface Spec extends TarHeaderInput {
  data: Buffer;
}

function archive(specs: readonly Spec[], end = true): Buffer {
  const parts: Buffer[] = [];
  for (const s of specs) parts.push(encodeTarHeader(s), s.data, tarPadding(s.data.length));
  if (end) parts.push(TAR_END);
  return Buffer.concat(parts);
}

const segment = fc.oneof(
  fc.stringMatching(/^[a-zA-Z0-9._-]{1,20}$/),
  fc.stringMatching(/^[a-z]{60,120}$/), // long components force PAX or prefix splits
  fc.constantFrom('ünïcødé', '日本語', 'sp ace', 'a=b'),
);
const name = fc.array(segment, { minLength: 1, maxLength: 5 }).map((p) => p.join('/'));
const bigId = fc.oneof(fc.integer({ min: 0, max: 65535 }), fc.integer({ min: 2 ** 21, max: 2 ** 31 }));
const entrySpec: fc.Arbitrary<Spec> = fc
  .record({
    name,
    type: fc.constantFrom<TarEntryType>(
      'file',
      'directory',
      'symlink',
      'hardlink',
      'chardev',
      'blockdev',
      'fifo',
    ),
    mode: fc.integer({ min: 0, max: 0o7777 }),
    uid: bigId,
    gid: bigId,
    mtime: fc.oneof(fc.integer({ min: 0, max: 2 ** 33 - 1 }), fc.integer({ min: 2 ** 33, max: 2 ** 40 })),
    data: fc.uint8Array({ maxLength: 1500 }).map((a) => Buffer.from(a)),
    linkname: fc.oneof(name, fc.stringMatching(/^\/[a-z]{90,200}$/)),
    devmajor: fc.integer({ min: 0, max: 4095 }),
    devminor: fc.integer({ min: 0, max: 65535 }),
    uname: fc.constantFrom('', 'root', 'a-very-long-user-name-longer-than-32-bytes'),
    checksum: fc.option(fc.stringMatching(/^[0-9a-f]{40}$/), { nil: undefined }),
    xattrs: fc.dictionary(
      fc.stringMatching(/^user\.[a-z]{1,10}$/),
      fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a)),
      { maxKeys: 2 },
    ),
  })
  .map((r) => {
    const isFile = r.type === 'file';
    const isLink = r.type === 'symlink' || r.type === 'hardlink';
    const isDev = r.type === 'chardev' || r.type === 'blockdev';
    return {
      name: r.name,
      type: r.type,
      mode: r.mode,
      uid: r.uid,
      gid: r.gid,
      uname: r.uname,
      gname: '',
      size: isFile ? r.data.length : 0,
      mtime: r.mtime,
      linkname: isLink ? r.linkname : undefined,
      devmajor: isDev ? r.devmajor : undefined,
      devminor: isDev ? r.devminor : undefined,
      pax: r.checksum ? { 'APK-TOOLS.checksum.SHA1': r.checksum } : undefined,
      xattrs: r.xattrs,
      data: isFile ? r.data : Buffer.alloc(0),
    };
  });

test('property: whatever the writer encodes, the reader returns exactly', () => {
  fc.assert(
    fc.property(fc.array(entrySpec, { maxLength: 6 }), fc.boolean(), (specs, end) => {
      const buf = archive(specs, end);
      assert.equal(buf.length % 512, 0);
      const got = [...readTar(buf)];
      assert.equal(got.length, specs.length);
      specs.forEach((s, i) => {
        const e = got[i]!;
        assert.equal(e.name, s.name);
        assert.equal(e.type, s.type);
        assert.equal(e.mode, s.mode);
        assert.equal(e.uid, s.uid);
        assert.equal(e.gid, s.gid);
        assert.equal(e.uname, s.uname);
        assert.equal(e.mtime, s.mtime);
        assert.equal(e.linkname, s.linkname ?? '');
        assert.equal(e.devmajor, s.devmajor ?? 0);
        assert.equal(e.devminor, s.devminor ?? 0);
        assert.deepEqual(entryData(buf, e), s.data);
        assert.equal(e.pax['APK-TOOLS.checksum.SHA1'], s.pax?.['APK-TOOLS.checksum.SHA1']);
        assert.deepEqual({ ...e.xattrs }, { ...s.xattrs });
      });
      // deterministic: the same entries encode to the same bytes
      assert.deepEqual(archive(specs, end), buf);
    }),
    fuzzRuns(300, 1500),
  );
});

test('GNU tar and bsdtar read what the writer writes (long names, PAX, links, devices)', () => {
  const tar = requireTool('tar');
  const bsdtar = requireTool('bsdtar');
  const long = `dir/${'d'.repeat(150)}/${'f'.repeat(120)}`;
  const specs: Spec[] = [
    { name: 'dir', type: 'directory', mode: 0o755, uid: 0, gid: 0, size: 0, mtime: 1, data: Buffer.alloc(0) },
    {
      name: long,
      type: 'file',
      mode: 0o4755,
      uid: 3000000,
      gid: 7,
      size: 5,
      mtime: 2,
      data: Buffer.from('hello'),
    },
    { name: 'dir/ünï', type: 'file', mode: 0o644, uid: 0, gid: 0, size: 1, mtime: 3, data: Buffer.from('x') },
    {
      name: 'dir/sym',
      type: 'symlink',
      mode: 0o777,
      uid: 0,
      gid: 0,
      size: 0,
      mtime: 4,
      linkname: `/${'t'.repeat(150)}`,
      data: Buffer.alloc(0),
    },
    {
      name: 'dir/hard',
      type: 'hardlink',
      mode: 0o644,
      uid: 0,
      gid: 0,
      size: 0,
      mtime: 5,
      linkname: 'dir/ünï',
      data: Buffer.alloc(0),
    },
    {
      name: 'dir/null',
      type: 'chardev',
      mode: 0o666,
      uid: 0,
      gid: 0,
      size: 0,
      mtime: 6,
      devmajor: 1,
      devminor: 3,
      data: Buffer.alloc(0),
    },
  ];
  const file = join(tmp.path, 'ours.tar');
  writeFileSync(file, archive(specs));
  const names = specs.map((s) => s.name).join('\n');
  for (const tool of [tar, bsdtar]) {
    const r = run(tool, ['-tf', file]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), names);
  }
  const verbose = run(tar, ['--numeric-owner', '-tvf', file]).stdout;
  assert.match(verbose, /-rwsr-xr-x 3000000\/7 +5 /);
  assert.match(verbose, /crw-rw-rw- 0\/0 +1,3 /);
});

test('the reader handles what GNU tar writes: GNU long names, base-256 ids, PAX, hardlinks', () => {
  const tar = requireTool('tar');
  const src = join(tmp.path, 'src');
  const deep = join(src, 'a'.repeat(120), 'b'.repeat(120));
  mkdirSync(deep, { recursive: true });
  writeFileSync(join(deep, 'file'), 'content');
  for (const format of ['gnu', 'posix', 'ustar', 'v7']) {
    const out = join(tmp.path, `${format}.tar`);
    const extra = format === 'gnu' ? ['--owner=big:9999999', '--group=big:9999999'] : [];
    const r = run(tar, ['--format', format, ...extra, '-C', src, '-cf', out, '.']);
    if (format === 'ustar' || format === 'v7') {
      // these formats cannot hold the 250-byte path; tar says so and we only check what it wrote
      assert.notEqual(r.status, 0);
    } else assert.equal(r.status, 0, r.stderr);
    const buf = readFileSync(out);
    const entries = [...readTar(buf)];
    const file = entries.find((e) => e.name.endsWith('/file'));
    if (format === 'gnu' || format === 'posix') {
      assert.ok(file, `${format}: long name read`);
      assert.equal(file.name, `./${'a'.repeat(120)}/${'b'.repeat(120)}/file`);
      assert.equal(entryData(buf, file).toString(), 'content');
      if (format === 'gnu') assert.equal(file.uid, 9999999);
    }
  }
});

test('unsupported entry types and broken headers are LadingErrors', () => {
  const block = Buffer.from(
    encodeTarHeader({ name: 'sparse', type: 'file', mode: 0o644, uid: 0, gid: 0, size: 0, mtime: 0 }),
  );
  block[156] = 'S'.charCodeAt(0);
  // fix the checksum after changing the typeflag
  block.fill(32, 148, 156);
  let sum = 0;
  for (const b of block) sum += b;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  assert.throws(() => [...readTar(block)], {
    name: 'LadingError',
    code: 'TAR_CORRUPT',
    message: /unsupported entry type/,
  });
  assert.throws(() => [...readTar(flipped(block, 0))], { code: 'TAR_CORRUPT', message: /checksum/ });
});

/** Real tars: control and data parts of fixture packages, and an index tar. */
const realTars = [
  'alpine/v3.19.1-iso-repo/x86_64/alpine-baselayout-3.4.3-r2.apk',
  'alpine/legacy-key-4a6a0840/fcgi++-2.4.0-r8.apk',
  'apko/internal/cli/testdata/packages/x86_64/APKINDEX.tar.gz',
  'apko/pkg/apk/fs/testdata/hello-2.12-r0.apk',
].flatMap((f) => splitGzipMembers(readFileSync(fixture(f))).map((m) => m.data.subarray(0, 64 * 1024)));

test('tar reader: mutated real archives only ever throw LadingError (1,000 cases; 10,000 in full)', {
  timeout: fuzzTimeout(120_000),
}, () => {
  const mutation = fc.record({
    pos: fc.nat(),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }),
    cut: fc.option(fc.nat(), { nil: undefined }),
    allowTruncated: fc.boolean(),
  });
  fc.assert(
    fc.property(
      fc.constantFrom(...realTars),
      fc.array(mutation, { minLength: 1, maxLength: 3 }),
      (tar, edits) => {
        let buf = Buffer.from(tar);
        let allowTruncated = false;
        for (const m of edits) {
          const pos = m.pos % Math.max(1, buf.length);
          // headers are where the parsing happens: aim most edits at the first bytes of a block
          const at = m.pos % 3 === 0 ? pos - (pos % 512) + (m.pos % 512 < 350 ? m.pos % 350 : 156) : pos;
          Buffer.from(m.bytes).copy(buf, Math.min(at, Math.max(0, buf.length - m.bytes.length)));
          if (m.cut !== undefined && m.cut % 4 === 0) buf = buf.subarray(0, m.cut % (buf.length + 1));
          allowTruncated ||= m.allowTruncated;
        }
        try {
          for (const e of readTar(buf, { allowTruncated })) {
            assert.ok(e.dataOffset + e.size <= buf.length);
            assert.ok(e.size >= 0 && e.mode >= 0 && e.mode <= 0o7777);
          }
        } catch (e) {
          if (!(e instanceof LadingError)) throw e;
        }
      },
    ),
    fuzzRuns(1000, 10_000),
  );
});

/** The archive read by the streaming parser in chunks of the given sizes: its entries with their data. */
function streamed(buf: Buffer, sizes: readonly number[]): { entries: TarEntry[]; data: Buffer[] } {
  const entries: TarEntry[] = [];
  const data: Buffer[] = [];
  let current: Buffer[] = [];
  const parser = new TarStreamParser({
    entry: (e) => {
      entries.push(e);
      if (e.type === 'file') current = [];
      else data.push(Buffer.alloc(0));
    },
    data: (_e, chunk) => current.push(Buffer.from(chunk)),
    entryEnd: () => data.push(Buffer.concat(current)),
  });
  let pos = 0;
  for (let i = 0; pos < buf.length; i++) {
    const n = Math.max(1, sizes.length === 0 ? buf.length : sizes[i % sizes.length]!);
    parser.push(buf.subarray(pos, pos + n));
    pos += n;
  }
  parser.end();
  return { entries, data };
}

/** readTar's entries with their data, or the error it throws. */
function inMemory(buf: Buffer): { entries: TarEntry[]; data: Buffer[] } | LadingError {
  try {
    const entries = [...readTar(buf)];
    return { entries, data: entries.map((e) => Buffer.from(entryData(buf, e))) };
  } catch (e) {
    if (e instanceof LadingError) return e;
    throw e;
  }
}

test('the streaming parser reads what readTar reads, in any chunking; both refuse the same archives', () => {
  const chunking = fc.array(fc.integer({ min: 1, max: 1100 }), { maxLength: 5 });
  const compare = (buf: Buffer, sizes: number[]) => {
    const expected = inMemory(buf);
    let got: ReturnType<typeof streamed> | LadingError;
    try {
      got = streamed(buf, sizes);
    } catch (e) {
      if (!(e instanceof LadingError)) throw e;
      got = e;
    }
    // compared without printing whole archives when they differ
    if (expected instanceof LadingError || got instanceof LadingError) {
      assert.equal(got instanceof LadingError && got.code, expected instanceof LadingError && expected.code);
    } else assert.ok(isDeepStrictEqual(got, expected), 'the same entries and data');
  };
  fc.assert(
    fc.property(fc.array(entrySpec, { maxLength: 6 }), fc.boolean(), chunking, (specs, end, sizes) =>
      compare(archive(specs, end), sizes),
    ),
    fuzzRuns(300, 500),
  );
  fc.assert(
    fc.property(
      fc.constantFrom(...realTars),
      fc.nat(),
      fc.uint8Array({ minLength: 1, maxLength: 16 }),
      fc.option(fc.nat(), { nil: undefined }),
      chunking,
      (tar, pos, bytes, cut, sizes) => {
        const buf = Buffer.from(tar);
        const at =
          pos % 3 === 0 ? (pos % buf.length) - ((pos % buf.length) % 512) + (pos % 350) : pos % buf.length;
        Buffer.from(bytes).copy(buf, Math.min(at, buf.length - bytes.length));
        compare(cut === undefined ? buf : buf.subarray(0, cut % (buf.length + 1)), sizes);
      },
    ),
    fuzzRuns(500, 3000),
  );
});

test('the streaming parser refuses an extended header larger than its limit', () => {
  const big = encodeTarHeader({
    name: 'x',
    type: 'file',
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: 0,
    mtime: 0,
    pax: { comment: 'y'.repeat(5000) },
  });
  const parser = new TarStreamParser({ entry: () => {} }, { maxExtendedSize: 4096 });
  assert.throws(() => parser.push(big), { code: 'TAR_CORRUPT', message: /extended header of \d+ bytes/ });
});
