/**
 * `lading show-packages`, `dot` and `why`, run as a user runs them (the bundled CLI), on configs pointing at
 * the real Alpine v3.19 main + community indexes laid out as repositories (<tmp>/repo/<name>/<arch>/).
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { layoutPaths } from '../../src/store/layout.ts';
import { BENCHMARK_WORLD } from '../helpers/alpine-indexes.ts';
import { apkOracle, fixture } from '../helpers/paths.ts';
import { startRepoServer } from '../helpers/repo-server.ts';
import { lading, ladingAsync, run, tempDir } from '../helpers/tools.ts';

const tmp = tempDir('lading-resolve-cli-');
after(tmp.remove);

const KEYS = fixture('alpine/keys');
const x86Key = join(KEYS, 'alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub');
const armKey = join(KEYS, 'alpine-devel@lists.alpinelinux.org-616ae350.rsa.pub');
const INDEXES: Record<string, string> = {
  'main/x86_64': 'v3.19-main-x86_64',
  'community/x86_64': 'v3.19-community-x86_64',
  'main/aarch64': 'v3.17-main-aarch64',
  'old/x86_64': 'v3.16-main-x86_64',
};
for (const [dir, name] of Object.entries(INDEXES)) {
  mkdirSync(join(tmp.path, 'repo', dir), { recursive: true });
  symlinkSync(
    fixture(`alpine/indexes/${name}-APKINDEX.tar.gz`),
    join(tmp.path, 'repo', dir, 'APKINDEX.tar.gz'),
  );
}
const main = join(tmp.path, 'repo/main');
const community = join(tmp.path, 'repo/community');

/** Writes a config and returns its path. */
function config(name: string, yaml: string): string {
  const path = join(tmp.path, name);
  writeFileSync(path, yaml);
  return path;
}

// v3.19 main alone (alpine-base needs nothing from community): each command that resolves afresh reads a
// quarter of the index text; the first test resolves over main + community
const base = config(
  'base.yaml',
  `contents:
  repositories: [${main}]
  keyring: [${x86Key}]
  packages: [alpine-base]
archs: [x86_64]
`,
);
const cache = join(tmp.path, 'cache');

