/**
 * AWS errors that mean "not now" rather than "never": a dependency throttled
 * the call, or failed on its side, even after the SDK's own retries. An API
 * caller gets 429 or 503 with `Retry-After` for these, never a bare 500, so a
 * client knows the same request may well succeed a moment later.
 */
import { isThrottlingError, isTransientError } from '@smithy/core/retry';
import { HttpError, ServiceUnavailableError, TooManyRequestsError } from '../../core/errors';

/**
 * The wait asked of a caller whose request was throttled. The SDK has already
 * backed off a few times within the request, so a short wait is enough, and
 * the caller adds its own jitter.
 */
export const THROTTLED_RETRY_AFTER_SECONDS = 1;

/** The wait asked of a caller when a dependency failed on its side (5xx, timeout, network). */
export const UNAVAILABLE_RETRY_AFTER_SECONDS = 2;

/** How far down a chain of `cause`s a throttle or outage is looked for. */
const MAX_CAUSE_DEPTH = 5;

/**
 * Cancellation reasons of a DynamoDB transaction that say "try again": its
 * items were throttled or another transaction held one. `None` is the code of
 * the actions that did not cause the cancellation.
 */
const RETRYABLE_CANCELLATION_CODES = new Set([
  'ThrottlingError',
  'ProvisionedThroughputExceeded',
  'TransactionConflict',
]);

/** An AWS SDK error as far as it is classified here. */
interface ServiceErrorShape {
  readonly name: string;
  readonly message?: string;
  readonly $fault?: string;
  readonly $metadata?: { readonly httpStatusCode?: number };
  readonly $retryable?: { readonly throttling?: boolean };
  readonly CancellationReasons?: readonly { readonly Code?: string }[];
  readonly cause?: unknown;
}

/**
 * The 429 or 503 an error that escaped a handler stands for, or undefined
 * when it is none of these (then it is an internal error). An `HttpError` is
 * the thrower's own answer and is never reclassified.
 */
export function retryLaterError(error: unknown): HttpError | undefined {
  let current: unknown = error;
  for (let depth = 0; depth <= MAX_CAUSE_DEPTH && isErrorLike(current); depth++) {
    if (current instanceof HttpError) return undefined;
    if (isThrottled(current)) {
      return new TooManyRequestsError(
        'Throttled',
        'The service is busy (a request it depends on was throttled); try again shortly',
        { cause: error, retryAfterSeconds: THROTTLED_RETRY_AFTER_SECONDS },
      );
    }
    if (isUnavailable(current)) {
      return new ServiceUnavailableError(
        'A service this request depends on is unavailable for now; try again shortly',
        { cause: error, retryAfterSeconds: UNAVAILABLE_RETRY_AFTER_SECONDS },
      );
    }
    current = current.cause;
  }
  return undefined;
}

function isErrorLike(value: unknown): value is ServiceErrorShape {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { name?: unknown }).name === 'string'
  );
}

/**
 * The SDK's own classification (HTTP 429, the throttling error codes such as
 * `ProvisionedThroughputExceededException`, `ThrottlingException`,
 * `RequestLimitExceeded` and `TooManyRequestsException`, and the
 * `$retryable.throttling` trait), plus a DynamoDB transaction cancelled only
 * for throttling or a conflicting transaction.
 */
function isThrottled(error: ServiceErrorShape): boolean {
  // The SDK's check reads `error.name` and `$metadata` only, which every ServiceErrorShape has.
  if (isThrottlingError(error as Parameters<typeof isThrottlingError>[0])) return true;
  const reasons = error.name === 'TransactionCanceledException' ? error.CancellationReasons : [];
  const codes = (reasons ?? []).map((reason) => reason.Code ?? 'None');
  return (
    codes.some((code) => RETRYABLE_CANCELLATION_CODES.has(code)) &&
    codes.every((code) => code === 'None' || RETRYABLE_CANCELLATION_CODES.has(code))
  );
}

/**
 * A 5xx from the service, an error the service names as unavailable, or what
 * the SDK counts as transient (timeouts, connection resets, DNS failures of
 * the endpoint).
 */
function isUnavailable(error: ServiceErrorShape): boolean {
  const status = error.$metadata?.httpStatusCode;
  if (status !== undefined && status >= 500 && status <= 599) return true;
  if (error.$fault === 'server') return true;
  if (error.name === 'ServiceUnavailable' || error.name === 'ServiceUnavailableException') {
    return true;
  }
  return isTransientError(error as Parameters<typeof isTransientError>[0]);
}
