import { AwsJsonError } from '../aws-json';

/**
 * An error the local EventBridge Scheduler answers a request with: the code
 * goes out as `x-amzn-errortype` and the message as `{"Message": ...}`, the
 * restJson1 form the SDK reads.
 */
export class SchedulerError extends AwsJsonError {
  constructor(code: string, message: string, status: number, options?: ErrorOptions) {
    super(code, message, status, options);
    this.name = code;
  }
}

/** `ValidationException`, 400: the request breaks a documented constraint. */
export class SchedulerValidationError extends SchedulerError {
  constructor(message: string, options?: ErrorOptions) {
    super('ValidationException', message, 400, options);
  }
}

/** `ConflictException`, 409: a schedule of that name already exists in the group. */
export class SchedulerConflictError extends SchedulerError {
  constructor(message: string) {
    super('ConflictException', message, 409);
  }
}

/** `ResourceNotFoundException`, 404: no such schedule, or no such schedule group. */
export class SchedulerNotFoundError extends SchedulerError {
  constructor(message: string) {
    super('ResourceNotFoundException', message, 404);
  }
}

/**
 * The text of a constraint violation, as AWS's Smithy validation words it:
 * `1 validation error detected: Value 'x' at 'name' failed to satisfy constraint: ...`.
 */
export function constraintMessage(value: unknown, member: string, constraint: string): string {
  const shown = typeof value === 'string' ? value : JSON.stringify(value);
  return `1 validation error detected: Value '${shown}' at '${member}' failed to satisfy constraint: ${constraint}`;
}
