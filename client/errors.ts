/**
 * What the client throws. Each class is named for what failed, sets `name`
 * to a literal (so a minified bundle still reports it), keeps the `cause` it
 * was given, and may carry a `hint`: what to try next, in one sentence.
 *
 * A caller that aborts a call through its own `signal` gets the platform's
 * `AbortError` back, not one of these: nothing failed, the caller stopped it.
 */
import type { JobError, JobView, TerminalStatus } from './types';

export interface EventJobsErrorOptions extends ErrorOptions {
  /** What to try next. */
  readonly hint?: string;
}

/** The base of every error the client throws on purpose. */
export class EventJobsError extends Error {
  override readonly name: string = 'EventJobsError';
  readonly hint?: string;

  constructor(message: string, options?: EventJobsErrorOptions) {
    super(message, options);
    this.hint = options?.hint;
  }
}

/** The option (or environment variable) that `ClientOptionError` is about. */
export type ClientOption = 'url' | 'region' | 'streamUrl' | 'localCloud' | 'maxAttempts';

/**
 * An option is malformed, or one a call needs is missing (a region for a
 * custom domain, `streamUrl` to watch a deployed stack). Nothing was sent.
 */
export class ClientOptionError extends EventJobsError {
  override readonly name: string = 'ClientOptionError';
  readonly option: ClientOption;

  constructor(option: ClientOption, message: string, options?: EventJobsErrorOptions) {
    super(message, options);
    this.option = option;
  }
}

/**
 * The target could not be reached at all: the local cloud is not running,
 * the connection was refused or timed out, there are no AWS credentials, this
 * Node.js has no WebSocket, or the event stream failed.
 */
export class UnreachableError extends EventJobsError {
  override readonly name: string = 'UnreachableError';
}

/** `watch` reconnected as often as it may, and the stream still ended before the job did. */
export class EventStreamEndedError extends UnreachableError {
  override readonly name: string = 'EventStreamEndedError';
  readonly jobName: string;

  constructor(jobName: string, options?: EventJobsErrorOptions) {
    super(`the event stream of ${jobName} ended before the job did`, options);
    this.jobName = jobName;
  }
}

/**
 * `startBatch` was given more than a batch may carry in bytes (the API's
 * limit, `MAX_BATCH_BODY_BYTES`); nothing was sent. Split it into smaller batches.
 */
export class BatchTooLargeError extends EventJobsError {
  override readonly name: string = 'BatchTooLargeError';
  readonly bytes: number;
  readonly limitBytes: number;

  constructor(bytes: number, limitBytes: number, options?: EventJobsErrorOptions) {
    super(`the batch is ${bytes} bytes of JSON; a batch may be at most ${limitBytes}`, {
      hint: 'send fewer entries per batch',
      ...options,
    });
    this.bytes = bytes;
    this.limitBytes = limitBytes;
  }
}

/** One `{ path, message }` of a 400's `error.details`. */
export interface ApiErrorDetail {
  readonly path?: string;
  readonly message: string;
}

export interface ApiErrorOptions extends EventJobsErrorOptions {
  readonly details?: readonly ApiErrorDetail[];
  /** The whole JSON body, when there was one. */
  readonly body?: unknown;
  /** How many answers the call had, retries included. @default 1 */
  readonly attempts?: number;
}

/**
 * The API answered with an error status (or the event stream reported an
 * error); `code` and `message` come from its JSON body
 * `{ "error": { "code", "message", "details" } }`, or API Gateway's own
 * `{ "message" }`.
 */
export class ApiError extends EventJobsError {
  override readonly name: string = 'ApiError';
  /** The HTTP status; 0 for an error the WebSocket stream reported, which has none. */
  readonly status: number;
  readonly code: string;
  readonly details: readonly ApiErrorDetail[];
  /** The whole JSON body: a 409 `JobNameInUse` carries the running `job`, a `JobFinished` the finished one. */
  readonly body: unknown;
  /** How many answers the call had: more than 1 when throttling was retried and the last answer was still an error. */
  readonly attempts: number;

  constructor(status: number, code: string, message: string, options: ApiErrorOptions = {}) {
    super(message, options);
    this.status = status;
    this.code = code;
    this.details = options.details ?? [];
    this.body = options.body;
    this.attempts = options.attempts ?? 1;
  }
}

/** No job by that name is running or retained (a 404, or the stream's `JobNotFound`). */
export class JobNotFoundError extends ApiError {
  override readonly name: string = 'JobNotFoundError';
}

/** The event stream sent something that is not a lifecycle event. */
export class UnreadableEventError extends EventJobsError {
  override readonly name: string = 'UnreadableEventError';
}

/** `result()` of a job that has none: see `JobStillRunningError` and `JobNotSucceededError`. */
export class NoResultError extends EventJobsError {
  override readonly name: string = 'NoResultError';
  /** The job as `get` answered it. */
  readonly job: JobView;

  constructor(job: JobView, message: string, options?: EventJobsErrorOptions) {
    super(message, options);
    this.job = job;
  }

  get status(): JobView['status'] {
    return this.job.status;
  }
}

/** `result()` of a job that is still RUNNING. */
export class JobStillRunningError extends NoResultError {
  override readonly name: string = 'JobStillRunningError';

  constructor(job: JobView) {
    const percent = job.progress ? ` (${Math.round(job.progress.percent)}%)` : '';
    const state = job.status === 'QUEUED' ? 'QUEUED' : 'RUNNING';
    super(job, `job ${job.jobName} is still ${state}${percent}; it has no result yet`);
  }

  override get status(): 'RUNNING' | 'QUEUED' {
    return this.job.status === 'QUEUED' ? 'QUEUED' : 'RUNNING';
  }
}

/** `result()` of a job that ended FAILED, CANCELLED or TIMED_OUT. */
export class JobNotSucceededError extends NoResultError {
  override readonly name: string = 'JobNotSucceededError';

  constructor(job: JobView & { readonly status: Exclude<TerminalStatus, 'SUCCEEDED'> }) {
    const why = job.error ? `: ${job.error.name}: ${job.error.message}` : '';
    super(job, `job ${job.jobName} ended ${job.status}${why}; it has no result`);
  }

  override get status(): Exclude<TerminalStatus, 'SUCCEEDED'> {
    return this.job.status as Exclude<TerminalStatus, 'SUCCEEDED'>;
  }

  /** What the job threw (FAILED), when the API reported it. */
  get jobError(): JobError | undefined {
    return this.job.error;
  }
}
