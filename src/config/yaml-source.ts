/**
 * YAML text → plain values, guided by the zod schema, remembering where every value came from.
 *
 * Written by hand (instead of `doc.toJS()`) to read values the way apko's yaml.v3 does, which users rely on:
 * a plain scalar in a string field keeps its text (`run-as: 65532`, `VERSION: 1.10`); integers accept
 * YAML 1.1 octal (`0755`), `0o`, `0x`, `0b` and `_` separators; booleans accept yes/no/on/off; `key:` with
 * no value means "not set"; `<<` merge keys work. Locations feed file:line:column messages.
 */
import {
  type Document,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  parseDocument,
  type Scalar,
  type Node as YamlNode,
} from 'yaml';
import type { z } from 'zod';
import { redactUrl } from '../util/redact.ts';
import type { ConfigProblem, SourceLocation } from './problems.ts';

export type NodeKind = 'mapping' | 'list' | 'string' | 'integer' | 'number' | 'boolean' | 'null';

export interface NodeInfo {
  /** Where the value starts. */
  at: SourceLocation;
  /** Where its key starts (mapping entries). */
  keyAt?: SourceLocation;
  kind: NodeKind;
  /** Short text of a scalar value, for messages. */
  text?: string;
}

export interface ParsedYaml {
  value: unknown;
  /** JSON.stringify(path) → where that value is. */
  nodes: Map<string, NodeInfo>;
  /** Where each produced object/array came from (survives merging of includes). */
  origins: WeakMap<object, SourceLocation>;
  /** Where each key of each produced object is. */
  keyOrigins: WeakMap<object, Map<string, SourceLocation>>;
  problems: ConfigProblem[];
}

export const pathKey = (path: readonly PropertyKey[]): string => JSON.stringify(path);

const MAX_NODES = 200_000; // bounds alias expansion ("billion laughs")

/** Parses one YAML document; syntax errors become problems (value undefined). */
export function parseYaml(source: string, file: string, schema: z.ZodType): ParsedYaml {
  const lineCounter = new LineCounter();
  const doc = parseDocument(source, {
    lineCounter,
    prettyErrors: false,
    uniqueKeys: true,
  });
  const result: ParsedYaml = {
    value: undefined,
    nodes: new Map(),
    origins: new WeakMap(),
    keyOrigins: new WeakMap(),
    problems: [],
  };
  const at = (offset: number): SourceLocation => {
    const { line, col } = lineCounter.linePos(offset);
    return { file, line, column: col };
  };
  for (const e of doc.errors) {
    const message =
      e.code === 'MULTIPLE_DOCS'
        ? 'the config holds more than one YAML document ("---"); put everything in one document'
        : e.code === 'DUPLICATE_KEY'
          ? 'duplicate key: each key may appear only once in a mapping'
          : `YAML syntax error: ${e.message.replace(/ at line \d+, column \d+:[\s\S]*$/, '')}`;
    result.problems.push({ ...at(e.pos[0]), message });
  }
  if (result.problems.length > 0) return result;
  if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) {
    result.problems.push({
      file,
      message: 'the config is empty',
      hint: 'an apko config is a mapping such as "contents: {packages: [busybox]}"',
    });
    return result;
  }
  const walker = new Walker(doc, at, result);
  try {
    result.value = walker.toValue(doc.contents, schema, []);
  } catch (e) {
    // Alias expansion past MAX_NODES, or nesting deeper than the stack: refuse the file, never crash.
    if (!(e instanceof RangeError)) throw e;
    result.value = undefined;
    result.problems.push({
      file,
      message: 'the config is too large or too deeply nested once YAML aliases are expanded',
    });
  }
  return result;
}

type SchemaKind = 'string' | 'integer' | 'boolean' | 'object' | 'array' | 'record' | 'other';

interface ZodDefLike {
  type: string;
  innerType?: z.ZodType;
  in?: z.ZodType;
  shape?: Record<string, z.ZodType>;
  element?: z.ZodType;
  valueType?: z.ZodType;
  getter?: () => z.ZodType;
}

function defOf(schema: z.ZodType): ZodDefLike {
  return (schema as unknown as { _zod: { def: ZodDefLike } })._zod.def;
}

/** The schema under wrappers (optional, default, pipe, …). */
export function unwrapSchema(schema: z.ZodType | undefined): z.ZodType | undefined {
  let s = schema;
  for (let i = 0; s !== undefined && i < 20; i++) {
    const def = defOf(s);
    if (def.innerType) s = def.innerType;
    else if (def.type === 'pipe' && def.in) s = def.in;
    else if (def.type === 'lazy' && def.getter) s = def.getter();
    else return s;
  }
  return s;
}

