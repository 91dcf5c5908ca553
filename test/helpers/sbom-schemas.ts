/**
 * Schema validation of the documents we write: SPDX 2.3 against the official schema (draft-07, so
 * ajv's default class), CycloneDX 1.6 through @cyclonedx/cyclonedx-library's JsonStrictValidator.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as CDX from '@cyclonedx/cyclonedx-library';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { sharedDir } from './paths.ts';

// ajv-formats is CommonJS: its default export is the plugin function itself
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

let spdxValidator: ValidateFunction | undefined;
let cyclonedxValidator: CDX.Validation.JsonStrictValidator | undefined;

export function spdxSchemaErrors(text: string): ErrorObject[] | null {
  if (spdxValidator === undefined) {
    const schema = JSON.parse(readFileSync(join(sharedDir, 'schemas/spdx-2.3.schema.json'), 'utf8'));
    const ajv = new Ajv({ strict: false, allErrors: true });
    addFormats(ajv);
    spdxValidator = ajv.compile(schema);
  }
  return spdxValidator(JSON.parse(text)) ? null : (spdxValidator.errors ?? []);
}

/** CycloneDX 1.6 schema errors from @cyclonedx/cyclonedx-library's strict JSON validator (null when valid). */
export async function cyclonedxSchemaErrors(text: string): Promise<unknown> {
  // one validator per process: making one compiles the CycloneDX schema again (~0.3 s of CPU each)
  cyclonedxValidator ??= new CDX.Validation.JsonStrictValidator(CDX.Spec.Version.v1dot6);
  return cyclonedxValidator.validate(text);
}
