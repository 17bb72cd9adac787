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
 * queue instead of vanishing (`report.ts` reads them).
 */
import {
  jobFailedDetailSchema,
  jobFinishedDetailSchema,
  MAX_FINISHED_RESULT_BYTES,
} from '../../core/event-schemas';
import {
  JOB_FINISHED_EVENT_TYPE,
  JobEventType,
  type JobOutcomeEventType,
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
import { appendJobKeys, describeError, log, runKeys } from '../shared/log';
import type { JobMetrics } from '../shared/metrics';
import type { JobStore } from '../shared/store';
import { truncate } from '../shared/text';
import { parse, validate } from '../shared/validate';
import { type RunReport, readEvent } from './report';

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
  readonly putEvent?: (
    detailType: JobOutcomeEventType | typeof JOB_FINISHED_EVENT_TYPE,
    detail: unknown,
  ) => Promise<void>;
  /** POSTs the signed outcome to the run's callback URL, with retries; never throws for the receiver's failures. */
  readonly deliverWebhook?: (delivery: WebhookRequest) => Promise<WebhookDelivery>;
  /** Where each recorded outcome is counted, once per run. @default - nothing is counted */
  readonly metrics?: JobMetrics;
  /**
   * Starts the queued runs that fit once a run of `type` by `owner` has ended
   * (`dispatch.ts`). It runs after every event, a duplicate too: if the
   * invocation that ended the run died before it got here, the retry does it.
   * @default - nothing is queued, nothing to start
   */
  readonly dispatch?: (trigger: { owner: string; type: string }) => Promise<void>;
  /**
   * Resumes a run with checkpoints whose invocation Lambda gave up on
   * (`redrive.ts`); true when it did.
   *
   * @default - such a run is recorded FAILED
   */
  readonly redrive?: (job: ActiveJob, now: Date) => Promise<boolean>;
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

/** Records the outcome an event reports, unless its run has already ended. */
export async function completeRun(event: unknown, deps: CompletionDeps): Promise<CompletionResult> {
  const report = readEvent(event, deps.now());
  appendJobKeys(report);
  const fields = {
    ...runKeys(report),
    via: report.via,
  };

  const active = await deps.store.getActive(report.owner, report.jobName);
  if (!active || active.runId !== report.runId) {
    // The run ended earlier; if that completion died before its webhook was settled, settle it now.
    await settleEndedRun(report, deps);
    await deps.dispatch?.(report);
    return ignore('Duplicate or late event, ignored', {
      ...fields,
      activeRunId: active?.runId ?? null,
    });
  }

  // Lambda gave up on an invocation of a run with checkpoints: it resumes from them instead.
  if (report.workerFailure && (await deps.redrive?.(active, deps.now()))) {
    return ignore('The worker died; the run resumes from its checkpoints', fields);
  }
  const ended = await runHook(report, active, deps);
  const startedAt = report.startedAt ?? active.startedAt;
  const outcome: JobOutcome = {
    ...runKeys(active),
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
    ...(active.timeoutSeconds !== undefined ? { timeoutSeconds: active.timeoutSeconds } : {}),
    expiresAt: Math.floor(deps.now().getTime() / 1000) + deps.retentionSeconds,
    callbackUrl: active.callbackUrl,
    ...(active.invocations ? { invocations: active.invocations } : {}),
    ...(active.checkpointed ? { checkpointed: true } : {}),
    ...(active.startedBy ? { startedBy: active.startedBy } : {}),
  };

  if (!(await deps.store.finishRun(outcome, active))) {
    await settleEndedRun(report, deps);
    await deps.dispatch?.(report);
    return ignore('Duplicate or late event, ignored (the run ended meanwhile)', fields);
  }
  // Only the transaction that wrote the outcome counts it: a redelivery is ignored above.
  deps.metrics?.finished(outcome.type, outcome.status, outcome.durationMs);
  log.info('Run finished', {
    ...fields,
    from: active.status,
    to: outcome.status,
    ...(outcome.error ? { errorName: outcome.error.name } : {}),
  });
  if (report.announce) await announceFailure(outcome, deps);
  if (outcome.callbackUrl) await sendWebhook(outcome, deps);
  await announceFinished(outcome, deps);
  // Last: should it fail, the event is retried, finds the run ended, and comes here again.
  await deps.dispatch?.(outcome);
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
    ...runKeys(outcome),
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
      ...runKeys(outcome),
      ...describeError(error),
    });
  }
}

/**
 * Puts `Job Finished` for a recorded outcome, then records that it did. A put
 * that fails throws: the event is retried, finds the run ended, and
 * `settleEndedRun` puts it then (at least once; a retry after the put but
 * before the record puts it twice, with the same run id).
 */
async function announceFinished(outcome: JobOutcome, deps: CompletionDeps): Promise<void> {
  if (!deps.putEvent || outcome.announcedAt) return;
  const resultJson = outcome.result === undefined ? undefined : JSON.stringify(outcome.result);
  const fits =
    resultJson !== undefined && Buffer.byteLength(resultJson, 'utf8') <= MAX_FINISHED_RESULT_BYTES;
  const detail = parse(jobFinishedDetailSchema, {
    ...runKeys(outcome),
    type: outcome.type,
    status: outcome.status,
    createdAt: outcome.createdAt,
    ...(outcome.startedAt ? { startedAt: outcome.startedAt } : {}),
    finishedAt: outcome.finishedAt,
    ...(outcome.durationMs !== undefined ? { durationMs: outcome.durationMs } : {}),
    ...(outcome.attempt !== undefined ? { attempt: outcome.attempt } : {}),
    ...(outcome.invocations ? { invocations: outcome.invocations } : {}),
    ...(resultJson === undefined
      ? {}
      : fits
        ? { result: outcome.result }
        : { resultOmitted: true }),
    ...(outcome.error ? { error: outcome.error } : {}),
    ...(outcome.startedBy ? { startedBy: outcome.startedBy } : {}),
  });
  await deps.putEvent(JOB_FINISHED_EVENT_TYPE, detail);
  await deps.store.recordAnnounced(
    outcome.owner,
    outcome.jobName,
    outcome.runId,
    deps.now().toISOString(),
  );
}

/**
 * What a run that has already ended may still owe: its webhook, if it has one
 * that was never settled, and its `Job Finished`, if that was never put.
 */
async function settleEndedRun(report: RunReport, deps: CompletionDeps): Promise<void> {
  if (!deps.deliverWebhook && !deps.putEvent) return;
  const outcome = await deps.store.getOutcome(report.owner, report.jobName, report.runId);
  if (!outcome) return;
  if (outcome.callbackUrl && !outcome.webhook && deps.deliverWebhook) {
    await sendWebhook(outcome, deps);
  }
  await announceFinished(outcome, deps);
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
    ...runKeys(outcome),
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

function durationBetween(startedAt: string | undefined, finishedAt: string): number | undefined {
  if (!startedAt) return undefined;
  const ms = Date.parse(finishedAt) - Date.parse(startedAt);
  return Number.isNaN(ms) ? undefined : Math.max(0, ms);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
