import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { writeDockerArchive } from '../../src/oci/docker-archive.ts';
import { hostPlatformKey } from '../../src/oci/tags.ts';
import type { ImageIndex } from '../../src/oci/types.ts';
import { validateDockerArchive } from '../../src/oci/validate.ts';
import { rejectsCode } from '../helpers/assert.ts';
import { type Dockerd, startDockerd } from '../helpers/dockerd.ts';
import { alpineIndex, EXPECTED_OUTPUT } from '../helpers/oci-image.ts';
import { requireTool, run, tempDir } from '../helpers/tools.ts';

const TAG = 'lading-test/archive:1.0';
let tmp: { path: string; remove: () => void };
let single: ImageIndex;
let multi: ImageIndex;
let dockerd: Dockerd | undefined;

before(async () => {
  tmp = tempDir('lading-oci-archive-');
  // the engine starts while the images are built; it is stopped in `after` whatever happens here
  const engine = startDockerd();
  engine.catch(() => {});
  try {
    single = await alpineIndex(join(tmp.path, 'single'), ['amd64']);
    multi = await alpineIndex(join(tmp.path, 'multi'), ['amd64', 'arm64']);
  } finally {
    dockerd = await engine;
  }
});
after(async () => {
  await dockerd?.stop();
  tmp.remove();
});

function ok(r: { status: number; stdout: string; stderr: string }, what: string): string {
  assert.equal(r.status, 0, `${what}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

test('single platform: one file that is a docker archive and an OCI archive, blobs stored once', async () => {
  const file = join(tmp.path, 'single.tar');
  await writeDockerArchive(file, single, { tag: TAG });
  const img = single.images[0]!;
  const members = ok(run(requireTool('bsdtar'), ['-tf', file]), 'bsdtar')
    .trim()
    .split('\n');
  const blobs = [img.config.digest, img.layers[0]!.digest, img.manifest.digest, single.index.digest]
    .map((d) => `blobs/sha256/${d.slice(7)}`)
    .sort();
  assert.deepEqual(members, ['blobs', 'blobs/sha256', ...blobs, 'index.json', 'manifest.json', 'oci-layout']);

  const report = await validateDockerArchive(file);
  assert.deepEqual(report.dockerManifest, [
    {
      config: `blobs/sha256/${img.config.digest.slice(7)}`,
      repoTags: [TAG],
      layers: [`blobs/sha256/${img.layers[0]!.digest.slice(7)}`],
    },
  ]);
  assert.deepEqual(report.refs, { [TAG]: single.index.digest });

  const skopeo = requireTool('skopeo');
  const asDocker = JSON.parse(
    ok(run(skopeo, ['inspect', '--config', `docker-archive:${file}`]), 'skopeo docker-archive'),
  );
  assert.equal(asDocker.config.User, 'guest');
  assert.equal(asDocker.config.WorkingDir, '/tmp');
  const asOci = JSON.parse(ok(run(skopeo, ['inspect', `oci-archive:${file}:${TAG}`]), 'skopeo oci-archive'));
  assert.equal(asOci.Digest, single.index.digest);
  ok(run(skopeo, ['copy', '-q', `docker-archive:${file}`, `oci:${join(tmp.path, 'copy')}:x`]), 'skopeo copy');

  ok(dockerd!.docker(['load', '-i', file]), 'docker load');
  const out = ok(dockerd!.docker(['run', '--rm', '--network', 'none', TAG]), 'docker run');
  assert.equal(out.trim(), EXPECTED_OUTPUT);
  // the image ID docker reports is the config digest: nothing was converted
  assert.equal(
    ok(dockerd!.docker(['image', 'inspect', '--format', '{{.Id}}', TAG]), 'inspect').trim(),
    img.config.digest,
  );
});

test('several platforms: TAG-<arch> for each, TAG for the host platform; docker loads and runs it', async () => {
  const file = join(tmp.path, 'multi.tar');
  await writeDockerArchive(file, multi, { tag: TAG });
  const report = await validateDockerArchive(file);
  assert.equal(hostPlatformKey(), 'amd64', 'the test expects an amd64 machine');
  assert.deepEqual(
    report.dockerManifest!.map((m) => m.repoTags),
    [[TAG, `${TAG}-amd64`], [`${TAG}-arm64`]],
  );
  // the layer both platforms share is stored once
  const layerMembers = ok(run('bsdtar', ['-tf', file]), 'bsdtar')
    .split('\n')
    .filter((n) => n.endsWith(multi.images[0]!.layers[0]!.digest.slice(7)));
  assert.equal(layerMembers.length, 1);
  const skopeo = requireTool('skopeo');
  const arm = JSON.parse(ok(run(skopeo, ['inspect', `docker-archive:${file}:${TAG}-arm64`]), 'skopeo arm64'));
  assert.equal(arm.Architecture, 'arm64');
  const viaIndex = JSON.parse(
    ok(run(skopeo, ['inspect', '--override-arch', 'arm64', `oci-archive:${file}:${TAG}`]), 'oci-archive'),
  );
  assert.equal(viaIndex.Architecture, 'arm64');

  const loaded = ok(dockerd!.docker(['load', '-i', file]), 'docker load');
  for (const t of [TAG, `${TAG}-amd64`, `${TAG}-arm64`])
    assert.match(loaded, new RegExp(`Loaded image: ${t}\n`));
  assert.equal(
    ok(dockerd!.docker(['run', '--rm', '--network', 'none', `${TAG}-amd64`]), 'docker run').trim(),
    EXPECTED_OUTPUT,
  );
  const arch = ok(
    dockerd!.docker(['image', 'inspect', '--format', '{{.Architecture}}', `${TAG}-arm64`]),
    'inspect',
  );
  assert.equal(arch.trim(), 'arm64');
});

test('the same index gives a byte-identical archive; untagged images load without names', async () => {
  const a = join(tmp.path, 'a.tar');
  const b = join(tmp.path, 'b.tar');
  await writeDockerArchive(a, multi, { tag: TAG, defaultPlatform: 'amd64' });
  await writeDockerArchive(b, multi, { tag: TAG, defaultPlatform: 'amd64' });
  assert.ok(readFileSync(a).equals(readFileSync(b)));
  const untagged = join(tmp.path, 'untagged.tar');
  await writeDockerArchive(untagged, single);
  const report = await validateDockerArchive(untagged);
  assert.equal(report.dockerManifest![0]!.repoTags, null);
  assert.match(ok(dockerd!.docker(['load', '-i', untagged]), 'docker load'), /Loaded image ID: sha256:/);
});

test('failures leave nothing behind: missing directory, a layer file changed after it was written', async () => {
  await rejectsCode(
    writeDockerArchive(join(tmp.path, 'no-such-dir', 'x.tar'), single, { tag: TAG }),
    'OCI_ARCHIVE_WRITE',
  );
  const dir = join(tmp.path, 'changed');
  mkdirSync(dir);
  const index = await alpineIndex(dir);
  truncateSync(index.images[0]!.layers[0]!.file!, 1000);
  const before = readdirSync(dir).sort();
  await rejectsCode(writeDockerArchive(join(dir, 'out.tar'), index, { tag: TAG }), 'OCI_BLOB_CHANGED');
  assert.deepEqual(readdirSync(dir).sort(), before);
});
