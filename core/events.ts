/**
 * The one place that names eventjobs' events. The functions that emit and
 * consume them and the EventBridge rules in `infra/` all import from here, so a
 * rule's pattern cannot drift away from the code that puts the event.
 */
/** `source` of every event eventjobs puts on its bus. Custom sources must not start with `aws.`. */
export const EVENT_SOURCE = 'eventjobs';

/**
 * Every event of a run's lifecycle. `Job Started` and `Job Progress` are
 * informational (anyone may add a rule for them); the four terminal ones are
 * routed to the completion function, and the first of them to arrive for a run
 * decides its outcome.
 *
 * - `Job Queued` (jobQueuedDetailSchema): the start was accepted over a
 *   concurrency limit; the run waits for a slot (`core/limits.ts`).
 * - `Job Started` (jobStartedDetailSchema): a worker attempt began the run.
 * - `Job Progress` (jobProgressDetailSchema): at most one per run every few
 *   seconds (the worker throttles it); the table always has the latest.
 * - `Job Completed` (jobCompletedDetailSchema): the job returned `result`.
 * - `Job Failed` (jobFailedDetailSchema): the job threw `error`, after all its
 *   attempts (`attempts` lists each one's error when there was more than one).
 * - `Job Cancelled` (jobCancelledDetailSchema): a cancel request stopped it;
 *   put by the worker, or by the sweeper when the worker was gone.
 * - `Job Timed Out` (jobTimedOutDetailSchema): it ran past its deadline or fell
 *   silent; put by the worker, or by the sweeper when the worker was gone.
 */
export const JobEventType = {
  Queued: 'Job Queued',
  Started: 'Job Started',
  Progress: 'Job Progress',
  Completed: 'Job Completed',
  Failed: 'Job Failed',
  Cancelled: 'Job Cancelled',
  TimedOut: 'Job Timed Out',
} as const;
export type JobEventType = (typeof JobEventType)[keyof typeof JobEventType];

/** The terminal detail-types: the ones the completion function consumes. */
export type JobOutcomeEventType = Exclude<
  JobEventType,
  'Job Queued' | 'Job Started' | 'Job Progress'
>;
export const JOB_OUTCOME_EVENT_TYPES: readonly JobOutcomeEventType[] = [
  JobEventType.Completed,
  JobEventType.Failed,
  JobEventType.Cancelled,
  JobEventType.TimedOut,
];

/**
 * `Job Finished` (jobFinishedDetailSchema): the outcome the completion function
 * recorded, put once it is in the table; exactly one outcome per run, however
 * many terminal events raced for it. It is the event for users' own targets
 * (`AsyncJobs.onOutcome`); it is not one of the lifecycle events a stream
 * follows. Delivery is at least once: a target sees the same run id twice at most
 * when a put is retried, never two outcomes of one run.
 */
export const JOB_FINISHED_EVENT_TYPE = 'Job Finished';

/**
 * `Job Rejected` (jobRejectedDetailSchema): a trigger's event or a schedule's
 * firing that started no job, with the reason (an unknown type, an input the
 * type's schema refuses, a bad name or owner, a name in use, or a schedule's
 * overlap policy). Put by the starter function; the construct routes it to its
 * start dead-letter queue (all but overlap skips), so nothing is retried forever
 * and nothing is lost silently.
 */
export const JOB_REJECTED_EVENT_TYPE = 'Job Rejected';

/**
 * Who put a terminal event: the worker running the job, the sweeper ending an
 * abandoned one, the completion function announcing a run that Lambda's
 * failure destination ended (a worker that crashed or timed out reports nothing),
 * or the cancel API ending a queued run.
 */
export const Reporter = {
  Worker: 'worker',
  Sweeper: 'sweeper',
  Completion: 'completion',
  /** The cancel API, ending a run that was still queued: no worker ever had it. */
  Api: 'api',
} as const;
export type Reporter = (typeof Reporter)[keyof typeof Reporter];

/** What Lambda puts on an EventBridge destination (AWS-FACTS: `lambda`, not `aws.lambda`). */
export const LAMBDA_DESTINATION_SOURCE = 'lambda';
export const LambdaDestinationType = {
  Success: 'Lambda Function Invocation Result - Success',
  Failure: 'Lambda Function Invocation Result - Failure',
} as const;

/** Job names: 1 to 128 of `[A-Za-z0-9._-]`, and not only dots (`.` and `..` are path tricks). */
export const JOB_NAME_PATTERN = /^(?!\.+$)[A-Za-z0-9._-]{1,128}$/;

/** Whether a value is a valid job name (`jobNameSchema` in `event-schemas.ts` is the schema form). */
export function isJobName(value: unknown): value is string {
  return typeof value === 'string' && JOB_NAME_PATTERN.test(value);
}

import type { JobError } from './job-type';

export type { JobError };

/** One failed attempt of a run that was retried. */
export interface AttemptError {
  /** 1 for the first attempt. */
  attempt: number;
  error: JobError;
  /** When it failed (ISO 8601). */
  at: string;
}

// The schemas of the events' details are in `event-schemas.ts`; this module holds the
// names and shapes only, so `infra/` and the CLI import no validation code.
export type {
  JobCancelledDetail,
  JobCompletedDetail,
  JobFailedDetail,
  JobProgressDetail,
  JobQueuedDetail,
  JobStartedDetail,
  JobTimedOutDetail,
  LambdaFailureDetail,
  WorkerPayload,
} from './event-schemas';

export interface PutEventsEntryLike {
  readonly Source?: string;
  readonly DetailType?: string;
  readonly Detail?: string;
  readonly Resources?: readonly string[];
}

/**
 * The size EventBridge charges a PutEvents entry against its limit:
 * 14 bytes for Time, plus Source, DetailType, Detail and Resources in UTF-8.
 */
export function putEventsEntrySize(entry: PutEventsEntryLike): number {
  let size = 14;
  size += Buffer.byteLength(entry.Source ?? '', 'utf8');
  size += Buffer.byteLength(entry.DetailType ?? '', 'utf8');
  size += Buffer.byteLength(entry.Detail ?? '', 'utf8');
  for (const resource of entry.Resources ?? []) size += Buffer.byteLength(resource, 'utf8');
  return size;
}
