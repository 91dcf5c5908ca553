import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  compareVersions,
  isValidVersion,
  type VersionRules,
  versionMatches,
  versionOpMask,
  versionOpString,
} from '../../src/apk/version.ts';
import { fuzzRuns } from '../helpers/fuzz.ts';
import { apkOracle, fixture } from '../helpers/paths.ts';
import {
  randomVersions,
  readVersionGolden,
  VERSION_COUNT,
  VERSION_SEED,
  versionPairs,
} from './random-versions.ts';

/** Pairs whose order the live apk is asked each run (all 150 are compared with the recording). */
const LIVE_PAIRS = 12;

function apk(args: string[]): Promise<string> {
  return new Promise((done, fail) => {
    const child = spawn(apkOracle, args);
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('error', fail);
    child.on('close', () => done(out.trim()));
  });
}

/**
 * Runs apk-tools' version.data format (test/unit/version_test.c): `a op b` must hold, `a !op b` must not,
 * `v` must be valid, `!v` must be invalid, `#` starts a comment. Returns the failing lines.
 */
function runVectors(file: string, rules: VersionRules): { checked: number; failures: string[] } {
  const failures: string[] = [];
  let checked = 0;
  for (const raw of readFileSync(file, 'utf8').split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    if (line === '') continue;
    const parts = line.split(/\s+/);
    checked++;
    if (parts.length === 1) {
      const negate = parts[0]!.startsWith('!');
      const version = negate ? parts[0]!.slice(1) : parts[0]!;
      if (isValidVersion(version, rules) === negate) failures.push(raw);
      continue;
    }
    const [a, opText, b] = parts as [string, string, string];
    const negate = opText.startsWith('!');
    const mask = versionOpMask(negate ? opText.slice(1) : opText);
    assert.notEqual(mask, 0, `bad operator in ${raw}`);
    if (versionMatches(a, mask, b, rules) === negate) failures.push(raw);
  }
  return { checked, failures };
}

