/**
 * A fake `docker-credential-<name>` program (the protocol of docker-credential-helpers): `get` reads a server
 * on stdin and prints `{"ServerURL","Username","Secret"}` or fails with "credentials not found"; `store` reads
 * that JSON on stdin; `erase` reads a server. It keeps its credentials in `store.json` and logs each call as
 * `<action> <server>[ <username>]` in `calls.log` (never the secret). Put `bin` first on PATH.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface FakeCredentialHelper {
  /** The directory to put first on PATH. */
  bin: string;
  /** `docker-credential-<name>`: the name to use in credHelpers / credsStore. */
  name: string;
  /** Pre-loads credentials for a server. */
  set(server: string, username: string, secret: string): void;
  /** What the helper holds now. */
  stored(): Record<string, { Username: string; Secret: string }>;
  /** Its calls so far, one line each. */
  calls(): string[];
}

const PROGRAM = `
const fs = require('node:fs');
const path = require('node:path');
const dir = path.dirname(process.argv[1]);
const storeFile = path.join(dir, 'store.json');
const load = () => (fs.existsSync(storeFile) ? JSON.parse(fs.readFileSync(storeFile, 'utf8')) : {});
const input = fs.readFileSync(0, 'utf8');
const action = process.argv[2];
const log = (s) => fs.appendFileSync(path.join(dir, 'calls.log'), s + '\\n');
const store = load();
if (action === 'get') {
  const server = input.trim();
  log('get ' + server);
  const c = store[server];
  if (!c) { process.stdout.write('credentials not found in native keychain\\n'); process.exit(1); }
  process.stdout.write(JSON.stringify({ ServerURL: server, Username: c.Username, Secret: c.Secret }) + '\\n');
} else if (action === 'store') {
  const c = JSON.parse(input);
  log('store ' + c.ServerURL + ' ' + c.Username);
  store[c.ServerURL] = { Username: c.Username, Secret: c.Secret };
  fs.writeFileSync(storeFile, JSON.stringify(store));
} else if (action === 'erase') {
  const server = input.trim();
  log('erase ' + server);
  delete store[server];
  fs.writeFileSync(storeFile, JSON.stringify(store));
} else if (action === 'list') {
  process.stdout.write(JSON.stringify(Object.fromEntries(Object.entries(store).map(([k, v]) => [k, v.Username]))));
} else { process.stderr.write('unknown action ' + action + '\\n'); process.exit(1); }
`;

export function makeFakeCredentialHelper(dir: string, name = 'fake'): FakeCredentialHelper {
  const bin = join(dir, 'bin');
  mkdirSync(bin, { recursive: true });
  const program = join(bin, `docker-credential-${name}`);
  writeFileSync(program, `#!${process.execPath}\n${PROGRAM}`);
  chmodSync(program, 0o755);
  const storeFile = join(bin, 'store.json');
  const stored = () =>
    existsSync(storeFile)
      ? (JSON.parse(readFileSync(storeFile, 'utf8')) as ReturnType<FakeCredentialHelper['stored']>)
      : {};
  return {
    bin,
    name,
    set(server, username, secret) {
      writeFileSync(
        storeFile,
        JSON.stringify({ ...stored(), [server]: { Username: username, Secret: secret } }),
      );
    },
    stored,
    calls: () => {
      const log = join(bin, 'calls.log');
      return existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').filter(Boolean) : [];
    },
  };
}
