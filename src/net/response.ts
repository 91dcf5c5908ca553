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

/**
 * The timer of one attempt: aborts the request when nothing happened for `timeoutMs`, or when the request's
 * deadline (a time in ms since the epoch, over all its attempts) passes, whichever comes first.
 */
export class IdleTimer {
  readonly controller = new AbortController();
  #timer: NodeJS.Timeout | undefined;
  readonly #ms: number;
  readonly #deadline: number;
  #expired = false;
  constructor(ms: number, deadline = Number.POSITIVE_INFINITY) {
    this.#ms = ms;
    this.#deadline = deadline;
  }
  arm(): void {
    clearTimeout(this.#timer);
    const left = this.#deadline - Date.now();
    const byDeadline = left <= this.#ms;
    // unref: a response nobody reads must not hold the process open (a pending fetch holds it anyway)
    this.#timer = setTimeout(
      () => {
        this.#expired = byDeadline;
        this.controller.abort();
      },
      Math.max(0, Math.min(this.#ms, left)),
    ).unref();
  }
  clear(): void {
    clearTimeout(this.#timer);
  }
  get aborted(): boolean {
    return this.controller.signal.aborted;
  }
  /** The abort came from the request's deadline, not from a pause. */
  get expired(): boolean {
    return this.#expired;
  }
}

/**
 * The slowest transfer accepted: a body that brings fewer than `bytesPerSecond` over a whole window of
 * `windowMs` fails (a server sending a byte a second never trips the idle timeout, yet never finishes).
 */
export class RateFloor {
  readonly #min: number;
  readonly #windowMs: number;
  #start = Date.now();
  #bytes = 0;
  constructor(bytesPerSecond: number, windowMs: number) {
    this.#min = bytesPerSecond;
    this.#windowMs = windowMs;
  }
  /** Counts a chunk; says why the transfer is too slow, or undefined. */
  add(n: number): string | undefined {
    if (this.#min <= 0) return undefined;
    this.#bytes += n;
    const now = Date.now();
    const elapsed = now - this.#start;
    if (elapsed < this.#windowMs) return undefined;
    const rate = (this.#bytes * 1000) / elapsed;
    if (rate < this.#min) {
      return `too slow: ${this.#bytes} bytes in ${(elapsed / 1000).toFixed(1)} s, below the minimum of ${this.#min} bytes/s`;
    }
    this.#start = now;
    this.#bytes = 0;
    return undefined;
  }
}

/** The error for a request that used up its deadline. */
export function deadlineExceeded(url: URL, what: string, deadlineMs: number): LadingError {
  return new LadingError(
    'NET_NETWORK',
    `gave up on ${what} from ${describeUrl(url)}: it took longer than the deadline of ${deadlineMs / 1000} s`,
    { hint: 'a slow or stalled server; set LADING_HTTP_DEADLINE=SECONDS for a longer deadline' },
  );
}

/** Hands a response to the caller: its body is read through the idle timer and the size limit. */
export function respond(
  res: Response,
  url: URL,
  what: string,
  limits: {
    timeoutMs: number;
    maxResponseBytes: number;
    deadlineMs?: number;
    minBytesPerSecond?: number;
    rateWindowMs: number;
  },
  timer: IdleTimer,
): HttpResponse {
  let taken = false;
  const take = (): AsyncIterable<Uint8Array> => {
    if (taken) throw new Error('bug: a response body is read once');
    taken = true;
    const body = res.body;
    return (async function* () {
      let size = 0;
      const floor = new RateFloor(limits.minBytesPerSecond ?? 0, limits.rateWindowMs);
      try {
        if (body === null) return;
        timer.arm();
        for await (const chunk of body) {
          timer.arm();
          size += chunk.byteLength;
          if (size > limits.maxResponseBytes) throw tooLarge(url, what, limits.maxResponseBytes);
          const slow = floor.add(chunk.byteLength);
          if (slow !== undefined)
            throw new LadingError('NET_NETWORK', `${describeUrl(url)} is ${slow} (${what})`);
          yield chunk;
        }
      } catch (e) {
        if (e instanceof LadingError) throw e;
        if (timer.expired) throw deadlineExceeded(url, what, limits.deadlineMs ?? 0);
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
