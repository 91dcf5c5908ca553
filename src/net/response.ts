/** A response the HTTP client hands to its caller, and the idle timer that guards each attempt. */
import { Readable } from 'node:stream';
import { LadingError } from '../util/errors.ts';
import { describeUrl, reason, tooLarge } from './describe.ts';

/** A response handed to the caller: read or cancel its body (the idle timeout and size limit still apply). */
export interface HttpResponse {
  readonly status: number;
  readonly headers: Headers;
  /** The URL that answered, after redirects (never with credentials). */
  readonly url: string;
  /** The whole body. */
  bytes(): Promise<Buffer>;
  /** The body as a stream, read once. */
  stream(): Readable;
  /** Drops the body unread. */
  cancel(): Promise<void>;
}

/** The idle timer of one attempt: aborts the request when nothing happened for `timeoutMs`. */
export class IdleTimer {
  readonly controller = new AbortController();
  #timer: NodeJS.Timeout | undefined;
  readonly #ms: number;
  constructor(ms: number) {
    this.#ms = ms;
  }
  arm(): void {
    clearTimeout(this.#timer);
    // unref: a response nobody reads must not hold the process open (a pending fetch holds it anyway)
    this.#timer = setTimeout(() => this.controller.abort(), this.#ms).unref();
  }
  clear(): void {
    clearTimeout(this.#timer);
  }
  get aborted(): boolean {
    return this.controller.signal.aborted;
  }
}

/** Hands a response to the caller: its body is read through the idle timer and the size limit. */
export function respond(
  res: Response,
  url: URL,
  what: string,
  limits: { timeoutMs: number; maxResponseBytes: number },
  timer: IdleTimer,
): HttpResponse {
  let taken = false;
  const take = (): AsyncIterable<Uint8Array> => {
    if (taken) throw new Error('bug: a response body is read once');
    taken = true;
    const body = res.body;
    return (async function* () {
      let size = 0;
      try {
        if (body === null) return;
        timer.arm();
        for await (const chunk of body) {
          timer.arm();
          size += chunk.byteLength;
          if (size > limits.maxResponseBytes) throw tooLarge(url, what, limits.maxResponseBytes);
          yield chunk;
        }
      } catch (e) {
        if (e instanceof LadingError) throw e;
        if (timer.aborted)
          throw new LadingError(
            'NET_NETWORK',
            `no data for ${limits.timeoutMs} ms from ${describeUrl(url)} after ${size} bytes (${what})`,
          );
        throw new LadingError(
          'NET_NETWORK',
          `connection to ${describeUrl(url)} lost after ${size} bytes (${what}): ${reason(e)}`,
        );
      } finally {
        timer.clear();
        if (body !== null && !body.locked) await body.cancel().catch(() => {});
      }
    })();
  };
  return {
    status: res.status,
    headers: res.headers,
    url: describeUrl(url),
    bytes: async () => {
      const chunks: Uint8Array[] = [];
      for await (const c of take()) chunks.push(c);
      return Buffer.concat(chunks);
    },
    stream: () => Readable.from(take(), { objectMode: false }),
    cancel: async () => {
      timer.clear();
      if (!taken) {
        taken = true;
        await res.body?.cancel().catch(() => {});
      }
    },
  };
}
