/**
 * Command-line mistakes give the error, the usage line and one hint (not the whole help), and OUT is taken as
 * the user meant it: `OUT/` is a layout directory, missing parents of a tarball are created and said.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { writeAlpineConfig } from '../helpers/build.ts';
import { lading, tempDir } from '../helpers/tools.ts';

/** stderr as lines, checked to be short: error, usage, hint. */
function usageError(args: string[], options: Parameters<typeof lading>[1] = {}): string[] {
  const r = lading(args, options);
  assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
  assert.equal(r.stdout, '');
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 3, r.stderr);
  return lines;
}

describe('argument mistakes', () => {
  const tmp = tempDir('lading-usage-');
  after(() => tmp.remove());

  test('an output where the TAG belongs: the error, the usage line and that hint', () => {
    writeFileSync(join(tmp.path, 'image.yaml'), 'contents:\n  packages: [busybox]\n');
    assert.deepEqual(usageError(['build', 'image.yaml', 'OUT.tar'], { cwd: tmp.path }), [
      "lading: error: missing required argument 'out'",
      'usage: lading build [options] <config> <tag> <out>',
      '  hint: OUT.tar looks like an output; the TAG comes before it: lading build image.yaml NAME:TAG OUT.tar',
    ]);
    mkdirSync(join(tmp.path, 'layout'));
    assert.match(
      usageError(['build', 'image.yaml', 'layout'], { cwd: tmp.path })[2]!,
      /^ {2}hint: layout looks/,
    );
    assert.match(usageError(['build', 'image.yaml'])[2]!, /hint: lading build CONFIG TAG OUT, e\.g\./);
  });

  test('unknown commands and options: the nearest one as the hint', () => {
    assert.deepEqual(usageError(['buidl', 'x']), [
      "lading: error: unknown command 'buidl'",
      'usage: lading [options] [command]',
      '  hint: did you mean build?',
    ]);
    assert.deepEqual(usageError(['build', '--arhc', 'amd64', 'a', 'b', 'c']), [
      "lading: error: unknown option '--arhc'",
      'usage: lading build [options] <config> <tag> <out>',
      '  hint: did you mean --arch?',
    ]);
    assert.deepEqual(usageError(['show-packages']).slice(1), [
      'usage: lading show-packages [options] <config>',
      '  hint: `lading show-packages --help` describes every argument and option',
    ]);
    assert.match(usageError(['--nosuch'])[2]!, /`lading --help` lists the commands and options/);
  });

  test('--help still prints the whole help, on stdout, exit 0', () => {
    const r = lading(['build', '--help']);
    assert.equal(r.status, 0);
    assert.match(r.stdout, /^Usage: lading build/);
    assert.ok(r.stdout.split('\n').length > 30);
  });
});

describe('where OUT goes', () => {
  const tmp = tempDir('lading-out-');
  after(() => tmp.remove());
  const config = () => writeAlpineConfig(tmp.path, 'musl.yaml', ['musl']);
  const build = (out: string) =>
    lading(['build', config(), 'musl:1', out, '--cache-dir', join(tmp.path, 'cache'), '--no-sbom'], {
      cwd: tmp.path,
    });

  test('OUT/ that does not exist becomes an OCI layout directory, and says so', () => {
    const r = build('new/layout/');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`^created ${join(tmp.path, 'new/layout')}/ for the OCI layout$`, 'm'));
    assert.ok(statSync(join(tmp.path, 'new/layout')).isDirectory());
    assert.equal(
      JSON.parse(readFileSync(join(tmp.path, 'new/layout/oci-layout'), 'utf8')).imageLayoutVersion,
      '1.0.0',
    );
  });

  test('a tarball in a missing directory: the directory is created, and that is said', () => {
    const r = build('dist/images/musl.tar');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`^created ${join(tmp.path, 'dist/images')}/ for musl\\.tar$`, 'm'));
    assert.ok(statSync(join(tmp.path, 'dist/images/musl.tar')).isFile());
  });

  test('OUT/ naming a file is refused', () => {
    writeFileSync(join(tmp.path, 'afile'), 'x');
    const r = build('afile/');
    assert.equal(r.status, 1);
    assert.match(r.stderr, /lading: error: afile\/ ends in \/ but .*afile is not a directory/);
    assert.equal(readFileSync(join(tmp.path, 'afile'), 'utf8'), 'x');
  });
});
