/**
 * The reasons a running job is told to stop. The worker aborts the job's
 * `signal` with one of these, and `ctx.progress` throws it, so a job that
 * simply lets the error propagate ends the right way.
 */
import { AppError } from './errors';

/** A cancel was requested (`DELETE /jobs/{name}`); the run ends CANCELLED. */
export class JobCancelledError extends AppError {}

/**
 * The run reached its deadline, or the worker Lambda is about to reach its
 * timeout; the run ends TIMED_OUT instead of being killed and retried from scratch.
 */
export class JobTimeoutError extends AppError {}

/**
 * The run's active record is gone or belongs to another run (it was already
 * finished): nobody is waiting for this attempt's outcome any more.
 */
export class RunNotActiveError extends AppError {}

/** True for a cancellation, also one raised by another copy of this module. */
export function isJobCancelledError(error: unknown): boolean {
  return (
    error instanceof JobCancelledError ||
    (error instanceof Error && error.name === JobCancelledError.name)
  );
}

/**
 * The run stops this invocation without ending: a durable sleep (`wakeAt`
 * names when a timer resumes it) or a continuation (no `wakeAt`: a fresh
 * invocation resumes it at once from its checkpoints). Job code must let it
 * propagate; the worker aborts the job's signal with it as well.
 */
export class RunSuspendedError extends AppError {
  readonly wakeAt?: string;
  readonly sleepName?: string;
  /** A wait for this signal (`wakeAt`, if any, is its timeout). */
  readonly signalName?: string;

  constructor(
    message: string,
    options?: { wakeAt?: string; sleepName?: string; signalName?: string },
  ) {
    super(message);
    this.wakeAt = options?.wakeAt;
    this.sleepName = options?.sleepName;
    this.signalName = options?.signalName;
  }
}
