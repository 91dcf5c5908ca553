/**
 * Config problems: every mistake found in a config, each with its file:line:column, reported together so a
 * user fixes them in one pass.
 */
import { LadingError } from '../util/errors.ts';
import { redactUrl } from '../util/redact.ts';

export interface SourceLocation {
  file: string;
  line: number;
  column: number;
}

export interface ConfigProblem {
  file: string;
  line?: number;
  column?: number;
  message: string;
  hint?: string;
}

export interface ConfigWarning extends ConfigProblem {}

const MAX_LISTED = 50;

function where(p: ConfigProblem): string {
  if (p.line === undefined) return p.file;
  return `${p.file}:${p.line}${p.column === undefined ? '' : `:${p.column}`}`;
}

/** `file:line:col: message` for one problem or warning (URL userinfo removed: messages quote config values). */
export function formatProblem(p: ConfigProblem): string {
  return redactUrl(`${where(p)}: ${p.message}`);
}

/**
 * A config that cannot be used. `problems` lists everything found (sorted by file and position); the first is
 * also the error's own file/line/column/message so callers that show one location show the first.
 */
export class ConfigError extends LadingError {
  readonly problems: readonly ConfigProblem[];

  constructor(code: string, problems: ConfigProblem[]) {
    const sorted = sortProblems(problems.map(redactProblem));
    const first = sorted[0]!;
    const rest = sorted
      .slice(1, MAX_LISTED)
      .map((p) => `\n${formatProblem(p)}${p.hint ? `\n  hint: ${p.hint}` : ''}`);
    const more = sorted.length > MAX_LISTED ? `\n(and ${sorted.length - MAX_LISTED} more problems)` : '';
    super(code, `${first.message}${rest.join('')}${more}`, {
      file: first.file,
      line: first.line,
      column: first.column,
      hint: sorted.length === 1 ? first.hint : undefined,
    });
    this.name = 'ConfigError';
    this.problems = sorted;
  }

  override format(): string {
    const [first, ...rest] = this.problems;
    const lines = [formatProblem(first!) + (first!.hint ? `\n  hint: ${first!.hint}` : '')];
    for (const p of rest.slice(0, MAX_LISTED - 1))
      lines.push(formatProblem(p) + (p.hint ? `\n  hint: ${p.hint}` : ''));
    if (rest.length >= MAX_LISTED) lines.push(`(and ${rest.length - (MAX_LISTED - 1)} more problems)`);
    return lines.join('\n');
  }
}

function redactProblem(p: ConfigProblem): ConfigProblem {
  const out = { ...p, file: redactUrl(p.file), message: redactUrl(p.message) };
  if (p.hint !== undefined) out.hint = redactUrl(p.hint);
  return out;
}

export function sortProblems<T extends ConfigProblem>(problems: T[]): T[] {
  return [...problems].sort(
    (a, b) =>
      (a.file < b.file ? -1 : a.file > b.file ? 1 : 0) ||
      (a.line ?? 0) - (b.line ?? 0) ||
      (a.column ?? 0) - (b.column ?? 0) ||
      (a.message < b.message ? -1 : a.message > b.message ? 1 : 0),
  );
}

/** One problem at a known place, as a thrown ConfigError. */
export function configError(
  code: string,
  message: string,
  at: { file: string; line?: number; column?: number },
  hint?: string,
): ConfigError {
  return new ConfigError(code, [{ ...at, message, hint }]);
}
