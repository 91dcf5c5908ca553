#!/usr/bin/env node
// Entry point for `lading` (`./lading`, `npx lading`): checks the runtime, answers an unchanged rebuild from its record, or loads
// the bundled CLI.
import module from 'node:module';

const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  process.stderr.write(
    `lading: Node.js ${process.versions.node} is not supported; use Node.js 24 or newer ` +
      '(inside the project, ./lading and npm scripts use the pinned runtime from node_modules/.bin).\n',
  );
  process.exit(2);
}
module.enableCompileCache?.();
if (process.argv.includes('build')) {
  const { tryNoopBuild } = await import('../dist/fastpath.js');
  if (tryNoopBuild()) process.exit(0);
} else if (process.argv.includes('publish')) {
  const { tryNoopPublish } = await import('../dist/fastpath.js');
  if (await tryNoopPublish()) process.exit(0);
}
await import('../dist/cli.js');
