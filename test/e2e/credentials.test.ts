/**
 * Credentials holding every URL-special character never reach an output, a message or show-config: one
 * build from an HTTP repository behind basic auth, with a vcs-url and an annotation carrying tokens, and
 * every file it wrote searched (layers inflated); then each config and flag slip that used to print them.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { alpineKey } from '../helpers/build.ts';
import { type RepoServer, startRepoServer } from '../helpers/repo-server.ts';
import { ladingAsync, tempDir } from '../helpers/tools.ts';

/** Every piece of a secret starts with SEK, so one search finds any fragment of it. */
const PASSWORD = 'SEKa/SEKb?SEKc#SEKd@SEKe:SEKf%SEKg';
/** As written in a URL: only `%` needs encoding (lading takes the userinfo up to the last `@` before the host). */
const IN_URL = PASSWORD.replace('%', '%25');
const TOKEN = 'SEKtok/EN?x#y';

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

function assertNoSecret(text: string, what: string): void {
  assert.ok(!text.includes('SEK'), `${what} holds a secret:\n${text.slice(0, 2000)}`);
}

describe('credentials never leak', () => {
  const tmp = tempDir('lading-creds-');
  let server: RepoServer;
  let repo: string;
  before(async () => {
    server = await startRepoServer();
    server.requireAuthorization = `Basic ${Buffer.from(`user:${PASSWORD}`).toString('base64')}`;
    repo = `${server.url.replace('//', `//user:${IN_URL}@`)}/repo`;
  });
  after(async () => {
    await server.close();
    tmp.remove();
  });

  const config = (name: string, body: string): string => {
    const path = join(tmp.path, name);
    writeFileSync(path, body);
    return path;
  };
  let caches = 0;
  /** A build with its own cache, so no index cached by an earlier build answers for the server. */
  const build = (args: string[]) =>
    ladingAsync([
      'build',
      ...args,
      '--cache-dir',
      join(tmp.path, `cache-${++caches}`),
      '--log-level',
      'debug',
    ]);

  it('build outputs, SBOMs, layers and show-config hold none of them', async () => {
    const c = config(
      'image.yaml',
      `contents:
  repositories: [${repo}]
  keyring: [${alpineKey()}]
  packages: [alpine-baselayout-data]
archs: [x86_64]
vcs-url: https://user:${TOKEN}@github.com/org/repo@0123abcd
annotations:
  ci.source: https://gitlab-ci-token:${IN_URL}@gitlab.example.com/g/p.git
`,
    );
    const out = join(tmp.path, 'layout');
    const r = await build([c, 'creds:1', out, '--sbom-formats', 'spdx,cyclonedx', '--sbom-path', out]);
    assert.equal(r.status, 0, r.stderr);
    assertNoSecret(r.stdout + r.stderr, 'the build log');
    let files = 0;
    for (const f of filesUnder(out)) {
      const bytes = readFileSync(f);
      assertNoSecret(bytes.toString('latin1'), f);
      if (bytes[0] === 0x1f && bytes[1] === 0x8b)
        assertNoSecret(gunzipSync(bytes).toString('latin1'), `${f} inflated`);
      files++;
    }
    assert.ok(files >= 6, 'index, manifest, config, layer and two SBOMs at least');
    const index = JSON.parse(readFileSync(join(out, 'index.json'), 'utf8'));
    const blob = (digest: string) =>
      JSON.parse(readFileSync(join(out, 'blobs', ...digest.split(':')), 'utf8'));
    let manifest = blob(index.manifests[0].digest);
    if (manifest.manifests) manifest = blob(manifest.manifests[0].digest);
    const annotations = manifest.annotations;
    assert.equal(annotations['org.opencontainers.image.source'], 'https://github.com/org/repo');
    assert.equal(annotations['org.opencontainers.image.revision'], '0123abcd');
    assert.equal(annotations['ci.source'], 'https://gitlab.example.com/g/p.git');

    const show = await ladingAsync(['show-config', c]);
    assert.equal(show.status, 0, show.stderr);
    assertNoSecret(show.stdout + show.stderr, 'show-config');
    assert.match(show.stdout, /vcs-url: https:\/\/github\.com\/org\/repo@0123abcd/);
  });

  it('config slips and refused credentials: messages name the URL without them', async () => {
    const base = `  keyring: [${alpineKey()}]\n  packages: [alpine-baselayout-data]\narchs: [x86_64]\n`;
    const host = server.url.replace('http://', '');
    const cases: [string[], RegExp][] = [
      // repositories: a string instead of a list
      [[config('string.yaml', `contents:\n  repositories: ${repo}\n${base}`)], /expected a list/],
      // a remote include
      [
        [config('include.yaml', `include: https://user:${IN_URL}@example.com/base.yaml\ncontents:\n${base}`)],
        /remote includes are not supported \("https:\/\/example\.com\/base\.yaml"\)/,
      ],
      // -r with a wrong password holding / # ?: refused (401)
      [
        [config('empty.yaml', `contents:\n${base}`), '-r', `http://user:SEKw/r#o?ng@${host}/repo`],
        new RegExp(`401.*http://${host.replace(/\./g, '\\.')}/repo`),
      ],
      // -k with a password holding / # ?
      [
        [config('empty2.yaml', `contents:\n${base}`), '-k', `http://user:SEKw/r#o?ng@${host}/keys/x.rsa.pub`],
        /401/,
      ],
    ];
    for (const [args, pattern] of cases) {
      const r = await build([...args.slice(0, 1), 'x:1', join(tmp.path, 'never.tar'), ...args.slice(1)]);
      assert.notEqual(r.status, 0, args.join(' '));
      assert.match(r.stderr, /^lading: error: /m);
      assert.match(r.stderr, pattern);
      assertNoSecret(r.stdout + r.stderr, args.join(' '));
    }
  });

  it('the 401 hint shows where credentials go (its USER:PASS example is not redacted)', async () => {
    const plain = config(
      'plain.yaml',
      `contents:\n  repositories: [${server.url}/repo]\n  keyring: [${alpineKey()}]\n  packages: [alpine-baselayout-data]\narchs: [x86_64]\n`,
    );
    const r = await build([plain, 'x:1', join(tmp.path, 'never.tar')]);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /https:\/\/USER:PASS@127\.0\.0\.1:\d+\/…|http:\/\/USER:PASS@127\.0\.0\.1/);
  });
});
