/**
 * Fuzzing the whole build path with hostile packages: random entries (escapes, absolute and overlong names,
 * control characters, whiteouts, out-of-range owner ids, symlink tricks and loops, dangling hard links,
 * overlay xattrs, files under files, several packages claiming one path, sizes that lie), correctly signed and
 * indexed so they reach expansion, installation and layering. Every case either builds an image whose layers
 * are clean, or ends in a LadingError; anything else (a crash, an escape) fails. Used by
 * test/e2e/build-fuzz.test.ts for 12 fixed-seed cases and by scripts/build-fuzz.ts for as long as asked.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { MAX_OWNER_ID } from '../../src/apk/rules.ts';
import { build } from '../../src/pipeline/build.ts';
import { readTar } from '../../src/tar/reader.ts';
import { LadingError } from '../../src/util/errors.ts';
import {
  type HostileEntry,
  type HostilePackage,
  hostileRepo,
  type TestKey,
  testKey,
  zeroBomb,
} from './hostile.ts';
import { layerTars } from './image-tree.ts';

const segment = fc.oneof(
  { weight: 80, arbitrary: fc.constantFrom('usr', 'bin', 'etc', 'lib', 'share', 'x', 'conf', 'a.so') },
  {
    weight: 2,
    arbitrary: fc.constantFrom('..', '.', '', '.wh.x', '.wh..wh..opq', 'a\nb', 'tab\there', '\u0000'),
  },
  { weight: 1, arbitrary: fc.constantFrom('n'.repeat(256), 'é'.repeat(130), '.keep_x', '.SIGN.RSA.k') },
);
const path = fc
  .tuple(fc.boolean(), fc.array(segment, { minLength: 1, maxLength: 3 }), fc.nat({ max: 40 }))
  .map(
    ([abs, parts, deep]) =>
      `${abs && deep % 9 === 0 ? '/' : ''}${parts.join('/')}${deep === 17 ? '/d'.repeat(2100) : ''}`,
  );

const entry: fc.Arbitrary<HostileEntry> = fc
  .record({
    name: path,
    type: fc.constantFrom(
      ...([
        'file',
        'file',
        'file',
        'file',
        'directory',
        'directory',
        'directory',
        'symlink',
        'symlink',
      ] as const),
      ...(['hardlink', 'fifo'] as const),
    ),
    data: fc.string({ maxLength: 40 }),
    link: fc.oneof(
      { weight: 6, arbitrary: path },
      { weight: 1, arbitrary: fc.constantFrom('/', '../../../../etc', '/etc/passwd', 'loop', '') },
    ),
    uid: fc.oneof(
      { weight: 20, arbitrary: fc.constant(undefined) },
      {
        weight: 1,
        arbitrary: fc.constantFrom('4294967294', '4294967295', '99999999999999999999999', '1e23', '-1'),
      },
    ),
    xattr: fc.option(fc.constantFrom('trusted.overlay.opaque', 'user.overlay.redirect', 'user.ok'), {
      nil: undefined,
    }),
  })
  .map((r) => {
    const e: HostileEntry = { name: r.name, type: r.type as HostileEntry['type'] };
    if (r.type === 'file') e.data = r.data;
    if (r.type === 'symlink' || r.type === 'hardlink') e.linkname = r.link;
    if (r.uid !== undefined) e.pax = { uid: r.uid };
    if (r.xattr !== undefined) e.xattrs = { [r.xattr]: Buffer.from('y') };
    return e;
  });

/** Adds each entry's missing parent directories before it, so a case gets past the parent rule to what follows. */
function withParents(entries: readonly HostileEntry[]): HostileEntry[] {
  const seen = new Set<string>();
  const out: HostileEntry[] = [];
  for (const e of entries) {
    const parts = e.name.split('/').filter((p) => p !== '' && p !== '.');
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      if (!seen.has(dir)) out.push({ name: dir, type: 'directory' });
      seen.add(dir);
    }
    seen.add(parts.join('/'));
    out.push(e);
  }
  return out;
}

/**
 * Entries as generated (hostile anywhere), or with their parents added (most then install, and the installer,
 * the post-install steps and the layer writer meet symlink tricks, conflicts and odd modes); sometimes a data
 * part that lies about its size.
 */
const hostilePackage = (i: number): fc.Arbitrary<HostilePackage> =>
  fc
    .record({
      entries: fc.array(entry, { maxLength: 6 }),
      parents: fc.boolean(),
      lie: fc.nat({ max: 40 }),
      name: fc.constantFrom(...Array.from({ length: 12 }, () => `p${i}`), 'p/x', 'p\nx'),
    })
    .map(({ entries, parents, lie, name }) => {
      const pkg: HostilePackage = { name, entries: parents ? withParents(entries) : entries };
      // an undeclared 80 MiB inside a package declaring a few bytes: stopped at the limit
      if (lie === 7) {
        pkg.data = zeroBomb(80 << 20);
        pkg.installedSize = 10;
      }
      return pkg;
    });

