import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { inspect } from 'node:util';
import fc from 'fast-check';
import {
  formatRepositoryEntry,
  indexLocation,
  packageLocation,
  parseKeySource,
  parseRepositoryRef,
} from '../../src/repo/ref.ts';
import { LadingError } from '../../src/util/errors.ts';
import { fuzzRuns } from '../helpers/fuzz.ts';

const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;

describe('parseRepositoryRef', () => {
  it('parses URLs, tags, file URLs and local paths', () => {
    const r = parseRepositoryRef('@edge https://u%40x:p%3Aw@Dl-CDN.example.org:8443/alpine/v3.19/main//');
    assert.equal(r.kind, 'http');
    assert.equal(r.tag, 'edge');
    assert.equal(r.base, 'https://dl-cdn.example.org:8443/alpine/v3.19/main');
    assert.equal(r.display, r.base);
    assert.equal(r.credentials?.authorization(), basic('u@x', 'p:w'));
    assert.equal(formatRepositoryEntry(r), '@edge https://dl-cdn.example.org:8443/alpine/v3.19/main');
    assert.equal(indexLocation(r, 'x86_64'), `${r.base}/x86_64/APKINDEX.tar.gz`);
    assert.equal(
      packageLocation(r, 'x86_64', { name: 'fcgi++', version: '2.4.0-r8' }),
      `${r.base}/x86_64/fcgi++-2.4.0-r8.apk`,
    );
    assert.equal(
      packageLocation(r, 'x86_64', { name: 'a b', version: '1#2' }),
      `${r.base}/x86_64/a%20b-1%232.apk`,
    );

    const local = parseRepositoryRef('./packages/', { cwd: '/work/x' });
    assert.deepEqual(local, { kind: 'local', display: './packages', base: '/work/x/packages' });
    assert.equal(indexLocation(local, 'aarch64'), '/work/x/packages/aarch64/APKINDEX.tar.gz');

    const file = parseRepositoryRef('@local file:///srv/repo%20x/');
    assert.deepEqual(file, {
      kind: 'local',
      display: 'file:///srv/repo%20x',
      base: '/srv/repo x',
      tag: 'local',
    });
    assert.equal(parseRepositoryRef('/').base, '/');
  });

  it('keeps credentials out of every printable form', () => {
    const r = parseRepositoryRef('https://alice:hunter2-secret@repo.example.com/os');
    for (const text of [
      JSON.stringify(r),
      inspect(r, { depth: 5 }),
      String(r.credentials),
      formatRepositoryEntry(r),
    ]) {
      assert.ok(!text.includes('hunter2'), text);
      assert.ok(!text.includes('alice'), text);
    }
  });

  it('rejects bad entries with LadingErrors that do not echo credentials', () => {
    const cases = [
      '',
      '   ',
      '@',
      '@tag',
      '@bad=tag https://x/y',
      'https://u:topsecret@host/repo?token=1',
      'ftp://u:topsecret@host/repo',
      'https://u:topsecret@ho st/repo',
      'file://remotehost/x',
    ];
    for (const entry of cases) {
      assert.throws(
        () => parseRepositoryRef(entry),
        (e: unknown) =>
          e instanceof LadingError && e.code === 'REPO_INVALID_REF' && !e.message.includes('topsecret'),
        entry,
      );
    }
  });

  it('refuses unsafe names from an index', () => {
    const r = parseRepositoryRef('/srv/repo');
    for (const name of ['..', '../etc', 'a/b', '']) {
      assert.throws(() => packageLocation(r, 'x86_64', { name, version: '1' }), {
        code: 'REPO_INVALID_NAME',
      });
    }
    assert.throws(() => indexLocation(r, '../x'), { code: 'REPO_INVALID_NAME' });
  });

  it('parses key sources', () => {
    assert.deepEqual(parseKeySource('keys/a.rsa.pub', { cwd: '/c' }), {
      kind: 'local',
      path: '/c/keys/a.rsa.pub',
      display: 'keys/a.rsa.pub',
    });
    const k = parseKeySource('https://u:p@keys.example.com/a.rsa.pub');
    assert.equal(k.kind, 'http');
    assert.equal(k.kind === 'http' && k.url, 'https://keys.example.com/a.rsa.pub');
    assert.equal(k.kind === 'http' && k.credentials?.authorization(), basic('u', 'p'));
  });
});

