/** A leveled logger writing to stderr. Every message passes through redactUrl, as a backstop for credentials. */
import { LadingError } from './errors.ts';
import { redactUrl } from './redact.ts';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

export interface Logger {
  level: LogLevel;
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export function createLogger(
  level: LogLevel = 'info',
  write: (s: string) => void = (s) => process.stderr.write(s),
): Logger {
  const logger: Logger = {
    level,
    debug: (m) => emit('debug', m),
    info: (m) => emit('info', m),
    warn: (m) => emit('warn', m),
    error: (m) => emit('error', m),
  };
  function emit(at: LogLevel, message: string) {
    if (ORDER[at] < ORDER[logger.level]) return;
    const prefix = at === 'info' ? '' : `${at}: `;
    write(`${prefix}${redactUrl(message)}\n`);
  }
  return logger;
}

/** A logger that drops everything (library default, tests). */
export const silentLogger: Logger = createLogger('error', () => {});

export function parseLogLevel(value: string): LogLevel {
  const v = value.toLowerCase();
  if (v === 'debug' || v === 'info' || v === 'warn' || v === 'error') return v;
  if (v === 'warning') return 'warn';
  if (v === 'fatal' || v === 'panic') return 'error';
  throw new LadingError('USAGE', `unknown log level ${JSON.stringify(value)}`, {
    hint: 'use debug, info, warn or error',
  });
}
