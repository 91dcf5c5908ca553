import type { Command } from 'commander';

/** `lading index` — not implemented yet. */
export function registerIndex(program: Command): void {
  program
    .command('index')
    .description('(not implemented yet)')
    .action(() => {
      process.stderr.write('lading: index is not implemented yet\n');
      process.exit(2);
    });
}
