/** Turns zod issues on a parsed YAML file into problems with file:line:column and the expected shape. */
import type { z } from 'zod';
import { suggest } from '../util/suggest.ts';
import type { ConfigProblem, SourceLocation } from './problems.ts';
import { UNSUPPORTED_VALUES } from './schema.ts';
import { formatPath } from './text.ts';
import {
  childSchema,
  type NodeInfo,
  objectKeys,
  type ParsedYaml,
  pathKey,
  schemaKind,
  unwrapSchema,
} from './yaml-source.ts';

type Issue = z.core.$ZodIssue;

export function schemaAt(root: z.ZodType, path: readonly PropertyKey[]): z.ZodType | undefined {
  let s: z.ZodType | undefined = root;
  for (const seg of path) s = childSchema(s, seg);
  return s;
}

function enumValues(schema: z.ZodType | undefined): string[] | undefined {
  const s = unwrapSchema(schema) as unknown as {
    _zod?: { def: { type: string; entries?: Record<string, string> } };
  };
  const def = s?._zod?.def;
  return def?.type === 'enum' && def.entries ? Object.values(def.entries) : undefined;
}

const PLURAL: Record<string, string> = {
  string: 'strings',
  integer: 'integers',
  boolean: 'booleans',
  object: 'mappings',
  record: 'mappings',
  array: 'lists',
};

/** The expected shape in words: "a string", "a list of strings", "a mapping with username, uid, …". */
export function describeSchema(schema: z.ZodType | undefined): string {
  const values = enumValues(schema);
  if (values) return `one of ${values.map((v) => JSON.stringify(v)).join(', ')}`;
  switch (schemaKind(schema)) {
    case 'string':
      return 'a string';
    case 'integer':
      return 'an integer';
    case 'boolean':
      return 'true or false';
    case 'array':
      return `a list of ${PLURAL[schemaKind(childSchema(schema, 0))] ?? 'values'}`;
    case 'object': {
      const keys = objectKeys(schema);
      return keys.length > 0 && keys.length <= 7 ? `a mapping with ${keys.join(', ')}` : 'a mapping';
    }
    case 'record':
      return 'a mapping of names to values';
    default:
      return 'a value';
  }
}

/**
 * What a node is, quoting short scalars. `withValue: false` names only the type: for a whole file that is not a
 * mapping, which may be any readable file an include named (a token, /proc/self/environ), never quoted.
 */
function describeNode(info: NodeInfo, withValue = true): string {
  if (!withValue) {
    const article = info.kind === 'integer' ? 'an' : 'a';
    return info.kind === 'mapping' || info.kind === 'list' || info.kind === 'null'
      ? describeNode(info)
      : `${article} ${info.kind}`;
  }
  switch (info.kind) {
    case 'mapping':
      return 'a mapping';
    case 'list':
      return 'a list';
    case 'null':
      return 'nothing (null)';
    case 'string':
      return `a string (${JSON.stringify(info.text ?? '')})`;
    case 'integer':
      return `an integer (${info.text})`;
    case 'number':
      return `a number (${info.text})`;
    case 'boolean':
      return `a boolean (${info.text})`;
  }
}

function prefix(path: readonly PropertyKey[]): string {
  return path.length === 0 ? '' : `${formatPath(path)}: `;
}

/** The problems for a failed schema check, each placed at its YAML node (or its parent when missing). */
export function issuesToProblems(
  issues: readonly Issue[],
  parsed: ParsedYaml,
  root: z.ZodType,
  file: string,
): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  const nodeAt = (path: readonly PropertyKey[]): NodeInfo | undefined => parsed.nodes.get(pathKey(path));
  const nearest = (path: readonly PropertyKey[]): SourceLocation => {
    for (let n = path.length; n >= 0; n--) {
      const info = nodeAt(path.slice(0, n));
      if (info) return info.at;
    }
    return { file, line: 1, column: 1 };
  };
  for (const issue of issues) {
    const path = issue.path as PropertyKey[];
    const info = nodeAt(path);
    const schema = schemaAt(root, path);
    switch (issue.code) {
      case 'invalid_type': {
        if (info === undefined) {
          const parent = path.slice(0, -1);
          out.push({
            ...nearest(parent),
            message: `${parent.length ? `${formatPath(parent)}: ` : ''}missing required field ${JSON.stringify(String(path.at(-1)))} (${describeSchema(schema)})`,
          });
          break;
        }
        let hint: string | undefined;
        if (schemaKind(schema) === 'integer' && info.kind === 'string') {
          hint = /^(0o?)?[0-7]+$/.test(info.text ?? '')
            ? 'write the number without quotes, e.g. 0o755'
            : 'write a whole number without quotes';
        }
        out.push({
          ...info.at,
          message: `${path.length === 0 ? 'the config: ' : prefix(path)}expected ${describeSchema(schema)}, got ${describeNode(info, path.length > 0)}`,
          hint,
        });
        break;
      }
      case 'unrecognized_keys': {
        const candidates = objectKeys(schema);
        for (const key of issue.keys) {
          const keyInfo = nodeAt([...path, key]);
          const guess = suggest(key, candidates);
          out.push({
            ...(keyInfo?.keyAt ?? keyInfo?.at ?? nearest(path)),
            message: `unknown field ${JSON.stringify(key)}${path.length ? ` in ${formatPath(path)}` : ''}${guess ? ` (did you mean ${JSON.stringify(guess)}?)` : ''}`,
            hint: guess
              ? undefined
              : path.length === 0 && (key === 'package' || key === 'pipeline')
                ? 'this looks like a melange package recipe; lading reads apko image configs'
                : `valid fields here: ${candidates.join(', ')}`,
          });
        }
        break;
      }
      case 'invalid_value': {
        const got = info?.text ?? '';
        const unsupported = UNSUPPORTED_VALUES[formatPath(path)]?.[got];
        if (unsupported) {
          out.push({ ...(info?.at ?? nearest(path)), message: `${prefix(path)}${unsupported}` });
          break;
        }
        const values = issue.values.map(String);
        const guess = info?.kind === 'string' ? suggest(got, values) : undefined;
        out.push({
          ...(info?.at ?? nearest(path)),
          message: `${prefix(path)}expected one of ${values.map((v) => JSON.stringify(v)).join(', ')}, got ${info ? describeNode(info) : 'nothing'}${guess ? ` (did you mean ${JSON.stringify(guess)}?)` : ''}`,
        });
        break;
      }
      case 'too_small':
      case 'too_big': {
        const custom = !/^Too (small|big)/.test(issue.message);
        const bound = issue.code === 'too_small' ? `at least ${issue.minimum}` : `at most ${issue.maximum}`;
        out.push({
          ...(info?.at ?? nearest(path)),
          message: `${prefix(path)}${custom ? issue.message : `must be ${bound}, got ${info?.text ?? '?'}`}`,
        });
        break;
      }
      case 'invalid_key': {
        const keyInfo = nodeAt(path);
        const inner = issue.issues[0]?.message ?? issue.message;
        out.push({
          ...(keyInfo?.keyAt ?? nearest(path)),
          message: `${prefix(path.slice(0, -1))}invalid key ${JSON.stringify(String(path.at(-1)))}: ${inner}`,
        });
        break;
      }
      default:
        out.push({ ...(info?.at ?? nearest(path)), message: `${prefix(path)}${issue.message}` });
    }
  }
  return out;
}
