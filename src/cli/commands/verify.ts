import type { Command } from 'commander';

/** `lading verify` — not implemented yet. */
export function registerVerify(program: Command): void {
  program
    .command('verify')
    .description('(not implemented yet)')
    .action(() => {
      process.stderr.write('lading: verify is not implemented yet\n');
      process.exit(2);
    });
}
