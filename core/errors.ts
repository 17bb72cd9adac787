/**
 * One error model for every function. Handlers map these to HTTP responses in
 * one place (`http.ts`); anything that is not an `HttpError` becomes a 500 whose
 * body never carries the original message or stack.
 */

/** Base class of every error this project throws on purpose; each area derives its own. */
export class AppError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}
export interface ErrorDetail {
  readonly path?: string;
  readonly message: string;
}

/** A required setting is missing or malformed: a deployment mistake, never the caller's. */
export class ConfigError extends AppError {}

/** An error that reaches an HTTP caller as `{ "error": { "code", "message" } }`. */
export class HttpError extends AppError {
  readonly statusCode: number;
  readonly code: string;
  readonly details?: readonly ErrorDetail[];
  /** Extra top-level fields for the response body, such as the conflicting job. */
  readonly extra?: Readonly<Record<string, unknown>>;
  /** How long the caller should wait before trying again, sent as `Retry-After`. */
  readonly retryAfterSeconds?: number;

  constructor(
    statusCode: number,
    code: string,
    message: string,
    options?: ErrorOptions & {
      details?: readonly ErrorDetail[];
      extra?: Readonly<Record<string, unknown>>;
      retryAfterSeconds?: number;
    },
  ) {
    super(message, options);
    this.statusCode = statusCode;
    this.code = code;
    this.details = options?.details;
    this.extra = options?.extra;
    if (options?.retryAfterSeconds !== undefined) {
      this.retryAfterSeconds = checkedRetryAfter(options.retryAfterSeconds);
    }
  }
}

/**
 * `Retry-After` takes whole seconds (RFC 9110): a computed wait is rounded up,
 * never down, so the caller does not come back early.
 */
function checkedRetryAfter(seconds: number): number {
  if (!Number.isFinite(seconds)) {
    throw new RangeError(`retryAfterSeconds must be a finite number of seconds, got ${seconds}`);
  }
  return Math.max(0, Math.ceil(seconds));
}

/** Options of the errors that ask the caller to come back later. */
export interface RetryLaterOptions extends ErrorOptions {
  readonly retryAfterSeconds: number;
}

export class BadRequestError extends HttpError {
  constructor(
    code: string,
    message: string,
    options?: ErrorOptions & { details?: readonly ErrorDetail[] },
  ) {
    super(400, code, message, options);
  }
}

export class ConflictError extends HttpError {
  constructor(
    code: string,
    message: string,
    options?: ErrorOptions & { extra?: Readonly<Record<string, unknown>> },
  ) {
    super(409, code, message, options);
  }
}

/**
 * An `HttpError` whose status and code its class fixes, so a thrower gives only
 * the message (and a cause).
 */
function fixedHttpError(
  statusCode: number,
  code: string,
): new (
  message: string,
  options?: ErrorOptions,
) => HttpError {
  return class extends HttpError {
    constructor(message: string, options?: ErrorOptions) {
      super(statusCode, code, message, options);
    }
  };
}

export class ForbiddenError extends fixedHttpError(403, 'Forbidden') {}

export class NotFoundError extends fixedHttpError(404, 'NotFound') {}

export class PayloadTooLargeError extends fixedHttpError(413, 'PayloadTooLarge') {}

export class UnsupportedMediaTypeError extends fixedHttpError(415, 'UnsupportedMediaType') {}

/**
 * 429: the caller (or the service on its behalf) is over a limit for now, such
 * as a full queue or a throttled dependency; `retryAfterSeconds` says when to
 * try again.
 */
export class TooManyRequestsError extends HttpError {
  constructor(code: string, message: string, options: RetryLaterOptions) {
    super(429, code, message, options);
  }
}

/** What a 503 asks for when its thrower names no wait: a dependency that failed usually recovers within seconds. */
export const DEFAULT_UNAVAILABLE_RETRY_AFTER_SECONDS = 2;

/** 503: a dependency could not do its part for now; the same request may succeed later. */
export class ServiceUnavailableError extends HttpError {
  constructor(message: string, options?: ErrorOptions & { retryAfterSeconds?: number }) {
    super(503, 'ServiceUnavailable', message, {
      ...options,
      retryAfterSeconds: options?.retryAfterSeconds ?? DEFAULT_UNAVAILABLE_RETRY_AFTER_SECONDS,
    });
  }
}

/** A completion event that cannot be parsed; it is sent to the dead-letter queue, not dropped. */
export class MalformedEventError extends AppError {}
