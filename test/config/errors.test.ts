import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config/index.ts';
import { LadingError } from '../../src/util/errors.ts';
import { errorsOf, loadError, loadText, writeFiles } from '../helpers/config.ts';
import { tempDir } from '../helpers/tools.ts';

const tmp = tempDir('lading-config-errors-');
after(() => tmp.remove());
let n = 0;
const dir = () => join(tmp.path, `t${n++}`);

/** [config text, the exact problem lines it must produce (file is a.yaml)] */
const CASES: Record<string, [string, string[]]> = {
  'unknown field with a suggestion': [
    'contents:\n  pakages:\n    - busybox\n',
    ['a.yaml:2:3: unknown field "pakages" in contents (did you mean "packages"?)'],
  ],
  'unknown top-level field': [
    'contens:\n  packages: [busybox]\n',
    ['a.yaml:1:1: unknown field "contens" (did you mean "contents"?)'],
  ],
  'a mapping where a string belongs': [
    'contents:\n  packages:\n    - busybox\n    - musl\n    - zlib\n    - {name: x}\n',
    ['a.yaml:6:7: contents.packages[3]: expected a string, got a mapping'],
  ],
  'a repository entry the build could not read': [
    'contents:\n  repositories:\n    - "@bad! /x"\n  packages: [busybox]\n',
    ['a.yaml:2:3: contents.repositories[0]: invalid repository tag "bad!"'],
  ],
  'a string where a list belongs': [
    'contents:\n  packages: busybox\n',
    ['a.yaml:2:13: contents.packages: expected a list of strings, got a string ("busybox")'],
  ],
  'a list where the config belongs': [
    '- a\n- b\n',
    ['a.yaml:1:1: the config: expected a mapping, got a list'],
  ],
  'null in a list': [
    'contents:\n  packages:\n    - ~\n    - ""\n',
    [
      'a.yaml:3:7: contents.packages[0]: expected a string, got nothing (null)',
      'a.yaml:4:7: contents.packages[1]: a package must not be empty',
    ],
  ],
  'user uid 0': [
    'accounts:\n  users:\n    - username: bad\n      uid: 0\n',
    [
      'a.yaml:4:12: accounts.users[0].uid: uid 0 is root and cannot be added as a user (to run as root, use `run-as: 0`)',
    ],
  ],
  'user uid -1 (the bound, not the root explanation)': [
    'accounts:\n  users:\n    - username: bad\n      uid: -1\n',
    ['a.yaml:4:12: accounts.users[0].uid: must be at least 1, got -1'],
  ],
  'credentials in a quoted value, however long or cut': [
    'contents:\n  repositories: https://user:p/a?s#s@example.com/a-very-long-path/that-gets-cut/v3.19/main\n',
    [
      'a.yaml:2:17: contents.repositories: expected a list of strings, got a string ("https://example.com/a-very-long-path/...")',
    ],
  ],
  'credentials in a remote include': [
    'include: https://user:p/a?s#s@example.com/base.yaml\n',
    ['a.yaml:1:10: include: remote includes are not supported ("https://example.com/base.yaml")'],
  ],
  'user without uid': [
    'accounts:\n  users:\n    - username: bad\n',
    ['a.yaml:3:7: accounts.users[0]: missing required field "uid" (an integer)'],
  ],
  'group without gid': [
    'accounts:\n  groups:\n    - groupname: g\n',
    ['a.yaml:3:7: accounts.groups[0]: missing required field "gid" (an integer)'],
  ],
  'user name with a colon': [
    'accounts:\n  users:\n    - username: "a:b"\n      uid: 5\n',
    [
      'a.yaml:3:17: accounts.users[0].username: a user name starts with a letter or "_" and holds only letters, digits, "_", "-" and "."',
    ],
  ],
  'user defined twice': [
    'accounts:\n  users:\n    - {username: a, uid: 1}\n    - {username: a, uid: 2}\n',
    ['a.yaml:4:7: user "a" is defined twice'],
  ],
  'group defined twice': [
    'accounts:\n  groups:\n    - {groupname: a, gid: 1}\n    - {groupname: a, gid: 2}\n',
    ['a.yaml:4:7: group "a" is defined twice'],
  ],
  'format erofs': [
    'format: erofs\n',
    [
      'a.yaml:1:9: format: "erofs" is not supported by lading (it is experimental in apko); use format: tar or remove format',
    ],
  ],
  'format typo': [
    'format: tarr\n',
    ['a.yaml:1:9: format: expected one of "tar", got a string ("tarr") (did you mean "tar"?)'],
  ],
  'layering strategy other than origin': [
    'layering:\n  strategy: size\n  budget: 3\n',
    ['a.yaml:2:13: layering.strategy: expected one of "origin", "package", got a string ("size")'],
  ],
  'layering budget without strategy': [
    'layering:\n  budget: 3\n',
    ['a.yaml:1:1: layering.budget needs layering.strategy (origin or package)'],
  ],
  'layering budget negative': [
    'layering:\n  strategy: origin\n  budget: -1\n',
    ['a.yaml:3:11: layering.budget: must be at least 0, got -1'],
  ],
  'unknown architecture': [
    'archs: [x86-64, arm64]\n',
    [
      'a.yaml:1:9: archs[0]: expected one of "386", "amd64", "arm/v6", "arm/v7", "arm64", "loong64", "ppc64le", "riscv64", "s390x", "x86", "x86_64", "armhf", "armv7", "aarch64", "loongarch64", got a string ("x86-64") (did you mean "x86_64"?)',
    ],
  ],
  'permissions quoted': [
    'paths:\n  - path: /a\n    type: directory\n    permissions: "0755"\n',
    ['a.yaml:4:18: paths[0].permissions: expected an integer, got a string ("0755")'],
  ],
  'permissions too large': [
    'paths:\n  - path: /a\n    type: directory\n    permissions: 0o17777\n',
    ['a.yaml:4:18: paths[0].permissions: permissions must be at most 0o7777'],
  ],
  'path type typo': [
    'paths:\n  - path: /a\n    type: dir\n',
    [
      'a.yaml:3:11: paths[0].type: expected one of "directory", "empty-file", "hardlink", "symlink", "permissions", got a string ("dir")',
    ],
  ],
  'path outside the image': [
    'paths:\n  - path: ../../etc\n    type: directory\n',
    ['a.yaml:2:11: paths[0].path: path "../../etc" is outside the image'],
  ],
  'paths a layer cannot carry: a whiteout name, an overlong name, a newline': [
    `paths:\n  - path: /etc/.wh.passwd\n    type: empty-file\n  - path: /${'n'.repeat(256)}\n    type: directory\n  - path: "/a\\nb"\n    type: directory\n`,
    [
      'a.yaml:2:11: paths[0].path: path "/etc/.wh.passwd" is an OCI whiteout name (.wh.*): in a layer it would delete files',
      'a.yaml:4:11: paths[1].path: a path must fit PATH_MAX (4096 bytes) and each of its names NAME_MAX (255 bytes)',
      'a.yaml:6:11: paths[2].path: a path must not contain control characters',
    ],
  ],
  'hardlink source outside the image': [
    'paths:\n  - path: /a\n    type: hardlink\n    source: /../x\n',
    ['a.yaml:4:13: paths[0].source: hardlink source "/../x" is outside the image'],
  ],
  'symlink without source': [
    'paths:\n  - path: /a\n    type: symlink\n',
    ['a.yaml:2:5: paths[0].source: a symlink needs a source (the link target)'],
  ],
  'recursive not a boolean': [
    'paths:\n  - path: /a\n    type: directory\n    recursive: maybe\n',
    ['a.yaml:4:16: paths[0].recursive: expected true or false, got a string ("maybe")'],
  ],
  'certificate name and content': [
    'certificates:\n  additional:\n    - name: "bad name"\n      content: x\n',
    [
      'a.yaml:3:13: certificates.additional[0].name: a certificate name may hold only letters, digits, "_", "-" and "." (not first)',
      'a.yaml:4:16: certificates.additional[0].content: must hold exactly one PEM certificate, found 0',
    ],
  ],
  'runtime key not PEM': [
    'contents:\n  runtime_keyring:\n    - name: k\n      content: nope\n',
    [
      'a.yaml:4:16: contents.runtime_keyring[0].content: must hold exactly one PEM "PUBLIC KEY" block, found 0',
    ],
  ],
  'runtime key not RSA': [
    [
      'contents:',
      '  runtime_keyring:',
      '    - name: ec.pub',
      '      content: |',
      '        -----BEGIN PUBLIC KEY-----',
      '        MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE1eIejEw6ELF9XIlR/VZghHgxbEDO',
      '        p20nn9HAV1UL1hQgU1EMUNMgDgrXcRH2ygvd2yVPV4LZxzF4VPO9RvCTYw==',
      '        -----END PUBLIC KEY-----',
      '',
    ].join('\n'),
    ['a.yaml:4:16: contents.runtime_keyring[0].content: must be an RSA public key, not ec'],
  ],
  'entrypoint type typo': [
    'entrypoint:\n  type: service-bundel\n',
    [
      'a.yaml:2:9: entrypoint.type: expected one of "service-bundle", got a string ("service-bundel") (did you mean "service-bundle"?)',
    ],
  ],
  'service name with a slash': [
    'entrypoint:\n  type: service-bundle\n  services:\n    ../x: /bin/true\n',
    [
      'a.yaml:4:5: entrypoint.services: invalid key "../x": a service name may hold only letters, digits, "_", "-" and "." (not first)',
    ],
  ],
  'service names that would leave /sv or that s6 skips': [
    'entrypoint:\n  type: service-bundle\n  services:\n    a/b: /bin/true\n    .hidden: /bin/true\n    "..": /bin/true\n    "": /bin/true\n',
    [
      'a.yaml:4:5: entrypoint.services: invalid key "a/b": a service name may hold only letters, digits, "_", "-" and "." (not first)',
      'a.yaml:5:5: entrypoint.services: invalid key ".hidden": a service name may hold only letters, digits, "_", "-" and "." (not first)',
      'a.yaml:6:5: entrypoint.services: invalid key "..": a service name may hold only letters, digits, "_", "-" and "." (not first)',
      'a.yaml:7:5: entrypoint.services: invalid key "": a service name may hold only letters, digits, "_", "-" and "." (not first)',
    ],
  ],
  'environment name with =': [
    'environment:\n  "A=B": x\n',
    [
      'a.yaml:2:3: environment: invalid key "A=B": an environment variable name must not be empty or contain "="',
    ],
  ],
  'values runtimes cannot use: NUL in an environment value, newlines in names and keys, relative paths': [
    [
      'environment:',
      '  A: "x\\0y"',
      '  "B\\nC": x',
      'annotations:',
      '  "a\\nb": x',
      '  k: "v\\0"',
      'work-dir: relative/dir',
      'volumes: [/data, cache]',
      '',
    ].join('\n'),
    [
      'a.yaml:2:6: environment.A: an environment value must not contain a NUL character: runtimes pass the environment as C strings',
      'a.yaml:3:3: environment: invalid key "B\\nC": an environment variable name must not contain control characters (a newline, a tab)',
      'a.yaml:5:3: annotations: invalid key "a\\nb": an annotation key must not contain control characters (a newline, a tab)',
      'a.yaml:6:6: annotations.k: an annotation value must not contain a NUL character',
      'a.yaml:7:11: work-dir: must be an absolute path (starting with /): runtimes refuse a relative one',
      'a.yaml:8:18: volumes[1]: must be an absolute path (starting with /): runtimes refuse a relative one',
    ],
  ],
  'unterminated quote in the entrypoint': [
    'entrypoint:\n  command: /bin/echo "unterminated\n',
    ['a.yaml:2:3: entrypoint.command has an unterminated double quote'],
  ],
  'cmd with an unterminated single quote': [
    "cmd: echo 'x\n",
    ['a.yaml:1:1: cmd has an unterminated single quote'],
  ],
  'base image with other fields (apko allows only contents, archs and include; no layering)': [
    [
      'contents:\n  baseimage: {image: ./x, apkindex: ./y}',
      'cmd: /bin/sh',
      'environment: {A: b}',
      'entrypoint: {command: /x}',
      'stop-signal: SIGINT',
      'work-dir: /w',
      'accounts: {run-as: "0"}',
      'paths: [{path: /x, type: directory, permissions: 0o755}]',
      'annotations: {a: b}',
      'layering: {strategy: origin}',
      'archs: [x86_64]\n',
    ].join('\n'),
    [
      'cmd',
      'environment',
      'entrypoint',
      'stop-signal',
      'work-dir',
      'accounts',
      'paths',
      'annotations',
      'layering',
    ].map(
      (f, i) =>
        `a.yaml:${i + 3}:1: ${f} cannot be used with contents.baseimage (only contents, archs and include can)`,
    ),
  ],
  'YAML syntax error': [
    'contents:\n  packages: [busybox\n',
    [
      'a.yaml:3:1: YAML syntax error: Flow sequence in block collection must be sufficiently indented and end with a ]',
    ],
  ],
  'duplicate key': [
    'cmd: a\ncmd: b\n',
    ['a.yaml:2:1: duplicate key: each key may appear only once in a mapping'],
  ],
  'two documents': [
    'cmd: a\n---\ncmd: b\n',
    ['a.yaml:2:1: the config holds more than one YAML document ("---"); put everything in one document'],
  ],
  'empty file': ['# nothing\n', ['a.yaml: the config is empty']],
  'remote include': [
    'include: https://example.com/base.yaml\n',
    ['a.yaml:1:10: include: remote includes are not supported ("https://example.com/base.yaml")'],
  ],
  'missing include': ['include: nope.yaml\n', ['a.yaml:1:10: include: file "nope.yaml" not found']],
  'include of itself': ['include: a.yaml\n', ['a.yaml:1:10: include: cycle a.yaml → a.yaml']],
  'several problems at once, sorted by position': [
    'contents:\n  pakages: [x]\nfoo: 1\naccounts:\n  users:\n    - {username: x, uid: 0}\n',
    [
      'a.yaml:2:3: unknown field "pakages" in contents (did you mean "packages"?)',
      'a.yaml:3:1: unknown field "foo"',
      'a.yaml:6:26: accounts.users[0].uid: uid 0 is root and cannot be added as a user (to run as root, use `run-as: 0`)',
    ],
  ],
};

