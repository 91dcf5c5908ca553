/**
 * An ImageConfig back in apko's shape: for `show-config` (YAML) and for `/etc/apko.json`. Credentials in
 * repository, keyring, vcs-url and annotation URLs are removed unless asked not to (apko leaks them into apko.json).
 */
import { Document, isMap, isSeq, Scalar, type YAMLMap } from 'yaml';
import { redactUrl } from '../util/redact.ts';
import type { ImageConfig } from './types.ts';

export interface ApkoDocumentOptions {
  /** Remove `user:password@` from URLs (default true). */
  redact?: boolean;
  /** Always emit `contents`, `entrypoint` and `accounts`, even empty, as apko's JSON does (default false). */
  emptyStructs?: boolean;
}

/** A repository entry with any `user:password@` removed from its URL (`@tag ` kept); never throws. */
export function redactRepository(entry: string): string {
  const m = /^(@\S+\s+)(\S+)$/.exec(entry);
  return m ? `${m[1]}${redactUrl(m[2]!)}` : redactUrl(entry);
}

type Obj = Record<string, unknown>;

function put(obj: Obj, key: string, value: unknown): void {
  if (value === undefined || value === '' || value === false) return;
  if (Array.isArray(value) && value.length === 0) return;
  if (typeof value === 'object' && value !== null && !Array.isArray(value) && Object.keys(value).length === 0)
    return;
  obj[key] = value;
}

/**
 * A plain object with apko's field names in apko's order (struct order of ImageConfiguration), empty
 * fields left out: JSON.stringify it for /etc/apko.json, or see renderConfigYaml.
 */
export function toApkoDocument(config: ImageConfig, options: ApkoDocumentOptions = {}): Obj {
  const redact = options.redact ?? true;
  const repo = (r: string) => (redact ? redactRepository(r) : r);
  const url = (u: string) => (redact ? redactUrl(u) : u);
  const c = config.contents;

  const contents: Obj = {};
  put(contents, 'build_repositories', c.buildRepositories.map(repo));
  put(contents, 'runtime_repositories', c.runtimeRepositories.map(repo));
  put(contents, 'repositories', c.repositories.map(repo));
  put(contents, 'keyring', c.keyring.map(url));
  put(
    contents,
    'runtime_keyring',
    c.runtimeKeyring.map((k) => ({ name: k.name, content: k.content })),
  );
  put(contents, 'packages', [...c.packages]);
  if (c.baseimage) put(contents, 'baseimage', { image: c.baseimage.image, apkindex: c.baseimage.apkindex });

  const entrypoint: Obj = {};
  put(entrypoint, 'type', config.entrypoint.type);
  put(entrypoint, 'command', config.entrypoint.command);
  put(entrypoint, 'shell-fragment', config.entrypoint.shellFragment);
  put(entrypoint, 'services', { ...config.entrypoint.services });

  const accounts: Obj = {};
  put(accounts, 'run-as', config.accounts.runAs);
  put(
    accounts,
    'users',
    config.accounts.users.map((u) => ({
      username: u.username,
      uid: u.uid,
      gid: u.gid,
      shell: u.shell,
      homedir: u.homedir,
    })),
  );
  put(
    accounts,
    'groups',
    config.accounts.groups.map((g) => {
      const o: Obj = { groupname: g.groupname, gid: g.gid };
      put(o, 'members', [...g.members]);
      return o;
    }),
  );

  const out: Obj = {};
  const struct = (key: string, value: Obj) => {
    if (options.emptyStructs) out[key] = value;
    else put(out, key, value);
  };
  struct('contents', contents);
  struct('entrypoint', entrypoint);
  put(out, 'cmd', config.cmd);
  put(out, 'stop-signal', config.stopSignal);
  put(out, 'work-dir', config.workDir);
  struct('accounts', accounts);
  put(out, 'archs', [...config.archs]);
  put(out, 'environment', { ...config.environment });
  put(
    out,
    'paths',
    config.paths.map((m) => {
      const o: Obj = { path: m.path, type: m.type };
      if (m.uid !== undefined) o.uid = m.uid;
      if (m.gid !== undefined) o.gid = m.gid;
      if (m.permissions !== undefined) o.permissions = m.permissions;
      put(o, 'source', m.source);
      put(o, 'recursive', m.recursive);
      return o;
    }),
  );
  put(out, 'vcs-url', config.vcsUrl === undefined ? undefined : url(config.vcsUrl));
  put(
    out,
    'annotations',
    Object.fromEntries(Object.entries(config.annotations).map(([k, v]) => [k, url(v)])),
  );
  put(out, 'volumes', [...config.volumes]);
  if (config.layering) out.layering = { strategy: config.layering.strategy, budget: config.layering.budget };
  const certificates: Obj = {};
  put(
    certificates,
    'additional',
    config.certificates.additional.map((k) => ({ name: k.name, content: k.content })),
  );
  put(certificates, 'providers', [...config.certificates.providers]);
  put(out, 'certificates', certificates);
  return out;
}

/** The config as apko YAML (what `show-config` prints): loads back to the same config; credentials redacted. */
export function renderConfigYaml(config: ImageConfig, options: { redact?: boolean } = {}): string {
  const doc = new Document(toApkoDocument(config, { redact: options.redact ?? true }));
  // Permissions read best in octal; YAML 1.2 `0o755` is also what apko (yaml.v3) reads.
  const paths = doc.get('paths', true);
  if (isSeq(paths)) {
    for (const item of paths.items) {
      const perm = isMap(item) ? (item as YAMLMap).get('permissions', true) : undefined;
      if (perm instanceof Scalar) perm.format = 'OCT';
    }
  }
  return doc.toString({ lineWidth: 0, indentSeq: true });
}
