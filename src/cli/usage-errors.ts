/**
 * Command-line mistakes (an unknown command or option, a missing or extra argument) reported the way a person
 * can act on them: the error, the command's usage line and one hint — not the whole help, which buries the
 * error under sixty lines. Exit status 2, as for other usage errors (e.g. a bad --workdir).
 */
import type { Command, CommanderError } from 'commander';

/** What a command adds to the generic hint: `args` are the operands as commander split them. */
export type UsageHint = (error: CommanderError, args: readonly string[]) => string | undefined;

const hints = new WeakMap<Command, UsageHint>();

/** Registers a command's own hint (e.g. `build` noticing an output where its TAG belongs). */
export function setUsageHint(cmd: Command, hint: UsageHint): void {
  hints.set(cmd, hint);
}

/** `lading build` for the build subcommand. */
function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** The message (`error: ` dropped), and commander's "(Did you mean X?)" turned into a hint. */
function split(message: string): { what: string; suggestion?: string } {
  const m = /\n?\(Did you mean ([^?]+)\?\)\s*$/.exec(message);
  const what = (m ? message.slice(0, m.index) : message).replace(/^error: /, '').trim();
  return m ? { what, suggestion: `did you mean ${m[1]}?` } : { what };
}

/** The error, the usage line and one hint, as printed. */
export function formatUsageError(cmd: Command, error: CommanderError): string {
  const { what, suggestion } = split(error.message);
  const path = commandPath(cmd);
  const hint =
    suggestion ??
    hints.get(cmd)?.(error, cmd.args) ??
    (cmd.parent
      ? `\`${path} --help\` describes every argument and option`
      : `\`${path} --help\` lists the commands and options`);
  return `lading: error: ${what}\nusage: ${path} ${cmd.usage()}\n  hint: ${hint}\n`;
}

const NOT_ERRORS = new Set(['commander.helpDisplayed', 'commander.help', 'commander.version']);

/** Makes `cmd` report its command-line mistakes with formatUsageError (call for the program and each command). */
export function reportUsageErrors(cmd: Command): void {
  cmd.configureOutput({ outputError: () => {} });
  cmd.exitOverride((error) => {
    if (NOT_ERRORS.has(error.code)) process.exit(error.exitCode);
    process.stderr.write(formatUsageError(cmd, error));
    process.exit(2);
  });
}
