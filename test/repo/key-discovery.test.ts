/**
 * Key discovery against discovery documents served on 127.0.0.1: Alpine's releases data (keys per branch and
 * architecture, deprecated keys skipped, apko's `%20` → `@` fix-up), Chainguard-style apk-configuration + JWKS,
 * a repository without discovery; everything cached, so a second run and an offline run ask nothing; and
 * `lading install-keys` writing what it found into a root.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createFetchOptions } from '../../src/repo/fetch.ts';
import {
  type AlpineReleases,
  alpineKeyUrls,
  discoverKeys,
  isDiscoverableKeyUrl,
} from '../../src/repo/key-discovery.ts';
import { parseRepositoryRef } from '../../src/repo/ref.ts';
import { fixture } from '../helpers/paths.ts';
import { type RepoServer, startRepoServer } from '../helpers/repo-server.ts';
import { ladingAsync, tempDir } from '../helpers/tools.ts';

const ALPINE_KEY = 'alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub';
const OLD_KEY = 'alpine-devel@lists.alpinelinux.org-4a6a0840.rsa.pub';
const ARM_KEY = 'alpine-devel@lists.alpinelinux.org-616ae350.rsa.pub';

describe('key discovery', () => {
  const tmp = tempDir('lading-discovery-');
  let server: RepoServer;
  const cg = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;
  const kid = 'chainguard-0123abcd';
  const releases = (base: string): AlpineReleases => ({
    release_branches: [
      { rel_branch: 'v3.18', keys: { x86_64: [{ url: `${base}/keys/${OLD_KEY}` }] } },
      {
        rel_branch: 'v3.22',
        keys: {
          x86_64: [
            // published with %20 for @ (apko fixes it up), a deprecated key, and one for another architecture
            { url: `${base}/keys/${ALPINE_KEY.replace('@', '%20')}`, deprecated_since: '' },
            { url: `${base}/keys/${OLD_KEY}`, deprecated_since: '2020-01-01' },
          ],
          aarch64: [{ url: `${base}/keys/${ARM_KEY}` }],
        },
      },
    ],
  });

  before(async () => {
    const docs = join(tmp.path, 'docs');
    const cgDir = join(tmp.path, 'cg');
    mkdirSync(docs);
    mkdirSync(cgDir);
    server = await startRepoServer({ routes: { '/docs/': docs, '/chainguard/': cgDir } });
    writeFileSync(join(docs, 'releases.json'), JSON.stringify(releases(server.url)));
    writeFileSync(join(cgDir, 'apk-configuration'), JSON.stringify({ jwks_uri: 'jwks.json' }));
    writeFileSync(
      join(cgDir, 'jwks.json'),
      JSON.stringify({ keys: [{ ...cg.export({ format: 'jwk' }), kid, use: 'sig' }] }),
    );
  });
  after(async () => {
    await server.close();
    tmp.remove();
  });

  it('finds Alpine’s and Chainguard-style keys, caches every document, and works offline', async () => {
    const repos = [
      `${server.url}/alpine/v3.22/main`,
      `${server.url}/chainguard`,
      `${server.url}/plain`,
      fixture('alpine/v3.19.1-iso-repo'),
    ].map((r) => parseRepositoryRef(r));
    const cacheDir = join(tmp.path, 'cache');
    const env = { LADING_ALPINE_RELEASES_URL: `${server.url}/docs/releases.json` };
    const discover = async (offline: boolean) =>
      discoverKeys(repos, ['x86_64'], { ...(await createFetchOptions({ cacheDir, offline, env })), env });

    const keys = await discover(false);
    assert.deepEqual(
      keys.map((k) => [k.name, k.url]),
      [
        [ALPINE_KEY, `${server.url}/keys/${ALPINE_KEY}`],
        [`${kid}.rsa.pub`, `${server.url}/chainguard/${kid}.rsa.pub`],
      ],
    );
    assert.deepEqual(keys[0]!.content, readFileSync(fixture('alpine/keys', ALPINE_KEY)));
    assert.equal(keys[1]!.content.toString(), cg.export({ type: 'spki', format: 'pem' }));
    const asked = server.requests.map((r) => r.path).sort();
    assert.deepEqual(asked, [
      '/alpine/v3.22/main/apk-configuration',
      '/chainguard/apk-configuration',
      '/chainguard/jwks.json',
      '/docs/releases.json',
      `/keys/${ALPINE_KEY}`,
      '/plain/apk-configuration',
    ]);

    // within the freshness window nothing is asked again, not even the repositories without discovery
    assert.deepEqual(await discover(false), keys);
    assert.equal(server.requests.length, asked.length);
    assert.deepEqual(await discover(true), keys);
    assert.equal(server.requests.length, asked.length);
  });

  it('keys by branch, architecture and deprecation; which locked keys discovery explains', () => {
    const doc = releases('https://alpinelinux.org');
    const now = new Date('2026-01-01');
    assert.deepEqual(alpineKeyUrls(doc, ['v3.22'], ['aarch64'], now), [
      `https://alpinelinux.org/keys/${ARM_KEY}`,
    ]);
    assert.deepEqual(alpineKeyUrls(doc, ['v3.22'], ['x86_64'], new Date('2019-01-01')), [
      `https://alpinelinux.org/keys/${ALPINE_KEY}`,
      `https://alpinelinux.org/keys/${OLD_KEY}`,
    ]);
    assert.deepEqual(alpineKeyUrls(doc, ['edge'], ['x86_64'], now), []);
    const refs = ['https://apk.cgr.dev/chainguard', 'https://dl-cdn.alpinelinux.org/alpine/v3.22/main'].map(
      (r) => parseRepositoryRef(r),
    );
    assert.ok(isDiscoverableKeyUrl('https://apk.cgr.dev/chainguard/chainguard-1.rsa.pub', refs));
    assert.ok(isDiscoverableKeyUrl(`https://alpinelinux.org/keys/${ALPINE_KEY}`, refs));
    assert.ok(!isDiscoverableKeyUrl('https://example.com/other/key.rsa.pub', refs));
    assert.ok(!isDiscoverableKeyUrl(`https://alpinelinux.org/keys/${ALPINE_KEY}`, refs.slice(0, 1)));
  });

  it('lading install-keys writes the keys of a root’s repositories into its /etc/apk/keys', async () => {
    const root = join(tmp.path, 'root');
    mkdirSync(join(root, 'etc/apk'), { recursive: true });
    writeFileSync(
      join(root, 'etc/apk/repositories'),
      `# comment\n${server.url}/alpine/v3.22/main\n@cg ${server.url}/chainguard\n`,
    );
    writeFileSync(join(root, 'etc/apk/arch'), 'aarch64\n');
    const r = await ladingAsync(['install-keys', '--root', root, '--cache-dir', join(tmp.path, 'cache2')], {
      env: { ...process.env, LADING_ALPINE_RELEASES_URL: `${server.url}/docs/releases.json` },
    });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(readdirSync(join(root, 'etc/apk/keys')).sort(), [ARM_KEY, `${kid}.rsa.pub`].sort());
    assert.match(r.stdout, new RegExp(`wrote ${root}/etc/apk/keys/${kid}\\.rsa\\.pub`));
  });
});