describe('each problem is reported at its file:line:column', () => {
  for (const [name, [text, expected]] of Object.entries(CASES)) {
    test(name, async () => {
      assert.deepEqual(await errorsOf(dir(), 'a.yaml', text), expected);
    });
  }
});

describe('error objects', () => {
  test('a ConfigError is a LadingError whose first problem is its location, and format() lists all with hints', async () => {
    const d = dir();
    writeFiles(d, { 'a.yaml': 'contents:\n  pakages: [x]\nfoo: 1\n' });
    const e = await loadError(d, 'a.yaml');
    assert.ok(e instanceof LadingError);
    assert.equal(e.code, 'CONFIG_INVALID');
    assert.deepEqual([e.file, e.line, e.column], ['a.yaml', 2, 3]);
    assert.equal(
      e.format(),
      [
        'a.yaml:2:3: unknown field "pakages" in contents (did you mean "packages"?)',
        'a.yaml:3:1: unknown field "foo"',
        '  hint: valid fields here: contents, entrypoint, cmd, stop-signal, work-dir, accounts, archs, environment, paths, vcs-url, annotations, include, volumes, layering, format, certificates',
      ].join('\n'),
    );
  });

  test('a melange recipe is recognised', async () => {
    const d = dir();
    writeFiles(d, { 'm.yaml': 'package:\n  name: x\npipeline: []\n' });
    const e = await loadError(d, 'm.yaml');
    assert.match(e.problems[0]!.hint ?? '', /melange package recipe/);
  });

  test('problems in an included file name that file; the include cycle names the chain', async () => {
    const d = dir();
    writeFiles(d, {
      'top.yaml': 'include: sub/base.yaml\ncmd: x\n',
      'sub/base.yaml': 'contents:\n  packages: [a]\nworkdir: /x\n',
      'c1.yaml': 'include: c2.yaml\n',
      'c2.yaml': '# second\ninclude: c1.yaml\n',
    });
    const e = await loadError(d, 'top.yaml');
    assert.deepEqual(
      e.problems.map((p) => `${p.file}:${p.line}:${p.column}: ${p.message}`),
      ['sub/base.yaml:3:1: unknown field "workdir" (did you mean "work-dir"?)'],
    );
    const cycle = await loadError(d, 'c1.yaml');
    assert.deepEqual(
      cycle.problems.map((p) => `${p.file}:${p.line}:${p.column}: ${p.message}`),
      ['c2.yaml:2:10: include: cycle c1.yaml → c2.yaml → c1.yaml'],
    );
  });

  test('an included file that is not a mapping (a token, /proc/self/environ) is never quoted', async () => {
    const d = dir();
    writeFiles(d, {
      'token.txt': 'ghp_SECRET0123456789abcdefghijklmnopqrstuvwxyz\n',
      'number.txt': '1234567890123\n',
      'a.yaml': 'include: token.txt\n',
      'b.yaml': 'include: /proc/self/environ\n',
      'c.yaml': 'include: number.txt\n',
    });
    const lines = async (name: string) =>
      (await loadError(d, name)).problems.map((p) => `${p.file}:${p.line}:${p.column}: ${p.message}`);
    assert.deepEqual(await lines('a.yaml'), ['token.txt:1:1: the config: expected a mapping, got a string']);
    assert.deepEqual(await lines('b.yaml'), [
      '/proc/self/environ:1:1: the config: expected a mapping, got a string',
    ]);
    assert.deepEqual(await lines('c.yaml'), [
      'number.txt:1:1: the config: expected a mapping, got an integer',
    ]);
  });

  test('a user defined in the config and in its include is reported at the second, with the first as hint', async () => {
    const d = dir();
    writeFiles(d, {
      'top.yaml': 'include: base.yaml\naccounts:\n  users:\n    - {username: app, uid: 2}\n',
      'base.yaml': 'accounts:\n  users:\n    - {username: app, uid: 1}\n',
    });
    const e = await loadError(d, 'top.yaml');
    assert.equal(e.problems.length, 1);
    assert.equal(`${e.problems[0]!.file}:${e.problems[0]!.line}`, 'top.yaml:4');
    assert.equal(e.problems[0]!.hint, 'first defined at base.yaml:3:7');
  });

  test('a missing config is a CONFIG_NOT_FOUND LadingError with the places looked at', async () => {
    await assert.rejects(loadConfig('nope.yaml', { cwd: dir() }), (e: unknown) => {
      assert.ok(e instanceof LadingError && !(e instanceof ConfigError));
      assert.equal(e.code, 'CONFIG_NOT_FOUND');
      assert.match(e.hint ?? '', /looked for nope\.yaml/);
      return true;
    });
  });

  test('invalid UTF-8 is refused', async () => {
    const d = dir();
    writeFiles(d, { 'a.yaml': '' });
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(d, 'a.yaml'), Buffer.from([0x63, 0x6d, 0x64, 0x3a, 0x20, 0xff, 0x0a]));
    assert.deepEqual(
      (await loadError(d, 'a.yaml')).problems.map((p) => p.message),
      ['the config is not valid UTF-8 text'],
    );
  });

  test('alias bombs do not hang the loader', async () => {
    const d = dir();
    const lines = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 9; i++)
      lines.push(
        `a${i}: &a${i} [${Array(10)
          .fill(`*a${i - 1}`)
          .join(', ')}]`,
      );
    await assert.rejects(loadText(d, 'bomb.yaml', `${lines.join('\n')}\n`), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.match(e.message, /too large or too deeply nested/);
      return true;
    });
    const deep = `cmd: ${'['.repeat(50_000)}${']'.repeat(50_000)}\n`;
    await assert.rejects(loadText(d, 'deep.yaml', deep), ConfigError);
  });
});

describe('warnings', () => {
  test('shell syntax in command/cmd, unused source/recursive, command with shell-fragment, services without a bundle', async () => {
    const l = await loadText(
      dir(),
      'w.yaml',
      [
        'entrypoint:',
        '  command: /bin/app $HOME | tee log',
        '  shell-fragment: echo hi',
        '  services: {web: /bin/true}',
        'cmd: --x > /dev/null',
        'paths:',
        '  - {path: /a, type: directory, source: /b}',
        '  - {path: /c, type: empty-file, recursive: true}',
        '',
      ].join('\n'),
    );
    assert.deepEqual(
      l.warnings.map((w) => `${w.line}:${w.column}: ${w.message}`),
      [
        '2:3: entrypoint has both command and shell-fragment; shell-fragment is used',
        '2:3: entrypoint.command is not run by a shell, so $variables, pipes, redirections and ; are passed literally',
        '4:3: entrypoint.services are written to /sv but nothing starts them without type: service-bundle',
        '5:1: cmd is not run by a shell, so $variables, pipes, redirections and ; are passed literally',
        '7:33: paths: source is only used by symlink and hardlink, not directory',
        '8:34: paths: recursive only applies to directory and permissions, not empty-file',
      ],
    );
  });
});
