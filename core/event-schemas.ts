/**
 * The schemas of the events' details (their names are in `events.ts`), and of
 * the payloads around them, in zod/mini; check values with `validate` or
 * `parse` (`validate.ts`), which also configures zod's messages. Schemas are
 * immutable, so the field schemas are built once and shared.
 */
import * as z from 'zod/mini';
import { type AttemptError, JOB_NAME_PATTERN, type JobError, Reporter } from './events';

export const jobNameSchema = z
  .string()
  .check(
    z.regex(JOB_NAME_PATTERN, 'must be 1 to 128 characters of A-Z a-z 0-9 . _ - and not only dots'),
  );

const nonEmptyString = z.string().check(z.minLength(1));
const positiveInt = z.int().check(z.gte(1));
const nonNegativeInt = z.int().check(z.gte(0));
const isoTime = z.iso.datetime({ offset: true });
const optionalIsoTime = z.optional(isoTime);
const optionalPositiveInt = z.optional(positiveInt);
const optionalNonNegativeInt = z.optional(nonNegativeInt);
const optionalString = z.optional(z.string());
const optionalNumber = z.optional(z.number());
// A key of unknown value may be left out (zod requires it unless it is optional).
const optionalUnknown = z.optional(z.unknown());

export const jobErrorSchema = z.object({
  name: z.string(),
  message: z.string(),
}) satisfies z.ZodMiniType<JobError>;

/** One failed attempt of a run that was retried. */
export const attemptErrorSchema = z.object({
  attempt: positiveInt,
  error: jobErrorSchema,
  at: isoTime,
}) satisfies z.ZodMiniType<AttemptError>;

/** The fields that name a run: `owner` keys the job to the caller's IAM identity. */
const runFields = {
  owner: nonEmptyString,
  jobName: jobNameSchema,
  runId: nonEmptyString,
  type: nonEmptyString,
};

/** Fields every outcome event carries. */
const outcomeBase = {
  ...runFields,
  attempt: positiveInt,
  startedAt: isoTime,
  finishedAt: isoTime,
  durationMs: nonNegativeInt,
};

/**
 * Cancelled and Timed Out may come from the sweeper for a run whose worker
 * never started or vanished: then attempt, startedAt and durationMs may be absent.
 */
const stoppedBase = {
  ...outcomeBase,
  attempt: optionalPositiveInt,
  startedAt: optionalIsoTime,
  durationMs: optionalNonNegativeInt,
  reason: z.string(),
  reportedBy: z.optional(z.enum([Reporter.Worker, Reporter.Sweeper, Reporter.Api])),
};

/** `Job Queued`: accepted over a concurrency limit; `position` is its place in its owner's queue. */
export const jobQueuedDetailSchema = z.object({
  ...runFields,
  queuedAt: isoTime,
  position: optionalPositiveInt,
});

/** `Job Started`: a worker attempt has begun; `deadlineAt` is when the run times out. */
export const jobStartedDetailSchema = z.object({
  ...runFields,
  attempt: positiveInt,
  startedAt: isoTime,
  deadlineAt: optionalIsoTime,
});
/** `Job Progress`: the job's latest progress report (throttled per run). */
export const jobProgressDetailSchema = z.object({
  ...runFields,
  attempt: positiveInt,
  percent: z.number().check(z.gte(0), z.lte(100)),
  message: optionalString,
  at: isoTime,
});
export const jobCompletedDetailSchema = z.object({
  ...outcomeBase,
  result: optionalUnknown,
});
export const jobFailedDetailSchema = z.object({
  ...outcomeBase,
  // Absent when the completion function announces a run whose invocation never ran the job.
  attempt: optionalPositiveInt,
  startedAt: optionalIsoTime,
  durationMs: optionalNonNegativeInt,
  reportedBy: z.optional(z.enum([Reporter.Worker, Reporter.Completion])),
  error: jobErrorSchema,
  /** Every attempt's error, oldest first, when the run was retried. */
  attempts: z.optional(z.array(attemptErrorSchema)),
});
export const jobCancelledDetailSchema = z.object(stoppedBase);
export const jobTimedOutDetailSchema = z.object({
  ...stoppedBase,
  /** The run's deadline, when it had one. */
  deadlineAt: optionalIsoTime,
});