/** Runs a command with the shared cache; asserts it succeeded. */
function ok(args: string[]): string {
  const r = lading([...args, '--cache-dir', cache]);
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

describe('show-packages', () => {
  it('prints what apk-tools would install, in the same order (the benchmark world, cold cache)', () => {
    const big = config(
      'big.yaml',
      `contents:
  repositories: [${main}, ${community}]
  keyring: [${x86Key}]
  packages: [${BENCHMARK_WORLD.join(', ')}]
archs: [x86_64]
`,
    );
    const root = join(tmp.path, 'apk-root');
    const init = run(apkOracle, ['add', '--root', root, '--initdb', '--no-network', '--arch', 'x86_64']);
    assert.equal(init.status, 0, init.stderr);
    const apk = run(apkOracle, [
      ...['add', '--root', root, '--simulate', '--no-network', '--no-cache', '--arch', 'x86_64'],
      ...['--keys-dir', KEYS, '--repositories-file', '/dev/null', '--repository', main],
      ...['--repository', community, ...BENCHMARK_WORLD],
    ]);
    assert.equal(apk.status, 0, apk.stderr);
    const expected = [...apk.stdout.matchAll(/^\(\d+\/\d+\) Installing (\S+) \((\S+)\)$/gm)].map(
      (m) => `${m[1]} ${m[2]}`,
    );
    assert.equal(expected.length, 175);
    const r = lading(['show-packages', big, '--cache-dir', join(tmp.path, 'cold-cache')]);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.stdout.trimEnd().split('\n'), expected);
  });

  // Each format's rendering is checked in-process (test/solver/resolve.test.ts); here, that the command passes
  // --format through: a named format, a template, JSON, and the index's text as UTF-8 (one process each).
  it('prints apko’s formats, templates and JSON with the index’s fields', () => {
    const lines = ok(['show-packages', base]).trimEnd().split('\n');
    assert.ok(lines.includes('musl 1.2.4_git20230717-r4'), lines.join('\n'));
    assert.ok(lines.includes('alpine-base 3.19.2-r0'));
    const musl = ok(['show-packages', base, '--format', 'packagelock-source'])
      .split('\n')
      .find((l) => l.includes('musl') && !l.includes('musl-utils'));
    assert.equal(musl, `- musl=1.2.4_git20230717-r4 # ${main}/x86_64/musl-1.2.4_git20230717-r4.apk`);

    const json = JSON.parse(ok(['show-packages', base, '--format', 'json']));
    assert.equal(json.length, lines.length);
    const m = json.find((p: { name: string }) => p.name === 'musl');
    assert.deepEqual(m, {
      name: 'musl',
      version: '1.2.4_git20230717-r4',
      arch: 'x86_64',
      origin: 'musl',
      repository: main,
      checksum: 'Q1kqFQHSGzXGq3k7gQTqb+GxbmnOw=',
      size: 407278,
      installedSize: 667648,
      license: 'MIT',
    });
    // a template; non-ASCII text in a record (the resolver reads indexes as latin1) comes out as UTF-8
    const template = '{{.Name}}|{{.Arch}}|{{.Origin}}|{{.License}}: {{.Maintainer}}';
    const fields = ok(['show-packages', base, '-p', 'aaudit', '--format', template]);
    assert.match(fields, /^musl\|x86_64\|musl\|MIT: Timo Teräs <timo\.teras@iki\.fi>$/m);
    assert.match(fields, /^aaudit\|x86_64\|aaudit\|Unknown: Timo Teräs <timo\.teras@iki\.fi>$/m);
  });

  it('refuses an unknown format before doing any work', () => {
    const r = lading(['show-packages', join(tmp.path, 'missing.yaml'), '--format', '{{.Nope}}']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /unknown field \.Nope/);
  });

  it('refuses a template function it does not know, as apko’s Go templates do', () => {
    const missing = join(tmp.path, 'missing.yaml'); // the format is checked before the config is read
    for (const [format, message] of [
      ['{{.Name | upper}}', /function "upper" not defined \(in \{\{\.Name \| upper\}\}\)/],
      ['{{ upper .Name }}', /function "upper" not defined/],
      ['{{printf "%s" .Name}}', /function "printf" is not supported/],
      ['{{if .Name}}x{{end}}', /"if" is not supported/],
      ['{{.Name', /unclosed action/],
    ] as const) {
      const r = lading(['show-packages', missing, '--format', format]);
      assert.equal(r.status, 1, format);
      assert.equal(r.stdout, '', format);
      assert.match(r.stderr, message, format);
      assert.match(r.stderr, /hint: lading's templates hold fields only/, format);
    }
  });

  it('reuses a resolution only for the exact same index bytes', () => {
    const cacheDir = join(tmp.path, 'memo-cache');
    const swap = join(tmp.path, 'repo/swap');
    mkdirSync(join(swap, 'x86_64'), { recursive: true });
    const index = join(swap, 'x86_64/APKINDEX.tar.gz');
    symlinkSync(fixture('alpine/indexes/v3.19-main-x86_64-APKINDEX.tar.gz'), index);
    const cfg = config(
      'swap.yaml',
      `contents:\n  repositories: [${swap}]\n  keyring: [${x86Key}]\n  packages: [musl]\narchs: [x86_64]\n`,
    );
    const show = (...flags: string[]) => {
      const r = lading(['show-packages', cfg, '--cache-dir', cacheDir, '--log-level', 'debug', ...flags]);
      assert.equal(r.status, 0, r.stderr);
      return r;
    };
    const first = show();
    assert.equal(first.stdout, 'musl 1.2.4_git20230717-r4\n');
    assert.match(first.stderr, /1 packages, resolved in/);
    const again = show();
    assert.equal(again.stdout, first.stdout);
    assert.match(again.stderr, /resolution from the cache/);
    // another resolver rule (apk 3's negated install_if) is another resolution
    const apk3 = show('--apk3-install-if');
    assert.equal(apk3.stdout, first.stdout);
    assert.match(apk3.stderr, /1 packages, resolved in/);
    // another index under the same path: resolved again, not the cached answer
    rmSync(index);
    symlinkSync(fixture('alpine/indexes/v3.16-main-x86_64-APKINDEX.tar.gz'), index);
    const other = show();
    assert.match(other.stdout, /^musl 1\.2\.3-r\d+\n$/);
    assert.match(other.stderr, /resolved in/);
    // a damaged cache entry is dropped and the answer computed again
    const { blobs } = layoutPaths(cacheDir);
    for (const dir of readdirSync(blobs)) {
      for (const f of readdirSync(join(blobs, dir))) {
        const p = join(blobs, dir, f);
        chmodSync(p, 0o644);
        writeFileSync(p, 'garbage');
      }
    }
    assert.equal(show().stdout, other.stdout);
  });

  it('lists every architecture in turn, as apko; JSON keyed by architecture', () => {
    // v3.19 for x86_64, v3.17 for aarch64: these two packages have the same version in both
    const cfg = config(
      'multi.yaml',
      `contents:\n  repositories: [${main}]\n  keyring: [${x86Key}, ${armKey}]\n  packages: [alpine-keys, esh]\narchs: [aarch64, x86_64]\n`,
    );
    const r = lading(['show-packages', cfg, '--cache-dir', cache]);
    assert.equal(r.status, 0, r.stderr);
    // archs: are kept sorted by their OCI names (amd64 = x86_64 before arm64 = aarch64)
    assert.match(r.stderr, /x86_64: 2 packages\naarch64: 2 packages/);
    assert.equal(r.stdout, 'alpine-keys 2.4-r1\nesh 0.3.2-r0\n'.repeat(2));
    const json = JSON.parse(ok(['show-packages', cfg, '--format', 'json']));
    assert.deepEqual(Object.keys(json), ['x86_64', 'aarch64']);
    assert.ok(json.aarch64.every((p: { arch: string }) => p.arch === 'aarch64' || p.arch === 'noarch'));
  });

  it('one version across architectures: a package no version of which both have is an error naming it', () => {
    const cfg = config(
      'multi-busybox.yaml',
      `contents:\n  repositories: [${main}]\n  keyring: [${x86Key}, ${armKey}]\n  packages: [busybox]\narchs: [aarch64, x86_64]\n`,
    );
    for (const command of ['show-packages', 'dot']) {
      const r = lading([command, cfg, '--cache-dir', cache]);
      assert.equal(r.status, 1, r.stderr);
      assert.match(
        r.stderr,
        /busybox: x86_64 has 1\.36\.1-r\d+; aarch64 has 1\.35\.0-r\d+ \(no version is in every/,
      );
    }
    // each architecture alone resolves
    assert.match(ok(['show-packages', cfg, '--arch', 'x86_64']), /^busybox 1\.36\.1-r\d+$/m);
    assert.match(ok(['dot', cfg, '--arch', 'aarch64']), /"busybox-1\.35\.0-r\d+"/);
  });

  it('takes -p, -r and -k as apko does', () => {
    const bare = config('bare.yaml', 'contents:\n  packages: [busybox]\narchs: [x86_64]\n');
    const r = lading(['show-packages', bare, '-r', main, '-k', x86Key, '-p', 'zlib', '--cache-dir', cache]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^busybox 1\.36\.1-r\d+$/m);
    assert.match(r.stdout, /^zlib 1\.3\.1-r0$/m);
  });

  it('fails with apk’s explanation when no package set satisfies the world', () => {
    // one world with both kinds of problem: apk names each
    const r = lading(['show-packages', base, '-p', 'musl<1', '-p', 'no-such-package', '--cache-dir', cache]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /unable to select packages:/);
    assert.match(r.stderr, /musl-1\.2\.4_git20230717-r4:\s+breaks: world\[musl<1\]/);
    assert.match(r.stderr, /no-such-package \(no such package\)/);
  });

  it('checks signatures unless told not to', () => {
    const unsigned = config(
      'wrong-key.yaml',
      `contents:\n  repositories: [${main}]\n  keyring: [${armKey}]\n  packages: [busybox]\narchs: [x86_64]\n`,
    );
    const r = lading(['show-packages', unsigned, '--cache-dir', cache]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /signature check failed/);
    assert.match(r.stderr, /repo\/main\/x86_64\/APKINDEX\.tar\.gz/);
    const ignored = lading(['show-packages', unsigned, '--ignore-signatures', '--cache-dir', cache]);
    assert.equal(ignored.status, 0, ignored.stderr);
    assert.match(ignored.stderr, /signatures are NOT checked/);
  });

  it('refuses an empty world as build does', () => {
    const empty = config(
      'empty.yaml',
      `contents:\n  repositories: [${main}]\n  keyring: [${x86Key}]\narchs: [x86_64]\n`,
    );
    const r = lading(['show-packages', empty, '--cache-dir', cache]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /contents\.packages is empty/);
  });
});

describe('--offline', () => {
  let server: Awaited<ReturnType<typeof startRepoServer>>;
  before(async () => {
    server = await startRepoServer();
  });
  after(() => server.close());

  it('works from the cache only: fails clearly when cold, succeeds once filled, local repositories always', async () => {
    const cfg = config(
      'remote.yaml',
      `contents:\n  repositories: [${server.url}/repo]\n  keyring: [${x86Key}]\n  packages: [alpine-base]\narchs: [x86_64]\n`,
    );
    const cold = join(tmp.path, 'offline-cache');
    const offline = await ladingAsync(['show-packages', cfg, '--offline', '--cache-dir', cold]);
    assert.equal(offline.status, 1);
    assert.match(
      offline.stderr,
      /--offline: the index of repository http:\/\/127\.0\.0\.1:\d+\/repo \(x86_64\)/,
    );
    assert.match(offline.stderr, /run once without --offline/);
    const online = await ladingAsync(['show-packages', cfg, '--cache-dir', cold]);
    assert.equal(online.status, 0, online.stderr);
    assert.match(online.stdout, /^alpine-base 3\.19\.1-r0$/m);
    const requests = server.requests.length;
    const again = await ladingAsync(['show-packages', cfg, '--offline', '--cache-dir', cold]);
    assert.equal(again.status, 0, again.stderr);
    assert.equal(again.stdout, online.stdout);
    assert.equal(server.requests.length, requests, 'no request made offline');
    const local = await ladingAsync([
      'show-packages',
      base,
      '--offline',
      '--cache-dir',
      join(tmp.path, 'empty'),
    ]);
    assert.equal(local.status, 0, local.stderr);
  });
});

describe('dot', () => {
  it('prints a well-formed digraph of the resolution', () => {
    const packages = ok(['show-packages', base, '--format', '{{.Name}}-{{.Version}}']).trimEnd().split('\n');
    const dot = ok(['dot', base]);
    const lines = dot.trimEnd().split('\n');
    assert.equal(lines[0], 'digraph packages {');
    assert.equal(lines.at(-1), '}');
    const nodes = new Set<string>(['world']);
    const edges: [string, string][] = [];
    for (const line of lines.slice(1, -1)) {
      // every statement is one line ending in ';', with balanced quotes
      assert.match(line, /;$/, line);
      assert.equal((line.replace(/\\"/g, '').match(/"/g) ?? []).length % 2, 0, line);
      const edge = /^ {2}"([^"]+)" -> "([^"]+)"( \[.*\])?;$/.exec(line);
      if (edge) edges.push([edge[1]!, edge[2]!]);
      else {
        const node = /^ {2}"([^"]+)"( \[.*\])?;$/.exec(line);
        if (node) nodes.add(node[1]!);
      }
    }
    assert.deepEqual([...nodes].filter((n) => n !== 'world').sort(), [...packages].sort());
    for (const [from, to] of edges) assert.ok(nodes.has(from) && nodes.has(to), `${from} -> ${to}`);
    assert.deepEqual(
      edges.filter(([from]) => from === 'world').map(([, to]) => to),
      ['alpine-base-3.19.2-r0'],
    );
    // every package is reached from the world
    const reached = new Set(['world']);
    for (let grew = true; grew; ) {
      grew = false;
      for (const [from, to] of edges)
        if (reached.has(from) && !reached.has(to)) grew = reached.add(to) !== null;
    }
    assert.equal(reached.size, nodes.size);
    assert.match(dot, /"alpine-base-3\.19\.2-r0" -> "busybox-1\.36\.1-r\d+";/);
    assert.match(dot, /\[label="so:libc\.musl-x86_64\.so\.1"\]/);

    const tree = ok(['dot', base, '-S']);
    const incoming = [...tree.matchAll(/-> "([^"]+)"/g)].map((m) => m[1]);
    assert.equal(incoming.length, packages.length, 'one incoming edge per package');
    assert.equal(new Set(incoming).size, packages.length);
  });

  it('draws the first architecture only, or the one asked for', () => {
    const cfg = config(
      'multi-dot.yaml',
      `contents:\n  repositories: [${main}]\n  keyring: [${x86Key}, ${armKey}]\n  packages: [alpine-keys]\narchs: [aarch64, x86_64]\n`,
    );
    const first = ok(['dot', cfg]);
    assert.match(first, /"alpine-keys-2\.4-r1"/);
    assert.equal(ok(['dot', cfg, '--arch', 'aarch64']), first);
  });
});

