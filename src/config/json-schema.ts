/**
 * The JSON Schema (draft 2020-12) of the config format, generated from the zod schema so the two cannot
 * drift. Every object is closed (additionalProperties: false). Rules zod checks in code (PEM contents, paths
 * inside the image) are not expressible here; the link-source rule is added by hand.
 */
import * as z from 'zod';
import { configSchema, scalarTextFields } from './schema.ts';

type JsonObject = Record<string, unknown>;

export const JSON_SCHEMA_DIALECT = 'https://json-schema.org/draft/2020-12/schema';

/** A fresh copy of the JSON Schema of lading's apko config format. */
export function configJsonSchema(): JsonObject {
  const generated = z.toJSONSchema(configSchema, {
    target: 'draft-2020-12',
    io: 'input',
    unrepresentable: 'throw',
    override: (ctx) => {
      const json = ctx.jsonSchema as JsonObject;
      if (scalarTextFields.has(ctx.zodSchema as unknown as z.ZodType))
        json.type = ['string', 'number', 'boolean'];
    },
  }) as JsonObject;
  addLinkSourceRule(generated);
  noUnionTypes(generated);
  const { $schema: _dialect, ...rest } = generated;
  return {
    $schema: JSON_SCHEMA_DIALECT,
    title: 'apko image configuration (lading)',
    ...rest,
  };
}

/**
 * `type: [a, b]` → `anyOf: [{type: a}, {type: b}]`, the same meaning: ajv's strict mode (what editors and CI
 * validators often run) refuses union types unless told allowUnionTypes.
 */
function noUnionTypes(node: unknown): void {
  if (node === null || typeof node !== 'object') return;
  const o = node as JsonObject;
  if (Array.isArray(o.type)) {
    // string keywords (a scalar-text field's pattern) go with the string branch, as strict mode wants
    const stringOnly: JsonObject = {};
    for (const k of ['pattern', 'minLength', 'maxLength', 'format']) {
      if (k in o) {
        stringOnly[k] = o[k];
        delete o[k];
      }
    }
    o.anyOf = o.type.map((type) => (type === 'string' ? { type, ...stringOnly } : { type }));
    delete o.type;
  }
  for (const v of Object.values(o)) noUnionTypes(v);
}

/** `paths[]` entries of type symlink or hardlink need `source`. */
function addLinkSourceRule(schema: JsonObject): void {
  const paths = (schema.properties as JsonObject | undefined)?.paths as JsonObject | undefined;
  const item = paths?.items as JsonObject | undefined;
  if (!item) throw new Error('schema: paths.items not found');
  item.allOf = [
    {
      if: { properties: { type: { enum: ['symlink', 'hardlink'] } }, required: ['type'] },
      // biome-ignore lint/suspicious/noThenProperty: JSON Schema keyword
      then: { properties: { source: { type: 'string', minLength: 1 } }, required: ['source'] },
    },
  ];
}

/** The schema as the text of schema/apko.schema.json (2-space indent, trailing newline). */
export function configJsonSchemaText(): string {
  return `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
}
