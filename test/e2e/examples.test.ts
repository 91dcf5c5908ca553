/**
 * Every config in examples/ resolves against the real Alpine v3.19 main index, builds, and runs its own
 * entrypoint/cmd in a real Docker engine; the web example answers an HTTP request inside its network namespace.
 *
 * The examples name Alpine's mirror and key URLs. Resolution uses the full v3.19 main index from the fixtures
 * (every package, no package files). The builds use the fixture repository (alpine-base's packages, served over
 * HTTP on 127.0.0.1, so the HTTP repository and keyring paths are exercised too) plus STAND-INS made here for the
 * packages the fixtures do not hold (helpers/stand-ins.ts): the real package's name, version, dependencies and
 * provides around this machine's static busybox (Debian's busybox-static), installed where the real package
 * installs its own busybox build.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { sharedCache } from '../helpers/cache.ts';
import { type Dockerd, startDockerd } from '../helpers/dockerd.ts';
import { makeKey } from '../helpers/make-repo.ts';
import { fixture, repoRoot } from '../helpers/paths.ts';
import { type RepoServer, startRepoServer } from '../helpers/repo-server.ts';
import { FULL_MAIN_INDEX, makeStandInRepo, STAND_INS } from '../helpers/stand-ins.ts';
import { lading, ladingAsync, requireTool, run, tempDir } from '../helpers/tools.ts';

const EXAMPLES = ['alpine-base.yaml', 'busybox-static.yaml', 'nonroot-app.yaml'];
const MIRROR = 'https://dl-cdn.alpinelinux.org/alpine/v3.19/main';
const KEYS = 'https://alpinelinux.org/keys/';

/** True when the ELF file has no program interpreter (PT_INTERP): it runs in an image without a libc. */
function isStaticElf(path: string): boolean {
  const b = readFileSync(path);
  if (b.readUInt32BE(0) !== 0x7f454c46 || b[4] !== 2) return false; // ELF64 only
  const phoff = Number(b.readBigUInt64LE(0x20));
  const [size, count] = [b.readUInt16LE(0x36), b.readUInt16LE(0x38)];
  for (let i = 0; i < count; i++) if (b.readUInt32LE(phoff + i * size) === 3) return false;
  return true;
}

