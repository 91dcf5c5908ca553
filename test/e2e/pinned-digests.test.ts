/**
 * The bytes lading writes, pinned: the digests (index, manifests, configs, layers, diff IDs) of the examples'
 * images and of alpine-base builds (one layer, `layering: origin`, docker archive), and the SBOMs beside them.
 * Refactoring must not change a byte; a change that is meant to change the output bumps OUTPUT_EPOCH
 * (src/pipeline/input-digest.ts: images already published from the same inputs count as changed then) and
 * updates `pinned-digests.json` in the same commit, saying why:
 *   LADING_UPDATE_PINS=1 npm test -- test/e2e/pinned-digests.test.ts
 * The update refuses new digests under an unchanged OUTPUT_EPOCH.
 * Repositories and keys are named by relative paths (`./repo`, `./keys/…`, symlinks to the fixtures), so the
 * bytes do not depend on where the checkout is: `/etc/apk/repositories` holds the entry as written. The
 * examples' packages the fixtures lack come from stand-ins (helpers/stand-ins.ts) with fixed contents.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { OUTPUT_EPOCH } from '../../src/pipeline/input-digest.ts';
import { entryData, readTar } from '../../src/tar/reader.ts';
import { APP_EXTRA } from '../helpers/build.ts';
import { sharedCache } from '../helpers/cache.ts';
import { fixture, repoRoot } from '../helpers/paths.ts';
import { makeStandInRepo } from '../helpers/stand-ins.ts';
import { lading, run, tempDir } from '../helpers/tools.ts';

const PINS = join(repoRoot, 'test/e2e/pinned-digests.json');
const update = process.env.LADING_UPDATE_PINS === '1';

const ALPINE_BASE = `contents:
  repositories:
    - ./repo
  keyring:
    - ./keys/alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub
  packages:
    - alpine-base
archs: [x86_64]
${APP_EXTRA}`;

const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

interface Pinned {
  /** sha256 of the layout's index.json, or of the docker archive file. */
  output: string;
  /** The image index blob (the digest the build reports). */
  index: string;
  images: { manifest: string; config: string; layers: string[]; diffIds: string[] }[];
  sboms: Record<string, string>;
}

/** What a layout holds, by digest: index.json → image index → manifests → configs, layers, diff IDs. */
function layoutPins(layout: string): Omit<Pinned, 'output' | 'sboms'> {
  const blob = (d: string) => readFileSync(join(layout, 'blobs', 'sha256', d.slice(7)));
  const top = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8'));
  const indexDesc = top.manifests.find((m: { mediaType: string }) => m.mediaType.includes('index'));
  const index = JSON.parse(blob(indexDesc.digest).toString());
  const images = index.manifests.map((m: { digest: string }) => {
    const manifest = JSON.parse(blob(m.digest).toString());
    const config = JSON.parse(blob(manifest.config.digest).toString());
    return {
      manifest: m.digest,
      config: manifest.config.digest,
      layers: manifest.layers.map((l: { digest: string }) => l.digest),
      diffIds: config.rootfs.diff_ids,
    };
  });
  return { index: indexDesc.digest, images };
}

function sbomPins(dir: string): Record<string, string> {
  return Object.fromEntries(
    readdirSync(dir)
      // beside OUT, named after it (image.sbom-x86_64.spdx.json): pinned by apko's name
      .filter((f) => f.includes('sbom-'))
      .sort()
      .map((f) => [f.slice(f.indexOf('sbom-')), sha256(readFileSync(join(dir, f)))]),
  );
}

