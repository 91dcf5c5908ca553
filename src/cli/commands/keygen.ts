import type { Command } from 'commander';

/** `lading keygen` — not implemented yet. */
export function registerKeygen(program: Command): void {
  program
    .command('keygen')
    .description('(not implemented yet)')
    .action(() => {
      process.stderr.write('lading: keygen is not implemented yet\n');
      process.exit(2);
    });
}
