/**
 * The installed database read back (a base image's): what the real apk-tools 2.14.4 wrote parses into records
 * that format to the same bytes, scripts and triggers found by checksum; apko's database (empty lists as `[]`,
 * owners, xattr-less ACLs) reads too.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  formatInstalledDb,
  formatTriggers,
  parseInstalledDb,
  parseScriptsTar,
  parseTriggers,
} from '../../src/apk/installed-db.ts';
import { throwsCode } from '../helpers/assert.ts';
import { fixture } from '../helpers/paths.ts';

test("apk-tools' installed, scripts.tar and triggers read back into records that format to the same bytes", () => {
  for (const world of ['alpine-base', 'minimal-world', 'apko-testdata-replayout']) {
    const dir = fixture('oracle-apk-tools-2.14.4', world);
    const text = readFileSync(join(dir, 'installed'), 'utf8');
    const db = parseInstalledDb(text, world);
    assert.equal(formatInstalledDb(db), text, world);
    const scripts = parseScriptsTar(readFileSync(join(dir, 'scripts.tar')));
    const triggers = parseTriggers(readFileSync(join(dir, 'triggers'), 'utf8'));
    for (const p of db) {
      p.scripts = scripts.get(p.info.checksum!) ?? [];
      p.triggers = triggers.get(p.info.checksum!) ?? [];
    }
    assert.equal(
      formatTriggers(db.filter((p) => p.triggers.length))
        .split('\n')
        .sort()
        .join('\n'),
      readFileSync(join(dir, 'triggers'), 'utf8').split('\n').sort().join('\n'),
      world,
    );
    if (world === 'alpine-base') {
      const busybox = db.find((p) => p.info.name === 'busybox')!;
      assert.deepEqual(busybox.scripts.map((s) => s.action).sort(), [
        'post-install',
        'post-upgrade',
        'trigger',
      ]);
      assert.ok(db.some((p) => p.dirs.some((d) => d.files.some((f) => f.acl.mode !== 0o644))));
    }
  }
});

test("apko's database (empty lists written as []) and a damaged one", () => {
  const db = parseInstalledDb(
    readFileSync(fixture('apko/internal/cli/testdata/base_image/metadata/x86_64/APKINDEX'), 'utf8'),
  );
  assert.deepEqual(
    db.map((p) => p.info.name),
    ['pretend-baselayout', 'package-x', 'package-y'],
  );
  assert.deepEqual(db[1]!.info.depends, ['pretend-baselayout']);
  assert.deepEqual(db[0]!.info.installIf, []);
  assert.deepEqual(db[0]!.dirs[0]!, {
    path: 'etc',
    acl: { uid: 501, gid: 20, mode: 0o755 },
    files: [
      {
        name: 'os-release',
        acl: { uid: 501, gid: 20, mode: 0o644 },
        checksum: 'Q1KhFxtJsuPVmrrXKMewSAc2/3kus=',
      },
    ],
  });
  throwsCode(() => parseInstalledDb('P:x\nnot a field\n'), 'INSTALLED_DB_BAD_LINE');
  throwsCode(() => parseInstalledDb('V:1\n'), 'INSTALLED_DB_BAD_RECORD');
  throwsCode(() => parseInstalledDb('P:x\nV:1\nF:a\nM:0:0:zz\n'), 'INSTALLED_DB_BAD_FIELD');
});
