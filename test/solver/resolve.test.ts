/** The resolver's result on real Alpine indexes: packages, graph, installed base, and the command formats. */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import {
  formatDot,
  formatPackageList,
  formatWhy,
  PACKAGE_LIST_FORMATS,
  whyChains,
} from '../../src/solver/format.ts';
import type { PackageIndex } from '../../src/solver/package-index.ts';
import { buildPackageIndex, type Resolution, resolve } from '../../src/solver/resolve.ts';
import { LadingError } from '../../src/util/errors.ts';
import { alpinePackages, alpineRepositories, BENCHMARK_WORLD } from '../helpers/alpine-indexes.ts';

describe('resolve on Alpine v3.19 main + community', () => {
  let index: PackageIndex;
  let base: Resolution;
  before(() => {
    index = buildPackageIndex({ repositories: alpineRepositories(), arch: 'x86_64' });
    base = resolve(index, ['alpine-base', 'openrc']);
  });

  it('resolves the benchmark world to 175 packages, dependencies first, the same from text or parsed input', () => {
    const r = resolve(index, BENCHMARK_WORLD);
    assert.equal(r.packages.length, 175);
    const position = new Map(r.packages.map((p, i) => [p.name, i]));
    assert.equal(r.packages[0]!.name, 'musl');
    assert.ok(position.get('python3')! > position.get('musl')!);
    for (const e of r.edges) {
      // apk orders dependencies first, except inside dependency cycles
      if (e.kind === 'depends' && e.to > e.from) {
        const back = r.edges.some((x) => x.from === e.to && x.kind === 'depends');
        assert.ok(back, `${r.packages[e.from]!.name} before its dependency ${r.packages[e.to]!.name}`);
      }
    }
    const { main, community } = alpinePackages();
    const parsed = buildPackageIndex({
      repositories: [
        { repository: 'main', packages: main },
        { repository: 'community', packages: community },
      ],
      arch: 'x86_64',
    });
    assert.deepEqual(
      resolve(parsed, BENCHMARK_WORLD).packages.map((p) => `${p.name}-${p.version}`),
      r.packages.map((p) => `${p.name}-${p.version}`),
    );
  });

  it('returns full records with the repository they come from', () => {
    const musl = base.packages.find((p) => p.name === 'musl')!;
    assert.equal(musl.repository, 'main');
    assert.equal(musl.repositoryIndex, 0);
    assert.equal(musl.arch, 'x86_64');
    assert.match(musl.checksum!, /^Q1/);
    assert.ok(musl.size! > 0 && musl.installedSize! > 0);
    assert.equal(musl.license, 'MIT');
    assert.deepEqual(musl.provides, ['so:libc.musl-x86_64.so.1=1']);
    assert.deepEqual(
      base.world.map((d) => d.name),
      ['alpine-base', 'openrc'],
    );
  });

  it('records install_if in the graph (ssl_client because busybox and libssl3 are installed)', () => {
    const at = (n: string) => base.packages.findIndex((p) => p.name === n);
    const iif = base.edges.filter((e) => e.kind === 'install_if' && e.to === at('ssl_client'));
    assert.deepEqual(iif.map((e) => base.packages[e.from]!.name).sort(), ['busybox', 'libssl3']);
  });

  it('adds to an installed base: keeps what is there, installs only what is new', () => {
    const installed = base.packages.map((info) => ({ info }));
    const withBase = buildPackageIndex({ repositories: alpineRepositories(), arch: 'x86_64', installed });
    const r = resolve(withBase, ['alpine-base', 'openrc', 'curl']);
    const changed = r.changes.filter((c) => c.action !== 'keep');
    assert.ok(
      changed.every((c) => c.action === 'install'),
      JSON.stringify(changed.map((c) => c.action)),
    );
    const fresh = resolve(index, ['alpine-base', 'openrc', 'curl']).packages.map((p) => p.name);
    const had = new Set(base.packages.map((p) => p.name));
    assert.deepEqual(changed.map((c) => c.new!.name).sort(), fresh.filter((n) => !had.has(n)).sort());
    assert.ok(changed.some((c) => c.new!.name === 'curl'));
    assert.equal(r.packages.length, base.packages.length + changed.length);
    // dropping a world entry removes what only it needed
    const withCurl = buildPackageIndex({
      repositories: alpineRepositories(),
      arch: 'x86_64',
      installed: r.packages.map((info) => ({ info })),
    });
    const removed = resolve(withCurl, ['alpine-base', 'openrc']).changes.filter((c) => c.action === 'remove');
    assert.deepEqual(removed.map((c) => c.old!.name).sort(), changed.map((c) => c.new!.name).sort());
  });

  it('prints the package list in apko’s formats and as JSON', () => {
    const lines = formatPackageList(base.packages, 'name-version', 'x86_64').trimEnd().split('\n');
    assert.equal(lines.length, base.packages.length);
    assert.equal(lines[1], 'musl 1.2.4_git20230717-r4');
    assert.equal(
      formatPackageList(base.packages.slice(1, 2), 'name=version', 'x86_64'),
      'musl=1.2.4_git20230717-r4\n',
    );
    assert.equal(
      formatPackageList(base.packages.slice(1, 2), 'name-(version)', 'x86_64'),
      'musl (1.2.4_git20230717-r4)\n',
    );
    assert.equal(
      formatPackageList(base.packages.slice(1, 2), 'packagelock', 'x86_64'),
      '- musl=1.2.4_git20230717-r4\n',
    );
    assert.equal(
      formatPackageList(base.packages.slice(1, 2), 'name-version-source', 'x86_64'),
      'musl 1.2.4_git20230717-r4 main/x86_64/musl-1.2.4_git20230717-r4.apk\n',
    );
    assert.equal(
      formatPackageList(base.packages.slice(1, 2), 'packagelock-source', 'x86_64'),
      '- musl=1.2.4_git20230717-r4 # main/x86_64/musl-1.2.4_git20230717-r4.apk\n',
    );
    // a noarch package is fetched from the directory of the index that lists it, and Source says so
    const noarch = { ...base.packages[1]!, arch: 'noarch' };
    assert.equal(
      formatPackageList([noarch], '{{.Arch}} {{.Source}}', 'x86_64'),
      'noarch main/x86_64/musl-1.2.4_git20230717-r4.apk\n',
    );
    assert.equal(
      formatPackageList(base.packages.slice(1, 2), '{{.Name}} {{.Origin}}', 'x86_64'),
      'musl musl\n',
    );
    const json = JSON.parse(formatPackageList(base.packages, 'json', 'x86_64'));
    assert.deepEqual(Object.keys(json[1]), [
      'name',
      'version',
      'arch',
      'origin',
      'repository',
      'checksum',
      'size',
      'installedSize',
      'license',
    ]);
    assert.equal(json[1].name, 'musl');
    for (const f of PACKAGE_LIST_FORMATS) assert.ok(formatPackageList(base.packages, f, 'x86_64').length > 0);
    assert.throws(
      () => formatPackageList(base.packages, 'yaml', 'x86_64'),
      (e: unknown) => e instanceof LadingError && e.code === 'FORMAT_UNKNOWN',
    );
    assert.throws(() => formatPackageList(base.packages, '{{.Nope}}', 'x86_64'), /unknown field \.Nope/);
  });

  it('draws the graph in dot, deterministically', () => {
    const dot = formatDot(base);
    assert.match(dot, /^digraph packages \{\n/);
    assert.match(dot, /"world" -> "alpine-base-3\.19\.2-r0";/);
    assert.match(dot, /"openrc-0\.52\.1-r2" -> "busybox-binsh-1\.36\.1-r19" \[label="\/bin\/sh"\];/);
    assert.match(
      dot,
      /"busybox-1\.36\.1-r19" -> "ssl_client-1\.36\.1-r19" \[label="busybox=1\.36\.1-r19", style=dashed\];/,
    );
    assert.equal(formatDot(resolve(index, ['openrc', 'alpine-base'])), dot);
  });

  it('answers why with every chain from the world, shortest first', () => {
    const why = whyChains(base, 'busybox');
    assert.ok(why.chains.length >= 5);
    assert.deepEqual(
      why.chains[0]!.map((s) => `${s.dependency}>${s.package.name}`),
      ['alpine-base>alpine-base', 'busybox>busybox'],
    );
    for (let i = 1; i < why.chains.length; i++) assert.ok(why.chains[i]!.length >= why.chains[i - 1]!.length);
    const text = formatWhy(why);
    assert.match(
      text,
      /^busybox-1\.36\.1-r19 is installed because of:\n {2}world\[alpine-base\] → alpine-base-3\.19\.2-r0 \[busybox\] → busybox-1\.36\.1-r19\n/,
    );
    const iif = formatWhy(whyChains(base, 'ssl_client'));
    assert.match(iif, /\[install_if busybox=1\.36\.1-r19\] → ssl_client-1\.36\.1-r19/);
    assert.equal(whyChains(base, 'busybox', 2).chains.length, 2);
    assert.equal(whyChains(base, 'busybox', 2).truncated, true);
    assert.throws(
      () => whyChains(base, 'busyboxx'),
      (e: unknown) => e instanceof LadingError && /did you mean "busybox"/.test(e.hint ?? ''),
    );
  });
});
