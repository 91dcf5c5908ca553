// Bundles the CLI and library with esbuild. With --pack (npm pack runs it), also emits the library's
// declarations (dist/types) and removes chunks of earlier builds, so the package holds only what it loads. A bundle starts far faster than Node's type
// stripping over many .ts files (measured: ~21 ms vs ~55 ms for a trivial program), and
// code splitting keeps each command's heavy modules out of the others' start-up.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { build } from 'esbuild';

/**
 * Node's built-in modules taken with process.getBuiltinModule() instead of `import`: an ES module import of a
 * built-in builds a facade that reads every export, and some exports are getters that load more (reading
 * `http.WebSocket` loads Node's bundled undici: 30 ms; `crypto.webcrypto` the Web Crypto API). Importing the
 * 17 built-ins lading uses costs ~60 ms as ES modules and ~8 ms this way. The named exports are the module's
 * plain properties; one that is a getter is not offered, and a source naming it fails the bundle, not the run.
 */
const builtinsWithoutFacades = {
  name: 'builtins-without-facades',
  setup(b) {
    // only `import` statements: a require() (in bundled CommonJS packages) gets the module object already
    b.onResolve({ filter: /^node:/ }, (args) =>
      args.kind === 'import-statement' ? { path: args.path, namespace: 'node-builtin' } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'node-builtin' }, (args) => {
      const m = process.getBuiltinModule(args.path);
      const names = Object.getOwnPropertyNames(m).filter(
        (k) =>
          k !== 'default' && /^[A-Za-z_$][\w$]*$/.test(k) && 'value' in Object.getOwnPropertyDescriptor(m, k),
      );
      const id = JSON.stringify(args.path);
      return {
        contents: `const m = process.getBuiltinModule(${id});\nexport default m;\nexport const { ${names.join(', ')} } = m;\n`,
        loader: 'js',
      };
    });
  },
};

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

/**
 * The esbuild bundles: cli.js and index.js with their shared chunks, and fastpath.cjs on its own. The fast
 * path (the no-op rebuild, bin/lading.js loads it first) is one CommonJS file: each further module costs its
 * load and link, ES modules cost the ES loader's start too, and that path is all start-up.
 */
async function bundle() {
  const common = {
    write: false,
    absWorkingDir: root,
    outdir,
    bundle: true,
    platform: 'node',
    target: 'node24',
    packages: 'bundle',
    sourcemap: 'linked',
    legalComments: 'none',
    logLevel: 'warning',
    define: { __LADING_BUILD_ID__: JSON.stringify(buildId()) },
  };
  const [main, fast] = await Promise.all([
    build({
      ...common,
      entryPoints: { cli: 'src/cli/main.ts', index: 'src/index.ts' },
      format: 'esm',
      splitting: true,
      chunkNames: 'chunks/[name]-[hash]',
      plugins: [builtinsWithoutFacades],
      banner: {
        js: "const require = process.getBuiltinModule('node:module').createRequire(import.meta.url);",
      },
    }),
    build({
      ...common,
      entryPoints: { fastpath: 'src/cli/fastpath.ts' },
      format: 'cjs',
      outExtension: { '.js': '.cjs' },
    }),
  ]);
  const result = { outputFiles: [...main.outputFiles, ...fast.outputFiles] };

  // Chunks have content-hashed names, so new ones never replace old ones: a lading process that is already
  // running (a test, a concurrent build) can still load the chunks it was built with. Entry files are
  // replaced atomically. Stale chunks are left until the next clean install.
  const entries = new Set([
    'cli.js',
    'index.js',
    'fastpath.cjs',
    'cli.js.map',
    'index.js.map',
    'fastpath.cjs.map',
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
  for (const entry of ['index.js', 'cli.js']) visit(join(outdir, entry));
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
