/**
 * Every config in examples/ builds and runs. The examples name Alpine's real mirror and key URLs; the test
 * serves the fixture repository and keys over HTTP on 127.0.0.1 and rewrites those URLs to it, so the
 * HTTP repository and keyring paths are exercised too.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runInLayout, runtimeSpec } from '../helpers/containers.ts';
import { repoRoot } from '../helpers/paths.ts';
import { type RepoServer, startRepoServer } from '../helpers/repo-server.ts';
import { ladingAsync, tempDir } from '../helpers/tools.ts';

const CHECKS: Record<
  string,
  { args: string[]; stdout: string; user?: { uid: number; gid: number }; cwd?: string }
> = {
  'alpine-base.yaml': {
    args: ['/bin/sh', '-c', 'cat /etc/alpine-release; id -u; pwd; echo $LANG'],
    stdout: '3.19.1\n0\n/root\nC.UTF-8\n',
  },
  'nonroot-app.yaml': {
    args: [
      '/bin/sh',
      '-c',
      'id -u; id -g; pwd; ls -ln /srv/www | tail -1 | cut -c1-10; readlink /usr/local/bin/httpd',
    ],
    stdout: '10001\n10001\n/srv/www\n-rw-r--r--\n/bin/busybox\n',
    user: { uid: 10001, gid: 10001 },
    cwd: '/srv/www',
  },
  'busybox-static.yaml': {
    args: ['/bin/sh', '-c', 'echo hi from busybox; ls /usr/bin | wc -l'],
    stdout: 'hi from busybox\n',
  },
};

describe('examples/ build and run', () => {
  const tmp = tempDir('lading-examples-');
  let server: RepoServer;
  before(async () => {
    server = await startRepoServer();
  });
  after(async () => {
    await server.close();
    tmp.remove();
  });

  const examples = readdirSync(join(repoRoot, 'examples'))
    .filter((f) => f.endsWith('.yaml'))
    .sort();
  it('has the three documented examples', () => {
    assert.deepEqual(examples, Object.keys(CHECKS).sort());
  });

  for (const name of examples) {
    it(name, async () => {
      const text = readFileSync(join(repoRoot, 'examples', name), 'utf8')
        .replaceAll('https://dl-cdn.alpinelinux.org/alpine/v3.19/main', `${server.url}/repo`)
        .replaceAll('https://alpinelinux.org/keys/', `${server.url}/keys/`);
      assert.doesNotMatch(text, /https:\/\//, 'every remote URL was redirected to the local server');
      const dir = join(tmp.path, name.replace('.yaml', ''));
      mkdirSync(join(dir, 'layout'), { recursive: true });
      writeFileSync(join(dir, name), text);
      // async: the repository server runs in this process
      const r = await ladingAsync([
        'build',
        join(dir, name),
        'example:1',
        join(dir, 'layout'),
        '--cache-dir',
        join(tmp.path, 'cache'),
        '--log-level',
        'warn',
      ]);
      assert.equal(r.status, 0, r.stderr);
      const check = CHECKS[name]!;
      const spec = runtimeSpec(join(dir, 'layout'), 'example:1', tmp.path);
      if (check.user) assert.deepEqual(spec.user, check.user);
      if (check.cwd) assert.equal(spec.cwd, check.cwd);
      const out = runInLayout(join(dir, 'layout'), 'example:1', check.args, tmp.path);
      assert.equal(out.status, 0, out.stderr);
      assert.ok(out.stdout.startsWith(check.stdout), out.stdout);
    });
  }
});