describe('apk versions', () => {
  it('passes every line of apk-tools 2.14.4 version.data under both rule sets', () => {
    for (const rules of ['apk-tools-2', 'apk-tools-3'] as const) {
      const r = runVectors(fixture('apk-tools-tests/v2.14.4/version.data'), rules);
      assert.equal(r.checked, 733);
      assert.deepEqual(r.failures, [], rules);
    }
  });

  it('passes every line of apk-tools 3.0.6 unit/version.data under apk-tools-3 rules', () => {
    const r = runVectors(fixture('apk-tools-tests/v3.0.6/unit/version.data'), 'apk-tools-3');
    assert.equal(r.checked, 785);
    assert.deepEqual(r.failures, []);
  });

  it('follows what the real apk-tools 2.14.4 answers where the two rule sets differ', () => {
    // Each row was checked with `apk-oracle version -t A B` / `version -c V` and solver probes.
    const order: [string, string, -1 | 0 | 1][] = [
      ['8.2.0', '8.2.001', 1],
      ['8.2.0015', '8.2.002', 1],
      ['1.05', '1.010', -1],
      ['1.0', '1.0bc', -1],
      ['3.8', '3.8.1', -1],
      ['1.0-r1', '1.0-r01', 0],
      ['1.0.0', '1.0', 1],
      ['0.1_pre2~1234abcd', '0.1_pre2', 1],
    ];
    for (const [a, b, want] of order)
      assert.equal(compareVersions(a, b, 'apk-tools-2'), want, `${a} vs ${b}`);
    assert.equal(isValidVersion('0.1a1', 'apk-tools-2'), true);
    assert.equal(isValidVersion('0.1a1', 'apk-tools-3'), false);
    assert.equal(isValidVersion('0.1_pre2~1234abcd', 'apk-tools-2'), false);
    assert.equal(isValidVersion('0.1_alpha1_pre2', 'apk-tools-2'), true);
    // fuzzy `~` is symmetric in 2.14 (apk installs a-3.8 for `a~3.8.1`), a prefix match in 3.0
    const fuzzy = versionOpMask('~');
    assert.equal(versionMatches('3.8', fuzzy, '3.8.1', 'apk-tools-2'), true);
    assert.equal(versionMatches('3.8', fuzzy, '3.8.1', 'apk-tools-3'), false);
    assert.equal(versionMatches('3.8.1', fuzzy, '3.8', 'apk-tools-2'), true);
    assert.equal(versionMatches('3.80', fuzzy, '3.8', 'apk-tools-2'), false);
    assert.equal(versionMatches('3.8_rc1', fuzzy, '3.8', 'apk-tools-2'), true);
    assert.equal(versionMatches('3.8.0-r1', versionOpMask('~'), '3.8.0-r2', 'apk-tools-2'), false);
    assert.equal(versionMatches('3.8', versionOpMask('<~'), '3.8.5', 'apk-tools-2'), true);
  });

  // apk's order of all 150 pairs is recorded (scripts/version-golden.ts) and compared in-process; the live apk
  // is asked about the validity of all 300 (one process) and the order of a random sample, which must agree
  // with the recording too (a stale one names the script).
  it('orders and validates 300 random versions exactly as the real apk-tools 2.14.4 does', async () => {
    assert.ok(existsSync(apkOracle), `missing ${apkOracle}`);
    const versions = randomVersions(VERSION_SEED, VERSION_COUNT);
    // validity: `apk version -c` prints the invalid ones
    const invalid = new Set((await apk(['version', '-c', '--', ...versions])).split('\n').filter(Boolean));
    const wrong = versions.filter((v) => isValidVersion(v, 'apk-tools-2') === invalid.has(v));
    assert.deepEqual(wrong, []);
    const recorded = readVersionGolden();
    const pairs = versionPairs(versions);
    const lading = (a: string, b: string) => ['<', '=', '>'][compareVersions(a, b, 'apk-tools-2') + 1];
    const mismatches = pairs
      .map(([a, b]) => ({ a, b, want: recorded.get(`${a} ${b}`), got: lading(a, b) }))
      .filter((m) => m.want !== m.got)
      .map((m) =>
        m.want === undefined
          ? `${m.a} ${m.b}: not recorded (run node scripts/version-golden.ts)`
          : `${m.a} ${m.b}: apk ${m.want}, lading ${m.got}`,
      );
    assert.deepEqual(mismatches, []);
    // order, live: `apk version -t A B` prints <, = or >
    const sample = [...pairs].sort(() => Math.random() - 0.5).slice(0, LIVE_PAIRS);
    const live = await Promise.all(sample.map(([a, b]) => apk(['version', '-t', '--', a, b])));
    const stale = sample
      .map(([a, b], i) => ({ a, b, apk: live[i], recorded: recorded.get(`${a} ${b}`) }))
      .filter((x) => x.apk !== x.recorded)
      .map((x) => `${x.a} ${x.b}: apk ${x.apk}, recorded ${x.recorded} (run node scripts/version-golden.ts)`);
    assert.deepEqual(stale, []);
  });

  it('spells operator masks the way apk prints them', () => {
    for (const [op, canonical] of [
      ['=', '='],
      ['==', '='],
      ['<', '<'],
      ['=<', '<='],
      ['>=', '>='],
      ['~', '~'],
      ['=~', '~'],
      ['~=', '~'],
      ['<~', '<~'],
      ['>~', '>~'],
      ['><', '><'],
      ['<>', '><'],
    ]) {
      assert.equal(versionOpString(versionOpMask(op!)), canonical, op);
    }
    assert.equal(versionOpMask(''), 0);
    assert.equal(versionOpMask('=!'), 0);
  });

  it('orders real Alpine versions as a total order consistent with equality', () => {
    const versions = [
      '1.0',
      '1.0-r1',
      '1.0_rc1',
      '1.0_p1',
      '1.0a',
      '1.0.1',
      '1.1_alpha2',
      '1.1_alpha10',
      '2',
      '0.9',
    ];
    const sorted = [...versions].sort((a, b) => compareVersions(a, b));
    assert.deepEqual(sorted, [
      '0.9',
      '1.0_rc1',
      '1.0',
      '1.0-r1',
      '1.0_p1',
      '1.0a',
      '1.0.1',
      '1.1_alpha2',
      '1.1_alpha10',
      '2',
    ]);
  });

  it('never throws or hangs on random and mutated input (property)', () => {
    const seeds = ['1.2.3-r4', '0.1_pre2~1234abcd', '2024.01.02_git20240101', '1.0a_p1-r0', '8.2.001'];
    const mutated = fc
      .tuple(
        fc.constantFrom(...seeds),
        fc.nat(20),
        fc.string({ unit: fc.constantFrom(...'0123456789._-~rabcpz!') }),
      )
      .map(([s, at, ins]) => s.slice(0, at % (s.length + 1)) + ins + s.slice(at % (s.length + 1)));
    const anyVersion = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), mutated);
    fc.assert(
      fc.property(
        anyVersion,
        anyVersion,
        fc.constantFrom<VersionRules>('apk-tools-2', 'apk-tools-3'),
        (a, b, rules) => {
          isValidVersion(a, rules);
          const ab = compareVersions(a, b, rules);
          const ba = compareVersions(b, a, rules);
          // antisymmetry holds for valid versions
          if (isValidVersion(a, rules) && isValidVersion(b, rules)) assert.equal(ab + ba, 0);
          for (const op of ['<', '<=', '=', '>=', '>', '~', '<~', '>~'])
            versionMatches(a, versionOpMask(op), b, rules);
        },
      ),
      fuzzRuns(600, 6000),
    );
  });
});
