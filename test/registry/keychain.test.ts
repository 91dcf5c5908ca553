/**
 * The keychain on real files and a real credential-helper program: Docker's config (auths in every form,
 * credHelpers, credsStore), REGISTRY_AUTH_FILE, containers' auth.json, GITHUB_TOKEN, and the order between them.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { inspect } from 'node:util';
import type { RegistryCredential } from '../../src/registry/credentials.ts';
import { createKeychain } from '../../src/registry/keychain.ts';
import { parseReference } from '../../src/registry/reference.ts';
import { makeFakeCredentialHelper } from '../helpers/credential-helper.ts';
import { tempDir } from '../helpers/tools.ts';

const tmp = tempDir('lading-keychain-');
after(() => tmp.remove());
const b64 = (s: string) => Buffer.from(s).toString('base64');

function write(path: string, value: unknown): string {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, JSON.stringify(value));
  return path;
}

/** What a credential sends: its Basic header decoded, or the kind of token. */
function shown(c: RegistryCredential | undefined): string | undefined {
  if (!c) return undefined;
  const basic = c.basicAuthorization();
  if (basic) return Buffer.from(basic.slice(6), 'base64').toString();
  return `${c.kind}:${c.refreshToken() ?? c.bearerToken()}`;
}

async function lookup(env: NodeJS.ProcessEnv, ref: string): Promise<RegistryCredential | undefined> {
  return createKeychain({ HOME: join(tmp.path, 'nohome'), ...env }).resolve(parseReference(ref).repository);
}

test('Docker config auths: auth, username/password, identitytoken, registrytoken, URL keys, Docker Hub', async () => {
  const dir = join(tmp.path, 'docker');
  write(join(dir, 'config.json'), {
    auths: {
      'reg.io': { auth: b64('alice:pa:ss') },
      'https://other.io/v1/': { username: 'bob', password: 'pw' },
      'id.io': { auth: b64('carol:'), identitytoken: 'refresh-me' },
      'tok.io': { registrytoken: 'bearer-me' },
      'https://index.docker.io/v1/': { auth: b64('dan:hub') },
      'empty.io': {},
    },
    credsStore: '',
  });
  const env = { DOCKER_CONFIG: dir };
  assert.equal(shown(await lookup(env, 'reg.io/a/b')), 'alice:pa:ss');
  assert.equal(shown(await lookup(env, 'other.io/x')), 'bob:pw');
  assert.equal(shown(await lookup(env, 'id.io/x')), 'identity-token:refresh-me');
  assert.equal(shown(await lookup(env, 'tok.io/x')), 'registry-token:bearer-me');
  assert.equal(shown(await lookup(env, 'alpine')), 'dan:hub');
  assert.equal(await lookup(env, 'empty.io/x'), undefined);
  assert.equal(await lookup(env, 'none.io/x'), undefined);
  // the secret never shows in a string, JSON or inspect form
  const c = await lookup(env, 'reg.io/a');
  for (const text of [String(c), JSON.stringify({ c }), inspect(c)])
    assert.doesNotMatch(text, /pa:ss|YWxpY2U/);
  assert.match(c!.source, /auths\["reg.io"\] in .*config.json/);
});

test('credHelpers beats credsStore beats auths; helpers answer "not found" cleanly', async () => {
  const helper = makeFakeCredentialHelper(join(tmp.path, 'helpers'), 'fake');
  makeFakeCredentialHelper(join(tmp.path, 'helpers'), 'store');
  helper.set('h.io', 'helper-user', 'helper-secret');
  const dir = join(tmp.path, 'docker-helpers');
  write(join(dir, 'config.json'), {
    auths: { 'h.io': { auth: b64('file:user') }, 'plain.io': { auth: b64('plain:pw') } },
    credHelpers: { 'h.io': 'fake', 'missing.io': 'fake' },
    credsStore: 'store',
  });
  const env = { DOCKER_CONFIG: dir, PATH: `${helper.bin}:${process.env.PATH}` };
  assert.equal(shown(await lookup(env, 'h.io/app')), 'helper-user:helper-secret');
  // credsStore "store" has nothing for plain.io: auths answers
  assert.equal(shown(await lookup(env, 'plain.io/app')), 'plain:pw');
  assert.equal(await lookup(env, 'missing.io/app'), undefined);
  // both helpers log to one file: "store" was asked about plain.io only (credHelpers wins for the others)
  assert.deepEqual(helper.calls(), ['get h.io', 'get plain.io', 'get missing.io']);
  await assert.rejects(
    lookup({ DOCKER_CONFIG: dir, PATH: '/nonexistent' }, 'h.io/app'),
    /docker-credential-fake \(credHelpers\["h.io"\] in .*\) is not installed/,
  );
});

test('REGISTRY_AUTH_FILE and containers auth.json: repository keys, and the order after the Docker config', async () => {
  const docker = join(tmp.path, 'd2');
  write(join(docker, 'config.json'), { auths: { 'a.io': { auth: b64('docker:a') } } });
  const authFile = write(join(tmp.path, 'auth.json'), {
    auths: {
      'a.io': { auth: b64('authfile:a') },
      'b.io/team': { auth: b64('team:b') },
      'b.io': { auth: b64('host:b') },
    },
  });
  const runtime = join(tmp.path, 'run');
  write(join(runtime, 'containers', 'auth.json'), { auths: { 'c.io': { auth: b64('runtime:c') } } });
  const env = { DOCKER_CONFIG: docker, REGISTRY_AUTH_FILE: authFile, XDG_RUNTIME_DIR: runtime };
  assert.equal(shown(await lookup(env, 'a.io/x')), 'docker:a');
  assert.equal(shown(await lookup(env, 'b.io/team/app')), 'team:b');
  assert.equal(shown(await lookup(env, 'b.io/other')), 'host:b');
  assert.equal(shown(await lookup(env, 'c.io/x')), 'runtime:c');
  const config = join(tmp.path, 'xdg');
  write(join(config, 'containers', 'auth.json'), { auths: { 'd.io': { auth: b64('xdg:d') } } });
  assert.equal(shown(await lookup({ XDG_CONFIG_HOME: config }, 'd.io/x')), 'xdg:d');
});

test('GITHUB_TOKEN for ghcr.io only, after the files; broken files are named, never quoted', async () => {
  assert.equal(
    shown(await lookup({ GITHUB_TOKEN: 'ght', GITHUB_ACTOR: 'octo' }, 'ghcr.io/o/app')),
    'octo:ght',
  );
  assert.equal(shown(await lookup({ GITHUB_TOKEN: 'ght' }, 'ghcr.io/o/app')), 'unset:ght');
  assert.equal(await lookup({ GITHUB_TOKEN: 'ght' }, 'reg.io/o/app'), undefined);
  const dir = join(tmp.path, 'broken');
  mkdirSync(dir);
  writeFileSync(join(dir, 'config.json'), '{"auths": {"x": {"auth": "c2VjcmV0"}');
  await assert.rejects(lookup({ DOCKER_CONFIG: dir }, 'x/y'), (e: Error) => {
    assert.match(e.message, /config.json is not valid JSON/);
    assert.doesNotMatch(e.message, /c2VjcmV0/);
    return true;
  });
});
