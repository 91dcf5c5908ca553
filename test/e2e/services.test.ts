/**
 * s6 service bundles end to end: an image with two services, built from packages of this machine's real s6,
 * execline and static busybox (test/helpers/s6-packages.ts), run as uid 65532 under runc and under podman.
 */
import assert from 'node:assert/strict';
import { rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ladingBuild } from '../helpers/build.ts';
import { sharedCache } from '../helpers/cache.ts';
import { startInLayout } from '../helpers/containers.ts';
import { layerTars, layoutManifests, tarTree } from '../helpers/image-tree.ts';
import { makeRepo, writeRepoConfig } from '../helpers/make-repo.ts';
import { type Podman, startPodman } from '../helpers/podman.ts';
import { hostS6Packages } from '../helpers/s6-packages.ts';
import { layerFiles } from '../helpers/sbom-built-image.ts';
import { tempDir } from '../helpers/tools.ts';

const SERVICES = `entrypoint:
  type: service-bundle
  services:
    a: /bin/sh -c "id -u > /tmp/a.out; exec sleep 1000"
    b: /bin/sh -c "id -u > /tmp/b.out; exec sleep 1000"
accounts:
  groups: [{groupname: nonroot, gid: 65532}]
  users: [{username: nonroot, uid: 65532}]
  run-as: nonroot
`;

/** What s6-svwait says when s6-supervise has not yet written a service's status. */
const NOT_SUPERVISED_YET = /No such file or directory/;

/**
 * Polls `probe` every 100 ms until it returns a value, for at most `ms`: a bound on waiting for what the test
 * brings about, generous so that a loaded machine only makes it slower (the waits end as soon as it happens).
 */