export function schemaKind(schema: z.ZodType | undefined): SchemaKind {
  const s = unwrapSchema(schema);
  if (s === undefined) return 'other';
  switch (defOf(s).type) {
    case 'string':
    case 'enum':
    case 'literal':
      return 'string';
    case 'number':
    case 'int':
      return 'integer';
    case 'boolean':
      return 'boolean';
    case 'object':
      return 'object';
    case 'array':
      return 'array';
    case 'record':
      return 'record';
    default:
      return 'other';
  }
}

/** The sub-schema for one path segment (object field, array element, record value). */
export function childSchema(schema: z.ZodType | undefined, segment: PropertyKey): z.ZodType | undefined {
  const s = unwrapSchema(schema);
  if (s === undefined) return undefined;
  const def = defOf(s);
  if (def.type === 'object') return typeof segment === 'string' ? def.shape?.[segment] : undefined;
  if (def.type === 'array') return typeof segment === 'number' ? def.element : undefined;
  if (def.type === 'record') return def.valueType;
  return undefined;
}

export function objectKeys(schema: z.ZodType | undefined): string[] {
  const s = unwrapSchema(schema);
  if (s === undefined) return [];
  const def = defOf(s);
  return def.type === 'object' && def.shape ? Object.keys(def.shape) : [];
}

/** Go's strconv.ParseInt(s, 0, 64) after yaml.v3 drops `_`: decimal, 0x, 0o, 0b and 1.1-style 0755 octal. */
export function parseYamlInt(source: string): number | undefined {
  let s = source.replace(/_/g, '');
  let sign = 1;
  if (s.startsWith('-') || s.startsWith('+')) {
    if (s[0] === '-') sign = -1;
    s = s.slice(1);
  }
  let v: number;
  if (/^0[xX][0-9a-fA-F]+$/.test(s)) v = Number.parseInt(s.slice(2), 16);
  else if (/^0[oO][0-7]+$/.test(s)) v = Number.parseInt(s.slice(2), 8);
  else if (/^0[bB][01]+$/.test(s)) v = Number.parseInt(s.slice(2), 2);
  else if (/^0[0-7]+$/.test(s)) v = Number.parseInt(s.slice(1), 8);
  else if (/^(0|[1-9][0-9]*)$/.test(s)) v = Number(s);
  else return undefined;
  v *= sign;
  return Number.isSafeInteger(v) ? v : undefined;
}

const YAML11_TRUE = new Set(['y', 'Y', 'yes', 'Yes', 'YES', 'on', 'On', 'ON']);
const YAML11_FALSE = new Set(['n', 'N', 'no', 'No', 'NO', 'off', 'Off', 'OFF']);

class Walker {
  private count = 0;
  private readonly doc: Document;
  private readonly at: (offset: number) => SourceLocation;
  private readonly out: ParsedYaml;

  constructor(doc: Document, at: (offset: number) => SourceLocation, out: ParsedYaml) {
    this.doc = doc;
    this.at = at;
    this.out = out;
  }

  private locate(node: YamlNode): SourceLocation {
    return this.at(node.range?.[0] ?? 0);
  }

  private resolve(node: unknown): YamlNode | null {
    let n = node;
    for (let i = 0; isAlias(n) && i < 100; i++) n = n.resolve(this.doc) ?? null;
    return (n as YamlNode | null) ?? null;
  }

  toValue(raw: unknown, schema: z.ZodType | undefined, path: PropertyKey[], keyAt?: SourceLocation): unknown {
    if (++this.count > MAX_NODES) {
      throw new RangeError('too many YAML nodes (alias expansion?)');
    }
    const node = this.resolve(raw);
    const key = pathKey(path);
    if (node === null) {
      // `key:` with nothing after it
      this.out.nodes.set(key, {
        at: keyAt ?? { file: this.at(0).file, line: 1, column: 1 },
        keyAt,
        kind: 'null',
      });
      return null;
    }
    const at = this.locate(raw as YamlNode);
    if (isMap(node)) {
      this.out.nodes.set(key, { at, keyAt, kind: 'mapping' });
      return this.mapping(node, schema, path, at);
    }
    if (isSeq(node)) {
      this.out.nodes.set(key, { at, keyAt, kind: 'list' });
      const element = childSchema(schema, 0);
      const arr = node.items.map((item, i) => this.toValue(item, element, [...path, i]));
      this.out.origins.set(arr, at);
      return arr;
    }
    if (isScalar(node)) return this.scalar(node, schema, key, at, keyAt);
    this.out.nodes.set(key, { at, keyAt, kind: 'null' });
    return null;
  }

