/**
 * `lading package` + `lading index` make a repository the real apk-tools installs: dependencies,
 * install_if, a symlink, a hardlink, a setuid file and a file owned by uid 1000 all arrive intact.
 */
import assert from 'node:assert/strict';
import {
  chmodSync,
  chownSync,
  linkSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { apkOracle } from '../helpers/paths.ts';
import { lading, run, tempDir } from '../helpers/tools.ts';

const tmp = tempDir('lading-package-');
after(tmp.remove);
const keys = join(tmp.path, 'keys');
const repo = join(tmp.path, 'repo');
const arch = join(repo, 'x86_64');
const env = { ...process.env, SOURCE_DATE_EPOCH: '1700000000' };

function ok(args: string[]): string {
  const r = lading(args, { env });
  assert.equal(r.status, 0, `lading ${args.join(' ')}\n${r.stderr}`);
  return r.stdout;
}

/** Every path under `dir`, relative, sorted. */
function walk(dir: string, rel = ''): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(dir, rel)).sort()) {
    const p = rel ? `${rel}/${name}` : name;
    out.push(p);
    if (lstatSync(join(dir, p)).isDirectory()) out.push(...walk(dir, p));
  }
  return out;
}

function makeTrees(): Record<string, string> {
  const a = join(tmp.path, 'src-a');
  mkdirSync(join(a, 'usr/bin'), { recursive: true });
  mkdirSync(join(a, 'etc'));
  mkdirSync(join(a, 'home/user'), { recursive: true });
  writeFileSync(join(a, 'usr/bin/tool'), '#!/bin/sh\necho tool\n');
  chmodSync(join(a, 'usr/bin/tool'), 0o755);
  symlinkSync('tool', join(a, 'usr/bin/tool-link'));
  linkSync(join(a, 'usr/bin/tool'), join(a, 'usr/bin/tool-hard'));
  writeFileSync(join(a, 'usr/bin/su-tool'), 'setuid binary');
  chmodSync(join(a, 'usr/bin/su-tool'), 0o4755);
  writeFileSync(join(a, 'etc/a.conf'), 'key = value\n');
  chmodSync(join(a, 'etc/a.conf'), 0o640);
  writeFileSync(join(a, 'home/user/notes'), 'mine\n');
  chownSync(join(a, 'home/user'), 1000, 1000);
  chownSync(join(a, 'home/user/notes'), 1000, 1000);

  const b = join(tmp.path, 'src-b');
  mkdirSync(join(b, 'usr/share/b'), { recursive: true });
  writeFileSync(join(b, 'usr/share/b/data'), Buffer.alloc(100000, 'b'));
  symlinkSync('/usr/bin/tool', join(b, 'usr/share/b/abs-link'));

  const c = join(tmp.path, 'src-c');
  mkdirSync(join(c, 'usr/share/c'), { recursive: true });
  writeFileSync(join(c, 'usr/share/c/glue'), 'installed because a and b are\n');
  return { a, b, c };
}

describe('a repository built by lading, installed by apk-tools', () => {
  let trees: Record<string, string>;
  /** pkg-a from tree a, with every metadata flag (built twice: it must give the same bytes). */
  const packageA = (out: string) =>
    ok([
      'package',
      trees.a!,
      '-o',
      out,
      '--name',
      'pkg-a',
      '--pkgver',
      '1.0-r0',
      '--arch',
      'x86_64',
      '--depends',
      'pkg-b>=2.0',
      '--description',
      'package a',
      '--license',
      'MIT',
      '--url',
      'https://example.com/a',
      '--key',
      join(keys, 'repo.rsa'),
    ]);
  before(() => {
    assert.equal(
      process.getuid?.(),
      0,
      'this test chowns files and installs with apk-tools: run it as root (as CI does)',
    );
    mkdirSync(keys);
    mkdirSync(arch, { recursive: true });
    trees = makeTrees();
    ok(['keygen', join(keys, 'repo'), '--bits', '2048']);
    packageA(join(arch, 'pkg-a-1.0-r0.apk'));
    ok([
      'package',
      trees.b!,
      '-o',
      join(arch, 'pkg-b-2.0-r1.apk'),
      '--name',
      'pkg-b',
      '--pkgver',
      '2.0-r1',
      '--arch',
      'x86_64',
      '--provides',
      'cmd:bdata=2.0-r1',
      '--key',
      join(keys, 'repo.rsa'),
    ]);
    ok([
      'package',
      trees.c!,
      '-o',
      join(arch, 'pkg-c-0.1-r0.apk'),
      '--name',
      'pkg-c',
      '--pkgver',
      '0.1-r0',
      '--install-if',
      'pkg-a pkg-b',
      '--key',
      join(keys, 'repo.rsa'),
    ]);
    const out = ok([
      'index',
      '--key',
      join(keys, 'repo.rsa'),
      '-o',
      join(arch, 'APKINDEX.tar.gz'),
      '--description',
      'lading test repo',
      join(arch, 'pkg-a-1.0-r0.apk'),
      join(arch, 'pkg-b-2.0-r1.apk'),
      join(arch, 'pkg-c-0.1-r0.apk'),
    ]);
    assert.match(out, /3 packages, signed with repo\.rsa\.pub/);
  });

  test('apk-tools installs it without warnings and the files match the source trees', () => {
    const root = join(tmp.path, 'root');
    const r = run(apkOracle, [
      'add',
      '--root',
      root,
      '--initdb',
      '--no-network',
      '--arch',
      'x86_64',
      '--keys-dir',
      keys,
      '--repository',
      repo,
      'pkg-a',
    ]);
    const output = r.stdout + r.stderr;
    assert.equal(r.status, 0, output);
    assert.doesNotMatch(output, /WARNING|ERROR|UNTRUSTED/i);
    assert.match(output, /Installing pkg-b \(2\.0-r1\)/);
    assert.match(output, /Installing pkg-a \(1\.0-r0\)/);
    assert.match(output, /Installing pkg-c \(0\.1-r0\)/, 'install_if pulled pkg-c in');

    for (const dir of Object.values(trees)) {
      for (const p of walk(dir)) {
        const src = lstatSync(join(dir, p));
        const dst = lstatSync(join(root, p));
        assert.equal(dst.mode.toString(8), src.mode.toString(8), `${p}: type and mode`);
        assert.equal(`${dst.uid}:${dst.gid}`, `${src.uid}:${src.gid}`, `${p}: owner`);
        if (src.isSymbolicLink()) assert.equal(readlinkSync(join(root, p)), readlinkSync(join(dir, p)), p);
        else if (src.isFile()) {
          assert.deepEqual(readFileSync(join(root, p)), readFileSync(join(dir, p)), `${p}: content`);
          assert.equal(dst.mtimeMs, 1700000000 * 1000, `${p}: mtime = SOURCE_DATE_EPOCH`);
        }
      }
    }
    const tool = lstatSync(join(root, 'usr/bin/tool'));
    const hard = lstatSync(join(root, 'usr/bin/tool-hard'));
    assert.equal(hard.ino, tool.ino, 'the hardlink is a hardlink');
    const installed = readFileSync(join(root, 'lib/apk/db/installed'), 'utf8');
    assert.match(installed, /^R:su-tool\na:0:0:4755$/m);
    assert.match(installed, /^F:home\/user\nM:1000:1000:755$/m);
  });

  test('apk-tools verify and lading verify say OK for every package and the index', () => {
    const files = readdirSync(arch)
      .sort()
      .map((f) => join(arch, f));
    assert.equal(files.length, 4);
    const r = run(apkOracle, ['--keys-dir', keys, 'verify', ...files]);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.equal(r.stdout.match(/: 0 - OK/g)?.length, 4, r.stdout);
    const ours = lading(['verify', '--keyring', keys, ...files]);
    assert.equal(ours.status, 0, ours.stdout);
    assert.equal(ours.stdout.match(/: OK \(key repo\.rsa\.pub, RSA256\)/g)?.length, 4);
  });

  test('the same inputs give the same bytes', () => {
    const again = join(tmp.path, 'again.apk');
    packageA(again);
    assert.deepEqual(readFileSync(again), readFileSync(join(arch, 'pkg-a-1.0-r0.apk')));
  });
});

