/**
 * Fuzzing `layering: {strategy: package}` with plausible packages that overlap: shared directories with other
 * modes and owners, the same files in several packages (identical or not, with `replaces` or not), hard links,
 * `.keep_` files, symlinked directories (usr-merge style) that later packages ship paths through, xattrs,
 * sub-second mtimes and small budgets. Each case that builds must unpack (flattenLayers) to exactly the
 * single-layer image. Used by test/layers/streams-fuzz.test.ts briefly and by scripts/stack-fuzz.ts for long.
 */
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { build } from '../../src/pipeline/build.ts';
import { LadingError } from '../../src/util/errors.ts';
import { type HostileEntry, type HostilePackage, hostileRepo, type TestKey, testKey } from './hostile.ts';
import { flattenLayers, layerTars } from './image-tree.ts';

const DIRS = ['usr', 'usr/lib', 'usr/bin', 'etc', 'srv', 'lib', 'opt', 'opt/x'];

const entry: fc.Arbitrary<HostileEntry> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .record({
        dir: fc.constantFrom(...DIRS),
        name: fc.constantFrom('a', 'b', 'c', '.keep_x'),
        data: fc.constantFrom('1\n', '2\n', '3\n'),
        mode: fc.constantFrom(0o644, 0o600, 0o755),
        uid: fc.constantFrom('0', '5'),
        fraction: fc.nat({ max: 30 }),
        xattr: fc.nat({ max: 10 }),
      })
      .map((f) => {
        const e: HostileEntry = {
          name: `${f.dir}/${f.name}`,
          data: f.data,
          mode: f.mode,
          pax: { uid: f.uid },
        };
        if (f.fraction === 0) e.pax!.mtime = '1.5';
        if (f.xattr === 0) e.xattrs = { 'user.x': Buffer.from('1') };
        return e;
      }),
  },
  {
    weight: 3,
    arbitrary: fc
      .record({
        dir: fc.constantFrom(...DIRS),
        mode: fc.constantFrom(0o755, 0o750, 0o700),
        uid: fc.constantFrom('0', '7'),
      })
      .map((d) => ({ name: d.dir, type: 'directory' as const, mode: d.mode, pax: { uid: d.uid } })),
  },
  {
    weight: 1,
    arbitrary: fc
      .record({
        at: fc.constantFrom('lib', 'opt/x', 'srv'),
        to: fc.constantFrom('usr/lib', 'usr/bin', '../etc'),
      })
      .map((l) => ({ name: l.at, type: 'symlink' as const, linkname: l.to })),
  },
  {
    weight: 2,
    arbitrary: fc
      .record({ dir: fc.constantFrom(...DIRS), name: fc.constantFrom('h', 'a', 'b') })
      .map((h) => ({ name: `${h.dir}/${h.name}`, type: 'hardlink' as const, linkname: '' })),
  },
);

/** Parents before each entry; a hard link points at the package's latest file (dropped if none). */
function plausible(entries: readonly HostileEntry[]): HostileEntry[] {
  const out: HostileEntry[] = [];
  const seen = new Set<string>();
  let lastFile: string | undefined;
  for (const e of entries) {
    const parts = e.name.split('/');
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      if (!seen.has(dir)) out.push({ name: dir, type: 'directory' });
      seen.add(dir);
    }
    if (e.type === 'hardlink') {
      if (lastFile === undefined || lastFile === e.name) continue;
      out.push({ ...e, linkname: lastFile });
    } else out.push(e);
    seen.add(e.name);
    if ((e.type ?? 'file') === 'file') lastFile = e.name;
  }
  return out;
}

const world = fc
  .array(
    fc.record({
      entries: fc.array(entry, { minLength: 1, maxLength: 7 }),
      replaces: fc.nat({ max: 3 }),
    }),
    { minLength: 1, maxLength: 5 },
  )
  .map((specs) =>
    specs.map((s, i): HostilePackage => {
      const pkg: HostilePackage = { name: `p${i}`, entries: plausible(s.entries) };
      // a chain of dependencies installs them in order; some replace an earlier one
      if (i > 0) pkg.depends = [`p${i - 1}`];
      if (i > 0 && s.replaces === 0) pkg.replaces = [`p${i - 1}`];
      return pkg;
    }),
  );

/** Post-install changes to package files (a step failing on a missing path just ends the case). */
const paths = fc.oneof(
  { weight: 3, arbitrary: fc.constant('') },
  {
    weight: 1,
    arbitrary: fc
      .subarray([
        '  - {path: /usr/lib/a, type: permissions, permissions: 0o700}',
        '  - {path: /opt/hl, type: hardlink, source: /usr/bin/a}',
        '  - {path: /etc/b, type: empty-file}',
        '  - {path: /srv, type: directory, permissions: 0o711}',
      ])
      .map((lines) => (lines.length ? `paths:\n${lines.join('\n')}\n` : '')),
  },
);

export interface StackFuzzOptions {
  dir: string;
  /** Stop starting cases after this long (the script's soak runs)… */
  seconds?: number;
  /** …or after this many cases (the test: the same work however busy the machine is). */
  runs?: number;
  seed?: number;
  key?: TestKey;
}

/** Runs random worlds for `seconds` or `runs`; every built one is compared with its single-layer image. */
export async function fuzzStacking(options: StackFuzzOptions): Promise<{ cases: number; built: number }> {
  const key = options.key ?? (await testKey());
  const cache = join(options.dir, 'cache');
  const stats = { cases: 0, built: 0 };
  const deadline = options.seconds === undefined ? undefined : Date.now() + options.seconds * 1000;
  await fc.assert(
    fc.asyncProperty(
      world,
      fc.constantFrom('', 'budget: 1', 'budget: 2'),
      paths,
      async (packages, budget, extra) => {
        const dir = join(options.dir, `case-${++stats.cases}`);
        mkdirSync(dir, { recursive: true });
        try {
          const repo = hostileRepo(dir, packages, key);
          const config = join(dir, 'c.yaml');
          const contents = `contents:\n  repositories: [${repo.repo}]\n  keyring: [${repo.keyFile}]\n  packages: [${packages.map((p) => p.name).join(', ')}]\narchs: [x86_64]\n${extra}`;
          const outs = { layered: join(dir, 'layered'), single: join(dir, 'single') };
          writeFileSync(config, `${contents}layering: {strategy: package, ${budget}}\n`);
          try {
            await (
              await build({ config, tag: 'f:1', output: `${outs.layered}/`, cacheDir: cache, sbom: false })
            ).release();
          } catch (e) {
            if (e instanceof LadingError) return; // conflicts and the like: nothing to compare
            throw e;
          }
          writeFileSync(config, contents);
          await (
            await build({ config, tag: 'f:1', output: `${outs.single}/`, cacheDir: cache, sbom: false })
          ).release();
          stats.built++;
          assert.deepEqual(flattenLayers(layerTars(outs.layered)), flattenLayers(layerTars(outs.single)));
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      },
    ),
    {
      seed: options.seed,
      numRuns: options.runs ?? 1_000_000,
      ...(deadline === undefined
        ? {}
        : { interruptAfterTimeLimit: Math.max(0, deadline - Date.now()), markInterruptAsFailure: false }),
    },
  );
  return stats;
}
