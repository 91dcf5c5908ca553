/**
 * The network: one HTTP client (retries with backoff, idle timeouts, size limit, concurrency cap, redirects
 * that keep credentials at their origin), credentials that never print, HTTP_AUTH, and small concurrency
 * helpers. Shared by package repositories (src/repo) and the registry client.
 */
export type { Credentials, HttpAuthEntry, ParsedHttpAuth } from './auth.ts';
export { BasicCredentials, BearerToken, credentialsForHost, parseHttpAuth } from './auth.ts';
export type {
  BodySink,
  GetOptions,
  GetResult,
  HttpClient,
  HttpClientOptions,
  HttpMethod,
  HttpResponse,
  RequestBody,
  RequestOptions,
} from './http.ts';
export {
  createHttpClient,
  DEFAULT_USER_AGENT,
  describeUrl,
  parseRetryAfter,
  TransientHttpError,
} from './http.ts';
export type { Limiter } from './limit.ts';
export { createLimiter, createSingleFlight } from './limit.ts';
