/**
 * `npm run bench`: every benchmark section, in one invocation, each as its own process so timings and memory
 * are not disturbed by the others. `npm run bench -- resolve build` runs only the sections named; the
 * micro-benchmarks (`solver`, `layer`) run only when named.
 * Sections print markdown tables with medians and ratios against references measured in the same run.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const SECTIONS: { name: string; file: string; args?: string[]; about: string; onlyWhenNamed?: boolean }[] = [
  {
    name: 'parse',
    file: 'apk-parse.ts',
    about: 'issue 2: parse + verify the community index and every fixture .apk',
  },
  {
    name: 'resolve',
    file: 'resolve-cli.ts',
    about: 'issue 3: show-packages (cold, warm) vs apk-tools add --simulate',
  },
  {
    name: 'build',
    file: 'build.ts',
    about: 'issue 6: lading build vs apk-tools + tar|gzip vs the byte-work floor',
  },
  {
    name: 'publish',
    file: 'publish.ts',
    about: 'issue 10: lading publish vs skopeo copy to a local registry; re-publish; peak RSS',
  },
  {
    name: 'scale',
    file: 'scale.ts',
    about:
      'issue 17: plan of 24 configs vs resolving one; publish-many unchanged vs first; two shards vs one process',
  },
  {
    name: 'solver',
    file: 'solver.ts',
    about: 'micro: the resolver in-process (inflate, index, solve), cold and warm',
    onlyWhenNamed: true,
  },
  {
    name: 'hostile',
    file: 'hostile.ts',
    about: 'issue 13: deep trees vs apk-tools; peak RSS of verify, index and build on a 2 GiB bomb',
    onlyWhenNamed: true,
  },
  {
    name: 'layer',
    file: 'layer.ts',
    about: 'micro: the layer writer vs tar | pigz | sha256sum on a tree of this machine',
    onlyWhenNamed: true,
  },
];

const wanted = process.argv.slice(2);
const dir = import.meta.dirname;
let failed = 0;
for (const s of SECTIONS) {
  if (wanted.length ? !wanted.includes(s.name) : s.onlyWhenNamed) continue;
  console.log(`\n# ${s.name} — ${s.about}\n`);
  const r = spawnSync(process.execPath, [join(dir, s.file), ...(s.args ?? [])], { stdio: 'inherit' });
  if (r.status !== 0) {
    console.log(`\nsection ${s.name} failed (exit ${r.status ?? r.signal})`);
    failed++;
  }
}
process.exit(failed ? 1 : 0);
