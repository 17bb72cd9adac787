/**
 * The completion function: the `-Action` block of the pattern. It takes a
 * run's outcome from either of two events, runs the job type's `onComplete`
 * hook, and replaces the active record with a retained outcome in one
 * transaction that is conditional on the run id.
 *
 * - `Job Completed` / `Job Failed` / `Job Cancelled` / `Job Timed Out`, put by
 *   the worker (the last two also by the sweeper, for a run whose worker is gone);
 * - `Lambda Function Invocation Result - Failure`, put by Lambda's OnFailure
 *   destination when the worker itself failed (timed out, crashed, or its
 *   event expired), so such a run still ends instead of staying RUNNING.
 *
 * A duplicate or late event finds no active record of its run and changes
 * nothing. An event that cannot be read throws, so it reaches the dead-letter
 * queue instead of vanishing.
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
  type JobError,
  JobEventType,
  type JobOutcomeEventType,
  LAMBDA_DESTINATION_SOURCE,
  LambdaDestinationType,
  type LambdaFailureDetail,
  Reporter,
} from '../../core/events';
import type { JobType } from '../../core/job-type';
import {
  type ActiveJob,
  type JobOutcome,
  JobStatus,
  outcomeView,
  type TerminalStatus,
  type WebhookDelivery,
} from '../../core/model';
import type { StandardSchemaV1 } from '../../core/standard-schema';
import { appendJobKeys, describeError, log } from '../shared/log';
import type { JobMetrics } from '../shared/metrics';
import type { JobStore } from '../shared/store';
import { truncate } from '../shared/text';
import { describeIssues, parse, type SchemaError, validate } from '../shared/validate';

export interface CompletionDeps {
  readonly store: JobStore;
  /** How long an outcome is kept, in seconds (the TTL). */
  readonly retentionSeconds: number;
  readonly now: () => Date;
  readonly getJobType: (name: string) => JobType | undefined;
  /**
   * Puts a lifecycle event on the bus: the `Job Failed` of a run that Lambda's failure
   * destination ended, whose worker could not say so itself.
   */
  readonly putEvent?: (detailType: JobOutcomeEventType, detail: unknown) => Promise<void>;
  /** POSTs the signed outcome to the run's callback URL, with retries; never throws for the receiver's failures. */
  readonly deliverWebhook?: (delivery: WebhookRequest) => Promise<WebhookDelivery>;
  /** Where each recorded outcome is counted, once per run. @default - nothing is counted */
  readonly metrics?: JobMetrics;
}

/** One webhook to send: where, and the exact JSON body. */
export interface WebhookRequest {
  readonly url: string;
  readonly deliveryId: string;
  readonly body: string;
}

/** The terminal event that matches each outcome, named in a webhook's body. */
const EVENT_OF_STATUS: Readonly<Record<TerminalStatus, JobOutcomeEventType>> = {
  SUCCEEDED: JobEventType.Completed,
  FAILED: JobEventType.Failed,
  CANCELLED: JobEventType.Cancelled,
  TIMED_OUT: JobEventType.TimedOut,
};

export type CompletionResult =
  | { readonly status: 'ignored'; readonly reason: string }
  | { readonly status: 'finished'; readonly outcome: JobOutcome };