  private mapping(
    node: YamlNode,
    schema: z.ZodType | undefined,
    path: PropertyKey[],
    at: SourceLocation,
  ): unknown {
    const obj: Record<string, unknown> = {};
    const keys = new Map<string, SourceLocation>();
    const kind = schemaKind(schema);
    const pairs = isMap(node) ? node.items : [];
    const merged: unknown[] = [];
    for (const pair of pairs) {
      const keyNode = this.resolve(pair.key);
      const keyLoc = keyNode ? this.locate(keyNode) : at;
      if (!isScalar(keyNode) || (keyNode.value !== null && typeof keyNode.value === 'object')) {
        this.out.problems.push({
          ...keyLoc,
          message: 'a mapping key must be a plain name, not a list or mapping',
        });
        continue;
      }
      const name = scalarText(keyNode);
      if (name === '<<' && keyNode.type === 'PLAIN') {
        merged.push(pair.value);
        continue;
      }
      this.add(obj, keys, name, pair.value, schema, kind, path, keyLoc);
    }
    // `<<: *base` — keys written explicitly win over merged ones, as in YAML 1.1 and yaml.v3.
    for (const m of merged) {
      const target = this.resolve(m);
      const sources = isSeq(target) ? target.items.map((i) => this.resolve(i)) : [target];
      for (const src of sources) {
        if (!isMap(src)) {
          this.out.problems.push({
            ...this.locate((src ?? node) as YamlNode),
            message: '"<<" must merge a mapping',
          });
          continue;
        }
        for (const pair of src.items) {
          const keyNode = this.resolve(pair.key);
          if (!isScalar(keyNode)) continue;
          const name = scalarText(keyNode);
          if (Object.hasOwn(obj, name) || keys.has(name)) continue;
          this.add(obj, keys, name, pair.value, schema, kind, path, this.locate(keyNode));
        }
      }
    }
    this.out.origins.set(obj, at);
    this.out.keyOrigins.set(obj, keys);
    return obj;
  }

  private add(
    obj: Record<string, unknown>,
    keys: Map<string, SourceLocation>,
    name: string,
    valueNode: unknown,
    schema: z.ZodType | undefined,
    kind: SchemaKind,
    path: PropertyKey[],
    keyLoc: SourceLocation,
  ): void {
    keys.set(name, keyLoc);
    const child = kind === 'object' || kind === 'record' ? childSchema(schema, name) : undefined;
    const value = this.toValue(valueNode, child, [...path, name], keyLoc);
    if (value === null) {
      // yaml.v3 leaves a field at its zero value for `key:`/`key: ~`: "not set" for fields, "" for map values.
      if (kind === 'object' && child !== undefined) return;
      if (kind === 'record' && schemaKind(child) === 'string') {
        obj[name] = '';
        return;
      }
    }
    Object.defineProperty(obj, name, { value, enumerable: true, writable: true, configurable: true });
  }

  private scalar(
    node: Scalar,
    schema: z.ZodType | undefined,
    key: string,
    at: SourceLocation,
    keyAt: SourceLocation | undefined,
  ): unknown {
    const v = node.value;
    const text = scalarText(node);
    const plain = node.type === 'PLAIN';
    const kind: NodeKind =
      v === null
        ? 'null'
        : typeof v === 'string'
          ? 'string'
          : typeof v === 'boolean'
            ? 'boolean'
            : typeof v === 'number' || typeof v === 'bigint'
              ? Number.isInteger(Number(v))
                ? 'integer'
                : 'number'
              : 'string';
    // credentials go before the text is cut, so a cut cannot hide the `@` that ends them
    const shown = redactUrl(text);
    this.out.nodes.set(key, {
      at,
      keyAt,
      kind,
      text: shown.length > 40 ? `${shown.slice(0, 37)}...` : shown,
    });
    if (v === null) return null;
    switch (schemaKind(schema)) {
      case 'string':
        return typeof v === 'string' ? v : text;
      case 'integer': {
        if (plain) {
          const n = parseYamlInt(text);
          if (n !== undefined) return n;
        }
        return typeof v === 'bigint' ? Number(v) : v;
      }
      case 'boolean':
        if (plain && YAML11_TRUE.has(text)) return true;
        if (plain && YAML11_FALSE.has(text)) return false;
        return v;
      default:
        return typeof v === 'bigint' ? Number(v) : v;
    }
  }
}

/** The scalar as written (plain scalars) or its string value (quoted ones). */
function scalarText(node: Scalar): string {
  if (typeof node.value === 'string') return node.value;
  if (typeof node.source === 'string' && node.source !== '') return node.source;
  return String(node.value);
}
