/**
 * The lading CLI: parses flags and calls the library. Each command lives in its own file under
 * commands/ and loads its implementation lazily, so `lading --help` and simple commands start fast.
 */
import { Command } from 'commander';
import { registerBuild } from './commands/build.ts';
import { registerBuildMinirootfs } from './commands/build-minirootfs.ts';
import { registerClean } from './commands/clean.ts';
import { registerDot } from './commands/dot.ts';
import { registerIndex } from './commands/index-cmd.ts';
import { registerInstallKeys } from './commands/install-keys.ts';
import { registerKeygen } from './commands/keygen.ts';
import { registerLock } from './commands/lock.ts';
import { registerLogin } from './commands/login.ts';
import { registerMany, registerPlan } from './commands/many.ts';
import { registerPackage } from './commands/package.ts';
import { registerPublish } from './commands/publish.ts';
import { registerSchema } from './commands/schema.ts';
import { registerShowConfig } from './commands/show-config.ts';
import { registerShowPackages } from './commands/show-packages.ts';
import { registerVerify } from './commands/verify.ts';
import { registerWhy } from './commands/why.ts';
// evaluated first: records the command line and working directory before -C changes it
import './invocation.ts';
import { removePendingOnSignals } from '../util/cleanup.ts';
import { LADING_VERSION } from '../util/version.ts';
import { fail } from './run.ts';
import { reportUsageErrors } from './usage-errors.ts';

const program = new Command('lading')
  .description(
    'Build reproducible OCI container images declaratively from APK packages (apko-compatible configs),\n' +
      'and work with APK packages, indexes and keys.',
  )
  .version(LADING_VERSION, '--version', 'print the lading version')
  .option('--log-level <level>', 'debug, info, warn or error (default: info)')
  .option('-C, --workdir <dir>', 'run as if started in DIR (relative paths in configs resolve from it)')
  .enablePositionalOptions()
  .configureHelp({ sortSubcommands: false });

program.hook('preAction', (_program, cmd) => {
  const dir = cmd.optsWithGlobals().workdir as string | undefined;
  if (dir) {
    try {
      process.chdir(dir);
    } catch (e) {
      process.stderr.write(`lading: error: cannot change to --workdir ${dir}: ${(e as Error).message}\n`);
      process.exit(2);
    }
  }
});

registerBuild(program);
registerPublish(program);
registerBuildMinirootfs(program);
registerPlan(program);
registerMany(program);
registerShowPackages(program);
registerLock(program);
registerDot(program);
registerWhy(program);
registerShowConfig(program);
registerSchema(program);
registerKeygen(program);
registerPackage(program);
registerIndex(program);
registerVerify(program);
registerInstallKeys(program);
registerClean(program);
registerLogin(program);

// Options after the command name belong to the command (so `lading package --version 1.0-r0` is the
// package version); the global options are accepted there too, as apko's persistent flags are.
for (const cmd of program.commands) {
  cmd
    .option('--log-level <level>', 'debug, info, warn or error')
    .option('-C, --workdir <dir>', 'run as if started in DIR (relative paths in configs resolve from it)');
  reportUsageErrors(cmd);
}
reportUsageErrors(program);

// Ctrl-C or a SIGTERM during a build removes its temporary files (a package being expanded can be a gigabyte)
removePendingOnSignals();
program.parseAsync(process.argv).catch(fail);
