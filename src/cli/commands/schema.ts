import type { Command } from 'commander';
import { action } from '../run.ts';

/** `lading schema`: the JSON Schema of the config format, for editors and CI validation. */
export function registerSchema(program: Command): void {
  program
    .command('schema')
    .summary('print the JSON Schema of the apko config format')
    .description(
      'Print the JSON Schema (draft 2020-12) of the apko config format as lading reads it, so editors can ' +
        'complete and check configs. With the YAML language server, put ' +
        '"# yaml-language-server: $schema=<path or URL of the schema>" on the first line of a config. ' +
        'The same schema ships in the package as schema/apko.schema.json.',
    )
    .option('-o, --output <file>', 'write the schema to FILE (atomically) instead of standard output')
    .action(
      action(async (opts: { output?: string }) => {
        const { configJsonSchemaText } = await import('../../config/json-schema.ts');
        const text = configJsonSchemaText();
        if (opts.output) {
          const { writeFileAtomic } = await import('../../util/write-file.ts');
          await writeFileAtomic(opts.output, text);
        } else {
          process.stdout.write(text);
        }
      }),
    );
}
