/**
 * Image references as docker and crane parse them (distribution's reference grammar, ggcr's `pkg/name`
 * defaults), checked completely before any request: a registry answers some malformed names with a
 * `500 UNKNOWN` instead of a useful error.
 *
 *   reference  := [registry "/"] repository [":" tag] ["@" digest]
 *   registry   := host [":" port]    (present only when the first part has a "." or ":" or is "localhost")
 *   repository := component ("/" component)*, component := [a-z0-9]+ ((\.|_|__|-+) [a-z0-9]+)*
 *   tag        := [A-Za-z0-9_] [A-Za-z0-9_.-]{0,127}
 *   digest     := "sha256:" 64 hex | "sha512:" 128 hex
 * Without a registry the reference is Docker Hub's (`index.docker.io`, one-part names under `library/`).
 */
import { LadingError } from '../util/errors.ts';

export const DOCKER_HUB = 'index.docker.io';
/** The key Docker Hub's credentials are stored under in Docker's config. */
export const DOCKER_HUB_CONFIG_KEY = 'https://index.docker.io/v1/';

export interface Repository {
  /** `host[:port]`, lower-cased host; `index.docker.io` for Docker Hub. */
  registry: string;
  /** The path inside the registry, e.g. `library/alpine` or `demo/app`. */
  path: string;
}

export interface Reference {
  repository: Repository;
  /** Set unless the reference names only a digest. */
  tag?: string;
  digest?: string;
}

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const DIGEST = /^(?:sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128})$/;
const HOST_LABEL = /^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])$/;
const MAX_NAME = 255;

function bad(input: string, what: string, hint: string): LadingError {
  return new LadingError('REGISTRY_REFERENCE', `invalid image reference ${JSON.stringify(input)}: ${what}`, {
    hint,
  });
}

/** `host[:port]`, or `[ipv6][:port]`; lower-cases the host. */
export function parseRegistry(input: string, context = input): string {
  const m = /^(\[[0-9A-Fa-f:.]+\]|[^:]+)(?::(\d{1,5}))?$/.exec(input);
  const host = m?.[1];
  const port = m?.[2];
  const hostOk =
    host !== undefined && (host.startsWith('[') || host.split('.').every((label) => HOST_LABEL.test(label)));
  if (!m || !hostOk || (port !== undefined && Number(port) > 65535)) {
    throw bad(
      context,
      `${JSON.stringify(input)} is not a registry host[:port]`,
      'write e.g. registry.example.com:5000/team/app:1.0',
    );
  }
  const name = host!.toLowerCase();
  return port === undefined ? name : `${name}:${port}`;
}

/** Docker Hub's aliases become `index.docker.io`. */
function canonicalRegistry(registry: string): string {
  return registry === 'docker.io' || registry === 'registry-1.docker.io' ? DOCKER_HUB : registry;
}

/**
 * Parses `input`; a reference without tag or digest gets `defaultTag` (`latest`), unless `defaultTag` is
 * null, which leaves it tagless (callers that need a tag say so).
 */
export function parseReference(input: string, defaultTag: string | null = 'latest'): Reference {
  if (input === '' || /\s/.test(input)) {
    throw bad(input, 'it is empty or contains white space', 'write e.g. registry.example.com/team/app:1.0');
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(input)) {
    throw bad(
      input,
      'a reference has no URL scheme',
      `drop the scheme: ${input.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '')}`,
    );
  }
  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) {
      throw bad(
        input,
        `${JSON.stringify(digest)} is not a digest`,
        'a digest is sha256: followed by 64 lower-case hex digits',
      );
    }
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) {
      throw bad(
        input,
        `${JSON.stringify(tag)} is not a valid tag`,
        'a tag is 1 to 128 of A-Z a-z 0-9 _ . - and does not start with . or -',
      );
    }
  }
  const slash = rest.indexOf('/');
  const first = slash < 0 ? '' : rest.slice(0, slash);
  const hasRegistry =
    slash >= 0 &&
    (first.includes('.') || first.includes(':') || first === 'localhost' || first !== first.toLowerCase());
  let registry = DOCKER_HUB;
  let path = rest;
  if (hasRegistry) {
    registry = canonicalRegistry(parseRegistry(first, input));
    path = rest.slice(slash + 1);
  }
  if (registry === DOCKER_HUB && path !== '' && !path.includes('/')) path = `library/${path}`;
  const components = path.split('/');
  if (path === '' || !components.every((c) => COMPONENT.test(c))) {
    const upper = path !== path.toLowerCase();
    throw bad(
      input,
      upper
        ? 'repository names must be lower case'
        : `${JSON.stringify(path)} is not a valid repository name`,
      'a repository is lower-case letters and digits, separated by . _ __ - or /, e.g. team/app',
    );
  }
  if (registry.length + 1 + path.length > MAX_NAME) {
    throw bad(input, `the name is longer than ${MAX_NAME} characters`, 'use a shorter repository name');
  }
  if (tag === undefined && digest === undefined && defaultTag !== null) tag = defaultTag;
  return {
    repository: { registry, path },
    ...(tag !== undefined ? { tag } : {}),
    ...(digest ? { digest } : {}),
  };
}

/** `registry/path` */
export function repositoryName(r: Repository): string {
  return `${r.registry}/${r.path}`;
}

/** `registry/path:tag`, `registry/path@digest` or both. */
export function formatReference(r: Reference): string {
  return `${repositoryName(r.repository)}${r.tag !== undefined ? `:${r.tag}` : ''}${r.digest ? `@${r.digest}` : ''}`;
}

export function sameRepository(a: Repository, b: Repository): boolean {
  return a.registry === b.registry && a.path === b.path;
}

/**
 * The registry argument of `login`/`logout`: `host[:port]`, also written as a URL (`https://host/`) the way
 * docker accepts it. Docker Hub (`docker.io`, `index.docker.io`, or nothing) is stored under its config key.
 */
export function parseLoginServer(input: string | undefined): { registry: string; configKey: string } {
  if (
    input === undefined ||
    input === '' ||
    /^(?:https?:\/\/)?(?:index\.|registry-1\.)?docker\.io(?:\/v1\/?)?\/?$/.test(input)
  ) {
    return { registry: DOCKER_HUB, configKey: DOCKER_HUB_CONFIG_KEY };
  }
  const stripped = input.replace(/^https?:\/\//, '').replace(/\/(?:v[12]\/?)?$/, '');
  if (stripped.includes('/')) {
    throw bad(input, 'login takes a registry, not a repository', `log in to ${stripped.split('/')[0]}`);
  }
  const registry = canonicalRegistry(parseRegistry(stripped, input));
  return registry === DOCKER_HUB
    ? { registry, configKey: DOCKER_HUB_CONFIG_KEY }
    : { registry, configKey: registry };
}
