/**
 * The worker: runs one run of a job and announces how it ended with exactly
 * one event on the bus (`Job Completed`, `Job Failed` or `Job Cancelled`).
 *
 * A job's own failure is an outcome, not a worker error: the handler returns
 * normally so Lambda does not re-run a job that failed on its own. The worker
 * throws only when it cannot do its part (a malformed payload, the table or
 * the bus failing), which Lambda retries and then hands to the OnFailure
 * destination, where the completion function records the run as FAILED.
 */
import {
  type EventBridgeClient,
  PutEventsCommand,
  type PutEventsRequestEntry,
} from '@aws-sdk/client-eventbridge';
import type { Context } from 'aws-lambda';
import {
  isJobCancelledError,
  JobCancelledError,
  JobTimeoutError,
  RunNotActiveError,
} from '../jobs/errors';
import type { JobContext, JobType } from '../jobs/types';
import { MalformedEventError } from '../shared/errors';
import {
  EVENT_SOURCE,
  type JobError,
  JobEventType,
  jobCancelledDetailSchema,
  jobCompletedDetailSchema,
  jobFailedDetailSchema,
  putEventsEntrySize,
  type WorkerPayload,
  workerPayloadSchema,
} from '../shared/events';
import { utf8Length } from '../shared/json';
import { describeError, log } from '../shared/log';
import type { JobProgress } from '../shared/model';
import type { JobStore } from '../shared/store';
import { describeZodIssues, truncate } from '../shared/text';
import { EventDeliveryError } from './errors';

/** DynamoDB's item limit. A run's outcome (input and result together) is one item. */
export const DYNAMODB_ITEM_BYTES = 400 * 1024;
/** Room in the outcome item for keys, timestamps and an error, besides input and result. */
export const OUTCOME_ITEM_OVERHEAD_BYTES = 16 * 1024;
/** How long before the Lambda timeout a job is stopped, so its outcome can still be sent. */
export const DEFAULT_DEADLINE_MARGIN_MS = 2000;

/** The largest result, in bytes of JSON, whose outcome item still fits next to the input. */
export function maxResultBytesFor(maxInputBytes: number): number {
  return DYNAMODB_ITEM_BYTES - OUTCOME_ITEM_OVERHEAD_BYTES - maxInputBytes;
}

export interface WorkerDeps {
  readonly store: JobStore;
  readonly eventBridge: EventBridgeClient;
  readonly busName: string;
  /** The PutEvents entry limit in bytes (AWS-FACTS: 256 KB, configurable). */
  readonly maxEventBytes: number;
  /** The largest result in bytes of JSON; see `maxResultBytesFor`. */
  readonly maxResultBytes: number;
  /** See `DEFAULT_DEADLINE_MARGIN_MS`; never more than a quarter of the time left. */
  readonly deadlineMarginMs: number;
  readonly now: () => Date;
  readonly getJobType: (name: string) => JobType | undefined;
}

/** What the worker uses of the Lambda context. */
export type Invocation = Pick<Context, 'awsRequestId' | 'getRemainingTimeInMillis'>;

export type WorkerResult =
  | { readonly status: 'skipped'; readonly reason: string }
  | { readonly status: 'reported'; readonly detailType: JobEventType };

/** A PutEvents entry for one of the worker's own events. */
type OutcomeEntry = PutEventsRequestEntry & { readonly DetailType: JobEventType };

/** How a run ended, before it is turned into an event. */
type RunOutcome =
  | { readonly kind: 'completed'; readonly result: unknown }
  | { readonly kind: 'failed'; readonly error: JobError }
  | { readonly kind: 'cancelled'; readonly reason: string };

/** The fields every outcome event of this attempt shares. */
interface AttemptInfo {
  readonly owner: string;
  readonly jobName: string;
  readonly runId: string;
  readonly type: string;
  readonly attempt: number;
  readonly startedAt: string;
}

/** Runs the run `payload` names, once, and puts its outcome on the bus. */
export async function runWorker(
  payload: unknown,
  invocation: Invocation,
  deps: WorkerDeps,
): Promise<WorkerResult> {
  const run = parsePayload(payload);
  const logFields = {
    requestId: invocation.awsRequestId,
    owner: run.owner,
    jobName: run.jobName,
    runId: run.runId,
    type: run.type,
  };

  const active = await deps.store.getActive(run.owner, run.jobName);
  if (!active || active.runId !== run.runId) {
    return skip('The run is no longer active; not running it', logFields);
  }
  // Async invokes carry no attempt count; the record remembers how many attempts began.
  const attempt = (active.attempt ?? 0) + 1;
  const startAt = deps.now().toISOString();
  const started = await deps.store.markStarted(run.owner, run.jobName, run.runId, startAt, attempt);
  if (!started) {
    return skip('The run finished before this attempt could start; not running it', logFields);
  }
  const info: AttemptInfo = {
    owner: run.owner,
    jobName: run.jobName,
    runId: run.runId,
    type: run.type,
    attempt,
    // The first attempt's start, so the duration covers the whole run.
    startedAt: started.startedAt ?? startAt,
  };
  log.info('Run started', { ...logFields, attempt });

  const outcome = await decideOutcome(run, info, started.cancelRequestedAt, invocation, deps);
  if (!outcome) {
    return skip('The run stopped being active while it ran; no outcome to report', logFields);
  }
  const detailType = await report(info, outcome, deps);
  log.info('Run ended', { ...logFields, attempt, detailType });
  return { status: 'reported', detailType };
}

