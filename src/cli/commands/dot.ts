import type { Command } from 'commander';
import { addResolveOptions, type ResolveFlags } from '../options.ts';
import { action, type GlobalOptions, loggerFor } from '../run.ts';
import { resolveFromFlags } from './show-packages.ts';

type DotFlags = ResolveFlags & { spanningTree?: boolean; web?: boolean };

/** `lading dot CONFIG`: the resolved dependency graph in Graphviz dot. */
export function registerDot(program: Command): void {
  const cmd = program
    .command('dot')
    .summary('print the resolved dependency graph of CONFIG in Graphviz dot')
    .description(
      'Resolve the packages of CONFIG as `lading build` does and print the dependency graph as a Graphviz ' +
        'digraph: a "world" node, one box per package (NAME-VERSION), an edge per dependency labelled with ' +
        'the dependency when it is not just the package name (so:, cmd:, version constraints), dashed edges ' +
        'for packages pulled in by install_if. Only one architecture is drawn (as apko): the first of archs: in ' +
        'OCI-name order (amd64 before arm64), also among several --arch.',
    );
  addResolveOptions(
    cmd,
    'the architecture to draw (OCI or apk name; default: the first of archs:, in OCI-name order)',
  )
    .option('-S, --spanning-tree', 'keep one incoming edge per package (a shortest path from the world)')
    .option(
      '--web',
      "draw the graph as SVG with Graphviz's dot and serve it on 127.0.0.1 until interrupted (as apko's --web)",
    )
    .addHelpText(
      'after',
      `
Examples:
  lading dot image.yaml | dot -Tsvg > graph.svg
  lading dot -S image.yaml --arch aarch64
  lading dot --web image.yaml         (needs Graphviz; prints the URL to open)`,
    )
    .action(
      action(async (config: string, flags: DotFlags, c: Command) => {
        const { formatDot } = await import('../../solver/format.ts');
        const { archs } = await resolveFromFlags(config, flags, c, { firstArchOnly: true });
        const text = formatDot(archs[0]!.resolution, { spanningTree: flags.spanningTree });
        if (!flags.web) {
          process.stdout.write(text);
          return;
        }
        const { serveDotGraph } = await import('../dot-web.ts');
        await serveDotGraph(text, loggerFor(c.optsWithGlobals() as GlobalOptions));
      }),
    );
}
