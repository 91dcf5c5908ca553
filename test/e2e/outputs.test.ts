/**
 * Outputs as skopeo, podman and a registry see them, for a one- and a two-architecture build (OCI layout and
 * docker archive each): no tag is needed to read them (`oci:DIR`, `oci-archive:OUT.tar`, `podman load -i DIR`),
 * `oci:DIR:TAG` still works, the digest `lading build` prints is the one a registry holds after
 * `skopeo copy --all`, stderr says what each digest is, and SBOMs of images built into one directory never
 * replace each other without a word.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TestRepo } from '../helpers/make-repo.ts';
import { makePublishRepo } from '../helpers/publish-images.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';
import { lading, type RunResult, requireTool, run, runAsync, tempDir } from '../helpers/tools.ts';

const INDEX = 'application/vnd.oci.image.index.v1+json';

describe('outputs usable without a tag; the printed digest is the registry’s', () => {
  const tmp = tempDir('lading-outputs-');
  const out = join(tmp.path, 'out');
  const cache = join(tmp.path, 'cache');
  let repo: TestRepo;
  let registry: TestRegistry;
  // started first and stopped in after() whatever happens in before(): its process must not outlive the file
  const registryStarted = startRegistry();
  /** Each build's stdout (the printed digest) and stderr, by OUT name. */
  const builds = new Map<string, RunResult>();
  let podmanEnv: NodeJS.ProcessEnv;

  const config = (name: string, archs: string[]) => {
    const path = join(tmp.path, `${name}.yaml`);
    writeFileSync(
      path,
      `contents:\n  repositories: [${repo.repo}]\n  keyring: [${repo.key}]\n  packages: [greeting]\narchs: [${archs.join(', ')}]\n`,
    );
    return path;
  };
  const build = (cfg: string, tag: string, output: string, extra: string[] = []) =>
    lading(['build', cfg, tag, output, '--cache-dir', cache, ...extra], { cwd: out });
  const ok = (r: RunResult, what: string) => {
    assert.equal(r.status, 0, `${what}: ${r.stderr}`);
    return r.stdout;
  };

  before(async () => {
    for (const tool of ['skopeo', 'podman', 'curl']) requireTool(tool);
    // a small signed repository for x86_64 and aarch64 (made in-process)
    repo = await makePublishRepo(join(tmp.path, 'repo'));
    mkdirSync(out);
    const one = config('one', ['x86_64']);
    const two = config('two', ['x86_64', 'aarch64']);
    // four images into one directory, SBOMs beside them (the default)
    for (const [cfg, tag, output] of [
      [one, 'test/one:1', 'one/'],
      [one, 'test/one:1', 'one.tar'],
      [two, 'test/two:1', 'two/'],
      [two, 'test/two:1', 'two.tar'],
    ] as const)
      builds.set(output, build(cfg, tag, output));
    for (const [name, r] of builds) ok(r, name);
    // podman with all its state here (oci-tooling.md, recipe 02)
    const p = join(tmp.path, 'podman');
    mkdirSync(p);
    writeFileSync(
      join(p, 'containers.conf'),
      `[containers]\nnetns = "none"\n[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\nevents_logfile_path = "${p}/events.log"\nruntime = "runc"\ntmp_dir = "${p}/tmp"\nimage_copy_tmp_dir = "${p}"\n`,
    );
    writeFileSync(
      join(p, 'storage.conf'),
      `[storage]\ndriver = "vfs"\ngraphroot = "${p}/graph"\nrunroot = "${p}/run"\n`,
    );
    podmanEnv = {
      ...process.env,
      CONTAINERS_CONF: join(p, 'containers.conf'),
      CONTAINERS_STORAGE_CONF: join(p, 'storage.conf'),
    };
    registry = await registryStarted;
  });
  after(async () => {
    await (await registryStarted).stop();
    tmp.remove();
  });

  for (const [name, archs] of [
    ['one', ['amd64']],
    ['two', ['amd64', 'arm64']],
  ] as const) {
    it(`${name} architecture(s): skopeo and podman read the layout and the archive without a tag, and with it`, () => {
      const printed = builds.get(`${name}/`)!.stdout.trim();
      assert.equal(
        builds.get(`${name}.tar`)!.stdout.trim(),
        printed,
        'layout and archive hold the same index',
      );
      const layout = join(out, name);
      for (const ref of [`oci:${layout}`, `oci:${layout}:test/${name}:1`, `oci-archive:${layout}.tar`]) {
        const info = JSON.parse(ok(run('skopeo', ['inspect', ref]), `skopeo inspect ${ref}`));
        assert.equal(info.Digest, printed, ref);
        assert.equal(info.Architecture, 'amd64', ref);
        const raw = JSON.parse(ok(run('skopeo', ['inspect', '--raw', ref]), `skopeo inspect --raw ${ref}`));
        assert.equal(raw.mediaType, INDEX, ref);
        assert.deepEqual(
          raw.manifests.map((m: { platform: { architecture: string } }) => m.platform.architecture),
          archs,
        );
      }
      // relative: podman names a layout's image after its path, which must be lower-case (mkdtemp's is not)
      for (const source of [name, `${name}.tar`]) {
        const loaded = ok(
          run('podman', ['load', '-q', '-i', source], { env: podmanEnv, cwd: out }),
          `podman load ${source}`,
        );
        assert.match(loaded, /^Loaded image/m, source);
      }
    });

    it(`${name} architecture(s): after skopeo copy --all, the registry holds the printed digest`, async () => {
      const printed = builds.get(`${name}/`)!.stdout.trim();
      const dest = `docker://${registry.host}/test/${name}:copied`;
      const c = await runAsync('skopeo', [
        'copy',
        '-q',
        '--all',
        '--dest-tls-verify=false',
        `oci:${join(out, name)}`,
        dest,
      ]);
      assert.equal(c.status, 0, c.stderr);
      const head = (reference: string) =>
        runAsync('curl', [
          '-sS',
          '-o',
          '/dev/null',
          '-D',
          '-',
          '-I',
          '-H',
          `Accept: ${INDEX}`,
          `${registry.url}/v2/test/${name}/manifests/${reference}`,
        ]);
      const byTag = await head('copied');
      assert.match(byTag.stdout, /^HTTP\/1\.1 200/);
      assert.match(byTag.stdout, new RegExp(`^docker-content-digest: ${printed}\\r?$`, 'im'));
      // so REPOSITORY@<printed digest> is there to pull
      assert.match((await head(printed)).stdout, /^HTTP\/1\.1 200/);
    });
  }

  it('stderr says what each digest is', () => {
    const r = builds.get('two/')!;
    const digest = r.stdout.trim();
    assert.match(r.stderr, /^aarch64: 1 packages, image manifest sha256:[0-9a-f]{64}$/m);
    assert.match(r.stderr, /^x86_64: 1 packages, image manifest sha256:[0-9a-f]{64}$/m);
    assert.ok(
      r.stderr.includes(
        `image index ${digest} (printed on stdout): the digest a registry holds after \`skopeo copy --all\` or \`lading publish\``,
      ),
      r.stderr,
    );
  });

  it('SBOMs beside each OUT are named after it, so images built into one directory keep their own', () => {
    const sboms = readdirSync(out).filter((f) => f.includes('.sbom-'));
    assert.deepEqual(sboms.sort(), [
      'one.sbom-index.spdx.json',
      'one.sbom-x86_64.spdx.json',
      'one.tar.sbom-index.spdx.json',
      'one.tar.sbom-x86_64.spdx.json',
      'two.sbom-aarch64.spdx.json',
      'two.sbom-index.spdx.json',
      'two.sbom-x86_64.spdx.json',
      'two.tar.sbom-aarch64.spdx.json',
      'two.tar.sbom-index.spdx.json',
      'two.tar.sbom-x86_64.spdx.json',
    ]);
    for (const f of sboms) {
      const image = f.startsWith('one') ? 'test/one:1' : 'test/two:1';
      assert.match(JSON.parse(readFileSync(join(out, f), 'utf8')).name, new RegExp(`^sbom-${image}-`), f);
    }
  });

  it('--sbom-path (apko’s names) refuses to replace another image’s SBOM; a new tag of the same image replaces it', () => {
    const shared = join(tmp.path, 'shared-sboms');
    const cfg = join(tmp.path, 'one.yaml');
    ok(build(cfg, 'test/one:1', 'a.tar', ['--sbom-path', shared]), 'first image');
    const first = readFileSync(join(shared, 'sbom-x86_64.spdx.json'));
    const refused = build(cfg, 'test/other:1', 'b.tar', ['--sbom-path', shared]);
    assert.equal(refused.status, 1);
    assert.match(
      refused.stderr,
      new RegExp(
        `lading: error: ${shared}/sbom-x86_64\\.spdx\\.json is the SBOM of the image test/one; building test/other:1 with --sbom-path ${shared} would replace it`,
      ),
    );
    assert.match(refused.stderr, /hint: give each image its own --sbom-path directory/);
    assert.ok(readFileSync(join(shared, 'sbom-x86_64.spdx.json')).equals(first));
    assert.ok(!readdirSync(out).includes('b.tar'), 'nothing was written');
    ok(build(cfg, 'test/one:2', 'a.tar', ['--sbom-path', shared]), 'the same image, a new tag');
    assert.match(
      readFileSync(join(shared, 'sbom-x86_64.spdx.json'), 'utf8'),
      /"name": "sbom-test\/one:2-x86_64"/,
    );
  });
});
