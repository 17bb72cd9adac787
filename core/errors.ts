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

  constructor(
    statusCode: number,
    code: string,
    message: string,
    options?: ErrorOptions & {
      details?: readonly ErrorDetail[];
      extra?: Readonly<Record<string, unknown>>;
    },
  ) {
    super(message, options);
    this.statusCode = statusCode;
    this.code = code;
    this.details = options?.details;
    this.extra = options?.extra;
  }
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

export class ForbiddenError extends HttpError {
  constructor(message: string, options?: ErrorOptions) {
    super(403, 'Forbidden', message, options);
  }
}

export class NotFoundError extends HttpError {
  constructor(message: string, options?: ErrorOptions) {
    super(404, 'NotFound', message, options);
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

export class PayloadTooLargeError extends HttpError {
  constructor(message: string, options?: ErrorOptions) {
    super(413, 'PayloadTooLarge', message, options);
  }
}

export class UnsupportedMediaTypeError extends HttpError {
  constructor(message: string, options?: ErrorOptions) {
    super(415, 'UnsupportedMediaType', message, options);
  }
}

export class ServiceUnavailableError extends HttpError {
  constructor(message: string, options?: ErrorOptions) {
    super(503, 'ServiceUnavailable', message, options);
  }
}

/** A completion event that cannot be parsed; it is sent to the dead-letter queue, not dropped. */
export class MalformedEventError extends AppError {}
