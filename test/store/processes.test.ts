/** Several real processes sharing one cache: concurrent fills, and processes killed with SIGKILL mid-way. */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { sweepTemporaryFiles } from '../../src/store/cache.ts';
import { layoutPaths } from '../../src/store/layout.ts';
import { verifyCache } from '../../src/store/maintenance.ts';
import { type RepoServer, repoDir, startRepoServer } from '../helpers/repo-server.ts';
import { tempDir } from '../helpers/tools.ts';

const childScript = fileURLToPath(new URL('./fill-cache.child.ts', import.meta.url));
const BUSYBOX = '/repo/x86_64/busybox-1.36.1-r15.apk';

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function startChild(
  cacheDir: string,
  url: string,
  only?: string,
): { child: ChildProcess; exit: Promise<Exit> } {
  const child = spawn(process.execPath, [childScript, cacheDir, url, ...(only ? [only] : [])], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const exit = new Promise<Exit>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return { child, exit };
}

/** The digests a complete fill must report, computed from the fixture files. */
function expectedDigests(): Record<string, string> {
  const sha = (f: string) =>
    `sha256:${createHash('sha256')
      .update(readFileSync(join(repoDir, 'x86_64', f)))
      .digest('hex')}`;
  const out: Record<string, string> = { index: sha('APKINDEX.tar.gz') };
  for (const f of readdirSync(join(repoDir, 'x86_64')).filter((n) => n.endsWith('.apk'))) {
    out[/^(.*)-[^-]+-r\d+\.apk$/.exec(f)![1]!] = sha(f);
  }
  return out;
}

/** Waits (bounded) for a condition that the test itself brings about; not a timing assertion. */
async function waitFor(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (condition()) return;
    await sleep(10);
  }
  throw new Error(`gave up waiting for ${what}`);
}

async function assertConsistent(cacheDir: string): Promise<void> {
  const result = await verifyCache(cacheDir);
  assert.deepEqual(result.problems, []);
  assert.ok(result.blobs > 0 && result.refs > 0);
}

describe('a cache shared by processes', () => {
  let server: RepoServer;
  const dirs: (() => void)[] = [];
  before(async () => {
    server = await startRepoServer();
  });
  after(async () => {
    await server.close();
    for (const remove of dirs) remove();
  });
  /** A fresh cache directory; also forgets the server's requests and faults from earlier tests. */
  function cacheDir(): string {
    server.requests.length = 0;
    server.faults.length = 0;
    const d = tempDir('lading-shared-cache-');
    dirs.push(d.remove);
    return d.path;
  }

  it('two processes filling the same cache at once both succeed, and the cache is consistent', async () => {
    const dir = cacheDir();
    server.delayMs = 5;
    const a = startChild(dir, server.url);
    const b = startChild(dir, server.url);
    const [ra, rb] = await Promise.all([a.exit, b.exit]);
    server.delayMs = 0;
    assert.equal(ra.code, 0, ra.stderr);
    assert.equal(rb.code, 0, rb.stderr);
    assert.deepEqual(JSON.parse(ra.stdout), expectedDigests());
    assert.deepEqual(JSON.parse(rb.stdout), expectedDigests());
    await assertConsistent(dir);
    assert.deepEqual(readdirSync(layoutPaths(dir).tmp), []);
  });

  it('a process killed with SIGKILL while writing a blob leaves a cache the next run uses', async () => {
    const dir = cacheDir();
    const { tmp } = layoutPaths(dir);
    server.faults.push({ path: BUSYBOX, fault: { kind: 'stall' } });
    const victim = startChild(dir, server.url, 'busybox-1.36.1-r15');
    // The stalled download has written part of the body to its temporary file.
    const partial = () => {
      // Once busybox is requested the index is stored, so a non-empty temporary file is busybox's partial body.
      if (!server.requests.some((r) => r.path === BUSYBOX)) return false;
      try {
        return readdirSync(tmp).some((f) => statSync(join(tmp, f), { throwIfNoEntry: false })?.size);
      } catch {
        return false; // tmp/ not created yet
      }
    };
    await waitFor(partial, 'a partial blob');
    victim.child.kill('SIGKILL');
    assert.equal((await victim.exit).signal, 'SIGKILL');
    assert.equal(server.faults.length, 0, 'the stall was used by the killed process');
    const leftovers = readdirSync(tmp);
    assert.equal(leftovers.length, 1);

    const next = await startChild(dir, server.url).exit;
    assert.equal(next.code, 0, next.stderr);
    assert.deepEqual(JSON.parse(next.stdout), expectedDigests());
    await assertConsistent(dir);
    // The partial file was ignored, and removed by the next run: its name says its writer is gone.
    assert.deepEqual(readdirSync(tmp), []);
    assert.equal(await sweepTemporaryFiles(dir, 0), 0);
  });

  it('processes killed at several points of a fill leave a cache the next run completes', async () => {
    const dir = cacheDir();
    for (const killAt of [2, 9, 20]) {
      server.requests.length = 0;
      const victim = startChild(dir, server.url);
      server.onRequest = () => {
        if (server.requests.length === killAt) victim.child.kill('SIGKILL');
      };
      const exit = await victim.exit;
      server.onRequest = undefined;
      // A run may finish before the kill lands once the cache is warm; either way the next run must work.
      assert.ok(exit.signal === 'SIGKILL' || exit.code === 0, exit.stderr);
      const result = await verifyCache(dir);
      assert.deepEqual(result.problems, []);
    }
    const last = await startChild(dir, server.url).exit;
    assert.equal(last.code, 0, last.stderr);
    assert.deepEqual(JSON.parse(last.stdout), expectedDigests());
    await assertConsistent(dir);
  });
});
