import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  dependencySatisfiedBy,
  formatDependency,
  parseDependency,
  parseDependencyList,
  tryParseDependency,
} from '../../src/apk/dependency.ts';
import {
  DEPMASK_ANY,
  DEPMASK_CHECKSUM,
  VERSION_EQUAL,
  VERSION_FUZZY,
  VERSION_GREATER,
  VERSION_LESS,
} from '../../src/apk/version.ts';
import { isLadingError, LadingError } from '../../src/util/errors.ts';
import { alpinePackages } from '../helpers/alpine-indexes.ts';
import { fuzzRuns } from '../helpers/fuzz.ts';

describe('apk dependency grammar', () => {
  it('parses every form apk accepts', () => {
    const cases: [string, Partial<ReturnType<typeof parseDependency>>][] = [
      ['busybox', { name: 'busybox', conflict: false, op: '', mask: DEPMASK_ANY }],
      ['!busybox', { name: 'busybox', conflict: true, mask: DEPMASK_ANY }],
      ['musl=1.2.4-r2', { name: 'musl', op: '=', mask: VERSION_EQUAL, version: '1.2.4-r2' }],
      ['a<2', { op: '<', mask: VERSION_LESS, version: '2' }],
      ['a>2', { op: '>', mask: VERSION_GREATER }],
      ['a<=2', { mask: VERSION_LESS | VERSION_EQUAL }],
      ['a>=2', { mask: VERSION_GREATER | VERSION_EQUAL }],
      ['python3~3.11', { name: 'python3', op: '~', mask: VERSION_FUZZY | VERSION_EQUAL, version: '3.11' }],
      ['python3=~3.11', { op: '=~', mask: VERSION_FUZZY | VERSION_EQUAL }],
      ['a<~3.9', { mask: VERSION_LESS | VERSION_EQUAL | VERSION_FUZZY }],
      [
        'a><Q1vLSm+wHmmNnUW9Wl+nM7FUwJkDc=',
        { op: '><', mask: DEPMASK_CHECKSUM, version: 'Q1vLSm+wHmmNnUW9Wl+nM7FUwJkDc=' },
      ],
      ['a<>Q1vLSm+wHmmNnUW9Wl+nM7FUwJkDc=', { op: '<>', mask: DEPMASK_CHECKSUM }],
      ['curl@edge', { name: 'curl', tag: 'edge', mask: DEPMASK_ANY }],
      ['curl@edge>=8.5', { name: 'curl', tag: 'edge', op: '>=', version: '8.5' }],
      ['!curl@edge', { name: 'curl', tag: 'edge', conflict: true }],
      ['so:libc.musl-x86_64.so.1', { name: 'so:libc.musl-x86_64.so.1' }],
      ['so:libstdc++.so.6=6.0.32', { name: 'so:libstdc++.so.6', version: '6.0.32' }],
      ['cmd:sh', { name: 'cmd:sh' }],
      ['cmd:[', { name: 'cmd:[' }],
      ['pc:zlib>=1.2', { name: 'pc:zlib', op: '>=' }],
      ['/bin/sh', { name: '/bin/sh' }],
      ['py3.11:setuptools', { name: 'py3.11:setuptools' }],
    ];
    for (const [text, want] of cases) {
      const dep = parseDependency(text);
      for (const [k, v] of Object.entries(want))
        assert.deepEqual(dep[k as keyof typeof dep], v, `${text}: ${k}`);
      assert.equal(formatDependency(dep), text, 'round trip');
    }
  });

  it('rejects bad input with a LadingError that names the text and the problem', () => {
    const bad: [string, RegExp][] = [
      ['', /package name is empty/],
      ['!', /package name is empty/],
      ['=1.0', /package name is empty/],
      ['@edge', /package name is empty/],
      ['curl@', /tag after "@" is empty/],
      ['curl=', /no version after "="/],
      ['curl>=', /no version after ">="/],
      ['curl=8.5@edge', /tag goes before the version/],
      ['curl=banana!', /not a valid apk version/],
      ['curl<=>1', /allows every version/],
      ['cu rl', /not allowed in a package name/],
      ['!!curl', /cannot start with "!"/],
      ['curl@ed ge', /not allowed in a repository tag/],
      ['cürl', /not allowed in a package name/],
    ];
    for (const [text, reason] of bad) {
      assert.throws(
        () => parseDependency(text, { what: 'world entry', file: 'lading.yaml', line: 3 }),
        (e: unknown) => {
          assert.ok(e instanceof LadingError, `${text}: ${String(e)}`);
          assert.equal(e.code, 'DEPENDENCY_INVALID');
          assert.match(e.message, reason, text);
          assert.ok(e.message.includes(JSON.stringify(text)), e.message);
          assert.match(e.message, /^invalid world entry/);
          assert.equal(e.file, 'lading.yaml');
          assert.equal(e.line, 3);
          assert.ok(e.hint);
          return true;
        },
      );
    }
  });

  it('matches providers as apk_dep_is_provided does', () => {
    const p = (t: string) => parseDependency(t);
    assert.equal(dependencySatisfiedBy(p('a'), { version: '1' }), true);
    assert.equal(dependencySatisfiedBy(p('a'), null), false);
    assert.equal(dependencySatisfiedBy(p('!a'), null), true);
    assert.equal(dependencySatisfiedBy(p('!a'), { version: '1' }), false);
    assert.equal(dependencySatisfiedBy(p('!b>1'), { version: '1' }), true);
    assert.equal(dependencySatisfiedBy(p('!b>1'), { version: '2' }), false);
    assert.equal(dependencySatisfiedBy(p('a>=2'), { version: '2.1' }), true);
    assert.equal(
      dependencySatisfiedBy(p('a>=2'), { version: null }),
      false,
      'a virtual provide has no version',
    );
    assert.equal(dependencySatisfiedBy(p('!a>=2'), { version: null }), true);
    assert.equal(dependencySatisfiedBy(p('a~3.8'), { version: '3.8.1-r0' }), true);
    assert.equal(dependencySatisfiedBy(p('a><Q1abc'), { version: '1', checksum: 'Q1abc' }), true);
    assert.equal(dependencySatisfiedBy(p('a><Q1abc'), { version: '1', checksum: 'Q1xyz' }), false);
  });

  it('parses and round-trips every D:, p: and i: entry of the Alpine v3.19 indexes', () => {
    const { main, community } = alpinePackages();
    let n = 0;
    for (const pkg of [...main, ...community]) {
      for (const text of [...pkg.depends, ...pkg.provides, ...pkg.installIf]) {
        const dep = tryParseDependency(text);
        assert.ok(typeof dep !== 'string', `${pkg.name}: ${text}: ${dep}`);
        assert.equal(formatDependency(dep), text);
        n++;
      }
      assert.equal(parseDependencyList(pkg.depends.join(' ')).length, pkg.depends.length);
    }
    assert.ok(n > 100_000, `only ${n} entries`);
  });

  it('never throws anything but LadingError and round-trips what it accepts (property)', () => {
    const { main } = alpinePackages();
    const real = main.slice(0, 2000).flatMap((p) => [...p.depends, ...p.provides, ...p.installIf]);
    const alphabet = fc.constantFrom(...'abz09.-_+:/@!<>=~ \t\u00e9Q=');
    const mutated = fc
      .tuple(fc.constantFrom(...real), fc.nat(60), fc.nat(4), fc.string({ unit: alphabet, maxLength: 4 }))
      .map(([s, at, del, ins]) => {
        const i = at % (s.length + 1);
        return s.slice(0, i) + ins + s.slice(i + del);
      });
    const input = fc.oneof(
      fc.string(),
      fc.string({ unit: alphabet }),
      fc.string({ unit: 'binary' }),
      mutated,
    );
    fc.assert(
      fc.property(input, (text) => {
        try {
          const dep = parseDependency(text);
          assert.equal(formatDependency(dep), text);
          assert.ok(dep.name.length > 0);
        } catch (e) {
          if (!isLadingError(e)) throw e;
        }
      }),
      fuzzRuns(2000, 20_000),
    );
  });
});
