import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseChallenges, scopeCovered } from '../../src/registry/challenge.ts';
import { formatReference, parseLoginServer, parseReference } from '../../src/registry/reference.ts';
import { isLoopback, isPrivateAddress } from '../../src/registry/transport.ts';

const D = `sha256:${'a'.repeat(64)}`;

test('references parse as docker and crane parse them', () => {
  const cases: [string, string][] = [
    ['alpine', 'index.docker.io/library/alpine:latest'],
    ['docker.io/alpine:3', 'index.docker.io/library/alpine:3'],
    ['team/app', 'index.docker.io/team/app:latest'],
    ['localhost/app:1', 'localhost/app:1'],
    ['localhost:5000/a/b/c:v1.2_x-y', 'localhost:5000/a/b/c:v1.2_x-y'],
    ['127.0.0.1:5000/demo/app', '127.0.0.1:5000/demo/app:latest'],
    ['Registry.Example.com/app:Tag', 'registry.example.com/app:Tag'],
    ['[::1]:5000/app:1', '[::1]:5000/app:1'],
    [`ghcr.io/o/app@${D}`, `ghcr.io/o/app@${D}`],
    [`ghcr.io/o/app:1@${D}`, `ghcr.io/o/app:1@${D}`],
    ['a.b/x__y.z--w/q', 'a.b/x__y.z--w/q:latest'],
  ];
  for (const [input, want] of cases) assert.equal(formatReference(parseReference(input)), want, input);
  assert.deepEqual(parseReference('reg.io/app', null), { repository: { registry: 'reg.io', path: 'app' } });
});

test('malformed references fail before any request, saying why', () => {
  const bad: [string, RegExp][] = [
    ['reg.io/Upper/app:1', /lower case/],
    ['reg.io/app:bad:tag', /not a valid repository|not a valid tag/],
    [`reg.io/app:${'t'.repeat(129)}`, /not a valid tag/],
    ['reg.io/app:.dot', /not a valid tag/],
    ['reg.io/app@sha256:abc', /not a digest/],
    ['https://reg.io/app', /no URL scheme/],
    ['reg.io//app', /not a valid repository/],
    ['reg.io/app-/x', /not a valid repository/],
    ['', /empty/],
    ['reg io/app', /white space/],
    ['bad_host.io:99999/app', /host\[:port\]/],
    [`reg.io/${'a'.repeat(250)}`, /longer than 255/],
  ];
  for (const [input, want] of bad) {
    assert.throws(
      () => parseReference(input),
      (e: Error & { code?: string }) => {
        assert.equal(e.code, 'REGISTRY_REFERENCE', input);
        assert.match(e.message, want, input);
        return true;
      },
    );
  }
});

test('login servers: host[:port] or a URL; Docker Hub under its config key', () => {
  assert.deepEqual(parseLoginServer(undefined), {
    registry: 'index.docker.io',
    configKey: 'https://index.docker.io/v1/',
  });
  assert.deepEqual(parseLoginServer('docker.io'), {
    registry: 'index.docker.io',
    configKey: 'https://index.docker.io/v1/',
  });
  assert.deepEqual(parseLoginServer('https://reg.io:5000/'), {
    registry: 'reg.io:5000',
    configKey: 'reg.io:5000',
  });
  assert.throws(() => parseLoginServer('reg.io/team'), /not a repository/);
});

test('WWW-Authenticate: several challenges, quoted values, scopes compared as sets', () => {
  const h =
    'Bearer realm="https://auth.io/token",service="reg.io",scope="repository:a/b:pull,push repository:c:pull", Basic realm="x\\"y"';
  assert.deepEqual(parseChallenges(h), [
    {
      scheme: 'bearer',
      params: {
        realm: 'https://auth.io/token',
        service: 'reg.io',
        scope: 'repository:a/b:pull,push repository:c:pull',
      },
    },
    { scheme: 'basic', params: { realm: 'x"y' } },
  ]);
  assert.deepEqual(parseChallenges('Basic realm=plain'), [{ scheme: 'basic', params: { realm: 'plain' } }]);
  assert.ok(scopeCovered(['repository:a/b:push,pull'], 'repository:a/b:pull,push'));
  assert.ok(!scopeCovered(['repository:a/b:pull'], 'repository:a/b:push,pull'));
  assert.ok(!scopeCovered(['repository:a/b:push,pull'], 'repository:c:pull'));
});

test('plain HTTP is automatic only for loopback registries', () => {
  for (const h of ['localhost', 'app.localhost', '127.0.0.1', '127.1.2.3', '[::1]', '::1'])
    assert.ok(isLoopback(h), h);
  for (const h of ['10.0.0.1', '192.168.1.2', 'example.com', 'localhost.example.com', '128.0.0.1'])
    assert.ok(!isLoopback(h), h);
});

test('upload locations on another host may not be private addresses; host names never count as private', () => {
  for (const h of [
    '127.0.0.1',
    '10.1.2.3',
    '172.16.0.1',
    '192.168.0.9',
    '169.254.169.254',
    '[::1]',
    '[fd00::1]',
    '[fe80::1]',
  ])
    assert.ok(isPrivateAddress(h), h);
  for (const h of ['10.example.com', 'fdroid.org', 'fcb.example', '172.15.0.1', '8.8.8.8', 'registry.io'])
    assert.ok(!isPrivateAddress(h), h);
});
