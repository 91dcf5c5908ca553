/** `lading dot --web` (apko's flag): the graph as SVG from Graphviz, served on 127.0.0.1 until interrupted. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { writeAlpineConfig } from '../helpers/build.ts';
import { ladingBin } from '../helpers/paths.ts';
import { lading, requireTool, tempDir } from '../helpers/tools.ts';

const tmp = tempDir('lading-dot-web-');
after(() => tmp.remove());
const config = writeAlpineConfig(tmp.path, 'base.yaml', ['alpine-base']);
const cache = join(tmp.path, 'cache');

test('serves the SVG Graphviz draws, prints its URL, and stops on SIGTERM', async () => {
  requireTool('dot');
  const child = spawn(process.execPath, [ladingBin, 'dot', config, '--web', '--cache-dir', cache], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  try {
    const [first] = (await once(child.stdout, 'data')) as [Buffer];
    const url = first.toString().trim();
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/, stderr);
    const res = await fetch(url);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'image/svg+xml');
    const svg = await res.text();
    assert.match(svg, /<svg[\s>]/);
    assert.match(svg, />busybox&#45;1\.36\.1&#45;r15</); // Graphviz escapes - in text
    assert.match(stderr, /serving the dependency graph at http:\/\/127\.0\.0\.1:\d+\/ until interrupted/);
  } finally {
    child.kill('SIGTERM');
  }
  const [code] = await once(child, 'exit');
  assert.equal(code, 0, stderr);
});

test('without Graphviz, --web says what to install', () => {
  // a PATH with no dot on it (node is started by its full path)
  const r = lading(['dot', config, '--web', '--cache-dir', cache], {
    env: { ...process.env, PATH: tmp.path },
  });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /--web draws the graph with Graphviz's dot program, which is not installed/);
  assert.match(r.stderr, /hint: install Graphviz \(Debian: apt-get install graphviz\)/);
});
