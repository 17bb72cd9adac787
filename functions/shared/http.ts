/**
 * The HTTP edge of every API function: reading a request, and turning a result
 * or an error into an API Gateway (payload 2.0) response. Errors are mapped
 * here and nowhere else.
 */
import type {
  APIGatewayProxyEventV2WithIAMAuthorizer,
  APIGatewayProxyStructuredResultV2,
  Context,
} from 'aws-lambda';
import {
  BadRequestError,
  HttpError,
  PayloadTooLargeError,
  UnsupportedMediaTypeError,
} from '../../core/errors';
import { isJobName } from '../../core/events';
import { describeError, log } from './log';
import { retryLaterError } from './throttling';

export type ApiEvent = APIGatewayProxyEventV2WithIAMAuthorizer;
export type ApiResult = APIGatewayProxyStructuredResultV2;
/** `context` is Lambda's; optional so that a test can call a handler with an event alone. */
export type ApiHandler = (event: ApiEvent, context?: Context) => Promise<ApiResult>;

const JSON_HEADERS = { 'content-type': 'application/json' };

export function jsonResponse(
  statusCode: number,
  body: unknown,
  headers: Record<string, string> = {},
): ApiResult {
  return { statusCode, headers: { ...JSON_HEADERS, ...headers }, body: JSON.stringify(body) };
}

export function errorResponse(error: unknown): ApiResult {
  if (error instanceof HttpError) return httpErrorResponse(error);
  const later = retryLaterError(error);
  if (later) {
    // Load, not a defect: a warning, with what was throttled or failed.
    log.warn('A dependency throttled or failed; asking the caller to retry', {
      statusCode: later.statusCode,
      ...describeError(error),
    });
    return httpErrorResponse(later);
  }
  log.error('Unhandled error', describeError(error));
  return jsonResponse(500, {
    error: { code: 'InternalError', message: 'An internal error occurred' },
  });
}

function httpErrorResponse(error: HttpError): ApiResult {
  const body: Record<string, unknown> = {
    error: {
      code: error.code,
      message: error.message,
      ...(error.details ? { details: error.details } : {}),
    },
    ...error.extra,
  };
  const headers: Record<string, string> =
    error.retryAfterSeconds === undefined ? {} : { 'retry-after': String(error.retryAfterSeconds) };
  return jsonResponse(error.statusCode, body, headers);
}

/** Wraps an API function so every outcome, thrown or returned, is a JSON response. */
export function apiHandler(fn: ApiHandler): ApiHandler {
  return async (event, context) => {
    try {
      return await fn(event, context);
    } catch (error) {
      return errorResponse(error);
    }
  };
}

/** Reads a JSON request body: `application/json` (or no content type), at most `maxBytes`. */
export function readJsonBody(event: ApiEvent, maxBytes: number): unknown {
  const contentType = event.headers?.['content-type'];
  if (contentType && !/^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i.test(contentType)) {
    throw new UnsupportedMediaTypeError(
      `Content-Type must be application/json, got "${contentType}"`,
    );
  }
  if (event.body === undefined || event.body === null || event.body === '') {
    throw new BadRequestError('InvalidBody', 'The request body must be a JSON object');
  }
  const text = event.isBase64Encoded ? decodeBase64Body(event.body, maxBytes) : event.body;
  if (Buffer.byteLength(text, 'utf8') > maxBytes) throw bodyTooLarge(maxBytes);
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new BadRequestError('InvalidJson', 'The request body is not valid JSON', {
      cause: error,
    });
  }
}

/**
 * Fatal, so that bytes which are not UTF-8 are refused rather than replaced
 * with U+FFFD; a byte order mark is kept, so that it fails to parse as it does
 * in a body the gateway passed as text.
 */
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * A base64 body's bytes as text. JSON must be UTF-8 (RFC 8259): a lenient
 * decode would turn invalid bytes into U+FFFD, so two different bodies could
 * read as one job input, and the caller would never learn its bytes were changed.
 */
function decodeBase64Body(body: string, maxBytes: number): string {
  const bytes = Buffer.from(body, 'base64');
  if (bytes.length > maxBytes) throw bodyTooLarge(maxBytes);
  try {
    return UTF8.decode(bytes);
  } catch (error) {
    throw new BadRequestError(
      'InvalidJson',
      'The request body is not valid UTF-8; JSON must be encoded in UTF-8',
      { cause: error },
    );
  }
}

/** Bytes as UTF-8 text, or undefined when they are not UTF-8 (never U+FFFD in their place). */
export function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return UTF8.decode(bytes);
  } catch {
    return undefined;
  }
}

function bodyTooLarge(maxBytes: number): PayloadTooLargeError {
  return new PayloadTooLargeError(`The request body is larger than ${maxBytes} bytes`);
}

/** The `{name}` path parameter, validated like a job name. */
export function jobNameParam(event: ApiEvent): string {
  const raw = event.pathParameters?.name;
  if (!isJobName(raw)) {
    throw new BadRequestError(
      'InvalidJobName',
      'The job name must be 1 to 128 characters of A-Z a-z 0-9 . _ - and not only dots',
    );
  }
  return raw;
}

/** The URL of a job's status, as the caller reached this API. */
export function statusUrl(event: ApiEvent, jobName: string): { path: string; url: string } {
  const stage = event.requestContext.stage;
  const prefix = stage && stage !== '$default' ? `/${stage}` : '';
  const path = `${prefix}/jobs/${encodeURIComponent(jobName)}`;
  const proto = event.headers?.['x-forwarded-proto']?.split(',')[0]?.trim() || 'https';
  const host = event.requestContext.domainName;
  return { path, url: host ? `${proto}://${host}${path}` : path };
}
