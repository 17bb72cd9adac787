/**
 * The one place that names eventjobs' events. The functions that emit and
 * consume them and the EventBridge rules in `infra/` all import from here, so a
 * rule's pattern cannot drift away from the code that puts the event.
 */
import { z } from 'zod';

/** `source` of every event eventjobs puts on its bus. Custom sources must not start with `aws.`. */
export const EVENT_SOURCE = 'eventjobs';

export const JobEventType = {
  Completed: 'Job Completed',
  Failed: 'Job Failed',
  Cancelled: 'Job Cancelled',
} as const;
export type JobEventType = (typeof JobEventType)[keyof typeof JobEventType];

/** The detail-types the completion function consumes from the worker. */
export const JOB_OUTCOME_EVENT_TYPES: readonly JobEventType[] = [
  JobEventType.Completed,
  JobEventType.Failed,
  JobEventType.Cancelled,
];

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

export const jobCompletedDetailSchema = z.object({
  ...outcomeBase,
  result: z.unknown().optional(),
});
export const jobFailedDetailSchema = z.object({ ...outcomeBase, error: jobErrorSchema });
export const jobCancelledDetailSchema = z.object({ ...outcomeBase, reason: z.string() });

export type JobCompletedDetail = z.infer<typeof jobCompletedDetailSchema>;
export type JobFailedDetail = z.infer<typeof jobFailedDetailSchema>;
export type JobCancelledDetail = z.infer<typeof jobCancelledDetailSchema>;

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
