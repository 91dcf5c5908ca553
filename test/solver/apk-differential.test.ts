/**
 * Differential test against the real apk-tools 2.14.4: seeded random worlds over the real Alpine v3.19
 * main + community indexes must give exactly the packages `apk add --simulate` prints, in the same install
 * order, and worlds apk
 * rejects must be rejected with the same "unable to select packages" tree (compared after sorting the
 * tokens of each label, as apk's order there follows its hash tables).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { PackageInfo } from '../../src/apk/types.ts';
import type { PackageIndex } from '../../src/solver/package-index.ts';
import { buildIndex, resolve } from '../../src/solver/resolve.ts';
import { isLadingError } from '../../src/util/errors.ts';
import { apkOracle, fixture } from '../helpers/paths.ts';
import { run } from '../helpers/tools.ts';
import { ALPINE_INDEXES, alpinePackages, alpineRepositories } from './alpine.ts';
import { normaliseTree } from './apk-suite.ts';

/**
 * The worlds: `plain` draws names only; `constrained` adds `!name`, `=ver`, `<ver`, `~ver`, `>=ver`;
 * `tagged` configures community as `@comm` and asks for most community names with `@comm`.
 * Change a list only by appending, so that a failing seed keeps meaning the same world.
 */
const SEEDS = {
  plain: range(1, 120),
  constrained: range(1001, 1050),
  tagged: range(2001, 2050),
};
const WIDTH = 50; // apk wraps its tree at 50 columns when not on a terminal

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

/** mulberry32: a small seeded PRNG, so each seed always gives the same world. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Pools {
  names: string[];
  installIf: string[];
  virtual: string[];
  community: Set<string>;
  version: Map<string, string>;
}

function pools(main: PackageInfo[], community: PackageInfo[]): Pools {
  const all = [...main, ...community];
  const names = [...new Set(all.map((p) => p.name))].sort();
  const nameSet = new Set(names);
  return {
    names,
    installIf: [...new Set(all.filter((p) => p.installIf.length > 0).map((p) => p.name))].sort(),
    // provided names that no package is called (so:, cmd:, pc: and virtual names)
    virtual: [...new Set(all.flatMap((p) => p.provides.map((x) => x.split('=')[0]!)))]
      .filter((n) => !nameSet.has(n))
      .sort(),
    community: new Set(community.map((p) => p.name)),
    version: new Map(all.map((p) => [p.name, p.version])),
  };
}

function world(kind: keyof typeof SEEDS, seed: number, p: Pools): string[] {
  const r = prng(seed);
  const pick = (a: string[]) => a[Math.floor(r() * a.length)]!;
  const size = 1 + Math.floor(r() * 15);
  const seen = new Set<string>();
  const out: string[] = [];
  while (out.length < size) {
    const x = r();
    const name = x < 0.7 ? pick(p.names) : x < 0.85 ? pick(p.installIf) : pick(p.virtual);
    if (seen.has(name)) continue;
    seen.add(name);
    let entry = name;
    if (kind === 'tagged' && p.community.has(name) && r() < 0.9) entry += '@comm';
    const v = p.version.get(name);
    if (kind !== 'plain' && v !== undefined) {
      const y = r();
      const minor = v
        .split('.')
        .slice(0, 2)
        .join('.')
        .replace(/-r\d+$/, '');
      if (y < 0.05) entry = `!${entry}`;
      else if (y < 0.1) entry += `=${v}`;
      else if (y < 0.15) entry += `<${v}`;
      else if (y < 0.2) entry += `~${minor}`;
      else if (y < 0.25) entry += `>=${minor}`;
    }
    out.push(entry);
  }
  return out;
}

interface Outcome {
  ok: boolean;
  /** name[@tag]-version in install order */
  order: string[];
  tree: string;
}

