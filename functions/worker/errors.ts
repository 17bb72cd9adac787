import { AppError } from '../../core/errors';
import type { JobError } from '../../core/job-type';
import { truncate } from '../shared/text';

/**
 * EventBridge refused the outcome event. The worker throws it so Lambda
 * retries the invocation and, when retries run out, the OnFailure
 * destination records the failure: the outcome is never silently lost.
 */
export class EventDeliveryError extends AppError {}

/** A thrown value as the event's `error`: name and message only, never the stack. */
export function toJobError(error: unknown): JobError {
  if (error instanceof Error) {
    return { name: truncate(error.name || 'Error', 256), message: truncate(error.message) };
  }
  return { name: 'Error', message: truncate(messageOf(error)) };
}

export function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === 'string') return error;
  try {
    return JSON.stringify(error) ?? String(error);
  } catch {
    return String(error);
  }
}