describe('examples/ resolve, build and run their own entrypoints', () => {
  const tmp = tempDir('lading-examples-');
  const cache = sharedCache();
  let server: RepoServer;
  let docker: Dockerd;
  /** Per example: the packages resolved against the full Alpine index, and the build's stderr. */
  const resolved = new Map<string, { name: string; version: string }[]>();
  const built = new Map<string, { stderr: string; dir: string }>();

  const image = (example: string) => `example-${example.replace('.yaml', '')}:1`;
  const text = (example: string) => readFileSync(join(repoRoot, 'examples', example), 'utf8');

  before(async () => {
    const busybox = requireTool('busybox');
    assert.ok(isStaticElf(busybox), `${busybox} must be statically linked (Debian's busybox-static)`);
    server = await startRepoServer();
    const dockerStarted = startDockerd();

    // the full v3.19 main index as a local repository (an index without its packages resolves, never installs)
    const main = join(tmp.path, 'full-main');
    mkdirSync(join(main, 'x86_64'), { recursive: true });
    symlinkSync(FULL_MAIN_INDEX(), join(main, 'x86_64', 'APKINDEX.tar.gz'));
    for (const example of EXAMPLES) {
      const config = join(tmp.path, `resolve-${example}`);
      writeFileSync(
        config,
        text(example)
          .replaceAll(MIRROR, main)
          .replaceAll(KEYS, `${fixture('alpine/keys')}/`),
      );
      const r = lading([
        'show-packages',
        config,
        '--arch',
        'x86_64',
        '--cache-dir',
        cache,
        '--format',
        'json',
      ]);
      assert.equal(r.status, 0, `${example} resolves against the full Alpine v3.19 main index: ${r.stderr}`);
      resolved.set(example, JSON.parse(r.stdout));
    }

    // stand-ins for what the fixture repository lacks, in a signed repository of their own
    const key = makeKey(join(tmp.path, 'stand-in-keys'));
    const standIns = makeStandInRepo(join(tmp.path, 'stand-ins'), readFileSync(busybox), key.privateKey);

    docker = await dockerStarted;
    // each example as a user builds it (the URLs pointed at the local server), loaded into the engine
    for (const example of EXAMPLES) {
      const dir = join(tmp.path, example.replace('.yaml', ''));
      mkdirSync(dir);
      const config = join(dir, example);
      writeFileSync(
        config,
        text(example).replaceAll(MIRROR, `${server.url}/repo`).replaceAll(KEYS, `${server.url}/keys/`),
      );
      // async: the repository server runs in this process
      const b = await ladingAsync([
        'build',
        config,
        image(example),
        join(dir, 'image.tar'),
        '--cache-dir',
        cache,
        '--log-level',
        'warn',
        // build-only: the image's /etc/apk/repositories names the example's repository alone
        '--build-repository-append',
        standIns,
        '--keyring-append',
        key.key,
      ]);
      assert.equal(b.status, 0, b.stderr);
      built.set(example, { stderr: b.stderr, dir });
      const load = docker.docker(['load', '-i', join(dir, 'image.tar')]);
      assert.equal(load.status, 0, load.stderr);
    }
  });
  after(async () => {
    await docker?.stop();
    await server?.close();
    tmp.remove();
  });

  it('has the three documented examples', () => {
    const found = readdirSync(join(repoRoot, 'examples')).filter((f) => f.endsWith('.yaml'));
    assert.deepEqual(found.sort(), EXAMPLES);
  });

  it('every example resolves against the full index; stand-ins are exactly what the fixtures lack', () => {
    const inFixtures = new Set(
      readdirSync(fixture('alpine/v3.19.1-iso-repo/x86_64'))
        .filter((f) => f.endsWith('.apk'))
        .map((f) => f.replace(/-[0-9][^-]*-r[0-9]+\.apk$/, '')),
    );
    const missing = new Set<string>();
    for (const packages of resolved.values())
      for (const p of packages) if (!inFixtures.has(p.name)) missing.add(p.name);
    assert.deepEqual([...missing].sort(), Object.keys(STAND_INS));
  });

  it('builds every example without a warning; SBOMs know the distribution from /etc/os-release', () => {
    for (const [example, { stderr, dir }] of built) {
      assert.equal(stderr, '', example);
      const sbom = readdirSync(dir).find((f) => /sbom-x86_64\.spdx\.json$/.test(f));
      assert.ok(sbom, `${example}: an SBOM beside the image`);
      const purls = [...readFileSync(join(dir, sbom), 'utf8').matchAll(/"(pkg:apk\/[^/"]+)\//g)].map(
        (m) => m[1],
      );
      assert.ok(purls.length > 0, example);
      assert.deepEqual([...new Set(purls)], ['pkg:apk/alpine'], example);
    }
  });

  it('alpine-base: its login shell runs as root in /root with LANG set', () => {
    const r = docker.docker(
      ['run', '--rm', '-i', '--network', 'none', image('alpine-base.yaml')],
      'cat /etc/alpine-release; id -u; pwd; echo "$LANG"\n',
    );
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, '3.19.1\n0\n/root\nC.UTF-8\n');
  });

  it('busybox-static: a static busybox and no libc; its shell runs applets without links', () => {
    const names = resolved.get('busybox-static.yaml')!.map((p) => p.name);
    assert.deepEqual(names.sort(), [
      'alpine-baselayout-data',
      'alpine-keys',
      'alpine-release',
      'busybox-static',
    ]);
    const r = docker.docker(
      ['run', '--rm', '-i', '--network', 'none', image('busybox-static.yaml')],
      'ls /lib/ld-musl* 2>/dev/null || echo no musl; uname -s; readlink /bin/sh; . /etc/os-release; echo $ID\n',
    );
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'no musl\nLinux\n/bin/busybox.static\nalpine\n');
  });

  it('nonroot-app: httpd runs as www (10001) and answers on 8080 inside its network namespace', async () => {
    requireTool('nsenter');
    requireTool('curl');
    const name = `lading-web-${process.pid}`;
    const started = docker.docker([
      'run',
      '-d',
      '--network',
      'none',
      '--name',
      name,
      image('nonroot-app.yaml'),
    ]);
    assert.equal(started.status, 0, started.stderr);
    try {
      const pid = docker.docker(['inspect', '-f', '{{.State.Pid}}', name]).stdout.trim();
      assert.match(pid, /^[1-9][0-9]*$/, 'the container is running');
      // the entrypoint itself is the container's first process
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      assert.match(status, /^Uid:\t10001\t10001\t/m);
      assert.match(status, /^Gid:\t10001\t10001\t/m);
      let answer = { status: 1, stdout: '', stderr: '' };
      // until the server answers (bounded generously: a loaded machine only makes it slower)
      for (let i = 0; i < 600 && answer.status !== 0; i++) {
        if (i > 0) await sleep(50);
        answer = run('nsenter', ['-t', pid, '-n', 'curl', '-sS', '-i', 'http://127.0.0.1:8080/index.html']);
      }
      assert.equal(answer.status, 0, answer.stderr);
      assert.match(answer.stdout, /^HTTP\/1\.[01] 200 OK\r\n/);
      const inside = docker.docker(['exec', name, '/bin/busybox', 'sh', '-c', 'id -un; pwd; echo $PORT']);
      assert.equal(inside.stdout, 'www\n/srv/www\n8080\n', inside.stderr);
    } finally {
      docker.docker(['rm', '-f', name]);
    }
  });
});
