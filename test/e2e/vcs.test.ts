/**
 * `--vcs` (on by default, as apko): the origin and HEAD of the git checkout the config is in label the image
 * (manifest, index, config Labels) and the SBOM, with scp-style URLs rewritten and userinfo removed; a new
 * commit changes the labels (the no-op record notices); `--vcs=false`, a `vcs-url` in the config, or no checkout
 * give nothing and no error. Real git makes the checkouts.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Command } from 'commander';
import { type ImageFlags, imageBuildOptions, imageOptions } from '../../src/cli/options.ts';
import { normalizeRemoteUrl, probeVcsUrl } from '../../src/config/vcs-probe.ts';
import { writeAlpineConfig } from '../helpers/build.ts';
import { sharedCache } from '../helpers/cache.ts';
import { layoutManifests } from '../helpers/image-tree.ts';
import { lading, requireTool, run, tempDir } from '../helpers/tools.ts';

const SOURCE = 'org.opencontainers.image.source';
const REVISION = 'org.opencontainers.image.revision';

interface Labels {
  manifest: Record<string, string>;
  config: Record<string, string>;
  index: Record<string, string>;
  sbomPurls: string[];
}

describe('--vcs', () => {
  const tmp = tempDir('lading-vcs-');
  after(() => tmp.remove());
  const git = (cwd: string, ...args: string[]) => {
    const r = run(requireTool('git'), args, { cwd });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.trim();
  };
  const repo = join(tmp.path, 'checkout');
  mkdirSync(join(repo, 'images'), { recursive: true });
  writeAlpineConfig(join(repo, 'images'), 'base.yaml', ['alpine-baselayout-data']);
  git(repo, 'init', '-q', '-b', 'main');
  git(repo, 'remote', 'add', 'origin', 'git@github.com:acme/widgets.git');
  git(repo, 'add', '.');
  const commit = (message: string) => {
    git(repo, '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-q', '--allow-empty', '-m', message);
    return git(repo, 'rev-parse', 'HEAD');
  };

  /** Builds CONFIG from `cwd` into a layout and reads the labels back. */
  const build = (cwd: string, file: string, args: string[] = []): Labels => {
    const out = join(tmp.path, `out-${Math.random().toString(36).slice(2)}`);
    const r = lading(['build', file, 'vcs:1', `${out}/`, '--cache-dir', sharedCache(), ...args], { cwd });
    assert.equal(r.status, 0, r.stderr);
    const m = layoutManifests(out).get('amd64')!;
    const manifest = JSON.parse(readFileSync(join(out, 'blobs/sha256', m.digest.slice(7)), 'utf8'));
    const top = JSON.parse(readFileSync(join(out, 'index.json'), 'utf8'));
    const index = JSON.parse(
      readFileSync(join(out, 'blobs/sha256', top.manifests[0].digest.slice(7)), 'utf8'),
    );
    const sbom = JSON.parse(readFileSync(`${out}.sbom-x86_64.spdx.json`, 'utf8'));
    return {
      manifest: manifest.annotations ?? {},
      config: (m.config as { config: { Labels?: Record<string, string> } }).config.Labels ?? {},
      index: index.annotations ?? {},
      sbomPurls: sbom.packages.flatMap((p: { externalRefs?: { referenceLocator: string }[] }) =>
        (p.externalRefs ?? []).map((x) => x.referenceLocator).filter((l) => l.startsWith('pkg:github/')),
      ),
    };
  };

  it('labels manifest, index, config and SBOM from the checkout; a new commit changes them', () => {
    const first = commit('one');
    const labels = build(repo, 'images/base.yaml');
    for (const where of [labels.manifest, labels.config, labels.index]) {
      assert.equal(where[SOURCE], 'git+ssh://github.com/acme/widgets.git');
      assert.equal(where[REVISION], first);
    }
    assert.deepEqual(labels.sbomPurls, [`pkg:github/acme/widgets@${first}`]);

    // the same command again after a commit: the no-op record sees HEAD moved
    const second = commit('two');
    const out = join(tmp.path, 'again');
    const again = (cwd: string) =>
      lading(['build', 'images/base.yaml', 'vcs:1', `${out}/`, '--cache-dir', sharedCache()], { cwd });
    // the first run leaves a no-op record; after the next commit it must not answer
    assert.equal(again(repo).status, 0);
    git(repo, 'remote', 'set-url', 'origin', 'https://bot:s3cret@git.example.com/acme/widgets.git');
    const third = commit('three');
    assert.equal(again(repo).status, 0);
    const m = layoutManifests(out).get('amd64')!;
    const labelsNow = (m.config as { config: { Labels: Record<string, string> } }).config.Labels;
    assert.notEqual(second, third);
    assert.equal(labelsNow[REVISION], third);
    assert.equal(labelsNow[SOURCE], 'https://git.example.com/acme/widgets.git');
  });

  it('--vcs=false, a vcs-url in the config, or no checkout: no probing, no error', () => {
    const off = build(repo, 'images/base.yaml', ['--vcs=false']);
    assert.equal(off.config[SOURCE], undefined);
    assert.equal(off.manifest[REVISION], undefined);

    const given = writeAlpineConfig(
      join(repo, 'images'),
      'pinned.yaml',
      ['alpine-baselayout-data'],
      'vcs-url: https://github.com/other/repo@0123456789abcdef0123456789abcdef01234567\n',
    );
    const pinned = build(repo, given);
    assert.equal(pinned.config[SOURCE], 'https://github.com/other/repo');

    // a config outside any checkout; and one whose checkout is above the working directory (apko stops there)
    const outside = writeAlpineConfig(tmp.path, 'outside.yaml', ['alpine-baselayout-data']);
    assert.equal(build(tmp.path, outside).config[SOURCE], undefined);
    assert.equal(build(join(repo, 'images'), 'base.yaml').config[SOURCE], undefined);
  });

  it('remote URLs as apko normalises them; a repository without commits gives nothing; --no-vcs is --vcs=false', () => {
    const vcsOf = (args: string[]) => {
      const cmd = imageOptions(new Command('build').exitOverride(), 'sbom').parse(args, { from: 'user' });
      return imageBuildOptions(cmd.opts() as ImageFlags).vcs;
    };
    assert.deepEqual([[], ['--vcs'], ['--vcs=false'], ['--vcs', 'false'], ['--no-vcs']].map(vcsOf), [
      true,
      true,
      false,
      false,
      false,
    ]);

    assert.equal(normalizeRemoteUrl('git@github.com:acme/w.git'), 'git+ssh://github.com/acme/w.git');
    assert.equal(normalizeRemoteUrl('https://u:p@h.example/x.git'), 'https://h.example/x.git');
    assert.equal(normalizeRemoteUrl('ssh://git@h.example:22/x'), 'ssh://h.example:22/x');
    assert.equal(normalizeRemoteUrl('/srv/git/x.git'), '/srv/git/x.git');
    const empty = join(tmp.path, 'empty');
    mkdirSync(empty);
    git(empty, 'init', '-q');
    git(empty, 'remote', 'add', 'origin', 'https://h.example/x.git');
    writeFileSync(join(empty, 'a.yaml'), '');
    assert.equal(probeVcsUrl(empty, empty).vcsUrl, undefined);
  });
});
