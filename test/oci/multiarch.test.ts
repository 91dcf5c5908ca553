import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { writeLayout } from '../../src/oci/layout.ts';
import { type ImageIndex, MediaType } from '../../src/oci/types.ts';
import { validateLayout } from '../../src/oci/validate.ts';
import { platformLayout } from '../helpers/containers.ts';
import { alpineIndex } from '../helpers/oci-image.ts';
import { requireTool, run, tempDir } from '../helpers/tools.ts';

const TAG = 'lading-test/multi:2';
let tmp: { path: string; remove: () => void };
let index: ImageIndex;
let dir: string;

before(async () => {
  tmp = tempDir('lading-oci-multi-');
  index = await alpineIndex(tmp.path, ['arm64', 'amd64']);
  dir = join(tmp.path, 'layout');
  await writeLayout(dir, index, { tag: TAG });
});
after(() => tmp.remove());

function ok(r: { status: number; stdout: string; stderr: string }, what: string): string {
  assert.equal(r.status, 0, `${what}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

test('index.json lists one entry, the image index named TAG; the validator follows it', async () => {
  const [amd64, arm64] = index.images;
  assert.equal(amd64!.platform.architecture, 'amd64');
  const top = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8'));
  assert.deepEqual(
    top.manifests.map((m: { mediaType: string; annotations: Record<string, string> }) => [
      m.mediaType,
      m.annotations['org.opencontainers.image.ref.name'],
    ]),
    [[MediaType.imageIndex, TAG]],
  );
  assert.equal(top.manifests[0].digest, index.index.digest);
  const report = await validateLayout(dir);
  assert.deepEqual(report.refs, { [TAG]: index.index.digest });
  assert.deepEqual(
    report.images.map((i) => `${i.platform.architecture}:${i.refName}`),
    [`amd64:${TAG}`, `arm64:${TAG}`],
  );
  assert.deepEqual(
    report.images.map((i) => i.manifestDigest),
    [amd64!.manifest.digest, arm64!.manifest.digest],
  );
});

test('oci-image-tool validates it; skopeo picks the platform from the index', () => {
  ok(run(requireTool('oci-image-tool'), ['validate', '--type', 'image', dir]), 'oci-image-tool');
  const skopeo = requireTool('skopeo');
  const arm = JSON.parse(
    ok(run(skopeo, ['inspect', '--override-arch', 'arm64', `oci:${dir}:${TAG}`]), 'skopeo arm64'),
  );
  assert.equal(arm.Architecture, 'arm64');
  const amd = JSON.parse(
    ok(run(skopeo, ['inspect', '--override-arch', 'amd64', `oci:${dir}:${TAG}`]), 'skopeo amd64'),
  );
  assert.equal(amd.Architecture, 'amd64');
  const raw = JSON.parse(ok(run(skopeo, ['inspect', '--raw', `oci:${dir}:${TAG}`]), 'skopeo raw'));
  assert.deepEqual(
    raw.manifests.map((m: { platform: { architecture: string } }) => m.platform.architecture),
    ['amd64', 'arm64'],
  );
  // no tag needed: index.json has one entry
  const untagged = JSON.parse(ok(run(skopeo, ['inspect', `oci:${dir}`]), 'skopeo inspect oci:DIR'));
  assert.equal(untagged.Architecture, 'amd64');
  // copying every platform re-hashes every blob
  ok(
    run(skopeo, ['copy', '-q', '--all', `oci:${dir}:${TAG}`, `oci:${join(tmp.path, 'copy')}:all`]),
    'skopeo copy --all',
  );
});

test('umoci (which cannot follow nested indexes) unpacks one platform copied out of the index', () => {
  const umoci = requireTool('umoci');
  const bundle = join(tmp.path, 'bundle-arm64');
  const one = platformLayout(dir, TAG, tmp.path, 'arm64');
  ok(run(umoci, ['unpack', '--image', `${one}:${TAG}`, bundle]), 'umoci unpack');
  const cfg = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8'));
  assert.deepEqual(cfg.process.args, ['/bin/sh', '-c', 'echo "hello uid=$(id -u) cwd=$(pwd) FOO=$FOO"']);
});