export const hostileWorld = fc
  .integer({ min: 1, max: 3 })
  .chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => hostilePackage(i))));

/**
 * What a built image's layers may never hold, whatever the packages said. With package layering, the top layer
 * (the last) may delete a name of the layers below it with a plain whiteout, never an opaque one.
 */
function checkLayers(layout: string, streams = false): void {
  const tars = layerTars(layout);
  for (const [i, tar] of tars.entries()) {
    for (const e of readTar(tar)) {
      const parts = e.name.replace(/\/$/, '').split('/');
      assert.ok(
        !e.name.startsWith('/') && !parts.includes('..'),
        `layer entry ${JSON.stringify(e.name)} escapes`,
      );
      const whiteout = streams && i === tars.length - 1 && e.type === 'file' && e.size === 0;
      const base = parts.at(-1)!;
      assert.ok(
        !parts.slice(0, -1).some((p) => p.startsWith('.wh.')) &&
          (!base.startsWith('.wh.') || (whiteout && base.length > 4 && !base.startsWith('.wh..wh.'))),
        `layer entry ${JSON.stringify(e.name)} is a whiteout`,
      );
      assert.ok(!/[\x00-\x1f]/.test(e.name), `layer entry ${JSON.stringify(e.name)} has a control character`);
      assert.ok(
        Buffer.byteLength(e.name) < 4096 && parts.every((p) => Buffer.byteLength(p) <= 255),
        'lengths',
      );
      assert.ok(e.uid <= MAX_OWNER_ID && e.gid <= MAX_OWNER_ID, `owner of ${e.name}`);
      assert.ok(!Object.keys(e.xattrs).some((x) => x.includes('.overlay.')), `overlay xattr on ${e.name}`);
    }
  }
}

export interface BuildFuzzOptions {
  /** Where to work (repositories, cache, outputs); emptied as it goes. */
  dir: string;
  /** Stop starting cases after this long (the script's soak runs)… */
  seconds?: number;
  /** …or after this many cases (the test: the same work however busy the machine is). */
  cases?: number;
  seed?: number;
  key?: TestKey;
}

/** Runs random hostile worlds through `build` for `seconds` or `cases`; returns how many ran and how they ended. */
export async function fuzzBuild(
  options: BuildFuzzOptions,
): Promise<{ cases: number; built: number; refused: number; codes: Record<string, number> }> {
  const key = options.key ?? (await testKey());
  const cache = join(options.dir, 'cache');
  const stats = { cases: 0, built: 0, refused: 0, codes: {} as Record<string, number> };
  const deadline = options.seconds === undefined ? undefined : Date.now() + options.seconds * 1000;
  await fc.assert(
    fc.asyncProperty(hostileWorld, async (packages) => {
      const dir = join(options.dir, `case-${++stats.cases}`);
      mkdirSync(dir, { recursive: true });
      try {
        const repo = hostileRepo(dir, packages, key);
        const config = join(dir, 'c.yaml');
        const world = packages.map((p) => JSON.stringify(p.name)).join(', ');
        const contents = `contents:\n  repositories: [${repo.repo}]\n  keyring: [${repo.keyFile}]\n  packages: [${world}]\narchs: [x86_64]\n`;
        // every other case: each package's own data stream a layer (a small budget now and then)
        const streams = stats.cases % 2 === 0;
        const budget = (stats.cases >> 1) % 4 === 0 ? 'budget: 2' : '';
        writeFileSync(config, `${contents}${streams ? `layering: {strategy: package, ${budget}}\n` : ''}`);
        const out = join(dir, 'out');
        mkdirSync(out);
        let result: Awaited<ReturnType<typeof build>> | undefined;
        try {
          result = await build({ config, tag: 'fuzz:1', output: out, cacheDir: cache, sbom: false });
        } catch (e) {
          if (!(e instanceof LadingError)) throw e;
          stats.refused++;
          stats.codes[e.code] = (stats.codes[e.code] ?? 0) + 1;
          assert.deepEqual(readdirSync(out), [], 'a refused build writes nothing');
          return;
        }
        await result.release();
        stats.built++;
        checkLayers(out, streams);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }),
    {
      seed: options.seed,
      numRuns: options.cases ?? 1_000_000,
      ...(deadline === undefined
        ? {}
        : { interruptAfterTimeLimit: Math.max(0, deadline - Date.now()), markInterruptAsFailure: false }),
    },
  );
  return stats;
}
