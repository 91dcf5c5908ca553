/**
 * POSIX-shell word splitting for `entrypoint.command` and `cmd` (no expansion: the words go to the OCI config,
 * not to a shell). apko uses google/shlex, which differs from POSIX in one place: inside double quotes it
 * drops every backslash (`"C:\dir"` → `C:dir`); here, as in sh, a backslash in double quotes only escapes
 * `$`, `` ` ``, `"`, `\` and newline and is kept before anything else.
 */

export interface SplitResult {
  words: string[];
  /** Unquoted `| & ; < >`, or `$`/backquote outside single quotes: things a shell would interpret. */
  shellSyntax: boolean;
}

export class ShellSplitError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ShellSplitError';
  }
}

const SPACE = new Set([' ', '\t', '\n', '\r']);
const OPERATORS = new Set(['|', '&', ';', '<', '>']);
const DQ_ESCAPABLE = new Set(['$', '`', '"', '\\', '\n']);

export function splitWords(input: string): SplitResult {
  const words: string[] = [];
  let shellSyntax = false;
  let word = '';
  let inWord = false;
  let i = 0;
  const n = input.length;
  while (i < n) {
    const ch = input[i]!;
    if (SPACE.has(ch)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
      i++;
    } else if (ch === '#' && !inWord) {
      while (i < n && input[i] !== '\n') i++; // comment to end of line
    } else if (ch === '\\') {
      if (i + 1 >= n) {
        word += '\\'; // a final lone backslash stays literal, as in sh (google/shlex refuses it)
        inWord = true;
        break;
      }
      if (input[i + 1] !== '\n') {
        word += input[i + 1];
        inWord = true;
      }
      i += 2;
    } else if (ch === "'") {
      const end = input.indexOf("'", i + 1);
      if (end < 0) throw new ShellSplitError('has an unterminated single quote');
      word += input.slice(i + 1, end);
      inWord = true;
      i = end + 1;
    } else if (ch === '"') {
      i++;
      inWord = true;
      for (;;) {
        if (i >= n) throw new ShellSplitError('has an unterminated double quote');
        const c = input[i]!;
        if (c === '"') {
          i++;
          break;
        }
        if (c === '\\' && i + 1 < n && DQ_ESCAPABLE.has(input[i + 1]!)) {
          if (input[i + 1] !== '\n') word += input[i + 1];
          i += 2;
          continue;
        }
        if (c === '$' || c === '`') shellSyntax = true;
        word += c;
        i++;
      }
    } else {
      if (OPERATORS.has(ch) || ch === '$' || ch === '`') shellSyntax = true;
      word += ch;
      inWord = true;
      i++;
    }
  }
  if (inWord) words.push(word);
  return { words, shellSyntax };
}