describe('why', () => {
  it('prints every chain from the world, shortest first', () => {
    const out = ok(['why', base, 'busybox', '--all']).trimEnd().split('\n');
    assert.match(out[0]!, /^busybox-1\.36\.1-r\d+ is installed because of:$/);
    assert.ok(out.length > 2);
    for (const chain of out.slice(1))
      assert.match(chain, /^ {2}world\[alpine-base\] → alpine-base-3\.19\.2-r0 /);
    assert.match(
      out[1]!,
      /^ {2}world\[alpine-base\] → alpine-base-3\.19\.2-r0 \[busybox\] → busybox-1\.36\.1-r\d+$/,
    );
    const steps = out.slice(1).map((l) => l.split(' → ').length);
    assert.deepEqual(
      steps,
      [...steps].sort((a, b) => a - b),
    );
    const limited = ok(['why', base, 'busybox', '--limit', '1']).trimEnd().split('\n');
    assert.equal(limited.length, 3);
    assert.equal(limited[2], `  … and ${out.length - 2} more (--all shows every chain)`);
  });

  it('shows the 5 shortest chains and how many more', () => {
    const few = ok(['why', base, 'musl']).trimEnd().split('\n');
    assert.equal(few.length, 1 + 5 + 1, few.join('\n'));
    const more = Number(/^ {2}… and (\d+) more \(--all shows every chain\)$/.exec(few[6]!)?.[1]);
    assert.ok(more > 20, few[6]);
  });

  it('explains a provided name through its provider', () => {
    assert.match(
      ok(['why', base, 'cmd:sh']),
      /^busybox-binsh-1\.36\.1-r\d+ \(provides cmd:sh\) is installed because of:/,
    );
  });

  it('says whether a package that is not installed exists at all', () => {
    const notNeeded = lading(['why', base, 'vim', '--cache-dir', cache]);
    assert.equal(notNeeded.status, 1);
    assert.match(notNeeded.stderr, /"vim" is not installed for x86_64: nothing in the world depends on it/);
    assert.match(notNeeded.stderr, /vim-9\.0\.\d+-r\d+/);
    assert.match(notNeeded.stderr, /pass -p vim/);
    const missing = lading(['why', base, 'alpine-bsae', '--cache-dir', cache]);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /no package "alpine-bsae" in the repositories for x86_64/);
    assert.match(missing.stderr, /did you mean "alpine-base"/);
  });
});
