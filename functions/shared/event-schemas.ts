/**
 * The schemas of the events' details (their names are in `events.ts`), and of
 * the payloads around them. Schemas are immutable, so the field schemas are
 * built once and shared.
 */
import { type AttemptError, JOB_NAME_PATTERN, type JobError, Reporter } from './events';
import * as s from './schema';

export const jobNameSchema = s.string({
  pattern: JOB_NAME_PATTERN,
  patternMessage: 'must be 1 to 128 characters of A-Z a-z 0-9 . _ - and not only dots',
});

const nonEmptyString = s.string({ min: 1 });
const positiveInt = s.integer({ min: 1 });
const nonNegativeInt = s.integer({ min: 0 });
const isoTime = s.isoDateTime();
const optionalIsoTime = s.optional(isoTime);
const optionalPositiveInt = s.optional(positiveInt);
const optionalNonNegativeInt = s.optional(nonNegativeInt);
const optionalString = s.optional(s.string());
const optionalNumber = s.optional(s.number());
const optionalUnknown = s.optional(s.unknown());

export const jobErrorSchema = s.object({
  name: s.string(),
  message: s.string(),
}) satisfies s.Schema<JobError>;

/** One failed attempt of a run that was retried. */
export const attemptErrorSchema = s.object({
  attempt: positiveInt,
  error: jobErrorSchema,
  at: isoTime,
}) satisfies s.Schema<AttemptError>;

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
  reason: s.string(),
  reportedBy: s.optional(s.oneOf([Reporter.Worker, Reporter.Sweeper])),
};

/** `Job Started`: a worker attempt has begun; `deadlineAt` is when the run times out. */
export const jobStartedDetailSchema = s.object({
  ...runFields,
  attempt: positiveInt,
  startedAt: isoTime,
  deadlineAt: optionalIsoTime,
});
/** `Job Progress`: the job's latest progress report (throttled per run). */
export const jobProgressDetailSchema = s.object({
  ...runFields,
  attempt: positiveInt,
  percent: s.number({ min: 0, max: 100 }),
  message: optionalString,
  at: isoTime,
});
export const jobCompletedDetailSchema = s.object({
  ...outcomeBase,
  result: optionalUnknown,
});
export const jobFailedDetailSchema = s.object({
  ...outcomeBase,
  // Absent when the completion function announces a run whose invocation never ran the job.
  attempt: optionalPositiveInt,
  startedAt: optionalIsoTime,
  durationMs: optionalNonNegativeInt,
  reportedBy: s.optional(s.oneOf([Reporter.Worker, Reporter.Completion])),
  error: jobErrorSchema,
  /** Every attempt's error, oldest first, when the run was retried. */
  attempts: s.optional(s.array(attemptErrorSchema)),
});
export const jobCancelledDetailSchema = s.object(stoppedBase);
export const jobTimedOutDetailSchema = s.object({
  ...stoppedBase,
  /** The run's deadline, when it had one. */
  deadlineAt: optionalIsoTime,
});

export type JobStartedDetail = s.Infer<typeof jobStartedDetailSchema>;
export type JobProgressDetail = s.Infer<typeof jobProgressDetailSchema>;
export type JobCompletedDetail = s.Infer<typeof jobCompletedDetailSchema>;
export type JobFailedDetail = s.Infer<typeof jobFailedDetailSchema>;
export type JobCancelledDetail = s.Infer<typeof jobCancelledDetailSchema>;
export type JobTimedOutDetail = s.Infer<typeof jobTimedOutDetailSchema>;

/** The payload start-job sends to the worker with `InvocationType: Event`. */
export const workerPayloadSchema = s.object({
  ...runFields,
  input: s.unknown(),
  submittedAt: isoTime,
});
export type WorkerPayload = s.Infer<typeof workerPayloadSchema>;

/** The record Lambda sends to the worker's OnFailure destination (AWS-FACTS, Lambda). */
export const lambdaFailureDetailSchema = s.object({
  version: s.string(),
  timestamp: s.string(),
  requestContext: s.object({
    requestId: s.string(),
    functionArn: s.string(),
    condition: s.string(),
    approximateInvokeCount: s.number(),
  }),
  requestPayload: s.unknown(),
  responseContext: s.optional(
    s.object({
      statusCode: optionalNumber,
      executedVersion: optionalString,
      functionError: optionalString,
    }),
  ),
  responsePayload: optionalUnknown,
});
export type LambdaFailureDetail = s.Infer<typeof lambdaFailureDetailSchema>;
