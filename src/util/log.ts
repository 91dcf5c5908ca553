/** A leveled logger writing to stderr. Never pass credentials to it: use redactUrl() on URLs. */
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
    write(`${prefix}${message}\n`);
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
  throw new Error(`unknown log level ${JSON.stringify(value)} (debug, info, warn, error)`);
}

/**
 * Removes userinfo (user:password@) from every URL in a string so it can be logged or written.
 * The userinfo ends at the last `@` before the host's path, since passwords may contain `@`.
 */
export function redactUrl(s: string): string {
  return s.replace(/([a-zA-Z][a-zA-Z0-9+.-]*:\/\/)([^/\s]*)@/g, '$1');
}
