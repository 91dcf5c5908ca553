/**
 * Loading a config: find the file, read it strictly (every problem with file:line:column), follow `include:`
 * recursively (local files only, cycles refused), merge, normalise, and checksum the bytes read.
 */
import { createHash, type Hash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { stringify as stringifyYaml } from 'yaml';
import { LadingError } from '../util/errors.ts';
import { mergeInclude } from './merge.ts';
import { Locator, normalizeConfig } from './normalize.ts';
import { ConfigError, type ConfigProblem, type SourceLocation, sortProblems } from './problems.ts';
import { type ApkoConfig, configSchema, type RawConfig } from './schema.ts';
import type { LoadedConfig } from './types.ts';
import { issuesToProblems } from './validate.ts';
import { type ParsedYaml, parseYaml, pathKey } from './yaml-source.ts';

export interface LoadOptions {
  /** Directory relative paths resolve from (default: process.cwd(), which `--workdir` sets). */
  cwd?: string;
  /** Extra directories searched for the config and its includes (apko's --include-paths). */
  includePaths?: string[];
}

interface LoadedFile {
  file: string;
  raw: RawConfig;
  parsed: ParsedYaml;
}

interface Loader {
  cwd: string;
  includePaths: string[];
  hash: Hash;
  /** apko's checksum: the same bytes, line endings as read. */
  rawHash: Hash;
  files: string[];
  parsedFiles: LoadedFile[];
}

function newLoader(options: LoadOptions): Loader {
  return {
    cwd: resolve(options.cwd ?? process.cwd()),
    includePaths: options.includePaths ?? [],
    hash: createHash('sha256'),
    rawHash: createHash('sha256'),
    files: [],
    parsedFiles: [],
  };
}

/** Loads, merges and validates the config at `path`. Throws ConfigError / LadingError on any problem. */
export async function loadConfig(path: string, options: LoadOptions = {}): Promise<LoadedConfig> {
  const loader = newLoader(options);
  const found = await findFile(path, loader, undefined);
  if (found === undefined) {
    throw new LadingError('CONFIG_NOT_FOUND', `config file ${JSON.stringify(path)} not found`, {
      hint: triedHint(path, loader, undefined),
    });
  }
  const bytes = await readBytes(found.abs, found.display, undefined);
  return finish(path, await loadTree(bytes, found, [], loader), loader);
}

/**
 * Loads a config given as text (stdin, tests). `file` names it in messages; includes are read from disk
 * relative to `cwd` as for loadConfig.
 */
export async function loadConfigText(
  text: string,
  file: string,
  options: LoadOptions = {},
): Promise<LoadedConfig> {
  const loader = newLoader(options);
  const abs = resolve(loader.cwd, file);
  return finish(file, await loadTree(Buffer.from(text, 'utf8'), { abs, display: file }, [], loader), loader);
}

/**
 * Loads a config given as an object in the apko format (a library caller's), checked exactly as a file is:
 * it is written out as YAML and read back, so every rule and message is the same (positions refer to that
 * text; the field paths in messages are what to look at). `name` names it in messages. Includes are read
 * from disk relative to `cwd`; `files` holds only them.
 */
export async function loadConfigObject(
  doc: ApkoConfig,
  options: LoadOptions & { name?: string } = {},
): Promise<LoadedConfig> {
  const name = options.name ?? 'config';
  const loaded = await loadConfigText(stringifyYaml(doc), name, options);
  return { ...loaded, files: loaded.files.slice(1) };
}

function finish(path: string, raw: RawConfig, loader: Loader): LoadedConfig {
  const { config, problems, warnings } = normalizeConfig(raw, new Locator(loader.parsedFiles));
  if (problems.length > 0) throw new ConfigError('CONFIG_INVALID', problems);
  return {
    config,
    path,
    files: loader.files,
    checksum: `sha256-${loader.hash.digest('base64')}`,
    rawChecksum: `sha256-${loader.rawHash.digest('base64')}`,
    warnings: sortProblems(warnings),
  };
}

/** CRLF (and lone CR) read as LF, so the checksum does not depend on how git checked the file out. */
export function normalizeLineEndings(bytes: Uint8Array): Buffer {
  const latin1 = Buffer.from(bytes).toString('latin1'); // 1:1 with bytes
  return Buffer.from(latin1.replace(/\r\n?/g, '\n'), 'latin1');
}

/** The checksum lading records for a set of config files' bytes (config first, then includes). */
export function configChecksum(contents: readonly Uint8Array[]): string {
  const hash = createHash('sha256');
  for (const c of contents) hash.update(normalizeLineEndings(c));
  return `sha256-${hash.digest('base64')}`;
}

async function loadTree(
  bytes: Buffer,
  found: { abs: string; display: string },
  chain: string[],
  loader: Loader,
): Promise<RawConfig> {
  loader.hash.update(normalizeLineEndings(bytes));
  loader.rawHash.update(bytes);
  loader.files.push(found.abs);
  const text = decodeUtf8(bytes, found.display);
  const parsed = parseYaml(text, found.display, configSchema);
  if (parsed.problems.length > 0) throw new ConfigError('CONFIG_INVALID', parsed.problems);
  const check = configSchema.safeParse(parsed.value);
  if (!check.success) {
    throw new ConfigError(
      'CONFIG_INVALID',
      issuesToProblems(check.error.issues, parsed, configSchema, found.display),
    );
  }
  // The reader's own objects (identical in shape) keep their source locations for later checks.
  const raw = parsed.value as RawConfig;
  loader.parsedFiles.push({ file: found.display, raw, parsed });
  if (raw.include === undefined || raw.include === '') return raw;

  const includeAt = parsed.nodes.get(pathKey(['include']))?.at ?? { file: found.display, line: 1, column: 1 };
  const ref = raw.include;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(ref) || /^(github\.com|gitlab\.com)\//.test(ref)) {
    throw new ConfigError('CONFIG_INCLUDE', [
      {
        ...includeAt,
        message: `include: remote includes are not supported (${JSON.stringify(ref)})`,
        hint: 'download the file and include it by a local path',
      },
    ]);
  }
  const nextChain = [...chain, found.abs];
  const base = await findFile(ref, loader, dirname(found.abs));
  if (base === undefined) {
    throw new ConfigError('CONFIG_INCLUDE', [
      {
        ...includeAt,
        message: `include: file ${JSON.stringify(ref)} not found`,
        hint: triedHint(ref, loader, dirname(found.abs)),
      },
    ]);
  }
  if (nextChain.includes(base.abs)) {
    const cycle = [...nextChain.slice(nextChain.indexOf(base.abs)), base.abs].map((f) =>
      displayPath(f, loader.cwd),
    );
    throw new ConfigError('CONFIG_INCLUDE', [
      {
        ...includeAt,
        message: `include: cycle ${cycle.join(' → ')}`,
        hint: 'remove one of these include: lines',
      },
    ]);
  }
  const baseBytes = await readBytes(base.abs, base.display, includeAt);
  const baseRaw = await loadTree(baseBytes, base, nextChain, loader);
  return mergeInclude(baseRaw, raw);
}