export type JobQueuedDetail = z.infer<typeof jobQueuedDetailSchema>;
export type JobStartedDetail = z.infer<typeof jobStartedDetailSchema>;
export type JobProgressDetail = z.infer<typeof jobProgressDetailSchema>;
export type JobCompletedDetail = z.infer<typeof jobCompletedDetailSchema>;
export type JobFailedDetail = z.infer<typeof jobFailedDetailSchema>;
export type JobCancelledDetail = z.infer<typeof jobCancelledDetailSchema>;
export type JobTimedOutDetail = z.infer<typeof jobTimedOutDetailSchema>;

/** The payload start-job sends to the worker with `InvocationType: Event`. */
export const workerPayloadSchema = z.object({
  ...runFields,
  input: optionalUnknown,
  submittedAt: isoTime,
  /**
   * Why an invocation after the first was made: a continuation, a sleep's
   * timer, a re-drive after the worker died, or a signal the run waited for.
   * Informational: the record decides.
   */
  resume: z.optional(z.enum(['continue', 'wake', 'redrive', 'signal'])),
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
  requestPayload: optionalUnknown,
  responseContext: z.optional(
    z.object({
      statusCode: optionalNumber,
      executedVersion: optionalString,
      functionError: optionalString,
    }),
  ),
  responsePayload: optionalUnknown,
});
export type LambdaFailureDetail = z.infer<typeof lambdaFailureDetailSchema>;

const startedByTriggerSchema = z.object({
  kind: z.literal('trigger'),
  id: nonEmptyString,
  eventId: nonEmptyString,
  source: optionalString,
  detailType: optionalString,
});
const startedByScheduleSchema = z.object({
  kind: z.literal('schedule'),
  id: nonEmptyString,
  scheduledTime: isoTime,
});

/** Which trigger, schedule or replay started a run (`core/triggers.ts` `StartedBy`). */
export const startedBySchema = z.union([
  startedByTriggerSchema,
  startedByScheduleSchema,
  z.object({ kind: z.literal('replay'), jobName: jobNameSchema, runId: nonEmptyString }),
]);

/** The largest result `Job Finished` carries, as JSON; a larger one is left out (`resultOmitted`). */
export const MAX_FINISHED_RESULT_BYTES = 32 * 1024;

/** `Job Finished`: the recorded outcome of a run (see `JOB_FINISHED_EVENT_TYPE`). */
export const jobFinishedDetailSchema = z.object({
  ...runFields,
  status: z.enum(['SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT']),
  createdAt: isoTime,
  startedAt: optionalIsoTime,
  finishedAt: isoTime,
  durationMs: optionalNonNegativeInt,
  attempt: optionalPositiveInt,
  invocations: optionalPositiveInt,
  /** The result of a SUCCEEDED run, when its JSON is at most `MAX_FINISHED_RESULT_BYTES`. */
  result: optionalUnknown,
  /** True when the result was too large to carry: `GET /jobs/{name}` has it. */
  resultOmitted: z.optional(z.boolean()),
  error: z.optional(jobErrorSchema),
  /** The trigger, schedule or replay that started the run, when one did. */
  startedBy: z.optional(startedBySchema),
});
export type JobFinishedDetail = z.infer<typeof jobFinishedDetailSchema>;

/** `Job Rejected`: an event or a schedule's firing that started no job (see `JOB_REJECTED_EVENT_TYPE`). */
export const jobRejectedDetailSchema = z.object({
  /** The trigger or schedule, and the event id or the scheduled time (a replay is refused by its API call instead). */
  startedBy: z.union([startedByTriggerSchema, startedByScheduleSchema]),
  reason: z.object({
    /** `UnknownJobType`, `InvalidInput`, `InvalidJobName`, `InvalidOwner`, `MissingValue`, `JobNameInUse`, `OverlapSkipped`... */
    code: nonEmptyString,
    message: z.string(),
    details: z.optional(z.array(z.object({ path: optionalString, message: z.string() }))),
  }),
  /** What could be read from the event before it was refused. */
  owner: optionalString,
  type: optionalString,
  jobName: optionalString,
  /** The running job an overlap skip left alone. */
  runningRunId: optionalString,
  /** The event as the trigger received it (absent for schedules, and when too large to carry). */
  event: optionalUnknown,
  /** True when `event` was left out because the rejection would not fit in one event. */
  eventOmitted: z.optional(z.boolean()),
  /** False for an overlap skip: nothing went wrong, so nothing goes to the dead-letter queue. */
  deadLettered: z.boolean(),
  rejectedAt: isoTime,
});
export type JobRejectedDetail = z.infer<typeof jobRejectedDetailSchema>;
