import type { Command } from 'commander';

/** `lading dot` — not implemented yet. */
export function registerDot(program: Command): void {
  program
    .command('dot')
    .description('(not implemented yet)')
    .action(() => {
      process.stderr.write('lading: dot is not implemented yet\n');
      process.exit(2);
    });
}
