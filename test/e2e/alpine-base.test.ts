/**
 * `lading build` of alpine-base from the fixture ISO repository, checked with real tools:
 * oci-image-tool, skopeo, umoci + runc (apk info / apk audit inside), and a real Docker engine.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { APP_EXTRA, ladingBuild, writeAlpineConfig } from '../helpers/build.ts';
import { sharedCache } from '../helpers/cache.ts';
import { runInLayout, runtimeSpec } from '../helpers/containers.ts';
import { type Dockerd, startDockerd } from '../helpers/dockerd.ts';
import { requireTool, run, tempDir } from '../helpers/tools.ts';

describe('lading build alpine-base', () => {
  const tmp = tempDir('lading-e2e-');
  let layout = '';
  let tarball = '';
  let docker: Dockerd | undefined;

  before(() => {
    const config = writeAlpineConfig(tmp.path, 'alpine-base.yaml', ['alpine-base'], APP_EXTRA);
    const cache = sharedCache();
    tarball = join(tmp.path, 'alpine-base.tar');
    let r = ladingBuild(config, 'alpine-base:latest', tarball, cache);
    assert.equal(r.status, 0, r.stderr);
    layout = join(tmp.path, 'layout');
    mkdirSync(layout);
    r = ladingBuild(config, 'alpine-base:latest', layout, cache, ['--sbom-path', join(tmp.path, 'sboms')]);
    assert.equal(r.status, 0, r.stderr);
  });
  after(async () => {
    await docker?.stop();
    tmp.remove();
  });

  it('writes a layout oci-image-tool validates and both outputs skopeo reads', () => {
    requireTool('oci-image-tool');
    requireTool('skopeo');
    const v = run('oci-image-tool', [
      'validate',
      '--type',
      'image',
      '--ref',
      'name=alpine-base:latest',
      layout,
    ]);
    assert.equal(v.status, 0, v.stdout + v.stderr);
    for (const ref of [`oci:${layout}:alpine-base:latest`, `docker-archive:${tarball}`]) {
      const r = run('skopeo', ['inspect', ref]);
      assert.equal(r.status, 0, r.stderr);
      const info = JSON.parse(r.stdout);
      assert.equal(info.Architecture, 'amd64');
      assert.equal(info.Layers.length, 1);
    }
    // skopeo copy re-hashes every blob
    const c = run('skopeo', ['copy', `docker-archive:${tarball}`, `oci:${join(tmp.path, 'copy')}:x`]);
    assert.equal(c.status, 0, c.stderr);
  });

  it('runs under runc with the configured user, working directory and environment', () => {
    const r = runInLayout(
      layout,
      'alpine-base:latest',
      ['/bin/sh', '-c', 'echo hello; id -u; id -g; pwd; echo "$GREETING"'],
      tmp.path,
    );
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'hello\n1000\n1000\n/home/app\nhi there\n');
    const spec = runtimeSpec(layout, 'alpine-base:latest', tmp.path);
    assert.deepEqual(spec.user, { uid: 1000, gid: 1000 });
    assert.equal(spec.cwd, '/home/app');
    assert.ok(spec.env.includes('GREETING=hi there'));
    assert.deepEqual(spec.args, ['/bin/sh', '-c', 'echo hello from cmd']);
  });

  it('apk inside the image lists exactly the installed packages and audits clean', () => {
    const r = runInLayout(
      layout,
      'alpine-base:latest',
      [
        '/bin/sh',
        '-c',
        'apk info 2>/dev/null | sort; echo ---; apk audit --system 2>/dev/null; echo "audit exit $?"',
      ],
      tmp.path,
      { root: true },
    );
    assert.equal(r.status, 0, r.stderr);
    const [info, audit] = r.stdout.split('---\n');
    const spdx = JSON.parse(readFileSync(join(tmp.path, 'sboms', 'sbom-x86_64.spdx.json'), 'utf8'));
    const apkNames = spdx.packages
      .filter((p: { externalRefs?: { referenceLocator: string }[] }) =>
        p.externalRefs?.some((x) => x.referenceLocator.startsWith('pkg:apk/')),
      )
      .map((p: { name: string }) => p.name)
      .sort();
    assert.deepEqual(info!.trim().split('\n'), apkNames);
    assert.equal(apkNames.length, 25);
    assert.equal(audit, 'audit exit 0\n');
  });

  it('docker loads the tarball and runs it', async () => {
    docker = await startDockerd();
    const load = docker.docker(['load', '-i', tarball]);
    assert.equal(load.status, 0, load.stderr);
    assert.match(load.stdout, /Loaded image: alpine-base:latest/);
    const r = docker.docker(['run', '--rm', '--network', 'none', 'alpine-base:latest']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'hello from cmd\n');
    const r2 = docker.docker([
      'run',
      '--rm',
      '--network',
      'none',
      'alpine-base:latest',
      'id -un; cat /etc/alpine-release',
    ]);
    assert.equal(r2.stdout, 'app\n3.19.1\n');
  });
});
