import type { Command } from 'commander';

/** `lading show-config` — not implemented yet. */
export function registerShowConfig(program: Command): void {
  program
    .command('show-config')
    .description('(not implemented yet)')
    .action(() => {
      process.stderr.write('lading: show-config is not implemented yet\n');
      process.exit(2);
    });
}