function parsePayload(payload: unknown): WorkerPayload {
  const parsed = workerPayloadSchema.safeParse(payload);
  if (!parsed.success) {
    const issues = describeZodIssues(parsed.error);
    log.error('Malformed worker payload', { issues });
    throw new MalformedEventError(`The worker payload is not valid: ${issues}`, {
      cause: parsed.error,
    });
  }
  return parsed.data;
}

function skip(reason: string, fields: Record<string, unknown>): WorkerResult {
  log.warn(reason, fields);
  return { status: 'skipped', reason };
}

/** Everything between "the run is ours" and "report it"; undefined when nobody wants the outcome. */
async function decideOutcome(
  run: WorkerPayload,
  info: AttemptInfo,
  cancelRequestedAt: string | undefined,
  invocation: Invocation,
  deps: WorkerDeps,
): Promise<RunOutcome | undefined> {
  if (cancelRequestedAt) {
    return {
      kind: 'cancelled',
      reason: `Cancel requested at ${cancelRequestedAt}, before the job ran`,
    };
  }
  const jobType = deps.getJobType(run.type);
  if (!jobType) {
    return {
      kind: 'failed',
      error: { name: 'UnknownJobType', message: `There is no job type named "${run.type}"` },
    };
  }
  const input = jobType.input.safeParse(run.input);
  if (!input.success) {
    return {
      kind: 'failed',
      error: {
        name: 'InvalidInput',
        message: truncate(
          `The input is not valid for job type "${run.type}": ${describeZodIssues(input.error)}`,
        ),
      },
    };
  }
  return execute(jobType, input.data, info, invocation, deps);
}

