import type { Command } from 'commander';

/** `lading show-packages` — not implemented yet. */
export function registerShowPackages(program: Command): void {
  program
    .command('show-packages')
    .description('(not implemented yet)')
    .action(() => {
      process.stderr.write('lading: show-packages is not implemented yet\n');
      process.exit(2);
    });
}
