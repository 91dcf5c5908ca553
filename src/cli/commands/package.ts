import type { Command } from 'commander';

/** `lading package` — not implemented yet. */
export function registerPackage(program: Command): void {
  program
    .command('package')
    .description('(not implemented yet)')
    .action(() => {
      process.stderr.write('lading: package is not implemented yet\n');
      process.exit(2);
    });
}
