/**
 * Regenerates schema/apko.schema.json from the zod schema:
 *   ./node_modules/.bin/node src/config/gen-schema.ts          (write)
 *   ./node_modules/.bin/node src/config/gen-schema.ts --check  (exit 1 if the file is stale)
 * test/config/json-schema.test.ts fails when the shipped file differs from the generated one.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileAtomic } from '../util/write-file.ts';
import { configJsonSchemaText } from './json-schema.ts';

export const SCHEMA_FILE = join(dirname(fileURLToPath(import.meta.url)), '../../schema/apko.schema.json');

if (import.meta.main) {
  const text = configJsonSchemaText();
  if (process.argv.includes('--check')) {
    const current = await readFile(SCHEMA_FILE, 'utf8').catch(() => '');
    if (current !== text) {
      process.stderr.write(
        `${SCHEMA_FILE} is stale: run ./node_modules/.bin/node src/config/gen-schema.ts\n`,
      );
      process.exitCode = 1;
    }
  } else {
    await mkdir(dirname(SCHEMA_FILE), { recursive: true });
    await writeFileAtomic(SCHEMA_FILE, text);
    process.stdout.write(`wrote ${SCHEMA_FILE}\n`);
  }
}