describe('parseRepositoryRef properties', () => {
  const segment = fc.stringMatching(/^[a-z0-9._~-]{1,12}$/).filter((s) => s !== '.' && s !== '..');
  const tag = fc.option(fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._+-]{0,10}$/), { nil: undefined });
  const slashes = fc.integer({ min: 0, max: 3 }).map((n) => '/'.repeat(n));

  it('never throws anything but a LadingError', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 60 }), (s) => {
        try {
          parseRepositoryRef(s, { cwd: '/cwd' });
        } catch (e) {
          if (!(e instanceof LadingError)) throw e;
        }
      }),
      fuzzRuns(400, 2000),
    );
    fc.assert(
      fc.property(
        fc.constantFrom('https://', 'http://', 'file://', '@t https://', '@t '),
        fc.string(),
        (p, s) => {
          try {
            parseRepositoryRef(p + s, { cwd: '/cwd' });
          } catch (e) {
            if (!(e instanceof LadingError)) throw e;
          }
        },
      ),
      fuzzRuns(400, 2000),
    );
  });

  it('http URLs: base, display, tag and credentials; display never holds credentials; format round-trips', () => {
    fc.assert(
      fc.property(
        tag,
        fc.constantFrom('http', 'https'),
        fc.option(fc.tuple(fc.string(), fc.string()), { nil: undefined }),
        fc.domain(),
        fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }),
        fc.array(segment, { maxLength: 4 }),
        slashes,
        (t, scheme, userinfo, host, port, path, trailing) => {
          const auth = userinfo
            ? `${encodeURIComponent(userinfo[0])}:${encodeURIComponent(userinfo[1])}@`
            : '';
          const hostPort = port === undefined ? host : `${host}:${port}`;
          const pathText = path.map((s) => `/${s}`).join('');
          const entry = `${t === undefined ? '' : `@${t} `}${scheme}://${auth}${hostPort}${pathText}${trailing}`;
          const r = parseRepositoryRef(entry);
          const defaultPort = scheme === 'http' ? 80 : 443;
          const expectedHost = port === undefined || port === defaultPort ? host : hostPort;
          assert.equal(r.kind, 'http');
          assert.equal(r.tag, t);
          assert.equal(r.base, `${scheme}://${expectedHost}${pathText}`);
          assert.equal(r.display, r.base);
          assert.ok(!r.base.endsWith('/'));
          assert.ok(!JSON.stringify(r).includes('@'));
          const hasCredentials = userinfo !== undefined && (userinfo[0] !== '' || userinfo[1] !== '');
          assert.equal(r.credentials !== undefined, hasCredentials);
          if (hasCredentials) assert.equal(r.credentials!.authorization(), basic(userinfo![0], userinfo![1]));
          const again = parseRepositoryRef(formatRepositoryEntry(r));
          assert.deepEqual(again, stripCred(r));
          assert.equal(indexLocation(r, 'x86_64'), `${r.base}/x86_64/APKINDEX.tar.gz`);
        },
      ),
      fuzzRuns(300, 500),
    );
  });

  it('local paths resolve against cwd with trailing slashes trimmed; file URLs give the same base', () => {
    fc.assert(
      fc.property(
        tag,
        fc.boolean(),
        fc.array(segment, { minLength: 1, maxLength: 4 }),
        slashes,
        (t, absolute, path, trailing) => {
          const text = `${absolute ? '/' : ''}${path.join('/')}${trailing}`;
          const r = parseRepositoryRef(`${t === undefined ? '' : `@${t} `}${text}`, { cwd: '/the/cwd' });
          assert.equal(r.kind, 'local');
          assert.equal(r.tag, t);
          assert.equal(r.base, resolve('/the/cwd', text));
          assert.equal(r.display, text.replace(/\/+$/, ''));
          const viaUrl = parseRepositoryRef(pathToFileURL(r.base).href + trailing);
          assert.equal(viaUrl.base, r.base);
          assert.deepEqual(parseRepositoryRef(formatRepositoryEntry(r), { cwd: '/the/cwd' }), r);
        },
      ),
      fuzzRuns(300, 500),
    );
  });
});

function stripCred<T extends { credentials?: unknown }>(r: T): Omit<T, 'credentials'> {
  const { credentials: _c, ...rest } = r;
  return rest;
}
