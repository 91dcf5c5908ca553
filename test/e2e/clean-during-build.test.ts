/**
 * `lading clean` while builds run: the help promises it is safe. A running build pins what it uses (hard links
 * of its own), so whatever a clean removes — the whole cache, or everything with --older-than 0 — the build
 * finishes with the same image, and the cache it leaves is consistent. Raced three ways: in one process with
 * the clean started at each phase of the build (cold and warm), and as real processes (two builds, a clean
 * started part-way) once for each kind of clean. Interrupted builds remove their temporary files; `clean --verify` removes
 * what a SIGKILLed one left.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { build } from '../../src/pipeline/build.ts';
import { cleanCache, pruneCache, verifyCache } from '../../src/store/maintenance.ts';
import { type HostilePackage, hostileRepo, testKey, zeroBomb } from '../helpers/hostile.ts';
import { ladingBin } from '../helpers/paths.ts';
import { ladingAsync, tempDir } from '../helpers/tools.ts';

/** Five small packages of 30 files each: enough to expand, install and layer in a few milliseconds. */
function packages(): HostilePackage[] {
  return Array.from({ length: 5 }, (_, i) => ({
    name: `p${i}`,
    depends: i > 0 ? [`p${i - 1}`] : [],
    entries: [
      { name: 'usr', type: 'directory' },
      { name: `usr/p${i}`, type: 'directory' },
      ...Array.from({ length: 30 }, (_, j) => ({ name: `usr/p${i}/f${j}`, data: `${i}/${j}\n`.repeat(50) })),
    ],
  }));
}

/** Where a clean hurt: packages being expanded, installed from the store, layers written and copied out. */
const PHASES = ['fetch', 'install', 'layer', 'output'] as const;
type Clean = 'all' | 'older-than-0';

