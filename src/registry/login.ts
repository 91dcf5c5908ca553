/**
 * `login` and `logout`: Docker's config as docker and crane keep it. Unlike crane (and so apko), login
 * first checks the credentials against the registry — `GET /v2/` with Basic, or a token request with them —
 * and changes nothing when they are wrong. Credentials go to the credential helper the config names for the
 * registry (`credHelpers`, else `credsStore`; the file then gets an empty `auths` entry, as docker writes),
 * otherwise into `auths[registry].auth`. Other keys of the file are kept; it is written with mode 0600.
 */
import { LadingError } from '../util/errors.ts';
import type { Logger } from '../util/log.ts';
import {
  type AuthFile,
  dockerConfigPath,
  helperFor,
  loadDockerConfigForUpdate,
  normaliseAuthKey,
  writeDockerConfig,
} from './auth-files.ts';
import { helperErase, helperStore } from './credential-helper.ts';
import { RegistryCredential } from './credentials.ts';
import { helperServer } from './keychain.ts';
import { parseLoginServer } from './reference.ts';
import { RegistryClient } from './transport.ts';

export interface LoginOptions {
  server: string | undefined;
  username: string;
  password: string;
  insecureAllowHttp?: boolean;
  insecureSkipTlsVerify?: boolean;
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
}

export interface LoginResult {
  registry: string;
  /** Where the credentials went: the config file, or `docker-credential-<name>`. */
  storedIn: string;
  /** False when the registry needs no credentials (they were stored all the same). */
  checked: boolean;
}

/** The password given on stdin: one trailing newline (and a carriage return before it) removed. */
export function passwordFromStdin(text: string): string {
  return text.replace(/\n$/, '').replace(/\r$/, '');
}

export async function login(options: LoginOptions): Promise<LoginResult> {
  const { registry, configKey } = parseLoginServer(options.server);
  if (options.username === '' || options.password === '') {
    throw new LadingError('USAGE', 'login needs a user name (-u) and a password (--password-stdin or -p)', {
      hint: `echo "$PASSWORD" | lading login ${registry} -u USER --password-stdin`,
    });
  }
  const env = options.env ?? process.env;
  const path = dockerConfigPath(env);
  // read (and so validate) the file before contacting the registry
  const data = loadDockerConfigForUpdate(path);
  const credential = RegistryCredential.basic(
    options.username,
    options.password,
    '--username and the password given',
  );
  const checked = await checkCredentials(registry, credential, options);
  const file: AuthFile = { path, kind: 'docker', data };
  const helper = helperFor(file, registry);
  const auths = { ...((data.auths as Record<string, unknown> | undefined) ?? {}) };
  for (const k of Object.keys(auths))
    if (k !== configKey && normaliseAuthKey(k) === normaliseAuthKey(configKey)) delete auths[k];
  let storedIn = path;
  if (helper) {
    await helperStore(helper.name, helperServer(registry), credential, helper.origin, env);
    auths[configKey] = {};
    storedIn = `docker-credential-${helper.name}`;
  } else {
    auths[configKey] = { auth: credential.configAuthField() };
  }
  writeDockerConfig(path, { ...data, auths });
  return { registry, storedIn, checked };
}

/**
 * Whether the registry accepts the credentials: false when it needs none; throws when it rejects them.
 */
async function checkCredentials(
  registry: string,
  credential: RegistryCredential,
  options: LoginOptions,
): Promise<boolean> {
  const client = new RegistryClient({
    keychain: { resolve: async () => credential },
    insecureAllowHttp: options.insecureAllowHttp,
    insecureSkipTlsVerify: options.insecureSkipTlsVerify,
    logger: options.logger,
  });
  const host = await client.host(registry);
  if (host.auth.kind === 'none') return false;
  const wrong = (status: number) =>
    new LadingError(
      'REGISTRY_AUTH',
      `${registry} rejected the user name and password (HTTP ${status}); nothing was stored`,
      {
        hint: 'check the user name and password (or token) and try again',
      },
    );
  if (host.auth.kind === 'basic') {
    const res = await client.retry(`logging in to ${registry}`, () =>
      client.raw({ method: 'GET', url: '/v2/' }, host.origin, credential.basicAuthorization()),
    );
    if (res.status === 401 || res.status === 403) throw wrong(res.status);
    if (res.status !== 200)
      throw new LadingError('REGISTRY_PROTOCOL', `${registry} answered GET /v2/ with HTTP ${res.status}`);
    return true;
  }
  const realm = new URL(host.auth.realm);
  if (host.auth.service) realm.searchParams.set('service', host.auth.service);
  const res = await client.retry(`logging in to ${registry}`, () =>
    client.raw({ method: 'GET', url: realm.href }, realm.origin, credential.basicAuthorization()),
  );
  if (res.status === 401 || res.status === 403) throw wrong(res.status);
  if (res.status !== 200) {
    throw new LadingError(
      'REGISTRY_PROTOCOL',
      `the token service of ${registry} answered HTTP ${res.status}`,
    );
  }
  return true;
}

export interface LogoutResult {
  registry: string;
  /** False when there was nothing to remove. */
  removed: boolean;
}

export async function logout(
  server: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): Promise<LogoutResult> {
  const { registry, configKey } = parseLoginServer(server);
  const path = dockerConfigPath(env);
  const data = loadDockerConfigForUpdate(path);
  const file: AuthFile = { path, kind: 'docker', data };
  let removed = false;
  const helper = helperFor(file, registry);
  if (helper) removed = await helperErase(helper.name, helperServer(registry), helper.origin, env);
  const auths = { ...((data.auths as Record<string, unknown> | undefined) ?? {}) };
  let changed = false;
  for (const k of Object.keys(auths)) {
    if (normaliseAuthKey(k) === normaliseAuthKey(configKey)) {
      delete auths[k];
      changed = true;
    }
  }
  if (changed) writeDockerConfig(path, { ...data, auths });
  removed ||= changed;
  return { registry, removed };
}
