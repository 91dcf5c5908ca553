#!/usr/bin/env node
// Entry point for `lading` (`./lading`, `npx lading`): checks the runtime, answers an unchanged rebuild (or
// re-publish) from its record, or loads the bundled CLI. CommonJS (bin/package.json), as is dist/fastpath.cjs:
// the no-op rebuild is all start-up, and CommonJS starts without Node's ES module loader.
'use strict';

const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  process.stderr.write(
    `lading: Node.js ${process.versions.node} is not supported; use Node.js 24 or newer ` +
      '(inside the project, ./lading and npm scripts use the pinned runtime from node_modules/.bin).\n',
  );
  process.exit(2);
}
require('node:module').enableCompileCache?.();
const cli = () => import('../dist/cli.js');
if (process.argv.includes('build')) {
  if (require('../dist/fastpath.cjs').tryNoopBuild()) process.exit(0);
  cli();
} else if (process.argv.includes('publish')) {
  require('../dist/fastpath.cjs')
    .tryNoopPublish()
    .then((done) => (done ? process.exit(0) : cli()));
} else cli();
