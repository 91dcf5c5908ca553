/**
 * Basic auth against a real registry with htpasswd over TLS (a CA made by the test). `lading login` /
 * `lading logout`: credentials checked before anything is stored, the Docker config kept intact and private,
 * credential helpers used when configured, TLS verified unless told otherwise. `lading publish`: credentials
 * found in the Docker config, a credential helper or REGISTRY_AUTH_FILE; none or wrong ones give a clear
 * error and no tag. The password and its base64 are shown nowhere, not even at debug level.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeFakeCredentialHelper } from '../helpers/credential-helper.ts';
import { makePublishRepo, publishConfig } from '../helpers/publish-images.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';
import { lading, requireTool, run, tempDir } from '../helpers/tools.ts';

describe('Basic auth over TLS: login, logout, publish', () => {
  const tmp = tempDir('lading-login-');
  let reg: TestRegistry;
  const b64 = (s: string) => Buffer.from(s).toString('base64');

  let config = '';
  before(async () => {
    const repo = await makePublishRepo(join(tmp.path, 'repo'));
    config = join(tmp.path, 'app.yaml');
    writeFileSync(config, publishConfig(repo, ['x86_64']));
    reg = await startRegistry({ tls: true, auth: 'htpasswd' });
  });
  after(async () => {
    await reg.stop();
    tmp.remove();
  });

  /** Runs lading with a private Docker config dir, trusting the test CA unless `ca` is false. */
  function ladingIn(
    dir: string,
    args: string[],
    input?: string,
    ca = true,
    extraEnv: NodeJS.ProcessEnv = {},
  ) {
    const env: NodeJS.ProcessEnv = { ...process.env, DOCKER_CONFIG: dir, HOME: tmp.path, ...extraEnv };
    if (ca) env.NODE_EXTRA_CA_CERTS = reg.caFile;
    else delete env.NODE_EXTRA_CA_CERTS;
    const r = lading(args, { env, input });
    // the password and its base64 never appear in what lading prints
    for (const secret of [reg.password, b64(`${reg.user}:${reg.password}`), 'wrong-pass']) {
      assert.ok(!r.stdout.includes(secret) && !r.stderr.includes(secret), `secret printed: ${r.stderr}`);
    }
    return r;
  }

  it('checks the password first, then stores it in the Docker config (mode 0600, other keys kept)', () => {
    const dir = join(tmp.path, 'cfg');
    mkdirSync(dir);
    const config = join(dir, 'config.json');
    const before = `${JSON.stringify({ auths: { 'other.io': { auth: b64('bob:pw') } }, psFormat: 'table {{.ID}}', proxies: { default: { httpProxy: '' } } }, null, 2)}\n`;
    writeFileSync(config, before, { mode: 0o644 });

    // a wrong password: an error naming the registry, and the file untouched
    let r = ladingIn(dir, ['login', reg.host, '-u', reg.user, '--password-stdin'], 'wrong-pass\n');
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, new RegExp(`${reg.host} rejected the user name and password.*nothing was stored`));
    assert.equal(readFileSync(config, 'utf8'), before);

    // without the CA: a certificate error, nothing stored
    r = ladingIn(dir, ['login', reg.host, '-u', reg.user, '--password-stdin'], `${reg.password}\n`, false);
    assert.notEqual(r.status, 0);
    assert.match(
      r.stderr,
      /TLS certificate of 127\.0\.0\.1:\d+ is not trusted.*\n.*NODE_EXTRA_CA_CERTS.*--insecure-skip-tls-verify/,
    );
    assert.equal(readFileSync(config, 'utf8'), before);

    r = ladingIn(dir, ['login', reg.host, '-u', reg.user, '--password-stdin'], `${reg.password}\r\n`);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`logged in to ${reg.host}`));
    const after = JSON.parse(readFileSync(config, 'utf8'));
    assert.deepEqual(after, {
      auths: {
        'other.io': { auth: b64('bob:pw') },
        [reg.host]: { auth: b64(`${reg.user}:${reg.password}`) },
      },
      psFormat: 'table {{.ID}}',
      proxies: { default: { httpProxy: '' } },
    });
    assert.equal(statSync(config).mode & 0o777, 0o600);

    // skopeo reads what lading stored: it pushes an empty image with it
    requireTool('umoci');
    const layout = join(tmp.path, 'empty');
    assert.equal(run('umoci', ['init', '--layout', layout]).status, 0);
    assert.equal(run('umoci', ['new', '--image', `${layout}:t`]).status, 0);
    const push = run(requireTool('skopeo'), [
      'copy',
      '-q',
      '--authfile',
      config,
      '--dest-cert-dir',
      reg.certDir!,
      `oci:${layout}:t`,
      `docker://${reg.host}/demo/login:t`,
    ]);
    assert.equal(push.status, 0, push.stderr);

    // and lading publish finds them there
    const published = publish(dir, 'config');
    assert.equal(published.status, 0, published.stderr);
    assert.match(published.stdout, new RegExp(`^${reg.host}/demo/app@sha256:[0-9a-f]{64}\n$`));

    // logout removes exactly that entry
    r = ladingIn(dir, ['logout', reg.host]);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(Object.keys(JSON.parse(readFileSync(config, 'utf8')).auths), ['other.io']);
    r = ladingIn(dir, ['logout', reg.host]);
    assert.match(r.stderr, /no credentials were stored/);
  });

  it('--insecure-skip-tls-verify skips the certificate check; -p works and warns', () => {
    const dir = join(tmp.path, 'skip');
    const r = ladingIn(
      dir,
      ['login', reg.host, '-u', reg.user, '-p', reg.password, '--insecure-skip-tls-verify'],
      undefined,
      false,
    );
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /--password is visible to other users/);
    assert.equal(statSync(join(dir, 'config.json')).mode & 0o777, 0o600);
  });

  it('stores through the credential helper the config names, and logout erases it', () => {
    const dir = join(tmp.path, 'helper');
    mkdirSync(dir);
    const helper = makeFakeCredentialHelper(join(tmp.path, 'helper-bin'), 'fake');
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ credHelpers: { [reg.host]: 'fake' } }));
    const env = { PATH: `${helper.bin}:${process.env.PATH}` };
    let r = ladingIn(dir, ['login', reg.host, '-u', reg.user, '--password-stdin'], reg.password, true, env);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /stored in docker-credential-fake/);
    assert.deepEqual(helper.stored(), { [reg.host]: { Username: reg.user, Secret: reg.password } });
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    assert.deepEqual(config, { credHelpers: { [reg.host]: 'fake' }, auths: { [reg.host]: {} } });
    r = ladingIn(dir, ['logout', reg.host], undefined, true, env);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(helper.stored(), {});
    assert.deepEqual(helper.calls(), [`store ${reg.host} ${reg.user}`, `erase ${reg.host}`]);
  });

  /** Tags of demo/app, read with the right credentials. */
  async function tags(): Promise<string[]> {
    const r = run(requireTool('skopeo'), [
      'list-tags',
      '--creds',
      `${reg.user}:${reg.password}`,
      '--cert-dir',
      reg.certDir!,
      `docker://${reg.host}/demo/app`,
    ]);
    return r.status === 0
      ? (JSON.parse(r.stdout).Tags as string[]).filter((t) => !t.startsWith('sha256-')).sort()
      : [];
  }
  const publish = (dir: string, tag: string, extraEnv: NodeJS.ProcessEnv = {}) =>
    ladingIn(
      dir,
      [
        'publish',
        config,
        `${reg.host}/demo/app:${tag}`,
        '--cache-dir',
        join(tmp.path, 'cache'),
        '--log-level',
        'debug',
      ],
      undefined,
      true,
      extraEnv,
    );

  it('publish: no credentials or a wrong password fail clearly and tag nothing', async () => {
    let r = publish(join(tmp.path, 'none'), 'none');
    assert.notEqual(r.status, 0);
    assert.match(
      r.stderr,
      new RegExp(`${reg.host} requires credentials.*none were found\n.*lading login ${reg.host}`),
    );
    const wrong = join(tmp.path, 'wrong');
    mkdirSync(wrong);
    writeFileSync(
      join(wrong, 'config.json'),
      JSON.stringify({ auths: { [reg.host]: { auth: b64(`${reg.user}:wrong-pass`) } } }),
    );
    r = publish(wrong, 'wrong');
    assert.notEqual(r.status, 0);
    assert.match(
      r.stderr,
      new RegExp(`${reg.host} rejected the credentials from auths\\["${reg.host}"\\] in .*config.json`),
    );
    assert.ok(!(await tags()).some((t) => t === 'none' || t === 'wrong'));
  });

  it('publish: credentials from a credential helper or REGISTRY_AUTH_FILE (the Docker config: above)', async () => {
    const auths = { auths: { [reg.host]: { auth: b64(`${reg.user}:${reg.password}`) } } };
    const helper = makeFakeCredentialHelper(join(tmp.path, 'publish-helper'), 'fake');
    helper.set(reg.host, reg.user, reg.password);
    const viaHelper = join(tmp.path, 'docker-helper');
    mkdirSync(viaHelper);
    writeFileSync(join(viaHelper, 'config.json'), JSON.stringify({ credHelpers: { [reg.host]: 'fake' } }));
    let r = publish(viaHelper, 'helper', { PATH: `${helper.bin}:${process.env.PATH}` });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(helper.calls(), [`get ${reg.host}`]);

    const authFile = join(tmp.path, 'auth.json');
    writeFileSync(authFile, JSON.stringify(auths));
    r = publish(join(tmp.path, 'empty-docker'), 'authfile', { REGISTRY_AUTH_FILE: authFile });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(await tags(), ['authfile', 'config', 'helper']);
  });
});