function decodeUtf8(bytes: Buffer, display: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new ConfigError('CONFIG_INVALID', [
      { file: display, message: 'the config is not valid UTF-8 text' },
    ]);
  }
}

async function readBytes(
  abs: string,
  display: string,
  includedAt: SourceLocation | undefined,
): Promise<Buffer> {
  try {
    return await readFile(abs);
  } catch (e) {
    const problem: ConfigProblem = includedAt
      ? { ...includedAt, message: `include: cannot read ${display}: ${(e as Error).message}` }
      : { file: display, message: `cannot read the config: ${(e as Error).message}` };
    throw new ConfigError('CONFIG_READ', [problem]);
  }
}

function candidates(ref: string, loader: Loader, includingDir: string | undefined): string[] {
  if (isAbsolute(ref)) return [ref];
  // apko: the working directory, then --include-paths; lading also tries the including file's directory.
  const out = [resolve(loader.cwd, ref), ...loader.includePaths.map((p) => resolve(loader.cwd, p, ref))];
  if (includingDir !== undefined) out.push(resolve(includingDir, ref));
  return [...new Set(out)];
}

async function findFile(
  ref: string,
  loader: Loader,
  includingDir: string | undefined,
): Promise<{ abs: string; display: string } | undefined> {
  for (const abs of candidates(ref, loader, includingDir)) {
    const st = await stat(abs).catch(() => undefined);
    if (st?.isFile())
      return { abs, display: abs === resolve(loader.cwd, ref) ? ref : displayPath(abs, loader.cwd) };
  }
  return undefined;
}

function triedHint(ref: string, loader: Loader, includingDir: string | undefined): string {
  const tried = candidates(ref, loader, includingDir).map((p) => displayPath(p, loader.cwd));
  return `looked for ${tried.join(', ')} (relative paths start in the working directory; see --workdir)`;
}

/** A path relative to cwd when it is below it, else absolute. */
export function displayPath(abs: string, cwd: string): string {
  const rel = relative(cwd, abs);
  return rel !== '' && !rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel) ? rel : abs;
}