describe('resolver vs apk-tools 2.14.4 on Alpine v3.19 main + community', () => {
  let dir: string;
  let root: string;
  let pool: Pools;
  const indexes: { plain?: PackageIndex; tagged?: PackageIndex } = {};

  before(() => {
    if (!existsSync(apkOracle)) throw new Error(`missing ${apkOracle}`);
    dir = mkdtempSync(join(tmpdir(), 'lading-apkdiff-'));
    for (const [repo, file] of Object.entries(ALPINE_INDEXES)) {
      mkdirSync(join(dir, repo, 'x86_64'), { recursive: true });
      symlinkSync(fixture(file), join(dir, repo, 'x86_64', 'APKINDEX.tar.gz'));
    }
    root = join(dir, 'root');
    const init = run(apkOracle, ['add', '--root', root, '--initdb', '--no-network', '--arch', 'x86_64']);
    assert.equal(init.status, 0, init.stderr);
    const { main, community } = alpinePackages();
    pool = pools(main, community);
    indexes.plain = buildIndex({ repositories: alpineRepositories(), arch: 'x86_64' });
    indexes.tagged = buildIndex({ repositories: alpineRepositories('comm'), arch: 'x86_64' });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  function oracle(w: string[], tagged: boolean): Promise<Outcome> {
    const args = [
      'add',
      '--root',
      root,
      '--simulate',
      '--no-network',
      '--no-cache',
      '--arch',
      'x86_64',
      '--keys-dir',
      fixture('alpine/keys'),
      '--repositories-file',
      '/dev/null',
      '--repository',
      join(dir, 'main'),
      '--repository',
      tagged ? `@comm ${join(dir, 'community')}` : join(dir, 'community'),
      '--',
      ...w,
    ];
    return new Promise((done, fail) => {
      const child = spawn(apkOracle, args);
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (out += d));
      child.on('error', fail);
      child.on('close', () => {
        const order = [...out.matchAll(/^\(\d+\/\d+\) Installing (\S+) \((\S+)\)$/gm)].map(
          (m) => `${m[1]}-${m[2]}`,
        );
        const at = out.indexOf('ERROR: ');
        done({ ok: at === -1, order, tree: at === -1 ? '' : out.slice(at + 7).trimEnd() });
      });
    });
  }

  function lading(w: string[], tagged: boolean): Outcome {
    try {
      const r = resolve(tagged ? indexes.tagged! : indexes.plain!, w, { width: WIDTH });
      return {
        ok: true,
        order: r.packages.map((p) => `${p.name}${p.tag ? `@${p.tag}` : ''}-${p.version}`),
        tree: '',
      };
    } catch (e) {
      if (!isLadingError(e) || e.code !== 'SOLVER_UNSATISFIABLE') throw e;
      return { ok: false, order: [], tree: e.message };
    }
  }

  it(`gives apk's package set for ${Object.values(SEEDS).flat().length} seeded random worlds`, async () => {
    const started = Date.now();
    const jobs = (Object.keys(SEEDS) as (keyof typeof SEEDS)[]).flatMap((kind) =>
      SEEDS[kind].map((seed) => ({ kind, seed, world: world(kind, seed, pool) })),
    );
    const failures: string[] = [];
    let rejected = 0;
    let identicalTrees = 0;
    let next = 0;
    // two apk processes at a time (the machines have 2 cores); lading answers in-process meanwhile
    const worker = async () => {
      while (next < jobs.length) {
        const job = jobs[next++]!;
        const tagged = job.kind === 'tagged';
        const want = await oracle(job.world, tagged);
        const got = lading(job.world, tagged);
        const what = `${job.kind} seed ${job.seed}: ${job.world.join(' ')}`;
        if (!want.ok) rejected++;
        if (want.ok !== got.ok) {
          failures.push(
            `${what}\n  apk ${want.ok ? 'installs' : 'rejects'}, lading ${got.ok ? 'installs' : `rejects:\n${got.tree}`}`,
          );
        } else if (want.ok && [...want.order].sort().join(' ') !== [...got.order].sort().join(' ')) {
          const extra = got.order.filter((x) => !want.order.includes(x));
          const missing = want.order.filter((x) => !got.order.includes(x));
          failures.push(`${what}\n  lading adds: ${extra.join(' ')}\n  lading lacks: ${missing.join(' ')}`);
        } else if (want.ok && want.order.join(' ') !== got.order.join(' ')) {
          failures.push(
            `${what}\n  same packages, other install order:\n  apk:    ${want.order.join(' ')}\n  lading: ${got.order.join(' ')}`,
          );
        } else if (!want.ok) {
          if (want.tree === got.tree) identicalTrees++;
          else if (normaliseTree(want.tree) !== normaliseTree(got.tree)) {
            failures.push(`${what}\n  apk:\n${want.tree}\n  lading:\n${got.tree}`);
          }
        }
      }
    };
    await Promise.all([worker(), worker()]);
    console.log(
      `apk differential: ${jobs.length} worlds, ${jobs.length - failures.length} agree on package set and install order ` +
        `(${rejected} rejected by apk; ${identicalTrees} of those with a byte-identical tree), ` +
        `${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
    assert.deepEqual(failures, []);
  });
});
