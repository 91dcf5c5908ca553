/** Explanations for worlds that cannot be installed: each names the packages and constraints involved. */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { PackageIndex } from '../../src/solver/package-index.ts';
import { buildPackageIndex, resolve } from '../../src/solver/resolve.ts';
import { LadingError } from '../../src/util/errors.ts';
import { alpineRepositories } from '../helpers/alpine-indexes.ts';

function failure(index: PackageIndex, world: string[]): LadingError {
  try {
    resolve(index, world);
  } catch (e) {
    assert.ok(e instanceof LadingError, String(e));
    return e;
  }
  assert.fail(`${world.join(' ')} resolved`);
}

/** A small index in APKINDEX text form. */
const record = (fields: Record<string, string>) =>
  `${Object.entries({ S: '1', I: '1', ...fields })
    .map(([k, v]) => `${k}:${v}`)
    .join('\n')}\n\n`;

describe('resolver explanations', () => {
  let alpine: PackageIndex;
  before(() => {
    alpine = buildPackageIndex({ repositories: alpineRepositories(), arch: 'x86_64' });
  });

  it('a missing package: no such package, who asked, and near names', () => {
    const e = failure(alpine, ['python3', 'pyhton3']);
    assert.equal(e.code, 'SOLVER_UNSATISFIABLE');
    assert.equal(
      e.message,
      'unable to select packages:\n  pyhton3 (no such package):\n    required by: world[pyhton3]',
    );
    assert.match(e.hint!, /no package provides "pyhton3"; did you mean "python3"/);
  });

  it('a missing dependency names the package that needs it', () => {
    const index = buildPackageIndex({
      repositories: [{ repository: 'r', text: record({ P: 'app', V: '1.0-r0', D: 'libmissing>=2' }) }],
    });
    const e = failure(index, ['app']);
    assert.match(e.message, /libmissing \(no such package\):\n {4}required by: app-1\.0-r0\[libmissing>=2\]/);
  });

  it('a version conflict between two world entries names both constraints and the package', () => {
    const e = failure(alpine, ['curl>=8', 'curl<8']);
    assert.match(e.message, /curl-8\.5\.0-r0:\n {4}breaks: world\[curl<8\]\n {4}satisfies: world\[curl>=8\]/);
  });

  it('a world constraint against a dependency of another world entry', () => {
    const e = failure(alpine, ['busybox-binsh', 'busybox<1.36']);
    assert.match(e.message, /busybox-1\.36\.1-r19:/);
    assert.match(e.message, /breaks: world\[busybox<1\.36\]/);
    assert.match(e.message, /satisfies: busybox-binsh-1\.36\.1-r19\[busybox=1\.36\.1-r19\]/);
  });

  it('a conflict through !name names the conflict and what needs the package (as apk prints it)', () => {
    // byte for byte what `apk add alpine-base '!busybox'` prints (apk wraps at 50 columns off a terminal)
    let message = '';
    try {
      resolve(alpine, ['alpine-base', '!busybox'], { width: 50 });
    } catch (e) {
      message = (e as Error).message;
    }
    assert.equal(
      message,
      [
        'unable to select packages:',
        '  busybox-1.36.1-r19:',
        '    breaks: world[!busybox]',
        '    satisfies: alpine-conf-3.17.2-r0[busybox>=1.26.1-r3]',
        '               busybox-suid-1.36.1-r19[busybox]',
        '               alpine-base-3.19.2-r0[busybox]',
      ].join('\n'),
    );
  });

  it('a dependency only in a repository that was not asked for with @tag', () => {
    const index = buildPackageIndex({
      repositories: [
        { repository: 'https://example.test/main', text: record({ P: 'app', V: '1.0-r0', D: 'libfoo>=2' }) },
        {
          repository: 'https://example.test/testing',
          tag: 'testing',
          text: record({ P: 'libfoo', V: '2.1-r0' }),
        },
      ],
    });
    const e = failure(index, ['app']);
    assert.equal(
      e.message,
      'unable to select packages:\n  libfoo-2.1-r0:\n    masked in: @testing\n    satisfies: app-1.0-r0[libfoo>=2]',
    );
    assert.match(
      e.hint!,
      /libfoo-2\.1-r0 is only in the repository tagged @testing; ask for it as "libfoo@testing"/,
    );
    // asking for it with the tag resolves, and the pin carries to nothing else
    const r = resolve(index, ['app', 'libfoo@testing']);
    assert.deepEqual(
      r.packages.map((p) => `${p.name}${p.tag ? `@${p.tag}` : ''}`),
      ['libfoo@testing', 'app'],
    );
  });

  it('a world entry asking for a repository tag nobody has', () => {
    assert.throws(
      () => resolve(alpine, ['busybox@edge']),
      (e: unknown) =>
        e instanceof LadingError &&
        e.code === 'SOLVER_UNKNOWN_TAG' &&
        /"busybox@edge" asks for repository tag @edge/.test(e.message),
    );
  });

  it('a virtual name without a preferred provider lists the providers', () => {
    const index = buildPackageIndex({
      repositories: [
        {
          repository: 'r',
          text: record({ P: 'mawk', V: '1', p: 'awk' }) + record({ P: 'gawk', V: '1', p: 'awk' }),
        },
      ],
    });
    const e = failure(index, ['awk']);
    assert.match(e.message, /awk \(virtual\):/);
    assert.match(e.message, /please select one of the 'provided by' packages explicitly/);
    assert.match(e.message, /provided by: mawk gawk/);
  });

  it('a package that exists only for another architecture says so', () => {
    const index = buildPackageIndex({
      repositories: [{ repository: 'r', text: record({ P: 'armonly', V: '1', A: 'aarch64' }) }],
      arch: 'x86_64',
    });
    const e = failure(index, ['armonly']);
    assert.match(e.message, /armonly \(no such package\)/);
    assert.match(e.hint!, /"armonly" exists only for architecture aarch64, not x86_64/);
  });

  it('a bad world entry is a clear error, not a crash', () => {
    assert.throws(
      () => resolve(alpine, ['busybox>=']),
      (e: unknown) =>
        e instanceof LadingError &&
        e.code === 'DEPENDENCY_INVALID' &&
        /world entry "busybox>="/.test(e.message),
    );
  });
});