async function waitFor<T>(ms: number, probe: () => T | undefined): Promise<T | undefined> {
  const until = Date.now() + ms;
  for (;;) {
    const v = probe();
    if (v !== undefined || Date.now() > until) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('entrypoint.services: an s6 supervision tree that runs as a non-root user', () => {
  const tmp = tempDir('lading-services-');
  const layout = join(tmp.path, 'layout');
  let podman: Podman | undefined;
  before(() => {
    const repo = makeRepo(tmp.path, hostS6Packages());
    const config = writeRepoConfig(tmp.path, 'services.yaml', repo, ['busybox'], SERVICES);
    const r = ladingBuild(config, 'services:1', `${layout}/`, sharedCache());
    assert.equal(r.status, 0, r.stderr);
  });
  after(async () => {
    await podman?.remove();
    tmp.remove();
  });

  it('the image runs s6-svscan over /sv, and s6 is in the world', () => {
    const m = layoutManifests(layout).get('amd64')!;
    const config = (m.config as { config: { Entrypoint: string[]; User: string } }).config;
    assert.deepEqual(config.Entrypoint, ['/bin/s6-svscan', '/sv']);
    assert.equal(config.User, '65532');
    const tree = tarTree(layerTars(layout)[0]!);
    const sv = [...tree].filter(([p]) => p === 'sv' || p.startsWith('sv/'));
    assert.deepEqual(
      sv.map(([p, d]) => `${p} ${d.split(' ').slice(0, 3).join(' ')}`),
      [
        'sv directory 0777 0:0',
        'sv/a directory 0777 0:0',
        'sv/a/run file 0755 0:0',
        'sv/b directory 0777 0:0',
        'sv/b/run file 0755 0:0',
      ],
    );
    const files = layerFiles(layout, 'amd64');
    assert.equal(
      files.get('sv/a/run')!.toString(),
      '#!/bin/execlineb\n/bin/sh -c "id -u > /tmp/a.out; exec sleep 1000"\n',
    );
    assert.equal(files.get('etc/apk/world')!.toString(), 'busybox\ns6\n');
  });

  it('under runc: both services come up as 65532, a killed one is restarted, SIGTERM stops it all', async () => {
    const c = startInLayout(layout, 'services:1', tmp.path);
    try {
      // s6-svscan starts each s6-supervise a moment after the container starts: until then s6-svwait finds no
      // status to wait on (s6_svstatus_read: No such file or directory), so ask again
      const up = await waitFor(30_000, () => {
        const r = c.exec(['/bin/s6-svwait', '-u', '-t', '30000', '/sv/a', '/sv/b']);
        return r.status === 0 || !NOT_SUPERVISED_YET.test(r.stderr) ? r : undefined;
      });
      assert.equal(up?.status, 0, up?.stderr);
      const ids = await waitFor(30_000, () => {
        const r = c.exec(['/bin/cat', '/tmp/a.out', '/tmp/b.out']);
        return r.status === 0 && r.stdout.split('\n').length === 3 ? r.stdout : undefined;
      });
      assert.equal(ids, '65532\n65532\n');
      // what s6 and the services created is the service user's
      const owners = c.exec(['/bin/stat', '-c', '%u %n', '/tmp/a.out', '/sv/a/supervise', '/sv/.s6-svscan']);
      assert.equal(owners.stdout, '65532 /tmp/a.out\n65532 /sv/a/supervise\n65532 /sv/.s6-svscan\n');

      const pid = () => c.exec(['/bin/s6-svstat', '-p', '/sv/a']).stdout.trim();
      const first = pid();
      assert.match(first, /^[1-9]\d*$/);
      assert.equal(c.exec(['/bin/kill', '-9', first]).status, 0);
      const second = await waitFor(30_000, () => {
        const p = pid();
        return p !== first && /^[1-9]\d*$/.test(p) ? p : undefined;
      });
      assert.ok(second, 'the killed service was not restarted');

      c.kill('TERM');
      // s6-svscan as PID 1 takes SIGTERM as "bring everything down and exit"
      assert.equal(
        await waitFor(30_000, () => (c.status() === 'stopped' ? 'stopped' : undefined)),
        'stopped',
      );
    } finally {
      c.remove();
    }
  });

  it('under podman: the services are up, and podman stop ends it with SIGTERM (exit 0)', async () => {
    podman = startPodman();
    const p = podman.podman;
    // podman names an image loaded from a layout after its path, which must be lower case
    const lower = join(tmpdir(), `lading-services-${process.pid}`);
    symlinkSync(layout, lower);
    const load = await p(['load', '-q', '-i', lower]).finally(() => rmSync(lower));
    assert.equal(load.status, 0, load.stderr);
    const image = /Loaded image: (\S+)/.exec(load.stdout)?.[1];
    assert.ok(image, load.stdout);
    const run = await p(['run', '-d', '--name', 's6', image]);
    assert.equal(run.status, 0, run.stderr);
    let up = await p(['exec', 's6', '/bin/s6-svwait', '-u', '-t', '5000', '/sv/a', '/sv/b']);
    for (const until = Date.now() + 30_000; up.status !== 0 && NOT_SUPERVISED_YET.test(up.stderr); ) {
      if (Date.now() > until) break;
      await new Promise((r) => setTimeout(r, 100));
      up = await p(['exec', 's6', '/bin/s6-svwait', '-u', '-t', '5000', '/sv/a', '/sv/b']);
    }
    assert.equal(up.status, 0, up.stderr);
    const stat = await p(['exec', 's6', '/bin/s6-svstat', '/sv/a']);
    assert.match(stat.stdout, /^up \(pid \d+\)/);
    const id = await p(['exec', 's6', '/bin/id', '-u']);
    assert.equal(id.stdout, '65532\n');
    // a container that ignored SIGTERM would be killed after 5 s and exit 137
    const stop = await p(['stop', '--time', '5', 's6']);
    assert.equal(stop.status, 0, stop.stderr);
    const exit = await p(['inspect', '--format', '{{.State.ExitCode}}', 's6']);
    assert.equal(exit.stdout.trim(), '0');
  });
});
