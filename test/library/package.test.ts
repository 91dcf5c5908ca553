/**
 * The package as users get it: `npm pack` (after the prepack build), unpacked into a fresh consumer project,
 * holds the bundle and the declarations; a strict TypeScript program compiles against it (and fails where it
 * should, so the declarations are not \`any\`), and the README's
 * library example (docs/library.md has the same) runs against the fixture repository. No registry: the
 * dependencies the declarations need are linked from this checkout.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sharedCache } from '../helpers/cache.ts';
import { fixture, repoRoot } from '../helpers/paths.ts';
import { requireTool, run, tempDir } from '../helpers/tools.ts';

const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
};

/** The first ```ts block of a markdown file. */
function tsBlock(file: string): string {
  const text = readFileSync(join(repoRoot, file), 'utf8');
  const m = /```ts\n([\s\S]*?)```/.exec(text);
  assert.ok(m, `${file} has a ts example`);
  return m[1]!;
}

/** Beside the example: the types a strict consumer relies on, including what must not compile. */
const TYPE_CHECKS = `import {
  type BuildOptions,
  type BuildResult,
  type ImageDestination,
  type Layer,
  LadingError,
  layoutDestination,
  loadConfigObject,
  readImageIndex,
  writeImage,
} from 'lading';

const destination: ImageDestination = layoutDestination('out');
const options: BuildOptions = { config: 'image.yaml', tag: 'a:1', output: destination, sbomFormats: ['spdx'] };
export async function check(result: BuildResult): Promise<string> {
  const layer: Layer = result.index.images[0]!.layers[0]!;
  const stream = layer.open();
  stream.destroy();
  await writeImage(destination, readImageIndex('out'), { tag: 'a:1' });
  const loaded = await loadConfigObject({ contents: { packages: ['busybox'] } });
  return \`\${options.tag} \${loaded.config.contents.packages.join()} \${new LadingError('X', 'y').code}\`;
}
// the declarations are complete (not \`any\`): these must not compile
// @ts-expect-error a config is a path or an apko object
export const wrong: BuildOptions = { config: 42, tag: 'a:1', output: 'x' };
// @ts-expect-error contents.packages is a list of names
export const wrongPackages: BuildOptions = { config: { contents: { packages: 'busybox' } }, tag: 'a:1', output: 'x' };
`;

describe('the packed package', () => {
  const tmp = tempDir('lading-pack-');
  const consumer = join(tmp.path, 'consumer');
  let files: string[] = [];
  before(() => {
    requireTool('npm');
    const built = run(process.execPath, ['scripts/build.mjs', '--pack', '--no-bundle'], { cwd: repoRoot });
    assert.equal(built.status, 0, built.stderr);
    const packed = run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', tmp.path], {
      cwd: repoRoot,
    });
    assert.equal(packed.status, 0, packed.stderr);
    const [info] = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[];
    files = info!.files.map((f) => f.path);
    const lading = join(consumer, 'node_modules', 'lading');
    mkdirSync(lading, { recursive: true });
    const untar = run('tar', ['-xzf', join(tmp.path, info!.filename), '-C', lading, '--strip-components=1']);
    assert.equal(untar.status, 0, untar.stderr);
    // what npm would install beside it: its dependencies, and the Node.js types a TypeScript user has
    mkdirSync(join(consumer, 'node_modules', '@types'));
    for (const name of [...Object.keys(pkg.dependencies), '@types/node', 'undici-types']) {
      symlinkSync(join(repoRoot, 'node_modules', name), join(consumer, 'node_modules', name));
    }
    writeFileSync(
      join(consumer, 'package.json'),
      '{ "name": "consumer", "private": true, "type": "module" }\n',
    );
    writeFileSync(
      join(consumer, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'es2024',
          module: 'nodenext',
          moduleResolution: 'nodenext',
          types: ['node'],
          strict: true,
          noUncheckedIndexedAccess: true,
          exactOptionalPropertyTypes: false,
          // the declarations' own bodies are checked when they are emitted; the program checks what users see
          skipLibCheck: true,
          noEmit: true,
          allowImportingTsExtensions: true,
        },
        include: ['*.ts'],
      }),
    );
    const example = tsBlock('README.md');
    assert.equal(tsBlock('docs/library.md'), example, 'the README and docs/library.md show the same example');
    writeFileSync(
      join(consumer, 'example.ts'),
      example
        .replaceAll('https://dl-cdn.alpinelinux.org/alpine/v3.19/main', fixture('alpine/v3.19.1-iso-repo'))
        .replaceAll('https://alpinelinux.org/keys/', `${fixture('alpine/keys')}/`),
    );
    writeFileSync(join(consumer, 'checks.ts'), TYPE_CHECKS);
  });
  after(() => tmp.remove());

  it('holds the bundle, the declarations, the CLI and the schema, and no leftovers', () => {
    for (const f of [
      'dist/index.js',
      'dist/types/index.d.ts',
      'dist/cli.js',
      'dist/fastpath.cjs',
      'bin/lading.js',
      'bin/package.json',
      'package.json',
    ]) {
      assert.ok(files.includes(f), f);
    }
    const outside = files.filter((f) => !/^(bin|dist|schema)\//.test(f) && !/^[A-Za-z.-]+$/.test(f));
    assert.deepEqual(outside, []);
    // every chunk in the package is one the entry files load (earlier builds' chunks are pruned)
    const chunks = files.filter((f) => f.startsWith('dist/chunks/') && f.endsWith('.js'));
    const loaded = new Set<string>();
    const visit = (file: string) => {
      if (loaded.has(file)) return;
      loaded.add(file);
      const text = readFileSync(join(consumer, 'node_modules/lading', file), 'utf8');
      for (const m of text.matchAll(/(?:from|import\()\s*"\.\/(?:chunks\/)?([^"]+\.js)"/g)) {
        visit(`dist/chunks/${m[1]!.replace(/^chunks\//, '')}`);
      }
    };
    for (const entry of ['dist/index.js', 'dist/cli.js']) visit(entry);
    assert.deepEqual(
      chunks.filter((c) => !loaded.has(c)),
      [],
    );
  });

  it('compiles a strict TypeScript program against it, and the README example builds an image', () => {
    const tsc = run(join(repoRoot, 'node_modules/.bin/tsc'), ['-p', consumer]);
    assert.equal(tsc.status, 0, tsc.stdout + tsc.stderr);
    const r = run(process.execPath, ['example.ts'], {
      cwd: consumer,
      env: { ...process.env, XDG_CACHE_HOME: dirname(sharedCache()) },
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^x86_64 musl-1\.2\.4_git20230717-r4 busybox-1\.36\.1-r15$/m);
    assert.match(r.stdout, /^sha256:[0-9a-f]{64} sbom-x86_64\.spdx\.json sbom-index\.spdx\.json$/m);
    const validate = run('skopeo', ['inspect', `docker-archive:${join(consumer, 'busybox.tar')}`]);
    assert.equal(validate.status, 0, validate.stderr);
  });
});