/** A run's end as an event reports it, whichever path it came by. */
interface RunReport {
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

/** Records the outcome an event reports, unless its run has already ended. */
export async function completeRun(event: unknown, deps: CompletionDeps): Promise<CompletionResult> {
  const report = readEvent(event, deps.now());
  appendJobKeys(report);
  const fields = {
    owner: report.owner,
    jobName: report.jobName,
    runId: report.runId,
    via: report.via,
  };

  const active = await deps.store.getActive(report.owner, report.jobName);
  if (!active || active.runId !== report.runId) {
    // The run ended earlier; if that completion died before its webhook was settled, settle it now.
    await settleWebhookOf(report, deps);
    return ignore('Duplicate or late event, ignored', {
      ...fields,
      activeRunId: active?.runId ?? null,
    });
  }

  const ended = await runHook(report, active, deps);
  const startedAt = report.startedAt ?? active.startedAt;
  const outcome: JobOutcome = {
    owner: active.owner,
    jobName: active.jobName,
    runId: active.runId,
    type: active.type,
    status: ended.status,
    input: active.input,
    createdAt: active.createdAt,
    startedAt,
    finishedAt: report.finishedAt,
    durationMs: report.durationMs ?? durationBetween(startedAt, report.finishedAt),
    attempt: report.attempt ?? active.attempt,
    result: ended.result,
    error: ended.error,
    attempts: report.attempts,
    cancelRequestedAt: active.cancelRequestedAt,
    deadlineAt: active.deadlineAt,
    expiresAt: Math.floor(deps.now().getTime() / 1000) + deps.retentionSeconds,
    callbackUrl: active.callbackUrl,
  };

  if (!(await deps.store.finishRun(outcome))) {
    await settleWebhookOf(report, deps);
    return ignore('Duplicate or late event, ignored (the run ended meanwhile)', fields);
  }
  // Only the transaction that wrote the outcome counts it: a redelivery is ignored above.
  deps.metrics?.finished(outcome.type, outcome.status, outcome.durationMs);
  log.info('Run finished', {
    ...fields,
    from: JobStatus.Running,
    to: outcome.status,
    ...(outcome.error ? { errorName: outcome.error.name } : {}),
  });
  if (report.announce) await announceFailure(outcome, deps);
  if (outcome.callbackUrl) await sendWebhook(outcome, deps);
  return { status: 'finished', outcome };
}

/**
 * Lambda's failure destination ended the run: no worker put a terminal event, so
 * completion puts `Job Failed` for everyone who follows the run's events (streams,
 * rules of your own). Its own delivery back here is a duplicate, and a no-op.
 */
async function announceFailure(outcome: JobOutcome, deps: CompletionDeps): Promise<void> {
  if (!deps.putEvent) return;
  const detail = parse(jobFailedDetailSchema, {
    owner: outcome.owner,
    jobName: outcome.jobName,
    runId: outcome.runId,
    type: outcome.type,
    ...(outcome.attempt !== undefined ? { attempt: outcome.attempt } : {}),
    ...(outcome.startedAt ? { startedAt: outcome.startedAt } : {}),
    finishedAt: outcome.finishedAt,
    ...(outcome.durationMs !== undefined ? { durationMs: outcome.durationMs } : {}),
    error: outcome.error ?? { name: 'WorkerFailed', message: 'The worker invocation failed' },
    reportedBy: Reporter.Completion,
  });
  try {
    await deps.putEvent(JobEventType.Failed, detail);
  } catch (error) {
    // The outcome is recorded; only followers of the event miss it.
    log.error('Could not put Job Failed for a run the failure destination ended', {
      owner: outcome.owner,
      jobName: outcome.jobName,
      runId: outcome.runId,
      ...describeError(error),
    });
  }
}

/** The webhook of a run that has already ended, if it has one and it was never settled. */
async function settleWebhookOf(report: RunReport, deps: CompletionDeps): Promise<void> {
  if (!deps.deliverWebhook) return;
  const outcome = await deps.store.getOutcome(report.owner, report.jobName, report.runId);
  if (outcome?.callbackUrl && !outcome.webhook) await sendWebhook(outcome, deps);
}

/**
 * POSTs the outcome to the callback URL and records how that went on the outcome.
 * The delivery id is the run id, the same on every attempt and every redelivery,
 * so a receiver can ignore a repeat.
 */
async function sendWebhook(outcome: JobOutcome, deps: CompletionDeps): Promise<void> {
  if (!deps.deliverWebhook || !outcome.callbackUrl) return;
  const body = JSON.stringify({
    deliveryId: outcome.runId,
    event: EVENT_OF_STATUS[outcome.status],
    job: outcomeView(outcome),
  });
  const delivery = await deps.deliverWebhook({
    url: outcome.callbackUrl,
    deliveryId: outcome.runId,
    body,
  });
  const fields = {
    owner: outcome.owner,
    jobName: outcome.jobName,
    runId: outcome.runId,
    delivered: delivery.delivered,
    attempts: delivery.attempts,
    ...(delivery.status !== undefined ? { status: delivery.status } : {}),
    ...(delivery.error ? { error: delivery.error } : {}),
  };
  if (delivery.delivered) log.info('Webhook delivered', fields);
  else log.warn('Webhook not delivered', fields);
  await deps.store.recordWebhook(outcome.owner, outcome.jobName, outcome.runId, delivery);
}

function ignore(reason: string, fields: Record<string, unknown>): CompletionResult {
  log.info(reason, fields);
  return { status: 'ignored', reason };
}

function readEvent(event: unknown, now: Date): RunReport {
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
      case JobEventType.Cancelled: {
        const { reason, reportedBy, ...d } = parseDetail(
          jobCancelledDetailSchema,
          detail,
          detailType,
        );
        // The outcome has no reason field; the error slot says why the run stopped.
        const error = { name: 'JobCancelledError', message: truncate(reason) };
        const via = `${detailType} (${reportedBy ?? 'worker'})`;
        return { ...d, status: JobStatus.Cancelled, error, via };
      }
      case JobEventType.TimedOut: {
        const { reason, reportedBy, deadlineAt, ...d } = parseDetail(
          jobTimedOutDetailSchema,
          detail,
          detailType,
        );
        const error = { name: 'JobTimedOut', message: truncate(reason) };
        const via = `${detailType} (${reportedBy ?? 'worker'})`;
        return { ...d, status: JobStatus.TimedOut, error, via };
      }
    }
  }
  if (source === LAMBDA_DESTINATION_SOURCE && detailType === LambdaDestinationType.Failure) {
    return readWorkerFailure(parseDetail(lambdaFailureDetailSchema, detail, detailType), now);
  }
  throw malformed(`Unexpected event: source "${source}", detail-type "${detailType}"`);
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

/**
 * Runs the type's `onComplete` hook. A failing hook makes the run FAILED with
 * `OnCompleteError`; the result is kept. Hooks can run more than once for one
 * run (the write after them may be retried), so they must be idempotent.
 */
async function runHook(
  report: RunReport,
  active: ActiveJob,
  deps: CompletionDeps,
): Promise<Pick<RunReport, 'status' | 'result' | 'error'>> {
  const jobType = deps.getJobType(active.type);
  if (!jobType?.onComplete) return report;
  // The stored input was parsed at submit; parsing again restores the shape the type declares.
  const input = validate(jobType.input, active.input);
  try {
    await jobType.onComplete({
      jobName: active.jobName,
      runId: active.runId,
      type: active.type,
      status: report.status,
      input: input.success ? input.data : active.input,
      result: report.result,
      error: report.error,
    });
    return report;
  } catch (error) {
    log.error('The onComplete hook failed; the run is recorded as FAILED', {
      jobName: active.jobName,
      runId: active.runId,
      type: active.type,
      ...describeError(error),
    });
    return {
      status: JobStatus.Failed,
      result: report.result,
      error: { name: 'OnCompleteError', message: truncate(messageOf(error)) },
    };
  }
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

function durationBetween(startedAt: string | undefined, finishedAt: string): number | undefined {
  if (!startedAt) return undefined;
  const ms = Date.parse(finishedAt) - Date.parse(startedAt);
  return Number.isNaN(ms) ? undefined : Math.max(0, ms);
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

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
