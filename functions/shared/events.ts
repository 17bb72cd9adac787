/**
 * The one place that names eventjobs' events. The functions that emit and
 * consume them and the EventBridge rules in `infra/` all import from here, so a
 * rule's pattern cannot drift away from the code that puts the event.
 */
import { z } from 'zod';

/** `source` of every event eventjobs puts on its bus. Custom sources must not start with `aws.`. */
export const EVENT_SOURCE = 'eventjobs';

/**
 * Every event of a run's lifecycle. `Job Started` and `Job Progress` are
 * informational (anyone may add a rule for them); the four terminal ones are
 * routed to the completion function, and the first of them to arrive for a run
 * decides its outcome.
 *
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
  Started: 'Job Started',
  Progress: 'Job Progress',
  Completed: 'Job Completed',
  Failed: 'Job Failed',
  Cancelled: 'Job Cancelled',
  TimedOut: 'Job Timed Out',
} as const;
export type JobEventType = (typeof JobEventType)[keyof typeof JobEventType];

/** The terminal detail-types: the ones the completion function consumes. */
export type JobOutcomeEventType = Exclude<JobEventType, 'Job Started' | 'Job Progress'>;
export const JOB_OUTCOME_EVENT_TYPES: readonly JobOutcomeEventType[] = [
  JobEventType.Completed,
  JobEventType.Failed,
  JobEventType.Cancelled,
  JobEventType.TimedOut,
];

/**
 * Who put a terminal event: the worker running the job, the sweeper ending an
 * abandoned one, or the completion function announcing a run that Lambda's
 * failure destination ended (a worker that crashed or timed out reports nothing).
 */
export const Reporter = { Worker: 'worker', Sweeper: 'sweeper', Completion: 'completion' } as const;
export type Reporter = (typeof Reporter)[keyof typeof Reporter];

/** What Lambda puts on an EventBridge destination (AWS-FACTS: `lambda`, not `aws.lambda`). */
export const LAMBDA_DESTINATION_SOURCE = 'lambda';
export const LambdaDestinationType = {
  Success: 'Lambda Function Invocation Result - Success',
  Failure: 'Lambda Function Invocation Result - Failure',
} as const;

/** Job names: 1 to 128 of `[A-Za-z0-9._-]`, and not only dots (`.` and `..` are path tricks). */
export const JOB_NAME_PATTERN = /^(?!\.+$)[A-Za-z0-9._-]{1,128}$/;
export const jobNameSchema = z
  .string()
  .regex(JOB_NAME_PATTERN, 'must be 1 to 128 characters of A-Z a-z 0-9 . _ - and not only dots');

export const jobErrorSchema = z.object({
  name: z.string(),
  message: z.string(),
});
export type JobError = z.infer<typeof jobErrorSchema>;

/** One failed attempt of a run that was retried. */
export const attemptErrorSchema = z.object({
  attempt: z.number().int().positive(),
  error: jobErrorSchema,
  at: z.iso.datetime({ offset: true }),
});
export type AttemptError = z.infer<typeof attemptErrorSchema>;

const isoTime = z.iso.datetime({ offset: true });

/** Fields every outcome event carries; `owner` keys the job to the caller's IAM identity. */
const outcomeBase = {
  owner: z.string().min(1),
  jobName: jobNameSchema,
  runId: z.string().min(1),
  type: z.string().min(1),
  attempt: z.number().int().positive(),
  startedAt: isoTime,
  finishedAt: isoTime,
  durationMs: z.number().int().nonnegative(),
};

/**
 * Cancelled and Timed Out may come from the sweeper for a run whose worker
 * never started or vanished: then attempt, startedAt and durationMs may be absent.
 */
const stoppedBase = {
  ...outcomeBase,
  attempt: outcomeBase.attempt.optional(),
  startedAt: isoTime.optional(),
  durationMs: outcomeBase.durationMs.optional(),
  reason: z.string(),
  reportedBy: z.enum([Reporter.Worker, Reporter.Sweeper]).optional(),
};

/** `Job Started`: a worker attempt has begun; `deadlineAt` is when the run times out. */
export const jobStartedDetailSchema = z.object({
  owner: z.string().min(1),
  jobName: jobNameSchema,
  runId: z.string().min(1),
  type: z.string().min(1),
  attempt: z.number().int().positive(),
  startedAt: isoTime,
  deadlineAt: isoTime.optional(),
});
/** `Job Progress`: the job's latest progress report (throttled per run). */
export const jobProgressDetailSchema = z.object({
  owner: z.string().min(1),
  jobName: jobNameSchema,
  runId: z.string().min(1),
  type: z.string().min(1),
  attempt: z.number().int().positive(),
  percent: z.number().min(0).max(100),
  message: z.string().optional(),
  at: isoTime,
});
export const jobCompletedDetailSchema = z.object({
  ...outcomeBase,
  result: z.unknown().optional(),
});
export const jobFailedDetailSchema = z.object({
  ...outcomeBase,
  // Absent when the completion function announces a run whose invocation never ran the job.
  attempt: outcomeBase.attempt.optional(),
  startedAt: isoTime.optional(),
  durationMs: outcomeBase.durationMs.optional(),
  reportedBy: z.enum([Reporter.Worker, Reporter.Completion]).optional(),
  error: jobErrorSchema,
  /** Every attempt's error, oldest first, when the run was retried. */
  attempts: z.array(attemptErrorSchema).optional(),
});
export const jobCancelledDetailSchema = z.object(stoppedBase);
export const jobTimedOutDetailSchema = z.object({
  ...stoppedBase,
  /** The run's deadline, when it had one. */
  deadlineAt: isoTime.optional(),
});

export type JobStartedDetail = z.infer<typeof jobStartedDetailSchema>;
export type JobProgressDetail = z.infer<typeof jobProgressDetailSchema>;
export type JobCompletedDetail = z.infer<typeof jobCompletedDetailSchema>;
export type JobFailedDetail = z.infer<typeof jobFailedDetailSchema>;
export type JobCancelledDetail = z.infer<typeof jobCancelledDetailSchema>;
export type JobTimedOutDetail = z.infer<typeof jobTimedOutDetailSchema>;

/** The payload start-job sends to the worker with `InvocationType: Event`. */
export const workerPayloadSchema = z.object({
  owner: z.string().min(1),
  jobName: jobNameSchema,
  runId: z.string().min(1),
  type: z.string().min(1),
  input: z.unknown(),
  submittedAt: isoTime,
});
export type WorkerPayload = z.infer<typeof workerPayloadSchema>;

/** The record Lambda sends to the worker's OnFailure destination (AWS-FACTS, Lambda). */
export const lambdaFailureDetailSchema = z.object({
  version: z.string(),
  timestamp: z.string(),
  requestContext: z.object({
    requestId: z.string(),
    functionArn: z.string(),
    condition: z.string(),
    approximateInvokeCount: z.number(),
  }),
  requestPayload: z.unknown(),
  responseContext: z
    .object({
      statusCode: z.number().optional(),
      executedVersion: z.string().optional(),
      functionError: z.string().optional(),
    })
    .optional(),
  responsePayload: z.unknown().optional(),
});
export type LambdaFailureDetail = z.infer<typeof lambdaFailureDetailSchema>;

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
