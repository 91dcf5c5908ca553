/**
 * Docker credential helpers (`docker-credential-<name>`, the docker-credential-helpers protocol): the action
 * is the argument, the input is on stdin — a server for `get` and `erase`, `{"ServerURL","Username","Secret"}`
 * for `store` — and `get` prints that JSON. A helper that has nothing for the server exits non-zero with
 * "credentials not found". Nothing a helper prints on success is ever shown.
 */
import { spawn } from 'node:child_process';
import { LadingError } from '../util/errors.ts';
import { RegistryCredential } from './credentials.ts';

const TIMEOUT_MS = 60_000;

interface HelperRun {
  status: number;
  stdout: string;
  stderr: string;
}

function runHelper(
  program: string,
  action: string,
  input: string,
  env: NodeJS.ProcessEnv,
): Promise<HelperRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, [action], { stdio: ['pipe', 'pipe', 'pipe'], env });
    // a helper that waits for a user who is not there must not hang the publish
    const timer = setTimeout(() => child.kill('SIGKILL'), TIMEOUT_MS).unref();
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ status: code ?? (signal ? 128 : 1), stdout, stderr });
    });
    child.stdin.on('error', () => {});
    child.stdin.end(input);
  });
}

/** The first line of a failed helper's message: helpers print errors, never secrets, when they fail. */
function failureText(r: HelperRun): string {
  const line = (r.stderr.trim() || r.stdout.trim()).split('\n')[0] ?? '';
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}

function helperError(program: string, action: string, e: unknown, origin: string): LadingError {
  const notFound = (e as NodeJS.ErrnoException).code === 'ENOENT';
  return new LadingError(
    'REGISTRY_CREDENTIAL_HELPER',
    notFound
      ? `credential helper ${program} (${origin}) is not installed`
      : `credential helper ${program} ${action} failed: ${(e as Error).message}`,
    {
      hint: notFound
        ? `install ${program} or remove it from the Docker config`
        : `check that ${program} works: echo SERVER | ${program} ${action}`,
    },
  );
}

/**
 * Asks `docker-credential-<name>` for the credentials of `server`; undefined when it has none.
 * `origin` says where the helper was configured, for messages.
 */
export async function helperGet(
  name: string,
  server: string,
  origin: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<RegistryCredential | undefined> {
  const program = `docker-credential-${name}`;
  let r: HelperRun;
  try {
    r = await runHelper(program, 'get', server, env);
  } catch (e) {
    throw helperError(program, 'get', e, origin);
  }
  if (r.status !== 0) {
    if (/credentials not found|not found in/i.test(r.stdout + r.stderr)) return undefined;
    throw new LadingError(
      'REGISTRY_CREDENTIAL_HELPER',
      `credential helper ${program} get ${server} failed (exit ${r.status}): ${failureText(r)}`,
      { hint: `check that ${program} works: echo ${server} | ${program} get` },
    );
  }
  let parsed: { Username?: unknown; Secret?: unknown };
  try {
    parsed = JSON.parse(r.stdout);
  } catch {
    throw new LadingError(
      'REGISTRY_CREDENTIAL_HELPER',
      `credential helper ${program} printed something that is not JSON`,
      {
        hint: `check ${program}; it should print {"ServerURL","Username","Secret"}`,
      },
    );
  }
  const user = typeof parsed.Username === 'string' ? parsed.Username : '';
  const secret = typeof parsed.Secret === 'string' ? parsed.Secret : '';
  if (secret === '' && user === '') return undefined;
  const source = `credential helper ${program}`;
  // docker-credential-helpers: the user "<token>" marks an identity token
  return user === '<token>'
    ? RegistryCredential.identityToken('', secret, source)
    : RegistryCredential.basic(user, secret, source);
}

/** Stores `credential` for `server` in `docker-credential-<name>`. */
export async function helperStore(
  name: string,
  server: string,
  credential: RegistryCredential,
  origin: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<void> {
  await helperChange(name, 'store', credential.helperPayload(server), server, origin, env);
}

/** Removes what `docker-credential-<name>` holds for `server`; false when it held nothing. */
export async function helperErase(
  name: string,
  server: string,
  origin: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<boolean> {
  return helperChange(name, 'erase', server, server, origin, env);
}

async function helperChange(
  name: string,
  action: 'store' | 'erase',
  input: string,
  server: string,
  origin: string,
  env: NodeJS.ProcessEnv,
): Promise<boolean> {
  const program = `docker-credential-${name}`;
  let r: HelperRun;
  try {
    r = await runHelper(program, action, input, env);
  } catch (e) {
    throw helperError(program, action, e, origin);
  }
  if (r.status === 0) return true;
  if (action === 'erase' && /credentials not found|not found in/i.test(r.stdout + r.stderr)) return false;
  throw new LadingError(
    'REGISTRY_CREDENTIAL_HELPER',
    `credential helper ${program} ${action} for ${server} failed (exit ${r.status}): ${failureText(r)}`,
    { hint: `check that ${program} works` },
  );
}
