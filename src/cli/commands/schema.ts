import type { Command } from 'commander';

/** `lading schema` — not implemented yet. */
export function registerSchema(program: Command): void {
  program
    .command('schema')
    .description('(not implemented yet)')
    .action(() => {
      process.stderr.write('lading: schema is not implemented yet\n');
      process.exit(2);
    });
}
