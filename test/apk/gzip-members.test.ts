import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import {
  gzipDeterministic,
  gzipHeaderLength,
  inflateGzipMember,
  peekGzipMember,
  splitGzipMembers,
} from '../../src/apk/gzip-members.ts';
import { flipped } from '../helpers/bytes.ts';
import { fixture } from '../helpers/paths.ts';

const busybox = readFileSync(fixture('alpine/v3.19.1-iso-repo/x86_64/busybox-1.36.1-r15.apk'));

test('a signed package splits into signature, control and data members that tile the file', () => {
  const members = splitGzipMembers(busybox);
  assert.equal(members.length, 3);
  assert.equal(members[0]!.start, 0);
  for (let i = 1; i < members.length; i++) assert.equal(members[i]!.start, members[i - 1]!.end);
  assert.equal(members.at(-1)!.end, busybox.length);
  assert.ok(members[0]!.data.toString('latin1').startsWith('.SIGN.RSA.alpine-devel'));
});

test('members with optional header fields (FEXTRA, FNAME, FCOMMENT, FHCRC) are measured exactly', () => {
  const body = gzipSync(Buffer.from('hello world\n'));
  // rebuild the header with every optional field set
  const extra = Buffer.from([4, 0, 1, 2, 3, 4]);
  const name = Buffer.from('file.txt\0');
  const comment = Buffer.from('a comment\0');
  const header = Buffer.from(body.subarray(0, 10));
  header[3] = 4 | 8 | 16 | 2;
  const member = Buffer.concat([header, extra, name, comment, Buffer.from([0, 0]), body.subarray(10)]);
  const two = Buffer.concat([member, gzipSync(Buffer.from('second'))]);
  assert.equal(gzipHeaderLength(two, 0), 10 + extra.length + name.length + comment.length + 2);
  const [a, b] = splitGzipMembers(two);
  assert.equal(a!.data.toString(), 'hello world\n');
  assert.equal(a!.end, member.length);
  assert.equal(b!.data.toString(), 'second');
});

test('damage is a clear, typed error', () => {
  const cases: [Buffer, string | RegExp][] = [
    [Buffer.alloc(0), 'GZIP_TRUNCATED'],
    [Buffer.from('not gzip at all, just text'), 'GZIP_CORRUPT'],
    [busybox.subarray(0, 5), 'GZIP_TRUNCATED'],
    [busybox.subarray(0, 300), 'GZIP_TRUNCATED'],
    [busybox.subarray(0, 655), 'GZIP_TRUNCATED'], // trailer cut
  ];
  for (const [buf, code] of cases) {
    assert.throws(
      () => inflateGzipMember(buf, 0, { file: 'x.apk', what: 'first part' }),
      (e: Error & { code?: string; file?: string }) => {
        assert.equal(e.name, 'LadingError');
        assert.equal(e.code, code);
        assert.equal(e.file, 'x.apk');
        return true;
      },
    );
  }
  const damaged = flipped(busybox.subarray(0, 662), 656, 0xff); // inside the CRC-32 trailer (bytes 654–657)
  assert.throws(() => inflateGzipMember(damaged, 0), { code: 'GZIP_CORRUPT', message: /checksum/ });
});

test('a member that inflates beyond the limit is refused', () => {
  const bomb = gzipSync(Buffer.alloc(10 * 1024 * 1024));
  assert.throws(() => inflateGzipMember(bomb, 0, { maxOutput: 1024 * 1024 }), { code: 'GZIP_TOO_LARGE' });
});

test('peeking reads the start of a member without inflating all of it', () => {
  const members = splitGzipMembers(busybox);
  const head = peekGzipMember(busybox, members[2]!.start);
  assert.ok(head.length >= 512 && head.length < members[2]!.data.length);
  assert.deepEqual(head, members[2]!.data.subarray(0, head.length));
});

test('deterministic gzip: same input, same bytes; fixed header', () => {
  const data = Buffer.from('x'.repeat(10000));
  const a = gzipDeterministic(data);
  assert.deepEqual(a, gzipDeterministic(Buffer.from(data)));
  assert.equal(a.readUInt32LE(4), 0);
  assert.equal(a[9], 3);
  assert.deepEqual(inflateGzipMember(a, 0).data, data);
});
