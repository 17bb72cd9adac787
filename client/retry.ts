/**
 * Retrying throttled calls, in the manner of the AWS SDK's standard retry
 * strategy: exponential backoff with full jitter, capped, and never sooner
 * than the server's `Retry-After`. What is retried is throttling and nothing
 * else:
 *
 * - `429`: the API's `Throttled` and `QueueFull`, or API Gateway's own stage
 *   throttle (`{"message":"Too Many Requests"}`);
 * - `503`: `ServiceUnavailable`;
 * - `500` with API Gateway's bare `{"message":"Internal Server Error"}`, which
 *   is how an HTTP API answers when Lambda throttles the function. A 500 with
 *   the API's own `{"error":...}` body is a fault, not throttling, and is not
 *   retried.
 */

/** What `onRetry` is told before each wait. */
export interface RetryNotice {
  readonly method: string;
  readonly path: string;
  /** The status of the answer being retried: 429, 503 or 500. */
  readonly status: number;
  /** Its code: the API's `error.code`, else API Gateway's message (`Too Many Requests`). */
  readonly code: string;
  /** The attempt about to be made, 2 for the first retry. */
  readonly attempt: number;
  readonly maxAttempts: number;
  /** How long the client waits before it: the backoff, or `Retry-After` when that is longer. */
  readonly delayMs: number;
}

/** Waits `ms`; rejects with the signal's reason as soon as it aborts. */
export type SleepFn = (ms: number, signal?: AbortSignal) => Promise<void>;

export interface RetryOptions {
  /** Attempts in all, the first included; 1 turns retrying off. @default 5 */
  readonly maxAttempts?: number;
  /** Told before each wait (the CLI prints a note). @default - nothing */
  readonly onRetry?: (notice: RetryNotice) => void;
  /** @default - a real timer, cut short by the call's signal */
  readonly sleep?: SleepFn;
  /** A number in [0, 1) for the jitter. @default Math.random */
  readonly random?: () => number;
}

export const DEFAULT_MAX_ATTEMPTS = 5;
/** As the AWS SDK's standard strategy (@smithy/util-retry `DEFAULT_RETRY_DELAY_BASE`, `MAXIMUM_RETRY_DELAY`). */
export const BASE_DELAY_MS = 100;
export const MAX_DELAY_MS = 20_000;
/**
 * A `Retry-After` longer than this ends the retries at once: waiting that long
 * unasked would look like a hang, and waiting less than the server says is
 * what the header forbids. The API's longest is 30 s (`QueueFull`).
 */
export const MAX_RETRY_AFTER_MS = 120_000;

const RETRIED_STATUSES: ReadonlySet<number> = new Set([429, 500, 503]);
const GATEWAY_INTERNAL_ERROR = 'Internal Server Error';

/** The throttling answer of one attempt, as read for the decision. */
export interface ThrottledAnswer {
  readonly status: number;
  readonly code: string;
  /** `Retry-After` in milliseconds, when the answer had a usable one. */
  readonly retryAfterMs?: number;
}

/**
 * Reads a response that may be throttling: undefined when it is not (any
 * other status, or a 500 with the API's own error body). Reads a clone, so
 * the response's own body is left for the caller.
 */
export async function readThrottling(
  response: Response,
  now: number = Date.now(),
): Promise<ThrottledAnswer | undefined> {
  if (!RETRIED_STATUSES.has(response.status)) return undefined;
  let body: { error?: { code?: unknown }; message?: unknown } = {};
  try {
    const parsed: unknown = JSON.parse(await response.clone().text());
    if (typeof parsed === 'object' && parsed !== null) body = parsed;
  } catch {
    // A body that is not JSON tells nothing; the status decides.
  }
  const apiCode = typeof body.error?.code === 'string' ? body.error.code : undefined;
  const gatewayMessage = typeof body.message === 'string' ? body.message : undefined;
  if (
    response.status === 500 &&
    (apiCode !== undefined || gatewayMessage !== GATEWAY_INTERNAL_ERROR)
  ) {
    return undefined;
  }
  const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'), now);
  return {
    status: response.status,
    code: apiCode ?? gatewayMessage ?? `HTTP${response.status}`,
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
  };
}

/**
 * `Retry-After` as milliseconds from `now`: delay-seconds (what the API sends)
 * or an HTTP-date (RFC 9110 allows both). Undefined when absent or unreadable.
 */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  // Every HTTP-date form begins with a day name; Date.parse alone would take "-3" as a year.
  const date = /^[A-Za-z]{3}/.test(text) ? Date.parse(text) : Number.NaN;
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * Full jitter: a uniform wait in [0, min(cap, base × 2^retries)), so that
 * callers throttled together do not come back together.
 */
export function backoffMs(retries: number, random: () => number = Math.random): number {
  return Math.floor(random() * Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** retries));
}

/**
 * How long to wait before attempt `attempt + 1` after a throttling answer, or
 * undefined to stop: the attempts are used up, or `Retry-After` asks for
 * longer than `MAX_RETRY_AFTER_MS`.
 */
export function delayBeforeRetry(
  answer: ThrottledAnswer,
  attempt: number,
  maxAttempts: number,
  random: () => number = Math.random,
): number | undefined {
  if (attempt >= maxAttempts) return undefined;
  const retryAfterMs = answer.retryAfterMs ?? 0;
  if (retryAfterMs > MAX_RETRY_AFTER_MS) return undefined;
  return Math.max(retryAfterMs, backoffMs(attempt - 1, random));
}

/** The default `sleep`: a timer that an abort cuts short with the signal's reason. */
export const sleep: SleepFn = (ms, signal) =>
  new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/** Checks `maxAttempts`: a whole number of at least 1. Answers the error message, or undefined. */
export function maxAttemptsProblem(value: unknown): string | undefined {
  return Number.isSafeInteger(value) && (value as number) >= 1
    ? undefined
    : `maxAttempts must be a whole number of at least 1 (1 turns retrying off), got ${String(value)}`;
}
