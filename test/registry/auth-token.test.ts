/**
 * Bearer token auth against a real registry whose token server runs in the test: the token request names the
 * registry's service and asks for push first; anonymous pushes are refused with a clear error; a 401 naming a
 * scope the token lacks makes the client fetch one new token and send the request again, once.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makePublishRepo, publishConfig } from '../helpers/publish-images.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';
import { type RegistryProxy, startRegistryProxy } from '../helpers/registry-proxy.ts';
import { ladingAsync, tempDir } from '../helpers/tools.ts';

describe('Bearer token auth', () => {
  const tmp = tempDir('lading-token-');
  let reg: TestRegistry;
  let proxy: RegistryProxy;
  let config = '';
  let docker = '';
  let tokenRealm = '';
  const b64 = (s: string) => Buffer.from(s).toString('base64');

  before(async () => {
    const repo = await makePublishRepo(join(tmp.path, 'repo'));
    config = join(tmp.path, 'app.yaml');
    writeFileSync(config, publishConfig(repo, ['x86_64']));
    reg = await startRegistry({ auth: 'token' });
    proxy = await startRegistryProxy(reg.url);
    const ping = await fetch(`${reg.url}/v2/`);
    tokenRealm = /realm="([^"]+)"/.exec(ping.headers.get('www-authenticate') ?? '')![1]!;
    docker = join(tmp.path, 'docker');
    mkdirSync(docker);
    writeFileSync(
      join(docker, 'config.json'),
      JSON.stringify({ auths: { [proxy.host]: { auth: b64(`${reg.user}:${reg.password}`) } } }),
    );
  });
  after(async () => {
    await proxy?.stop();
    await reg?.stop();
    tmp.remove();
  });

  const publish = (tag: string, dockerConfig: string) =>
    ladingAsync(
      [
        'publish',
        config,
        `${proxy.host}/demo/app:${tag}`,
        '--cache-dir',
        join(tmp.path, 'cache'),
        '--log-level',
        'debug',
      ],
      {
        env: { ...process.env, HOME: tmp.path, DOCKER_CONFIG: dockerConfig },
      },
    );
  const noSecret = (r: { stdout: string; stderr: string }) => {
    for (const s of [reg.password, b64(`${reg.user}:${reg.password}`)])
      assert.ok(!`${r.stdout}${r.stderr}`.includes(s));
  };

  it('asks the token service for push on the repository, with the credentials, naming the service', async () => {
    const r = await publish('v1', docker);
    assert.equal(r.status, 0, r.stderr);
    noSecret(r);
    assert.ok(reg.tokenRequests.length >= 1);
    for (const t of reg.tokenRequests) {
      assert.equal(t.service, reg.service);
      assert.equal(t.user, reg.user);
      assert.equal(t.scopes[0], 'repository:demo/app:push,pull');
    }
    // tokens, not passwords, went to the registry
    assert.ok(proxy.log.every((l) => l.authScheme === undefined || l.authScheme === 'bearer'));
  });

  it('an anonymous push is refused with an error naming the registry', async () => {
    const r = await publish('anon', join(tmp.path, 'nobody'));
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, new RegExp(`${proxy.host} requires credentials .*and none were found`));
    assert.equal(reg.tokenRequests.at(-1)!.user, '');
  });

  it('a 401 naming a new scope mid-push: one new token with that scope first, and the request sent again', async () => {
    reg.tokenRequests.length = 0;
    proxy.log.length = 0;
    let injected = false;
    proxy.fault = (l) => {
      if (injected || l.method !== 'PUT' || !l.path.endsWith('/manifests/v2')) return undefined;
      injected = true;
      const challenge = `Bearer realm="${tokenRealm}",service="${reg.service}",scope="repository:demo/app:push,pull repository:demo/other:pull",error="insufficient_scope"`;
      return {
        kind: 'status',
        status: 401,
        headers: { 'www-authenticate': challenge },
        body: '{"errors":[{"code":"DENIED"}]}',
      };
    };
    const r = await publish('v2', docker);
    proxy.fault = undefined;
    assert.equal(r.status, 0, r.stderr);
    assert.ok(injected);
    assert.equal(reg.tokenRequests.length, 2, JSON.stringify(reg.tokenRequests));
    assert.deepEqual(reg.tokenRequests[1]!.scopes, [
      'repository:demo/other:pull',
      'repository:demo/app:push,pull',
    ]);
    assert.equal(proxy.log.filter((l) => l.method === 'PUT' && l.path.endsWith('/manifests/v2')).length, 2);
  });

  it('an identity token (OAuth2 refresh token) and a registry token from the Docker config work too', async () => {
    reg.tokenRequests.length = 0;
    const identity = join(tmp.path, 'identity');
    mkdirSync(identity);
    writeFileSync(
      join(identity, 'config.json'),
      JSON.stringify({
        auths: { [proxy.host]: { auth: b64(`${reg.user}:`), identitytoken: reg.refreshToken } },
      }),
    );
    let r = await publish('identity', identity);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(!`${r.stdout}${r.stderr}`.includes(reg.refreshToken));
    assert.ok(reg.tokenRequests.length > 0);
    for (const t of reg.tokenRequests) assert.deepEqual([t.grant, t.user], ['refresh_token', reg.user]);

    // a registry token is sent as it is: no token request at all
    const scope = 'repository:demo/app:push,pull';
    const got = await fetch(`${tokenRealm}?service=${reg.service}&scope=${scope}`, {
      headers: { authorization: `Basic ${b64(`${reg.user}:${reg.password}`)}` },
    });
    const { token } = (await got.json()) as { token: string };
    const direct = join(tmp.path, 'registry-token');
    mkdirSync(direct);
    writeFileSync(
      join(direct, 'config.json'),
      JSON.stringify({ auths: { [proxy.host]: { registrytoken: token } } }),
    );
    reg.tokenRequests.length = 0;
    r = await publish('direct', direct);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(reg.tokenRequests, []);
  });
});
