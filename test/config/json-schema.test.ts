import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { parse } from 'yaml';
import { configJsonSchema, configJsonSchemaText } from '../../src/config/index.ts';
import { dataDir, examplesDir } from '../helpers/config.ts';
import { fixture, repoRoot } from '../helpers/paths.ts';

const schema = configJsonSchema();
// ajv's strict mode as users run it: no allowUnionTypes or other relaxations
const ajv = new Ajv2020({ strict: true, allErrors: true });
const validate = ajv.compile(schema);

/** Editors read YAML as YAML 1.2 (0o755 is an integer) and validate the result. */
function check(text: string): string[] {
  const ok = validate(parse(text));
  return ok ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
}

describe('JSON Schema', () => {
  test('is draft 2020-12, compiles in ajv strict mode, and every object is closed', () => {
    assert.equal(schema.$schema, 'https://json-schema.org/draft/2020-12/schema');
    const open: string[] = [];
    const walk = (node: unknown, path: string) => {
      if (node === null || typeof node !== 'object') return;
      const o = node as Record<string, unknown>;
      if (o.type === 'object' && o.additionalProperties === undefined) open.push(path);
      for (const [k, v] of Object.entries(o)) walk(v, `${path}/${k}`);
    };
    walk(schema, '#');
    assert.deepEqual(open, []);
  });

  test('describes every top-level apko field', () => {
    assert.deepEqual(Object.keys(schema.properties as object).sort(), [
      'accounts',
      'annotations',
      'archs',
      'certificates',
      'cmd',
      'contents',
      'entrypoint',
      'environment',
      'format',
      'include',
      'layering',
      'paths',
      'stop-signal',
      'vcs-url',
      'volumes',
      'work-dir',
    ]);
  });

  test('accepts the example configs, full.yaml and apko’s own configs', () => {
    const files = [
      ...readdirSync(examplesDir)
        .filter((f) => f.endsWith('.yaml'))
        .map((f) => join(examplesDir, f)),
      join(dataDir, 'full.yaml'),
      join(dataDir, 'service-bundle.yaml'),
      ...readdirSync(fixture('apko/internal/cli/testdata'))
        .filter((f) => f.endsWith('.yaml') && !f.endsWith('.melange.yaml'))
        .map((f) => join(fixture('apko/internal/cli/testdata'), f)),
    ];
    assert.ok(files.length >= 12);
    for (const f of files) assert.deepEqual(check(readFileSync(f, 'utf8')), [], f);
  });

  test('rejects bad configs', () => {
    const bad: [string, string][] = [
      ['contents:\n  pakages: [busybox]\n', '/contents must NOT have additional properties'],
      ['contents:\n  packages: [{name: x}]\n', '/contents/packages/0 must be string'],
      ['accounts:\n  users: [{username: a, uid: 0}]\n', '/accounts/users/0/uid must be >= 1'],
      ['accounts:\n  users: [{username: a}]\n', "/accounts/users/0 must have required property 'uid'"],
      ['format: erofs\n', '/format must be equal to one of the allowed values'],
      ['archs: [x86-64]\n', '/archs/0 must be equal to one of the allowed values'],
      ['layering: {strategy: size}\n', '/layering/strategy must be equal to one of the allowed values'],
      ['paths: [{path: /a, type: symlink}]\n', "/paths/0 must have required property 'source'"],
      [
        'paths: [{path: /a, type: directory, permissions: 0o17777}]\n',
        '/paths/0/permissions must be <= 4095',
      ],
      ['entrypoint: {type: daemon}\n', '/entrypoint/type must be equal to one of the allowed values'],
      [
        'certificates: {additional: [{name: "a b", content: x}]}\n',
        '/certificates/additional/0/name must match pattern',
      ],
      ['foo: 1\n', ' must NOT have additional properties'],
    ];
    for (const [text, expected] of bad) {
      const errors = check(text);
      assert.ok(
        errors.some((e) => e.startsWith(expected)),
        `${JSON.stringify(text)}: ${JSON.stringify(errors)}`,
      );
    }
  });

  test('numbers are fine where apko takes the text of a scalar (run-as, environment, annotations)', () => {
    assert.deepEqual(
      check('accounts: {run-as: 65532}\nenvironment: {PORT: 8080}\nannotations: {v: 1.10}\n'),
      [],
    );
  });

  test('schema/apko.schema.json is the generated schema (regenerate: node src/config/gen-schema.ts)', () => {
    assert.equal(readFileSync(join(repoRoot, 'schema/apko.schema.json'), 'utf8'), configJsonSchemaText());
  });
});
