import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import {
  PID_NAMESPACE,
  removeOnExit,
  removePending,
  writerGone,
  writerPrefix,
} from '../../src/util/cleanup.ts';
import { tempDir } from '../helpers/tools.ts';

const tmp = tempDir('lading-cleanup-');
after(tmp.remove);

test('pending paths (files and trees) go at once; renamed ones are simply gone; forgotten ones stay', () => {
  const file = join(tmp.path, 'f');
  const tree = join(tmp.path, 'd');
  const kept = join(tmp.path, 'k');
  writeFileSync(file, 'x');
  mkdirSync(join(tree, 'sub'), { recursive: true });
  writeFileSync(kept, 'x');
  removeOnExit(file);
  removeOnExit(tree);
  removeOnExit(join(tmp.path, 'never-written'));
  removeOnExit(kept)();
  removePending();
  assert.ok(!existsSync(file) && !existsSync(tree));
  assert.ok(existsSync(kept));
});

test("a temporary name tells whether its writer is gone: only this pid namespace's dead pids are judged", () => {
  assert.ok(PID_NAMESPACE !== '', 'Linux has /proc/self/ns/pid');
  const dead = spawnSync('true').pid!;
  assert.equal(writerGone(`${PID_NAMESPACE}.${dead}-1-abcd`), true);
  assert.equal(writerGone(`${writerPrefix()}1-abcd`), false, 'this process is alive');
  assert.equal(writerGone(`1.${dead}-1-abcd`), false, 'another namespace: not judged');
  assert.equal(writerGone(`${dead}-1-abcd`), false, 'the old name form: not judged');
});