describe('lading clean during builds', () => {
  const tmp = tempDir('lading-clean-race-');
  let config: string;
  let raceConfig: string;
  let bigConfig: string;
  before(async () => {
    const key = await testKey();
    const repo = hostileRepo(
      tmp.path,
      [
        ...packages(),
        { name: 'big', installedSize: 192 << 20, data: zeroBomb(192 << 20) },
        // a package whose 16 MiB take a moment to expand and to layer: a wider window for the clean
        { name: 'wide', installedSize: 16 << 20, data: zeroBomb(16 << 20), depends: ['p4'] },
      ],
      key,
    );
    const write = (name: string, pkgs: string) => {
      const path = join(tmp.path, name);
      writeFileSync(
        path,
        `contents:\n  repositories: [${repo.repo}]\n  keyring: [${repo.keyFile}]\n  packages: [${pkgs}]\narchs: [x86_64]\n`,
      );
      return path;
    };
    config = write('phases.yaml', 'p4');
    raceConfig = write('race.yaml', 'wide');
    bigConfig = write('big.yaml', 'big');
  });
  after(() => tmp.remove());

  function cleaner(cache: string, mode: Clean): Promise<unknown> {
    return mode === 'all' ? cleanCache(cache) : pruneCache(cache, { olderThanMs: 0 });
  }

  it('in one process: a clean started at every phase (cold and warm caches in turn) never fails the build', async () => {
    let expected: string | undefined;
    let n = 0;
    for (const mode of ['all', 'older-than-0'] as const) {
      const cache = join(tmp.path, `in-process-${mode}`);
      for (const [i, phase] of PHASES.entries()) {
        for (const warm of [i % 2 === 1]) {
          if (!warm) await cleanCache(cache);
          const out = join(tmp.path, `ip-${++n}.tar`);
          let cleaning: Promise<unknown> | undefined;
          const result = await build({
            config,
            tag: 'race:1',
            output: out,
            cacheDir: cache,
            sbom: false,
            onEvent: (e) => {
              if (e.type === 'phase' && e.phase === phase && cleaning === undefined)
                cleaning = cleaner(cache, mode);
            },
          });
          await cleaning;
          await result.release?.();
          expected ??= result.digest;
          assert.equal(
            result.digest,
            expected,
            `${mode} at ${phase} (${warm ? 'warm' : 'cold'}): the same image`,
          );
          assert.ok(statSync(out).size > 0);
        }
      }
      assert.deepEqual((await verifyCache(cache)).problems, [], `${mode}: the cache is consistent`);
      assert.deepEqual(readdirSync(join(cache, 'v1.pins')), [], 'every build let go of its pins');
    }
  });

  // Every phase is raced deterministically in one process above; here real processes, once per kind of clean.
  it('as processes: two builds, and a clean as soon as packages are expanded, twice, all succeed', async () => {
    const cache = join(tmp.path, 'processes');
    const expanded = () => {
      const dir = join(cache, 'v1/refs/apk-expanded');
      return existsSync(dir) && readdirSync(dir).length > 0;
    };
    for (const [i, extraMs] of [0, 40].entries()) {
      const mode: Clean = i % 2 === 0 ? 'all' : 'older-than-0';
      const builds = [1, 2].map((b) =>
        ladingAsync(['build', raceConfig, 'race:1', join(tmp.path, `p${i}-${b}.tar`), '--cache-dir', cache]),
      );
      // the moment a clean hurt most: the builds are about to read what they expanded
      // (no time limit: a clean at any moment must be safe, so a slow machine only moves the moment)
      let settled = false;
      void Promise.all(builds).then(() => (settled = true));
      while (!expanded() && !settled) await new Promise((r) => setTimeout(r, 3));
      await new Promise((r) => setTimeout(r, extraMs));
      await cleaner(cache, mode);
      for (const r of await Promise.all(builds)) {
        assert.equal(r.status, 0, `round ${i} (${mode}): ${r.stderr}`);
        assert.doesNotMatch(r.stderr, /internal error/);
      }
    }
    const verify = await ladingAsync(['clean', '--verify', '--dry-run', '--cache-dir', cache]);
    assert.equal(verify.status, 0, verify.stderr);
    assert.match(verify.stderr, /: 0 problems/);
  });

  it('SIGINT during a large expansion removes its temporary files; clean --verify removes what SIGKILL left', async () => {
    const cache = join(tmp.path, 'interrupted');
    const { tmpFiles, pins } = {
      tmpFiles: () => (existsSync(join(cache, 'v1/tmp')) ? readdirSync(join(cache, 'v1/tmp')) : []),
      pins: () => (existsSync(join(cache, 'v1.pins')) ? readdirSync(join(cache, 'v1.pins')) : []),
    };
    /** Starts a build of the 192 MiB package and waits until its expansion has written something. */
    const interrupted = async (signal: NodeJS.Signals) => {
      const child = spawn(
        process.execPath,
        [ladingBin, 'build', bigConfig, 'big:1', join(tmp.path, 'big.tar'), '--cache-dir', cache],
        { stdio: 'ignore' },
      );
      let running = true;
      const exited = new Promise<number | null>((r) =>
        child.once('exit', (code, sig) => {
          running = false;
          r(code ?? (sig ? 128 : 1));
        }),
      );
      const writing = () =>
        pins().some((p) =>
          readdirSync(join(cache, 'v1.pins', p)).some(
            (f) => statSync(join(cache, 'v1.pins', p, f)).size > 1 << 20,
          ),
        );
      // however long the build takes to start on a busy machine: until it writes, or ends without having written
      while (running && !writing()) await new Promise((r) => setTimeout(r, 10));
      if (!writing())
        assert.fail(`the build ended (exit ${await exited}) before it was seen expanding the package`);
      child.kill(signal);
      return exited;
    };
    assert.equal(await interrupted('SIGINT'), 130);
    assert.deepEqual(pins(), [], 'SIGINT: no pins or temporary files left');
    assert.deepEqual(tmpFiles(), []);
    await interrupted('SIGKILL');
    assert.equal(pins().length, 1, 'SIGKILL leaves the build’s directory');
    const r = await ladingAsync(['clean', '--verify', '--cache-dir', cache]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /removed 1 file left by interrupted writers/);
    assert.deepEqual(pins(), []);
  });
});
