// Fills V8's compile cache (NODE_COMPILE_CACHE, set by scripts/test.mjs) before the test processes start. After
// `npm ci` the cache is empty, and the first few dozen test processes, started at once, would each strip types
// from and compile the same sources and bundle chunks (about 10 s of CPU over the suite); one process loading
// them first lets every test process find them compiled. Loading runs no command: src/cli/main.ts (which
// parses argv) and dist/cli.js are left out; their imports are not.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const root = new URL('..', import.meta.url).pathname;
const ENTRY_POINTS = new Set(['src/cli/main.ts']);

function sources(dir) {
  return readdirSync(join(root, dir), { withFileTypes: true })
    .flatMap((e) =>
      e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
    )
    .sort();
}

/** The bundle's chunks the CLI and the library name, statically or for a lazy import. */
function chunks() {
  const seen = new Set();
  const visit = (file) => {
    for (const m of readFileSync(join(root, 'dist', file), 'utf8').matchAll(
      /chunks\/(chunk-[A-Z0-9]+\.js)/g,
    )) {
      const chunk = `chunks/${m[1]}`;
      if (!seen.has(chunk)) {
        seen.add(chunk);
        visit(chunk);
      }
    }
  };
  visit('cli.js');
  visit('index.js');
  return [...seen].map((c) => `dist/${c}`);
}

const files = [...sources('src'), ...sources('test/helpers'), ...chunks()].filter(
  (f) => !ENTRY_POINTS.has(f),
);
await Promise.all(files.map((f) => import(pathToFileURL(join(root, f)).href).catch(() => {})));
