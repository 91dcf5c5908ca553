/**
 * The library behind show-packages, dot and why: config → keyring → repositories → resolution (memoised),
 * and the index text path it uses (indexes read as latin1, inflated on the thread pool, scanned in order).
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import { readApkIndex, readApkIndexTextAsync, splitApkIndex, writeApkIndex } from '../../src/apk/apkindex.ts';
import { parseApkIndexText } from '../../src/apk/apkindex-text.ts';
import { emptyPackage } from '../../src/apk/types.ts';
import { loadRepositories } from '../../src/pipeline/indexes.ts';
import { resolveConfig, whyInArch } from '../../src/pipeline/resolve.ts';
import { createFetchOptions } from '../../src/repo/fetch.ts';
import { scannableAsLatin1 } from '../../src/solver/package-index.ts';
import { buildPackageIndex, buildPackageIndexAsync, resolve } from '../../src/solver/resolve.ts';
import { isLadingError, LadingError } from '../../src/util/errors.ts';
import { ALPINE_INDEXES, alpineRepositories } from '../helpers/alpine-indexes.ts';
import { rejectsCode } from '../helpers/assert.ts';
import { fixture } from '../helpers/paths.ts';
import { tempDir } from '../helpers/tools.ts';

const tmp = tempDir('lading-resolve-config-');
after(tmp.remove);

const key = fixture('alpine/keys/alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub');
for (const [name, file] of Object.entries(ALPINE_INDEXES)) {
  mkdirSync(join(tmp.path, name, 'x86_64'), { recursive: true });
  symlinkSync(fixture(file), join(tmp.path, name, 'x86_64', 'APKINDEX.tar.gz'));
}
const repos = [join(tmp.path, 'main'), join(tmp.path, 'community')];
const configPath = join(tmp.path, 'image.yaml');
writeFileSync(
  configPath,
  `contents:\n  repositories: [${repos.join(', ')}]\n  keyring: [${key}]\n  packages: [alpine-base, aaudit]\narchs: [x86_64]\n`,
);

describe('resolveConfig', () => {
  const cacheDir = join(tmp.path, 'cache');

  it('resolves as the resolver does on the same indexes, then answers from the cache', async () => {
    const first = await resolveConfig({ config: configPath, cacheDir });
    assert.equal(first.archs.length, 1);
    const [a] = first.archs;
    assert.equal(a!.apkArch, 'x86_64');
    assert.equal(a!.cached, false);
    assert.deepEqual(
      a!.repositories.map((r) => r.repository),
      repos,
    );
    assert.match(a!.repositories[0]!.indexDigest, /^sha256:[0-9a-f]{64}$/);
    const direct = resolve(buildPackageIndex({ repositories: alpineRepositories(), arch: 'x86_64' }), [
      'alpine-base',
      'aaudit',
    ]);
    const names = (r: { packages: { name: string; version: string }[] }) =>
      r.packages.map((p) => `${p.name}-${p.version}`);
    assert.deepEqual(names(a!.resolution), names(direct));
    // full records, decoded as UTF-8 although the index text is read as latin1
    const aaudit = a!.resolution.packages.find((p) => p.name === 'aaudit')!;
    assert.equal(aaudit.maintainer, 'Timo Teräs <timo.teras@iki.fi>');
    assert.equal(aaudit.repository, repos[0]);

    const again = await resolveConfig({ config: configPath, cacheDir });
    assert.equal(again.archs[0]!.cached, true);
    assert.deepEqual(again.archs[0]!.resolution, a!.resolution);
    // another build of lading does not trust it
    const other = await resolveConfig({ config: configPath, cacheDir, memoSalt: 'another build' });
    assert.equal(other.archs[0]!.cached, false);
    // and -p changes the world, so the key
    const more = await resolveConfig({ config: configPath, cacheDir, packageAppend: ['zlib'] });
    assert.equal(more.archs[0]!.cached, false);
    assert.ok(more.archs[0]!.resolution.packages.some((p) => p.name === 'zlib'));
  });

  it('builds the index on demand for what a cached resolution cannot answer (why)', async () => {
    const { archs } = await resolveConfig({ config: configPath, cacheDir });
    const arch = archs[0]!;
    assert.equal(arch.cached, true);
    const why = await whyInArch(arch, 'musl');
    assert.ok(why.chains.length > 0);
    await rejectsCode(whyInArch(arch, 'vim'), 'WHY_NOT_INSTALLED');
    await assert.rejects(
      whyInArch(arch, 'alpine-bsae'),
      (e: unknown) =>
        isLadingError(e) && e.code === 'WHY_NO_SUCH_PACKAGE' && /alpine-base/.test(e.hint ?? ''),
    );
    const index = await arch.index();
    assert.equal(index, await arch.index(), 'built once');
  });

  it('works without the memo and reports unsatisfiable worlds', async () => {
    const r = await resolveConfig({ config: configPath, cacheDir, memo: false });
    assert.equal(r.archs[0]!.cached, false);
    await rejectsCode(
      resolveConfig({ config: configPath, cacheDir, packageAppend: ['musl<1'] }),
      'SOLVER_UNSATISFIABLE',
    );
  });
});

describe('index text for the resolver', () => {
  it('loadRepositories gives the same packages as parsing the index', async () => {
    const fetch = await createFetchOptions({ cacheDir: join(tmp.path, 'cache2'), offline: true });
    const { createKeyring } = await import('../../src/apk/keyring.ts');
    const keyring = createKeyring([{ name: key.split('/').pop()!, pem: readFileSync(key) }]);
    const [main] = await loadRepositories([repos[0]!], { fetch, arch: 'x86_64', keyring });
    assert.equal(main!.latin1, true, 'main has non-ASCII maintainers');
    assert.equal(main!.description, 'v3.19.1-643-gec825d20535');
    const parsed = readApkIndex(readFileSync(fixture(ALPINE_INDEXES.main))).packages;
    const index = buildPackageIndex({ repositories: [main!], arch: 'x86_64' });
    // every record, read back through the index, equals the parsed record
    for (const info of parsed.filter((_, i) => i % 97 === 0 || /[^\x00-\x7f]/.test(_.maintainer ?? ''))) {
      const node = index.findName(info.name)!.providers.find((p) => p.pkg.version === info.version)!.pkg;
      assert.deepEqual(index.infoOf(node), info);
    }
  });

  it('reads latin1 only when names, versions and dependencies are ASCII', async () => {
    const record = (name: string, maintainer: string) => ({
      ...emptyPackage(name, '1.0-r0'),
      arch: 'x86_64',
      maintainer,
      checksum: `Q1${name.padEnd(26, 'x').slice(0, 26)}=`,
    });
    const plain = writeApkIndex({ packages: [record('a', 'Timo Teräs')] });
    const read = await readApkIndexTextAsync(splitApkIndex(plain), { latin1: true });
    assert.equal(read.latin1, true);
    assert.equal(scannableAsLatin1(read.text), true);
    const [viaLatin1] = [
      buildPackageIndex({ repositories: [{ repository: 'r', text: read.text, latin1: true }] }),
    ];
    assert.equal(viaLatin1.infoOf(viaLatin1.findName('a')!.providers[0]!.pkg).maintainer, 'Timo Teräs');

    const accented = writeApkIndex({ packages: [record('ä', 'x')] });
    const text = (await readApkIndexTextAsync(splitApkIndex(accented), { latin1: true })).text;
    assert.equal(scannableAsLatin1(text), false, 'a non-ASCII name must be decoded as UTF-8');
    assert.equal(scannableAsLatin1('P:a\nT:é\nD:b\n\nP:b\nm:ü\n'), true);
    assert.equal(scannableAsLatin1('P:a\nD:b>=é\n'), false);
    // pure ASCII is not flagged
    const ascii = await readApkIndexTextAsync(
      splitApkIndex(writeApkIndex({ packages: [record('a', 'x')] })),
      {
        latin1: true,
      },
    );
    assert.equal(ascii.latin1, false);
    // UTF-8 by default
    const utf8 = await readApkIndexTextAsync(splitApkIndex(plain));
    assert.equal(utf8.latin1, false);
    assert.equal(parseApkIndexText(utf8.text)[0]!.maintainer, 'Timo Teräs');
  });

  it('inflates into one buffer of the announced size, and refuses a trailer that lies', async () => {
    const tar = gunzipSync(writeApkIndex({ packages: [emptyPackage('a', '1')] }));
    const good = await readApkIndexTextAsync({ signatures: [], signedBytes: gzipSync(tar) });
    assert.match(good.text, /^P:a$/m);
    for (const claimed of [0, 7, 0xffffffff]) {
      const gz = gzipSync(tar);
      gz.writeUInt32LE(claimed, gz.length - 4);
      await assert.rejects(
        readApkIndexTextAsync({ signatures: [], signedBytes: gz }, { file: 'x.tar.gz' }),
        (e: unknown) => isLadingError(e) && e.file === 'x.tar.gz',
      );
    }
  });

  it('buildPackageIndexAsync scans in repository order and reports the first failure in that order', async () => {
    const [main, community] = alpineRepositories();
    const late = new Promise<{ text: string }>((r) => setTimeout(() => r({ text: main!.text! }), 20));
    const index = await buildPackageIndexAsync({
      repositories: [{ repository: 'main' }, { repository: 'community' }],
      texts: [late, Promise.resolve({ text: community!.text! })],
      arch: 'x86_64',
    });
    const direct = buildPackageIndex({ repositories: alpineRepositories(), arch: 'x86_64' });
    assert.deepEqual(
      resolve(index, ['alpine-base']).packages.map((p) => [p.name, p.version, p.repository]),
      resolve(direct, ['alpine-base']).packages.map((p) => [p.name, p.version, p.repository]),
    );
    const first = new LadingError('FIRST', 'first');
    await assert.rejects(
      buildPackageIndexAsync({
        repositories: [{ repository: 'a' }, { repository: 'b' }],
        texts: [
          new Promise((_, reject) => setTimeout(() => reject(first), 20)),
          Promise.reject(new LadingError('SECOND', 'second')),
        ],
      }),
      (e: unknown) => e === first,
    );
  });
});
