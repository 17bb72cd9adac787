/**
 * The shapes the jobs API takes and answers. Jobs and events are the service's
 * own types (`functions/shared/model.ts`, `functions/shared/events.ts`),
 * re-exported so that callers import everything from the client; the request
 * and answer shapes of each route are declared here.
 */
import type { JobStatus, JobSummary } from '../core/model';

export type {
  AttemptError,
  JobCancelledDetail,
  JobCompletedDetail,
  JobError,
  JobFailedDetail,
  JobOutcomeEventType,
  JobProgressDetail,
  JobStartedDetail,
  JobTimedOutDetail,
} from '../core/events';
export { JobEventType } from '../core/events';
export type {
  JobProgress,
  JobSummary,
  JobView,
  TerminalStatus,
  WebhookDelivery,
} from '../core/model';
export { JobStatus } from '../core/model';

/** The body of `POST /jobs`. */
export interface StartJobRequest<Input = unknown> {
  /** A registered job type (`sleep`, `echo`, ...). */
  readonly type: string;
  /** The job's input; the type's schema checks it. @default {} */
  readonly input?: Input;
  /**
   * The job's name, 1 to 128 of `[A-Za-z0-9._-]`.
   * @default - a ULID the client generates, as the API would, so a retried start keeps it
   */
  readonly name?: string;
  /** The run's deadline in whole seconds, at most the worker's timeout. @default - the type's own */
  readonly timeoutSeconds?: number;
  /** Where the outcome is POSTed when the run ends (a webhook, signed with the stack's secret). */
  readonly callback?: { readonly url: string };
}

/** The answer of `POST /jobs` (and of `POST /jobs/{name}/replay`, which starts the same way). */
export interface StartedJob {
  readonly jobName: string;
  readonly runId: string;
  /** QUEUED when a concurrency limit was reached: it starts when a slot is freed. */
  readonly status: 'RUNNING' | 'QUEUED';
  /** A queued job's place among its owner's waiting jobs (1 is next). */
  readonly queue?: { readonly position: number };
  /** Where `GET /jobs/{name}` answers for it. */
  readonly statusUrl?: string;
  /**
   * False when the API answered 200: a job of that name was already running
   * with the same type and input, and the request repeated its start.
   */
  readonly created: boolean;
}

/** The body of `POST /jobs/{name}/replay`. */
export interface ReplayJobRequest {
  /**
   * The new run's name, 1 to 128 of `[A-Za-z0-9._-]`; it may be the job's own.
   * @default - a ULID the client generates, as the API would, so a retried replay keeps it
   */
  readonly name?: string;
}

/** One entry of `startBatch`: a start request, and its id in the batch. */
export interface BatchStartEntry<Input = unknown> extends StartJobRequest<Input> {
  /**
   * The entry's id in this batch: 1 to 80 of `[A-Za-z0-9_-]`, distinct within the batch.
   * @default - its index in the batch (`"0"`, `"1"`, ...)
   */
  readonly id?: string;
}

/** An entry of `POST /jobs/batch` that started (or was already running, `created: false`). */
export interface BatchStarted extends StartedJob {
  readonly id: string;
}

/** An entry of `POST /jobs/batch` that did not start; the others did regardless. */
export interface BatchFailed {
  readonly id: string;
  /** The code a `POST /jobs` of this entry alone would have answered (`InvalidInput`, `QueueFull`, ...). */
  readonly code: string;
  readonly message: string;
  /**
   * True when the entry itself is wrong (bad input, unknown type, name in use):
   * sending it again fails again. False for `QueueFull`, `Throttled`,
   * `ServiceUnavailable`, `NotAttempted` and internal errors: the same entry may start later.
   */
  readonly senderFault: boolean;
  readonly details?: readonly { readonly path?: string; readonly message: string }[];
  /** How long to wait before sending the entry again, when the API said. */
  readonly retryAfterSeconds?: number;
}

/** The answer of `POST /jobs/batch` (200): each entry's result, each list in the batch's order. */
export interface BatchStartResult {
  readonly successful: readonly BatchStarted[];
  readonly failed: readonly BatchFailed[];
}

/** `GET /jobs` query parameters. */
export interface ListJobsQuery {
  /** Only jobs with this status. */
  readonly status?: JobStatus;
  /** Jobs per page, 1 to 100. @default 20 */
  readonly limit?: number;
  /** A previous page's `nextCursor`. */
  readonly cursor?: string;
}

/** One page of `GET /jobs`, newest first. */
export interface JobPage {
  readonly jobs: JobSummary[];
  /** Present when there are more jobs: pass it as `cursor` for the next page. */
  readonly nextCursor?: string;
}

/** The answer of `DELETE /jobs/{name}`: the request is recorded; the job ends CANCELLED shortly. */
export interface CancelRequested {
  readonly jobName: string;
  readonly runId: string;
  readonly status: 'RUNNING';
  /** When cancelling was first requested; repeating the request keeps the first time. */
  readonly cancelRequestedAt: string;
}

/**
 * The answer of `POST /jobs/{name}/signals/{signal}` (202): the signal is
 * stored for the run, and a run waiting for it is resumed.
 */
export interface SignalSent {
  readonly jobName: string;
  /** The run the signal was stored for. */
  readonly runId: string;
  readonly signal: string;
  /** When the signal was first received; a repeat keeps the first time. */
  readonly receivedAt: string;
  /** True when the same signal, with the same payload, had been received already. */
  readonly duplicate?: true;
}

/** Options every call takes. */
export interface CallOptions {
  /** Aborts the call; it then rejects with the signal's reason (an `AbortError`). */
  readonly signal?: AbortSignal;
}
