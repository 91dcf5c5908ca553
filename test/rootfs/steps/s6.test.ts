import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ImageFS } from '../../../src/fs/tree.ts';
import { applyPostInstall, writeSupervisionTree } from '../../../src/rootfs/steps/index.ts';
import { throwsCode } from '../../helpers/assert.ts';

const T = { mtime: 1700000000 };

function describe(fs: ImageFS, path: string): string {
  const n = fs.lstat(path)!;
  const content = n.type === 'file' ? ` ${JSON.stringify(fs.readFile(path).toString())}` : '';
  return `${n.type} ${n.mode.toString(8)} ${n.uid}:${n.gid} ${n.mtime}${content}`;
}

test('the supervision tree is exactly apko’s: /sv and /sv/NAME 0777, run 0755 with the execline header', () => {
  const fs = new ImageFS(T);
  applyPostInstall(fs, {
    ...T,
    packages: [],
    services: { web: '/bin/sh -c "exec httpd -f"', 'log.d_1': 'sleep 100' },
  });
  assert.deepEqual(fs.list('sv'), ['log.d_1', 'web']);
  assert.deepEqual(fs.list('sv/web'), ['run']);
  assert.deepEqual(
    ['sv', 'sv/web', 'sv/web/run', 'sv/log.d_1/run'].map((p) => describe(fs, p)),
    [
      'directory 777 0:0 1700000000',
      'directory 777 0:0 1700000000',
      'file 755 0:0 1700000000 "#!/bin/execlineb\\n/bin/sh -c \\"exec httpd -f\\"\\n"',
      'file 755 0:0 1700000000 "#!/bin/execlineb\\nsleep 100\\n"',
    ],
  );
});

test('no services: no /sv; an /sv a package ships is kept as it is; unsafe names are refused here too', () => {
  const none = new ImageFS(T);
  assert.deepEqual(writeSupervisionTree(none, {}, T), []);
  assert.equal(none.exists('sv'), false);

  const fs = new ImageFS(T);
  fs.mkdirAll('sv', { mode: 0o755, uid: 0, gid: 0, mtime: 1 });
  assert.deepEqual(writeSupervisionTree(fs, { a: 'true' }, T), ['sv/a/run']);
  assert.equal(describe(fs, 'sv'), 'directory 755 0:0 1');
  assert.equal(describe(fs, 'sv/a'), 'directory 777 0:0 1700000000');

  // library callers may hand over a config the loader never saw: apko would write ../etc/run
  for (const name of ['../etc', 'a/b', '.hidden', '']) {
    throwsCode(() => writeSupervisionTree(new ImageFS(T), { [name]: 'true' }, T), 'CONFIG_INVALID');
  }
});
