/** Shared helpers for the config tests: temp dirs with config files, and catching ConfigErrors. */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ConfigError, formatProblem, type LoadedConfig, loadConfig } from '../../src/config/index.ts';
import { repoRoot } from './paths.ts';

export const dataDir = join(repoRoot, 'test/config/data');
export const examplesDir = join(repoRoot, 'examples');

/** Writes files (name → text) under dir, creating sub-directories. */
export function writeFiles(dir: string, files: Record<string, string>): void {
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
}

/** Loads `name` from `dir` (as cwd) and returns the ConfigError it must throw. */
export async function loadError(dir: string, name: string): Promise<ConfigError> {
  try {
    await loadConfig(name, { cwd: dir });
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  assert.fail(`${name} loaded but should have failed`);
}

/** The `file:line:col: message` lines of an error (hints left out). */
export function problemLines(e: ConfigError): string[] {
  return e.problems.map(formatProblem);
}

/** Writes `text` as `name` in `dir` and loads it. */
export async function loadText(dir: string, name: string, text: string): Promise<LoadedConfig> {
  writeFiles(dir, { [name]: text });
  return loadConfig(name, { cwd: dir });
}

/** Writes `text` as `name` and returns the problem lines of the error it must raise. */
export async function errorsOf(dir: string, name: string, text: string): Promise<string[]> {
  writeFiles(dir, { [name]: text });
  return problemLines(await loadError(dir, name));
}
