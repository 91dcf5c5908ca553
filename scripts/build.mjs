// Bundles the CLI and library with esbuild. With --pack (npm pack runs it), also emits the library's
// declarations (dist/types) and removes chunks of earlier builds, so the package holds only what it loads. A bundle starts far faster than Node's type
// stripping over many .ts files (measured: ~21 ms vs ~55 ms for a trivial program), and
// code splitting keeps each command's heavy modules out of the others' start-up.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { build } from 'esbuild';

const root = new URL('..', import.meta.url).pathname;
const outdir = join(root, 'dist');

/** A hash of every source file: no-op build records from another build of lading are never trusted. */
function buildId() {
  const h = createHash('sha256');
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else h.update(`${p.slice(root.length)}\0`).update(readFileSync(p));
    }
  };
  walk(join(root, 'src'));
  h.update(readFileSync(join(root, 'package.json')));
  return h.digest('hex').slice(0, 32);
}

/** The esbuild bundle: cli.js, index.js and fastpath.js, and their shared chunks. */
async function bundle() {
  const result = await build({
    write: false,
    entryPoints: { cli: 'src/cli/main.ts', index: 'src/index.ts', fastpath: 'src/cli/fastpath.ts' },
    absWorkingDir: root,
    outdir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node24',
    packages: 'bundle',
    sourcemap: 'linked',
    chunkNames: 'chunks/[name]-[hash]',
    legalComments: 'none',
    logLevel: 'warning',
    define: { __LADING_BUILD_ID__: JSON.stringify(buildId()) },
    banner: {
      js: "import { createRequire as __ladingCreateRequire } from 'node:module'; const require = __ladingCreateRequire(import.meta.url);",
    },
  });

  // Chunks have content-hashed names, so new ones never replace old ones: a lading process that is already
  // running (a test, a concurrent build) can still load the chunks it was built with. Entry files are
  // replaced atomically. Stale chunks are left until the next clean install.
  const entries = new Set([
    'cli.js',
    'index.js',
    'fastpath.js',
    'cli.js.map',
    'index.js.map',
    'fastpath.js.map',
  ]);
  const isEntry = (f) => entries.has(f.path.slice(outdir.length + 1));
  // chunks first, so a new entry file never points at a chunk that is not there yet
  for (const f of [...result.outputFiles.filter((f) => !isEntry(f)), ...result.outputFiles.filter(isEntry)]) {
    mkdirSync(dirname(f.path), { recursive: true });
    if (isEntry(f)) {
      const tmp = `${f.path}.tmp-${process.pid}`;
      writeFileSync(tmp, f.contents);
      renameSync(tmp, f.path);
    } else {
      writeFileSync(f.path, f.contents);
    }
  }
}

/**
 * The library's declarations, for TypeScript users of the package: tsc emits them from src/index.ts into
 * dist/types.tmp, the `.ts` import specifiers (how the sources name each other) become `.js` (how a consumer
 * resolves the emitted files), and the directory replaces dist/types.
 */
function emitTypes() {
  const tmp = join(outdir, 'types.tmp');
  const final = join(outdir, 'types');
  rmSync(tmp, { recursive: true, force: true });
  const tsc = spawnSync(join(root, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.build.json'], {
    cwd: root,
    stdio: 'inherit',
  });
  if (tsc.status !== 0) process.exit(tsc.status || 1);
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.d.ts')) {
        const text = readFileSync(p, 'utf8');
        writeFileSync(
          p,
          text.replace(/((?:from|import)\s*\(?\s*['"]\.{1,2}\/[^'"]*?)\.ts(['"])/g, '$1.js$2'),
        );
      }
    }
  };
  walk(tmp);
  rmSync(final, { recursive: true, force: true });
  renameSync(tmp, final);
}

/**
 * Removes chunks no entry file loads (left by earlier builds for processes that were still running), found by
 * following the entries' imports, so a package holds only what it loads.
 */
function pruneChunks() {
  const live = new Set();
  const visit = (file) => {
    if (live.has(file)) return;
    live.add(file);
    live.add(`${file}.map`);
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/(?:from|import\()\s*"(\.{1,2}\/[^"]+\.js)"/g))
      visit(join(dirname(file), m[1]));
  };
  for (const entry of ['index.js', 'cli.js', 'fastpath.js']) visit(join(outdir, entry));
  const dir = join(outdir, 'chunks');
  for (const name of readdirSync(dir)) {
    if (!live.has(join(dir, name))) rmSync(join(dir, name), { force: true });
  }
}

// --no-bundle: use the bundle already in dist (the package test, right after npm test built it)
if (!process.argv.includes('--no-bundle')) await bundle();
if (process.argv.includes('--pack')) {
  emitTypes();
  pruneChunks();
}
