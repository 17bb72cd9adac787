/**
 * What the local Lambda answers when something goes wrong, in AWS's words.
 *
 * Two kinds: a *service* error is the Invoke API refusing the call (an HTTP
 * error status, thrown as `LambdaServiceError`); a *function* error is a call
 * that ran and failed (status 200, `X-Amz-Function-Error: Unhandled`, and an
 * error object as the payload).
 */
import { LambdaServiceError } from '../contracts';

// ---------------------------------------------------------------- limits

/** Invoke request body limit for RequestResponse (6 MB). */
export const SYNC_REQUEST_LIMIT_BYTES = 6 * 1024 * 1024;
/**
 * Function response limit. AWS's message names 6291556, 100 bytes above the
 * request limit; that number is what `Function.ResponseSizeTooLarge` reports.
 */
export const RESPONSE_LIMIT_BYTES = 6_291_556;
/** Event (async) request limit: 1 MB since late 2025, 256 KB before (AWS-FACTS: configurable). */
export const DEFAULT_ASYNC_REQUEST_LIMIT_BYTES = 1024 * 1024;

// ---------------------------------------------------------------- service errors

/** Why Lambda throttled a call: the SDK exposes it as `TooManyRequestsException.Reason`. */
export type ThrottleReason =
  | 'ConcurrentInvocationLimitExceeded'
  | 'ReservedFunctionConcurrentInvocationLimitExceeded';

export class TooManyRequestsError extends LambdaServiceError {
  constructor(readonly reason: ThrottleReason) {
    super(429, 'TooManyRequestsException', 'Rate Exceeded.');
  }
}

export function functionNotFound(qualifiedArn: string): LambdaServiceError {
  return new LambdaServiceError(
    404,
    'ResourceNotFoundException',
    `Function not found: ${qualifiedArn}`,
  );
}

export function requestTooLarge(limitBytes: number): LambdaServiceError {
  return new LambdaServiceError(
    413,
    'RequestEntityTooLargeException',
    `Request must be smaller than ${limitBytes} bytes for the InvokeFunction operation`,
  );
}

export function invalidRequestContent(message: string): LambdaServiceError {
  return new LambdaServiceError(400, 'InvalidRequestContentException', message);
}

export function invalidParameter(message: string): LambdaServiceError {
  return new LambdaServiceError(400, 'InvalidParameterValueException', message);
}

// ---------------------------------------------------------------- function errors

/** The payload of a failed invocation, as Lambda's Node.js runtime shapes it. */
export interface FunctionErrorPayload {
  readonly errorType: string;
  readonly errorMessage: string;
  readonly trace?: readonly string[];
}

/**
 * A function that ran past its timeout. Current AWS format (nodejs20.x and
 * later): `{"errorType":"Sandbox.Timedout","errorMessage":"RequestId: <id>
 * Error: Task timed out after 3.00 seconds"}`, as seen in real Invoke
 * responses (seek-oss/aws-codedeploy-hooks CHANGELOG 2.1.3) and reproduced by
 * LocalStack's lambda-runtime-init. Older runtimes answered only
 * `{"errorMessage":"<time> <id> Task timed out after 3.00 seconds"}`.
 */
export function timedOut(requestId: string, timeoutSeconds: number): FunctionErrorPayload {
  return {
    errorType: 'Sandbox.Timedout',
    errorMessage: `RequestId: ${requestId} Error: Task timed out after ${timeoutSeconds.toFixed(2)} seconds`,
  };
}

/** The runtime process ended mid-invocation (`process.exit`, an uncaught exception). */
export function runtimeExited(requestId: string, exitCode: number): FunctionErrorPayload {
  return {
    errorType: 'Runtime.ExitError',
    errorMessage: `RequestId: ${requestId} Error: Runtime exited with error: exit status ${exitCode}`,
  };
}

/** The function went over its memory; Lambda kills the sandbox. */
export function outOfMemory(requestId: string): FunctionErrorPayload {
  return {
    errorType: 'Runtime.OutOfMemory',
    errorMessage: `RequestId: ${requestId} Error: Runtime exited with error: signal: killed`,
  };
}

/** The handler returned more than Lambda can carry back (a function error, not a 413). */
export function responseTooLarge(): FunctionErrorPayload {
  return {
    errorType: 'Function.ResponseSizeTooLarge',
    errorMessage: `Response payload size exceeded maximum allowed payload size (${RESPONSE_LIMIT_BYTES} bytes).`,
  };
}