describe('bad input gives a clear error, a non-zero exit and no output file', () => {
  const out = () => join(tmp.path, 'bad-out');
  before(() => mkdirSync(out(), { recursive: true }));

  function fails(args: string[], message: RegExp): void {
    const r = lading(args);
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stderr, message);
    assert.deepEqual(readdirSync(out()), [], 'nothing written, no temporary files left');
  }

  test('missing directory, socket in the tree, public key as --key, bad name, missing output dir', async () => {
    const o = join(out(), 'x.apk');
    fails(
      ['package', join(tmp.path, 'nope'), '-o', o, '--name', 'x', '--pkgver', '1-r0'],
      /nope: cannot read the package directory/,
    );
    const withSocket = join(tmp.path, 'with-socket');
    mkdirSync(withSocket);
    const net = await import('node:net');
    const server = net.createServer().listen(join(withSocket, 'sock'));
    await new Promise((r) => server.once('listening', r));
    try {
      fails(
        ['package', withSocket, '-o', o, '--name', 'x', '--pkgver', '1-r0'],
        /sock: sockets cannot be packaged/,
      );
    } finally {
      server.close();
    }
    const src = join(tmp.path, 'src-a');
    fails(
      ['package', src, '-o', o, '--name', 'x', '--pkgver', '1-r0', '--key', join(keys, 'repo.rsa.pub')],
      /repo\.rsa\.pub: this is a public key/,
    );
    fails(['package', src, '-o', o, '--name', 'x y', '--pkgver', '1-r0'], /package name "x y" is not valid/);
    fails(['package', src, '-o', o, '--name', 'x'], /the package version is required/);
    fails(
      ['package', src, '-o', o, '--name', 'x', '--pkgver', '1-r0', '--provider-priority', 'high'],
      /--provider-priority must be a whole number/,
    );
    fails(
      ['package', src, '-o', o, '--name', 'x', '--pkgver', '1-r0', '--script', 'post-install=/nope'],
      /\/nope: cannot read script/,
    );
    fails(
      ['package', src, '-o', o, '--name', 'x', '--pkgver', '1-r0', '--script', 'evil=/etc/hostname'],
      /unknown script ".evil"/,
    );
    const r = lading([
      'package',
      src,
      '-o',
      join(tmp.path, 'no/dir/x.apk'),
      '--name',
      'x',
      '--pkgver',
      '1-r0',
    ]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /no\/dir\/x\.apk: cannot write output/);
  });

  test('package --help describes every flag', () => {
    const r = lading(['package', '--help']);
    assert.equal(r.status, 0);
    for (const flag of [
      '--output',
      '--name',
      '--version',
      '--arch',
      '--description',
      '--license',
      '--origin',
      '--url',
      '--depends',
      '--provides',
      '--replaces',
      '--install-if',
      '--provider-priority',
      '--key',
      '--script',
      '--trigger',
      'SOURCE_DATE_EPOCH',
    ]) {
      assert.ok(r.stdout.includes(flag), flag);
    }
  });

  test('--version sets the package version', () => {
    const o = join(tmp.path, 'v.apk');
    const r = lading(['package', join(tmp.path, 'src-c'), '-o', o, '--name', 'v', '--version', '1-r0']);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /v-1-r0/);
  });
});
