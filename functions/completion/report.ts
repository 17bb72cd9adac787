/**
 * Reading the events that end a run into one `RunReport`, whichever path the
 * end came by: a terminal event the worker or the sweeper put, or the record
 * Lambda's OnFailure destination put when the worker itself failed.
 */
import * as z from 'zod/mini';
import { MalformedEventError } from '../../core/errors';
import {
  jobCancelledDetailSchema,
  jobCompletedDetailSchema,
  jobFailedDetailSchema,
  jobTimedOutDetailSchema,
  lambdaFailureDetailSchema,
  workerPayloadSchema,
} from '../../core/event-schemas';
import {
  type AttemptError,
  EVENT_SOURCE,
  type JobCancelledDetail,
  type JobError,
  JobEventType,
  LAMBDA_DESTINATION_SOURCE,
  LambdaDestinationType,
  type LambdaFailureDetail,
} from '../../core/events';
import { JobStatus, type TerminalStatus } from '../../core/model';
import type { StandardSchemaV1 } from '../../core/standard-schema';
import { log } from '../shared/log';
import { truncate } from '../shared/text';
import { describeIssues, type SchemaError, validate } from '../shared/validate';

/** A run's end as an event reports it, whichever path it came by. */
export interface RunReport {
  readonly owner: string;
  readonly jobName: string;
  readonly runId: string;
  readonly type: string;
  readonly status: TerminalStatus;
  readonly finishedAt: string;
  readonly startedAt?: string;
  readonly durationMs?: number;
  readonly attempt?: number;
  readonly result?: unknown;
  readonly error?: JobError;
  readonly attempts?: readonly AttemptError[];
  /** Where the report came from, for the log. */
  readonly via: string;
  /** The report is Lambda's OnFailure record of a worker invocation, not the worker's own event. */
  readonly workerFailure?: boolean;
  /** No lifecycle event reported this end (Lambda's failure destination did): completion puts one. */
  readonly announce?: boolean;
}

const envelopeSchema = z.object({
  source: z.string(),
  'detail-type': z.string(),
  // Optional: a missing detail is refused by the detail's schema, whose message names the event.
  detail: z.optional(z.unknown()),
});

/** What a failed Node.js invocation returns: `{ errorType, errorMessage, trace }`. */
const lambdaErrorPayloadSchema = z.object({
  errorType: z.optional(z.string()),
  errorMessage: z.optional(z.string()),
});

/** The run's end that an event reports; an event that cannot be read throws `MalformedEventError`. */
export function readEvent(event: unknown, now: Date): RunReport {
  const envelope = validate(envelopeSchema, event);
  if (!envelope.success) {
    throw malformed('The event is not an EventBridge event', envelope.error);
  }
  const { source, 'detail-type': detailType, detail } = envelope.data;
  if (source === EVENT_SOURCE) {
    switch (detailType) {
      case JobEventType.Completed: {
        const d = parseDetail(jobCompletedDetailSchema, detail, detailType);
        return { ...d, status: JobStatus.Succeeded, via: detailType };
      }
      case JobEventType.Failed: {
        const d = parseDetail(jobFailedDetailSchema, detail, detailType);
        const attempts = d.attempts?.map((a) => ({ ...a, error: cutError(a.error) }));
        return {
          ...d,
          status: JobStatus.Failed,
          error: cutError(d.error),
          attempts,
          via: detailType,
        };
      }
      case JobEventType.Cancelled:
        return stoppedReport(
          parseDetail(jobCancelledDetailSchema, detail, detailType),
          JobStatus.Cancelled,
          'JobCancelledError',
          detailType,
        );
      case JobEventType.TimedOut: {
        const { deadlineAt, ...d } = parseDetail(jobTimedOutDetailSchema, detail, detailType);
        return stoppedReport(d, JobStatus.TimedOut, 'JobTimedOut', detailType);
      }
    }
  }
  if (source === LAMBDA_DESTINATION_SOURCE && detailType === LambdaDestinationType.Failure) {
    return readWorkerFailure(parseDetail(lambdaFailureDetailSchema, detail, detailType), now);
  }
  throw malformed(`Unexpected event: source "${source}", detail-type "${detailType}"`);
}

/** A run stopped by a cancel request or its deadline, as its worker or the sweeper reported it. */
function stoppedReport(
  { reason, reportedBy, ...d }: JobCancelledDetail,
  status: TerminalStatus,
  errorName: string,
  detailType: string,
): RunReport {
  // The outcome has no reason field; the error slot says why the run stopped.
  const error = { name: errorName, message: truncate(reason) };
  return { ...d, status, error, via: `${detailType} (${reportedBy ?? 'worker'})` };
}

function parseDetail<T>(
  schema: StandardSchemaV1<unknown, T>,
  detail: unknown,
  detailType: string,
): T {
  const parsed = validate(schema, detail);
  if (!parsed.success) {
    throw malformed(`The "${detailType}" event's detail is not valid`, parsed.error);
  }
  return parsed.data;
}

/** The worker's invocation failed for good: the run ends FAILED with Lambda's error. */
function readWorkerFailure(detail: LambdaFailureDetail, now: Date): RunReport {
  const payload = validate(workerPayloadSchema, detail.requestPayload);
  if (!payload.success) {
    // No job can be named, so none can be finished; the dead-letter queue keeps the record.
    throw malformed('The failed invocation did not carry a worker payload', payload.error);
  }
  const { owner, jobName, runId, type } = payload.data;
  const count = detail.requestContext.approximateInvokeCount;
  return {
    owner,
    jobName,
    runId,
    type,
    status: JobStatus.Failed,
    finishedAt: isoTime(detail.timestamp, now),
    attempt: Number.isSafeInteger(count) && count > 0 ? count : undefined,
    error: workerFailureError(detail),
    via: `${LambdaDestinationType.Failure} (${detail.requestContext.condition})`,
    announce: true,
    workerFailure: true,
  };
}

function workerFailureError(detail: LambdaFailureDetail): JobError {
  const response = validate(lambdaErrorPayloadSchema, jsonValue(detail.responsePayload));
  if (response.success && (response.data.errorType || response.data.errorMessage)) {
    const { errorType, errorMessage } = response.data;
    const message = errorMessage ?? errorType ?? '';
    // A timeout reports "Task timed out after N seconds", with no or a sandbox errorType.
    if (/timed out/i.test(message) || errorType === 'Sandbox.Timedout') {
      return { name: 'WorkerTimeout', message: truncate(message) };
    }
    return { name: truncate(errorType ?? 'Lambda.Unhandled', 256), message: truncate(message) };
  }
  const condition = detail.requestContext.condition;
  if (condition === 'EventAgeExceeded') {
    return {
      name: 'EventAgeExceeded',
      message: 'The worker never ran the job: its invocation was older than the maximum event age',
    };
  }
  return { name: 'WorkerFailed', message: `The worker invocation failed: ${condition}` };
}

function malformed(message: string, cause?: SchemaError): MalformedEventError {
  const issues = cause ? describeIssues(cause.issues) : undefined;
  log.error(message, issues ? { issues } : {});
  return new MalformedEventError(issues ? `${message}: ${issues}` : message, { cause });
}

/** Lambda's timestamps have milliseconds; outcomes store ISO-8601 UTC like everything else. */
function isoTime(text: string, fallback: Date): string {
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? fallback.toISOString() : new Date(ms).toISOString();
}

/** A response payload may arrive as JSON text rather than an object. */
function jsonValue(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch {
    return { errorMessage: value };
  }
}

function cutError(error: JobError): JobError {
  return { name: truncate(error.name, 256), message: truncate(error.message) };
}
