import type { Command } from 'commander';

/** `lading why` — not implemented yet. */
export function registerWhy(program: Command): void {
  program
    .command('why')
    .description('(not implemented yet)')
    .action(() => {
      process.stderr.write('lading: why is not implemented yet\n');
      process.exit(2);
    });
}
