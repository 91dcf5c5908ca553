import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { buildImage, buildImageIndex } from '../../src/oci/image.ts';
import { writeLayout } from '../../src/oci/layout.ts';
import type { ImageIndex } from '../../src/oci/types.ts';
import { validateImage, validateLayout } from '../../src/oci/validate.ts';
import { isLadingError } from '../../src/util/errors.ts';
import { rejectsCode } from '../helpers/assert.ts';
import { flipped } from '../helpers/bytes.ts';
import { platformLayout } from '../helpers/containers.ts';
import { alpineIndex, EXPECTED_OUTPUT } from '../helpers/oci-image.ts';
import { requireTool, run, tempDir } from '../helpers/tools.ts';

const TAG = 'lading-test/alpine:1.0';
let tmp: { path: string; remove: () => void };
let index: ImageIndex;

before(async () => {
  tmp = tempDir('lading-oci-layout-');
  index = await alpineIndex(tmp.path);
});
after(() => tmp.remove());

/** Every file under `dir` (relative path → base64 content), for byte-for-byte comparisons. */
function tree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (e.isFile())
      out[join(e.parentPath, e.name).slice(dir.length + 1)] = readFileSync(
        join(e.parentPath, e.name),
      ).toString('base64');
  }
  return out;
}

function ok(r: { status: number; stdout: string; stderr: string }, what: string): string {
  assert.equal(r.status, 0, `${what}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

test('a single-platform layout passes oci-image-tool, skopeo and umoci, and runs under runc with its config', async () => {
  const dir = join(tmp.path, 'layout');
  mkdirSync(dir);
  await validateImage(index.images[0]!); // the model itself, before it is written anywhere
  const result = await writeLayout(dir, index, { tag: TAG });
  assert.equal(result.digest, index.index.digest);

  const report = await validateLayout(dir);
  // one entry, the image index: skopeo and podman need no tag, and `skopeo copy --all` pushes the index
  assert.deepEqual(report.refs, { [TAG]: index.index.digest });
  assert.equal(report.images[0]!.layers[0]!.diffId, index.images[0]!.layers[0]!.diffId);

  ok(run(requireTool('oci-image-tool'), ['validate', '--type', 'image', dir]), 'oci-image-tool');
  ok(
    run('oci-image-tool', ['validate', '--type', 'image', '--ref', `name=${TAG}`, dir]),
    'oci-image-tool --ref',
  );

  const skopeo = requireTool('skopeo');
  const inspect = JSON.parse(ok(run(skopeo, ['inspect', `oci:${dir}:${TAG}`]), 'skopeo inspect'));
  assert.equal(inspect.Digest, index.index.digest);
  assert.equal(inspect.Architecture, 'amd64');
  assert.deepEqual(inspect.Env, ['PATH=/usr/sbin:/usr/bin:/sbin:/bin', 'FOO=bar']);
  assert.equal(inspect.Labels['org.opencontainers.image.revision'], '0123456789abcdef');
  // skopeo copy re-hashes every blob, layers included
  ok(run(skopeo, ['copy', '-q', `oci:${dir}:${TAG}`, `oci:${join(tmp.path, 'copy')}:x`]), 'skopeo copy');

  // umoci cannot follow the index: it reads the platform's manifest (what skopeo copy --override-arch gives)
  const umoci = requireTool('umoci');
  const one = platformLayout(dir, TAG, tmp.path);
  ok(run(umoci, ['stat', '--image', `${one}:${TAG}`]), 'umoci stat');
  const bundle = join(tmp.path, 'bundle');
  ok(run(umoci, ['unpack', '--image', `${one}:${TAG}`, bundle]), 'umoci unpack');
  const cfgPath = join(bundle, 'config.json');
  const cfg = JSON.parse(readFileSync(cfgPath, 'utf8'));
  cfg.process.terminal = false;
  writeFileSync(cfgPath, JSON.stringify(cfg));
  assert.equal(cfg.process.cwd, '/tmp');
  assert.deepEqual(cfg.process.user, { uid: 405, gid: 100 });
  const runc = requireTool('runc');
  const out = ok(
    run(runc, ['--root', join(tmp.path, 'runc'), 'run', '--bundle', bundle, `lading-oci-${process.pid}`]),
    'runc run',
  );
  assert.equal(out.trim(), EXPECTED_OUTPUT);
});

test('untagged: index.json is the image index itself, as apko writes it', async () => {
  const dir = join(tmp.path, 'untagged');
  await writeLayout(dir, index);
  assert.deepEqual(readFileSync(join(dir, 'index.json')), index.index.bytes);
  assert.equal(readFileSync(join(dir, 'oci-layout'), 'utf8'), '{\n    "imageLayoutVersion": "1.0.0"\n}');
  await validateLayout(dir);
});

test('the same entries, built again from scratch, give a byte-identical layout', async () => {
  const a = join(tmp.path, 'det-a');
  const b = join(tmp.path, 'det-b');
  await writeLayout(a, index, { tag: TAG });
  const again = await alpineIndex(join(tmp.path, 'again'));
  assert.equal(again.index.digest, index.index.digest);
  await writeLayout(b, again, { tag: TAG });
  assert.deepEqual(tree(a), tree(b));
  assert.deepEqual(
    Object.keys(tree(a)).sort(),
    [
      'blobs/sha256/' + index.images[0]!.config.digest.slice(7),
      'blobs/sha256/' + index.images[0]!.layers[0]!.digest.slice(7),
      'blobs/sha256/' + index.images[0]!.manifest.digest.slice(7),
      // the image index, which index.json lists
      'blobs/sha256/' + index.index.digest.slice(7),
      'index.json',
      'oci-layout',
    ].sort(),
  );
});

test('an existing layout is replaced: stale blobs removed, damaged blobs rewritten, other files kept', async () => {
  const dir = join(tmp.path, 'replace');
  await writeLayout(dir, index, { tag: 'old:1' });
  const oldManifest = index.images[0]!.manifest.digest.slice(7);
  writeFileSync(join(dir, 'sbom-x86_64.spdx.json'), '{}');
  // a temp file left by a crashed writer (pid 2^22 + 1 does not exist) and one of a live writer (us)
  writeFileSync(join(dir, 'blobs/sha256', `.abc.tmp-${2 ** 22 + 1}-0badf00d`), 'x');
  writeFileSync(join(dir, 'blobs/sha256', `.abc.tmp-${process.pid}-0badf00d`), 'x');
  // damage the shared layer blob: same name, wrong bytes
  const layerHex = index.images[0]!.layers[0]!.digest.slice(7);
  writeFileSync(join(dir, 'blobs/sha256', layerHex), 'not the layer');

  const changed = buildImageIndex([
    buildImage(
      { platform: { architecture: 'amd64', os: 'linux' }, created: 5, config: { Cmd: ['/bin/sh'] } },
      index.images[0]!.layers,
    ),
  ]);
  const r = await writeLayout(dir, changed, { tag: 'new:2' });
  assert.equal(r.written, 4); // config, manifest, image index, and the repaired layer
  const report = await validateLayout(dir);
  assert.deepEqual(Object.keys(report.refs), ['new:2']);
  const blobs = readdirSync(join(dir, 'blobs/sha256')).sort();
  const img = changed.images[0]!;
  assert.deepEqual(
    blobs,
    [
      `.abc.tmp-${process.pid}-0badf00d`,
      ...[img.config.digest, img.manifest.digest, img.layers[0]!.digest, changed.index.digest].map((d) =>
        d.slice(7),
      ),
    ].sort(),
  );
  assert.ok(!blobs.includes(oldManifest));
  assert.equal(readFileSync(join(dir, 'sbom-x86_64.spdx.json'), 'utf8'), '{}');
  // rewriting the same index again changes nothing
  assert.deepEqual(await writeLayout(dir, changed, { tag: 'new:2' }), {
    digest: changed.index.digest,
    written: 0,
    removed: 0,
  });
});

test('the validator catches a damaged layer, config or missing blob', async () => {
  const dir = join(tmp.path, 'tamper');
  await writeLayout(dir, index, { tag: TAG });
  const img = index.images[0]!;
  const layerPath = join(dir, 'blobs/sha256', img.layers[0]!.digest.slice(7));
  const good = readFileSync(layerPath);
  writeFileSync(layerPath, flipped(good, good.length >> 1, 0xff));
  await assert.rejects(validateLayout(dir), (e: unknown) => {
    assert.ok(isLadingError(e) && e.code === 'OCI_INVALID');
    assert.match(e.message, new RegExp(`layers\\[0\\]: blob ${img.layers[0]!.digest} has sha256`));
    return true;
  });
  writeFileSync(layerPath, good);
  const configPath = join(dir, 'blobs/sha256', img.config.digest.slice(7));
  writeFileSync(configPath, readFileSync(configPath, 'utf8').replace('amd64', 'arm64'));
  await assert.rejects(validateLayout(dir), /config: blob sha256:[0-9a-f]+ has sha256/);
  writeFileSync(configPath, img.config.bytes);
  writeFileSync(
    join(dir, 'index.json'),
    index.index.bytes.toString().replace(img.manifest.digest.slice(7, 20), '0000000000000'),
  );
  await assert.rejects(validateLayout(dir), /is missing/);
});

test('a directory that cannot hold a layout is an error and gets no index.json', async () => {
  const dir = join(tmp.path, 'blocked');
  mkdirSync(dir);
  writeFileSync(join(dir, 'blobs'), 'a file');
  await rejectsCode(writeLayout(dir, index, { tag: TAG }), 'OCI_LAYOUT_WRITE', /not a directory/);
  assert.deepEqual(readdirSync(dir), ['blobs']);
  await rejectsCode(writeLayout(join(tmp.path, 'x'), index, { tag: 'Bad Tag' }), 'OCI_TAG');
  assert.ok(!existsSync(join(tmp.path, 'x')));
});
