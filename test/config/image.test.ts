import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import fc from 'fast-check';
import {
  imageCmd,
  imageEntrypoint,
  imageEnv,
  loadConfig,
  ociRuntimeConfig,
  ShellSplitError,
  splitWords,
} from '../../src/config/index.ts';
import { dataDir, loadText } from '../helpers/config.ts';
import { requireTool, tempDir } from '../helpers/tools.ts';

const tmp = tempDir('lading-config-image-');
after(() => tmp.remove());
let n = 0;
const dir = () => join(tmp.path, `t${n++}`);

describe('splitWords (POSIX shell word splitting)', () => {
  const cases: [string, string[]][] = [
    ['/bin/sh -l', ['/bin/sh', '-l']],
    ['  a\t b \n c  ', ['a', 'b', 'c']],
    [`'single quoted  text' x`, ['single quoted  text', 'x']],
    ['"double quoted" y', ['double quoted', 'y']],
    [`a"b c"'d e'f`, ['ab cd ef']],
    [`"" '' x`, ['', '', 'x']],
    ['a\\ b c', ['a b', 'c']],
    ['\\"quoted\\"', ['"quoted"']],
    [`"a \\" b \\\\ c \\$d \\x"`, ['a " b \\ c $d \\x']],
    [`'no \\escapes "here"'`, ['no \\escapes "here"']],
    ['a \\\nb', ['a', 'b']],
    ['"a\\\nb"', ['ab']],
    ['run # a comment\nnext', ['run', 'next']],
    ['a#b', ['a#b']],
    ['', []],
  ];
  for (const [input, words] of cases) {
    test(JSON.stringify(input), () => assert.deepEqual(splitWords(input).words, words));
  }

  test('errors: unterminated quotes; a final lone backslash stays literal as in sh', () => {
    assert.throws(() => splitWords('"abc'), new ShellSplitError('has an unterminated double quote'));
    assert.throws(() => splitWords("'abc"), new ShellSplitError('has an unterminated single quote'));
    assert.deepEqual(splitWords('abc \\').words, ['abc', '\\']);
  });

  test('shell syntax is noticed (unquoted operators, $ and backquotes outside single quotes)', () => {
    assert.equal(splitWords('a | b').shellSyntax, true);
    assert.equal(splitWords('echo "$HOME"').shellSyntax, true);
    assert.equal(splitWords("echo '$HOME' '|'").shellSyntax, false);
    assert.equal(splitWords('--listen=:8080').shellSyntax, false);
  });

  test('agrees with the real /bin/sh on random words built from quotes, escapes and spaces', () => {
    const sh = requireTool('sh');
    const alphabet = fc.constantFrom('a', 'b', ' ', '\t', "'", '"', '\\', '#', '=', '-', '*', 'é');
    fc.assert(
      fc.property(
        fc.array(alphabet, { maxLength: 12 }).map((a) => a.join('')),
        (input) => {
          // `set -f` keeps * literal; printf prints one word per NUL-terminated record.
          const r = spawnSync(sh, ['-c', `set -f; printf '%s\\0' ${input}`], { encoding: 'utf8' });
          let ours: string[];
          try {
            ours = splitWords(input).words;
          } catch {
            assert.notEqual(r.status, 0, `sh accepts ${JSON.stringify(input)} but splitWords does not`);
            return true;
          }
          assert.equal(r.status, 0, `splitWords accepts ${JSON.stringify(input)} but sh does not`);
          const theirs = ours.length === 0 ? [] : r.stdout.split('\0').slice(0, -1);
          assert.deepEqual(ours, theirs, `input ${JSON.stringify(input)}`);
          return true;
        },
      ),
      { numRuns: 150, seed: 42 },
    );
  });
});

describe('OCI values', () => {
  test('entrypoint: command words, shell-fragment under /bin/sh -c, service bundle, none', async () => {
    const full = (await loadConfig('full.yaml', { cwd: dataDir })).config;
    assert.deepEqual(imageEntrypoint(full), ['/usr/bin/server', '--listen', ':8080', '--name', 'my server']);
    assert.deepEqual(imageCmd(full), ['--verbose', '--config=/etc/server.conf']);
    const bundle = (await loadConfig('service-bundle.yaml', { cwd: dataDir })).config;
    assert.deepEqual(imageEntrypoint(bundle), ['/bin/s6-svscan', '/sv']);
    const fragment = (
      await loadText(
        dir(),
        'f.yaml',
        'entrypoint:\n  command: /ignored\n  shell-fragment: echo $HOME | wc -c\n',
      )
    ).config;
    assert.deepEqual(imageEntrypoint(fragment), ['/bin/sh', '-c', 'echo $HOME | wc -c']);
    const none = (await loadText(dir(), 'n.yaml', 'contents: {packages: [busybox]}\n')).config;
    assert.equal(imageEntrypoint(none), undefined);
    assert.equal(imageCmd(none), undefined);
  });

  test('env: PATH and SSL_CERT_FILE defaults unless set, sorted bytewise as K=V like apko', async () => {
    const none = (await loadText(dir(), 'n.yaml', 'contents: {packages: [busybox]}\n')).config;
    assert.deepEqual(imageEnv(none), [
      'PATH=/usr/local/sbin:/usr/local/bin:/usr/bin:/usr/sbin:/sbin:/bin',
      'SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt',
    ]);
    const set = (
      await loadText(dir(), 's.yaml', 'environment:\n  PATH: /bin\n  A1: x\n  A: y\n  a: z\n  B_C: w\n')
    ).config;
    // "A1=x" sorts before "A=y" because '1' < '=' byte-wise (Go's sort.Strings over K=V strings).
    assert.deepEqual(imageEnv(set), [
      'A1=x',
      'A=y',
      'B_C=w',
      'PATH=/bin',
      'SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt',
      'a=z',
    ]);
  });

  test('ociRuntimeConfig gathers every runtime field', async () => {
    const full = (await loadConfig('full.yaml', { cwd: dataDir })).config;
    assert.deepEqual(ociRuntimeConfig(full), {
      Entrypoint: ['/usr/bin/server', '--listen', ':8080', '--name', 'my server'],
      Cmd: ['--verbose', '--config=/etc/server.conf'],
      Env: ['PATH=/usr/bin:/bin', 'SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt', 'TZ=UTC', 'WORKERS=4'],
      User: '65532',
      WorkingDir: '/srv',
      StopSignal: 'SIGQUIT',
      Volumes: { '/srv/data': {} },
      Labels: { 'org.opencontainers.image.title': 'full', 'org.opencontainers.image.version': '1.10' },
    });
  });
});
