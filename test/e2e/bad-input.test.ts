/**
 * Bad input to `lading build`: each case gives a clear error (what, where, what to do), a non-zero exit,
 * and leaves no output behind. A build killed with SIGKILL leaves no partial output and a usable cache.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ladingBuild, writeAlpineConfig } from '../helpers/build.ts';
import { sharedCache } from '../helpers/cache.ts';
import { makeKey, makeRepo, type TestRepo, writeRepoConfig } from '../helpers/make-repo.ts';
import { ladingBin } from '../helpers/paths.ts';
import { tempDir } from '../helpers/tools.ts';

describe('lading build: bad input', () => {
  const tmp = tempDir('lading-bad-');
  const cache = sharedCache();
  let repo: TestRepo;
  after(() => tmp.remove());
  before(() => {
    repo = makeRepo(join(tmp.path, 'r1'), [
      { name: 'base', files: { 'etc/base.conf': 'base\n', 'bin/tool': 'A' } },
      { name: 'other', files: { 'bin/tool': 'B' } },
      { name: 'friend', files: { 'bin/tool': 'A' } },
    ]);
  });

  /** Runs a build that must fail; checks the message and that nothing was written. */
  function fails(config: string, pattern: RegExp, args: string[] = []): string {
    const outDir = join(tmp.path, `out-${Math.random().toString(36).slice(2)}`);
    mkdirSync(outDir);
    const r = ladingBuild(config, 'bad:1', join(outDir, 'image.tar'), cache, args);
    assert.notEqual(r.status, 0, 'the build should fail');
    assert.match(r.stderr, /^lading: error: /m);
    assert.match(r.stderr, pattern);
    assert.deepEqual(readdirSync(outDir), [], 'no output (not even a temporary file) is left behind');
    return r.stderr;
  }

  it('an unknown field names file:line:column', () => {
    const c = writeAlpineConfig(tmp.path, 'unknown.yaml', ['busybox'], 'entrypoint:\n  comand: /bin/sh\n');
    fails(c, /unknown\.yaml:\d+:3: .*unknown field "comand".*did you mean "command"/s);
  });

  it('a missing package is named', () => {
    const c = writeAlpineConfig(tmp.path, 'missing.yaml', ['busybox', 'no-such-package']);
    fails(c, /no-such-package/);
  });

  it('an unreachable repository is named', async () => {
    // a port that was just free: nothing listens there
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    const c = join(tmp.path, 'unreachable.yaml');
    writeFileSync(
      c,
      `contents:\n  repositories: [http://127.0.0.1:${port}/alpine/main]\n  keyring: [${repo.key}]\n  packages: [busybox]\narchs: [x86_64]\n`,
    );
    fails(
      c,
      new RegExp(`could not fetch the index of repository http://127\\.0\\.0\\.1:${port}/alpine/main`),
    );
  });

  it('an index signed by a key of the same name that is not ours is refused (BAD signature)', () => {
    const other = makeKey(join(tmp.path, 'impostor'), 'test@lading');
    const c = join(tmp.path, 'badsig.yaml');
    writeFileSync(
      c,
      `contents:\n  repositories: [${repo.repo}]\n  keyring: [${other.key}]\n  packages: [base]\narchs: [x86_64]\n`,
    );
    fails(c, /signature/i);
  });

  it('a package that does not match its signed index entry is refused', () => {
    const r2 = makeRepo(join(tmp.path, 'r2'), [{ name: 'base', files: { 'etc/base.conf': 'original\n' } }]);
    // swap the package file for another build of the same name and version, after indexing
    const evil = makeRepo(join(tmp.path, 'r2-evil'), [
      { name: 'base', files: { 'etc/base.conf': 'evil\n' } },
    ]);
    copyFileSync(join(evil.repo, 'x86_64', 'base-1.0-r0.apk'), join(r2.repo, 'x86_64', 'base-1.0-r0.apk'));
    fails(
      writeRepoConfig(tmp.path, 'tampered.yaml', r2, ['base']),
      /base-1\.0-r0.*does not match its index entry/,
    );
  });

  it('two packages claiming one file: both named, and the path', () => {
    fails(
      writeRepoConfig(tmp.path, 'conflict.yaml', repo, ['base', 'other']),
      /base-1\.0-r0.*other-1\.0-r0.*\/bin\/tool|other-1\.0-r0.*base-1\.0-r0.*\/bin\/tool/,
    );
  });

  it('identical content in two packages is not a conflict', () => {
    const out = join(tmp.path, 'same');
    mkdirSync(out);
    const r = ladingBuild(
      writeRepoConfig(tmp.path, 'same.yaml', repo, ['base', 'friend']),
      'ok:1',
      join(out, 'i.tar'),
      cache,
    );
    assert.equal(r.status, 0, r.stderr);
  });

  it('run-as naming no user', () => {
    fails(
      writeAlpineConfig(
        tmp.path,
        'runas.yaml',
        ['busybox', 'alpine-baselayout-data'],
        'accounts:\n  run-as: nobody-here\n',
      ),
      /nobody-here/,
    );
  });

  it('a paths entry outside the image', () => {
    fails(
      writeAlpineConfig(
        tmp.path,
        'paths.yaml',
        ['busybox'],
        'paths:\n  - path: /../../etc/evil\n    type: empty-file\n',
      ),
      /paths\.yaml:\d+:\d+: .*(outside|\.\.)/s,
    );
  });

  it('an SBOM directory that cannot be written: a clear error, and no image either', () => {
    const c = writeAlpineConfig(tmp.path, 'sbompath.yaml', ['busybox']);
    fails(c, /cannot write the SBOMs to \/etc\/passwd\/x/, ['--sbom-path', '/etc/passwd/x']);
  });

  it('SIGKILL part-way leaves no partial output, and the next build uses the cache without error', async () => {
    const c = writeAlpineConfig(tmp.path, 'kill.yaml', ['alpine-base']);
    const killCache = join(tmp.path, 'kill-cache');
    const outDir = join(tmp.path, 'killed');
    mkdirSync(outDir);
    const out = join(outDir, 'image.tar');
    for (const delayMs of [150, 300, 450]) {
      const child = spawn(
        process.execPath,
        [ladingBin, 'build', c, 'k:1', out, '--cache-dir', killCache, '--log-level', 'error'],
        { stdio: 'ignore' },
      );
      const exited = new Promise((r) => child.once('exit', r));
      await new Promise((r) => setTimeout(r, delayMs));
      child.kill('SIGKILL');
      await exited;
      // only complete outputs (a run that finished before the kill) or hidden temporary files
      const complete = existsSync(out)
        ? ['image.tar', 'image.tar.sbom-index.spdx.json', 'image.tar.sbom-x86_64.spdx.json']
        : [];
      const left = readdirSync(outDir).filter((f) => !complete.includes(f) && !f.startsWith('.'));
      assert.deepEqual(left, [], 'no partial outputs under their final names');
    }
    // a temporary file a killed writer left (its pid is gone) is cleaned up by the next build
    const abandoned = join(outDir, '.image.tar.tmp-999999999-0123abcd');
    writeFileSync(abandoned, 'partial');
    const r = ladingBuild(c, 'k:1', out, killCache);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(readdirSync(outDir).sort(), [
      'image.tar',
      'image.tar.sbom-index.spdx.json',
      'image.tar.sbom-x86_64.spdx.json',
    ]);
  });
});