describe('pinned output digests', () => {
  const tmp = tempDir('lading-pins-');
  const got: Record<string, Pinned | number> = { outputEpoch: OUTPUT_EPOCH };
  after(() => {
    if (update && !epochRefused) {
      writeFileSync(PINS, `${JSON.stringify(got, null, 2)}\n`);
      run(join(repoRoot, 'node_modules/.bin/biome'), ['format', '--write', PINS]); // as the linter wants it
    }
    tmp.remove();
  });
  symlinkSync(fixture('alpine/v3.19.1-iso-repo'), join(tmp.path, 'repo'));
  symlinkSync(fixture('alpine/keys'), join(tmp.path, 'keys'));
  const cache = sharedCache();
  const env = { ...process.env };
  delete env.SOURCE_DATE_EPOCH;
  // the examples' packages the fixture repository lacks: unsigned stand-ins with fixed contents (same bytes on
  // every machine), built from ./stand-ins with --ignore-signatures (which changes no output byte)
  makeStandInRepo(join(tmp.path, 'stand-ins'), Buffer.from('#!/bin/sh\necho stand-in\n'));
  const standIns = ['--build-repository-append', './stand-ins', '--ignore-signatures'];
  const build = (
    name: string,
    config: string,
    out: 'layout' | 'archive',
    tag = `${name}:1`,
    extra: string[] = [],
  ) => {
    const dir = join(tmp.path, name);
    mkdirSync(dir);
    writeFileSync(join(tmp.path, `${name}.yaml`), config);
    const output = out === 'layout' ? join(dir, 'layout') : join(dir, 'image.tar');
    if (out === 'layout') mkdirSync(output);
    const args = ['build', `${name}.yaml`, tag, output, '--cache-dir', cache, '--log-level', 'warn'];
    const r = lading([...args, ...extra], { cwd: tmp.path, env });
    assert.equal(r.status, 0, r.stderr);
    return { dir, output };
  };
  const pinned: Record<string, Pinned | number> = JSON.parse(readFileSync(PINS, 'utf8'));
  let epochRefused = false;
  const check = (name: string, pins: Pinned) => {
    got[name] = pins;
    if (!update) assert.deepEqual(pins, pinned[name], `${name}: the output bytes changed`);
  };

  const examples = readdirSync(join(repoRoot, 'examples'))
    .filter((f) => f.endsWith('.yaml'))
    .sort();
  for (const file of examples) {
    it(`examples/${file}`, () => {
      const text = readFileSync(join(repoRoot, 'examples', file), 'utf8')
        .replaceAll('https://dl-cdn.alpinelinux.org/alpine/v3.19/main', './repo')
        .replaceAll('https://alpinelinux.org/keys/', './keys/');
      assert.doesNotMatch(text, /https:\/\//);
      const name = file.replace('.yaml', '');
      const { dir, output } = build(name, text, 'layout', `${name}:1`, standIns);
      check(`examples/${file}`, {
        output: sha256(readFileSync(join(output, 'index.json'))),
        ...layoutPins(output),
        sboms: sbomPins(dir),
      });
    });
  }

  it('alpine-base, one layer, layout and docker archive', () => {
    const { dir, output } = build('base', ALPINE_BASE, 'layout', 'alpine-base:1');
    check('alpine-base', {
      output: sha256(readFileSync(join(output, 'index.json'))),
      ...layoutPins(output),
      sboms: sbomPins(dir),
    });
    // the same image as a docker archive: its index.json is the layout's, byte for byte
    const archive = build('base-archive', ALPINE_BASE, 'archive', 'alpine-base:1');
    const tar = readFileSync(archive.output);
    const members = new Map([...readTar(tar)].map((e) => [e.name, entryData(tar, e)] as const));
    assert.ok(members.get('index.json')?.equals(readFileSync(join(output, 'index.json'))));
    check('alpine-base archive', {
      output: sha256(readFileSync(archive.output)),
      ...layoutPins(output),
      sboms: sbomPins(archive.dir),
    });
  });

  it('alpine-base with layering: origin', () => {
    const { dir, output } = build(
      'base-origin',
      `${ALPINE_BASE}layering:\n  strategy: origin\n  budget: 4\n`,
      'layout',
    );
    check('alpine-base layering origin', {
      output: sha256(readFileSync(join(output, 'index.json'))),
      ...layoutPins(output),
      sboms: sbomPins(dir),
    });
  });

  it('pins the output epoch: new bytes come with a new OUTPUT_EPOCH', () => {
    if (!update) {
      assert.equal(pinned.outputEpoch, OUTPUT_EPOCH, 'OUTPUT_EPOCH changed: update the pins with it');
      return;
    }
    const changed = Object.keys(got).filter(
      (k) => k !== 'outputEpoch' && JSON.stringify(got[k]) !== JSON.stringify(pinned[k]),
    );
    epochRefused = changed.length > 0 && pinned.outputEpoch === OUTPUT_EPOCH;
    assert.ok(
      !epochRefused,
      `the output bytes changed (${changed.join(', ')}) under the same OUTPUT_EPOCH ${OUTPUT_EPOCH}: ` +
        'bump it in src/pipeline/input-digest.ts (images published from the same inputs then count as changed)',
    );
  });
});
