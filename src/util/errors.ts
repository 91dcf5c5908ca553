/**
 * Errors are values with a code, a message for people, and where it happened.
 * Every failure a user can cause is a LadingError; anything else is a bug.
 */
import { redactUrl } from './redact.ts';

export interface ErrorContext {
  /** File the problem is in (a config, a package, an index). */
  file?: string;
  line?: number;
  column?: number;
  /** What the user can do about it. */
  hint?: string;
  cause?: unknown;
}

export class LadingError extends Error {
  readonly code: string;
  readonly file?: string;
  readonly line?: number;
  readonly column?: number;
  readonly hint?: string;

  /** Message, hint and file lose URL userinfo here, so no use of an error (printed, in a report) can leak it. */
  constructor(code: string, message: string, context: ErrorContext = {}) {
    super(redactUrl(message), context.cause === undefined ? undefined : { cause: context.cause });
    this.name = 'LadingError';
    this.code = code;
    this.file = context.file === undefined ? undefined : redactUrl(context.file);
    this.line = context.line;
    this.column = context.column;
    this.hint = context.hint === undefined ? undefined : redactUrl(context.hint);
  }

  /** `file:line:col: message` plus the hint on its own line, as printed by the CLI. */
  format(): string {
    let where = '';
    if (this.file !== undefined) {
      where = this.file;
      if (this.line !== undefined) where += `:${this.line}`;
      if (this.line !== undefined && this.column !== undefined) where += `:${this.column}`;
      where += ': ';
    }
    return redactUrl(`${where}${this.message}${this.hint ? `\n  hint: ${this.hint}` : ''}`);
  }
}

export function isLadingError(e: unknown): e is LadingError {
  return e instanceof LadingError;
}

/** Returns a copy of `e` that names `file` (when it did not already), for errors raised deep in a parser. */
export function withFile(e: unknown, file: string): unknown {
  if (e instanceof LadingError && e.file === undefined) {
    return new LadingError(e.code, e.message, {
      file,
      line: e.line,
      column: e.column,
      hint: e.hint,
      cause: e.cause,
    });
  }
  return e;
}