async function execute(
  jobType: JobType,
  input: unknown,
  info: AttemptInfo,
  invocation: Invocation,
  deps: WorkerDeps,
): Promise<RunOutcome | undefined> {
  const controller = new AbortController();
  const { signal } = controller;
  const stopWith = (reason: Error): never => {
    controller.abort(reason);
    throw signal.reason;
  };

  const ctx: JobContext = {
    jobName: info.jobName,
    runId: info.runId,
    type: info.type,
    attempt: info.attempt,
    signal,
    remainingTimeMs: () => invocation.getRemainingTimeInMillis(),
    async progress(percent, message) {
      if (typeof percent !== 'number' || !Number.isFinite(percent)) {
        throw new TypeError(
          `Progress must be a finite number from 0 to 100, got ${String(percent)}`,
        );
      }
      signal.throwIfAborted();
      const progress: JobProgress = {
        percent: Math.round(Math.min(100, Math.max(0, percent))),
        at: deps.now().toISOString(),
        ...(message === undefined ? {} : { message: truncate(String(message)) }),
      };
      let record: Awaited<ReturnType<JobStore['recordProgress']>>;
      try {
        record = await deps.store.recordProgress(info.owner, info.jobName, info.runId, progress);
      } catch (error) {
        // Progress is advisory: a throttled write must not fail the job.
        log.warn('Progress could not be recorded; the job goes on', {
          jobName: info.jobName,
          runId: info.runId,
          ...describeError(error),
        });
        return;
      }
      if (!record) {
        stopWith(new RunNotActiveError('The run is no longer active'));
      } else if (record.cancelRequestedAt) {
        stopWith(new JobCancelledError(`Cancel requested at ${record.cancelRequestedAt}`));
      }
    },
  };

  // The job gets to stop on its own first; if it ignores the signal, the race still ends the run.
  const stopped = new Promise<never>((_resolve, reject) => {
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
  const deadline = armDeadline(controller, invocation.getRemainingTimeInMillis(), deps);

  try {
    const result = await Promise.race([
      Promise.resolve().then(() => jobType.run(input, ctx)),
      stopped,
    ]);
    return { kind: 'completed', result };
  } catch (error) {
    return outcomeOfError(error);
  } finally {
    clearTimeout(deadline);
  }
}

/**
 * Stops the job shortly before Lambda would kill it, so the run ends FAILED
 * with `WorkerTimeout` at once instead of being killed, retried from scratch
 * and reported by the OnFailure destination much later.
 */
function armDeadline(
  controller: AbortController,
  remainingMs: number,
  deps: WorkerDeps,
): ReturnType<typeof setTimeout> | undefined {
  // A runner that cannot say how long is left gets no deadline rather than an instant one.
  if (!Number.isFinite(remainingMs) || remainingMs <= 0) return undefined;
  const marginMs = Math.min(deps.deadlineMarginMs, Math.floor(remainingMs / 4));
  return setTimeout(() => {
    const message = `The job did not finish within the worker's time limit (${remainingMs} ms were left when it started)`;
    controller.abort(new JobTimeoutError(message));
  }, remainingMs - marginMs);
}

function outcomeOfError(error: unknown): RunOutcome | undefined {
  if (error instanceof RunNotActiveError) return undefined;
  if (error instanceof JobTimeoutError) {
    return { kind: 'failed', error: { name: 'WorkerTimeout', message: error.message } };
  }
  if (isJobCancelledError(error)) {
    return { kind: 'cancelled', reason: truncate(messageOf(error)) };
  }
  return { kind: 'failed', error: toJobError(error) };
}

/** Builds, checks and puts the outcome event; returns the detail-type that was sent. */
async function report(
  info: AttemptInfo,
  outcome: RunOutcome,
  deps: WorkerDeps,
): Promise<JobEventType> {
  const finished = deps.now();
  const timing = {
    finishedAt: finished.toISOString(),
    durationMs: Math.max(0, Math.round(finished.getTime() - Date.parse(info.startedAt))),
  };
  const base = { ...info, ...timing };
  const entry = outcomeEntry(base, outcome, deps);
  const response = await deps.eventBridge.send(new PutEventsCommand({ Entries: [entry] }));
  if ((response.FailedEntryCount ?? 0) > 0) {
    const failed = response.Entries?.find((e) => e.ErrorCode) ?? response.Entries?.[0];
    throw new EventDeliveryError(
      `PutEvents did not accept the "${entry.DetailType}" event: ` +
        `${failed?.ErrorCode ?? 'UnknownError'}: ${failed?.ErrorMessage ?? 'no message'}`,
    );
  }
  return entry.DetailType;
}

type OutcomeBase = AttemptInfo & { readonly finishedAt: string; readonly durationMs: number };

function outcomeEntry(base: OutcomeBase, outcome: RunOutcome, deps: WorkerDeps): OutcomeEntry {
  switch (outcome.kind) {
    case 'failed':
      return failedEntry(base, outcome.error, deps);
    case 'cancelled':
      return entryFor(
        JobEventType.Cancelled,
        jobCancelledDetailSchema.parse({ ...base, reason: outcome.reason }),
        deps,
      );
    case 'completed':
      return completedEntry(base, outcome.result, deps);
  }
}

function completedEntry(base: OutcomeBase, value: unknown, deps: WorkerDeps): OutcomeEntry {
  // A job that returns nothing has the result null: the event's detail must carry the key.
  const result = value === undefined ? null : value;
  let resultJson: string | undefined;
  try {
    resultJson = JSON.stringify(result);
  } catch (error) {
    return notSerializable(base, messageOf(error), deps);
  }
  if (resultJson === undefined) {
    return notSerializable(base, `JSON has no form for a ${typeof result}`, deps);
  }
  const entry = entryFor(
    JobEventType.Completed,
    jobCompletedDetailSchema.parse({ ...base, result }),
    deps,
  );
  const resultBytes = utf8Length(resultJson);
  const roomInEvent = deps.maxEventBytes - (putEventsEntrySize(entry) - resultBytes);
  const limit = Math.max(0, Math.min(roomInEvent, deps.maxResultBytes));
  if (resultBytes > limit) {
    return failedEntry(
      base,
      {
        name: 'ResultTooLargeError',
        message: `The result is ${resultBytes} bytes; the limit is ${limit}`,
      },
      deps,
    );
  }
  return entry;
}

function notSerializable(base: OutcomeBase, why: string, deps: WorkerDeps): OutcomeEntry {
  const message = truncate(`The result cannot be converted to JSON: ${why}`);
  return failedEntry(base, { name: 'ResultNotSerializableError', message }, deps);
}

function failedEntry(base: OutcomeBase, error: JobError, deps: WorkerDeps): OutcomeEntry {
  return entryFor(JobEventType.Failed, jobFailedDetailSchema.parse({ ...base, error }), deps);
}

function entryFor(detailType: JobEventType, detail: object, deps: WorkerDeps): OutcomeEntry {
  return {
    EventBusName: deps.busName,
    Source: EVENT_SOURCE,
    DetailType: detailType,
    Detail: JSON.stringify(detail),
  };
}

/** A thrown value as the event's `error`: name and message only, never the stack. */
function toJobError(error: unknown): JobError {
  if (error instanceof Error) {
    return { name: truncate(error.name || 'Error', 256), message: truncate(error.message) };
  }
  return { name: 'Error', message: truncate(messageOf(error)) };
}

function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === 'string') return error;
  try {
    return JSON.stringify(error) ?? String(error);
  } catch {
    return String(error);
  }
}
