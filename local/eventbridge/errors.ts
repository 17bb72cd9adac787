import { AwsJsonError } from '../aws-json';

/**
 * Errors the local EventBridge refuses a whole request with. Each carries the
 * `__type` and HTTP status AWS answers with, so the wire layer can put it on
 * the wire unchanged and in-process callers (Lambda destinations) can read the
 * same code.
 */
export class EventBridgeError extends AwsJsonError {
  constructor(code: string, message: string, status = 400, options?: ErrorOptions) {
    super(code, message, status, options);
    this.name = code;
  }
}

/** `ValidationException`, 400: what AWS answers for a request that breaks a documented constraint. */
export class ValidationError extends EventBridgeError {
  constructor(message: string, options?: ErrorOptions) {
    super('ValidationException', message, 400, options);
  }
}

/** The text AWS gives, verbatim, for any schedule expression it cannot parse. */
export const INVALID_SCHEDULE_EXPRESSION = 'Parameter ScheduleExpression is not valid.';

/** `ValidationException: Parameter ScheduleExpression is not valid.`; `reason` says why, for logs. */
export class ScheduleExpressionError extends ValidationError {
  readonly reason: string;

  constructor(reason: string) {
    super(INVALID_SCHEDULE_EXPRESSION);
    this.reason = reason;
  }
}
