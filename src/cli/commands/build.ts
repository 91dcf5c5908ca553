import type { Command } from 'commander';

/** `lading build` — not implemented yet. */
export function registerBuild(program: Command): void {
  program
    .command('build')
    .description('(not implemented yet)')
    .action(() => {
      process.stderr.write('lading: build is not implemented yet\n');
      process.exit(2);
    });
}
