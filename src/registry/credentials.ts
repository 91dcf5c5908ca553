/**
 * Registry credentials as docker's config holds them: a user and password (HTTP Basic, or exchanged for a
 * token), an identity token (an OAuth2 refresh token for the registry's token service) or a registry token
 * (sent as `Bearer` as is). The secret lives in private fields; the string, JSON and inspect forms of a
 * credential are "<redacted>", so logging or serialising one can never leak it (apko CVE-2024-36127).
 */
import { inspect } from 'node:util';

export type CredentialKind = 'basic' | 'identity-token' | 'registry-token';

export class RegistryCredential {
  readonly kind: CredentialKind;
  /** Where it was found, for messages: "auths in /home/u/.docker/config.json", "docker-credential-pass", … */
  readonly source: string;
  readonly #username: string;
  readonly #secret: string;

  private constructor(kind: CredentialKind, username: string, secret: string, source: string) {
    this.kind = kind;
    this.#username = username;
    this.#secret = secret;
    this.source = source;
  }

  static basic(username: string, password: string, source: string): RegistryCredential {
    return new RegistryCredential('basic', username, password, source);
  }

  static identityToken(username: string, token: string, source: string): RegistryCredential {
    return new RegistryCredential('identity-token', username, token, source);
  }

  static registryToken(token: string, source: string): RegistryCredential {
    return new RegistryCredential('registry-token', '', token, source);
  }

  /** `Basic base64(user:password)`, for registries that use Basic and for token requests. */
  basicAuthorization(): string | undefined {
    if (this.kind !== 'basic') return undefined;
    return `Basic ${Buffer.from(`${this.#username}:${this.#secret}`, 'utf8').toString('base64')}`;
  }

  /** The identity (refresh) token, for the OAuth2 token flow. */
  refreshToken(): string | undefined {
    return this.kind === 'identity-token' ? this.#secret : undefined;
  }

  /** A registry token, sent as `Bearer <token>` without asking a token service. */
  bearerToken(): string | undefined {
    return this.kind === 'registry-token' ? this.#secret : undefined;
  }

  /** The values a credential helper's `store` receives. Never log the result. */
  helperPayload(serverUrl: string): string {
    const user = this.kind === 'identity-token' ? '<token>' : this.#username;
    return JSON.stringify({ ServerURL: serverUrl, Username: user, Secret: this.#secret });
  }

  /** Docker config's `auth` field: base64(user:password). Never log the result. */
  configAuthField(): string {
    return Buffer.from(`${this.#username}:${this.#secret}`, 'utf8').toString('base64');
  }

  toString(): string {
    return '<redacted>';
  }

  toJSON(): string {
    return '<redacted>';
  }

  [inspect.custom](): string {
    return `RegistryCredential(${this.kind} from ${this.source}) <redacted>`;
  }
}
