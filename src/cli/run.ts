/**
 * Shared plumbing for command actions: turns LadingErrors into a clear message and a non-zero
 * exit; anything else is reported as a bug with its stack.
 */
import { isLadingError } from '../util/errors.ts';
import { createLogger, type Logger, parseLogLevel } from '../util/log.ts';
import { redactUrl } from '../util/redact.ts';

export interface GlobalOptions {
  logLevel?: string;
  workdir?: string;
}

export function loggerFor(options: GlobalOptions, write?: (text: string) => void): Logger {
  return createLogger(options.logLevel ? parseLogLevel(options.logLevel) : 'info', write);
}

export function fail(e: unknown): never {
  if (isLadingError(e)) {
    process.stderr.write(`lading: error: ${redactUrl(e.format())}\n`);
    process.exit(1);
  }
  const err = e as Error;
  process.stderr.write(
    `lading: internal error: ${redactUrl(err?.stack ?? String(e))}\nplease report this as a bug\n`,
  );
  process.exit(70);
}

/** Wraps an async command action so every failure ends the process with a clear message. */
export function action<A extends unknown[]>(
  fn: (...args: A) => Promise<unknown>,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      const code = await fn(...args);
      if (typeof code === 'number' && code !== 0) process.exitCode = code;
    } catch (e) {
      fail(e);
    }
  };
}

/** Collects a repeatable option into a list (`-p a -p b` or `-p a,b`). */
export function collect(value: string, previous: string[] = []): string[] {
  return previous.concat(value.split(',').filter((s) => s.length > 0));
}
