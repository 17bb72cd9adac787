/**
 * The worker: runs one run of a job and announces how it ended with exactly
 * one terminal event on the bus (`Job Completed`, `Job Failed`, `Job Cancelled`
 * or `Job Timed Out`), after `Job Started` and throttled `Job Progress` events.
 *
 * While the job runs, the worker writes a heartbeat every
 * `heartbeatIntervalMs` (a progress call counts as one); the heartbeat's answer
 * carries any cancel request, which aborts the job's signal. The run stops at
 * its deadline or shortly before the Lambda timeout, whichever is first, and a
 * job that throws is retried in-process by its type's retry policy.
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
import { MalformedEventError } from '../../core/errors';
import {
  jobCancelledDetailSchema,
  jobCompletedDetailSchema,
  jobFailedDetailSchema,
  jobProgressDetailSchema,
  jobStartedDetailSchema,
  jobTimedOutDetailSchema,
  workerPayloadSchema,
} from '../../core/event-schemas';
import {
  type AttemptError,
  EVENT_SOURCE,
  type JobError,
  JobEventType,
  type JobOutcomeEventType,
  putEventsEntrySize,
  Reporter,
  type WorkerPayload,
} from '../../core/events';
import { JobCancelledError, RunNotActiveError } from '../../core/job-errors';
import type { JobType } from '../../core/job-type';
import type { ActiveJob, JobProgress } from '../../core/model';
import { utf8Length } from '../shared/json';
import { appendJobKeys, describeError, log } from '../shared/log';
import type { JobMetrics } from '../shared/metrics';
import type { JobStore } from '../shared/store';
import { truncate } from '../shared/text';
import { describeIssues, parse, validate } from '../shared/validate';
import { type RunOutcome, resultJson, runAttempts, stopRun } from './attempts';
import { EventDeliveryError } from './errors';

// The loop's backoff is part of the worker's contract (and tested as such).
export { backoffMs } from './attempts';

/** DynamoDB's item limit. A run's outcome (input and result together) is one item. */
export const DYNAMODB_ITEM_BYTES = 400 * 1024;
/** Room in the outcome item for keys, timestamps and an error, besides input and result. */
export const OUTCOME_ITEM_OVERHEAD_BYTES = 16 * 1024;
/** How long before the Lambda timeout a job is stopped, so its outcome can still be sent. */
export const DEFAULT_DEADLINE_MARGIN_MS = 2000;

/** How often a running job's heartbeat is written (a progress call resets the timer). */
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 1500;
/** At most one `Job Progress` event per run this often; the table has every update. */
export const DEFAULT_PROGRESS_EVENT_INTERVAL_MS = 5000;
/**
 * A lease whose holder has not beaten for this long is dead and may be taken
 * over by another invocation of the same run: three missed heartbeats and a grace.
 */
export function staleLeaseMs(heartbeatIntervalMs: number): number {
  return 3 * heartbeatIntervalMs + 2000;
}

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
  /** @default DEFAULT_HEARTBEAT_INTERVAL_MS */
  readonly heartbeatIntervalMs?: number;
  /** @default DEFAULT_PROGRESS_EVENT_INTERVAL_MS */
  readonly progressEventIntervalMs?: number;
  /**
   * The worker function's timeout in seconds: the longest a run may be given.
   *
   * @default - no cap; the Lambda limit still stops the run
   */
  readonly maxTimeoutSeconds?: number;
  /** A number in [0, 1) for the retry jitter. @default Math.random */
  readonly random?: () => number;
  /** Where a run's queue wait is recorded. @default - nothing is recorded */
  readonly metrics?: JobMetrics;
}

/** What the worker uses of the Lambda context. */
export type Invocation = Pick<Context, 'awsRequestId' | 'getRemainingTimeInMillis'>;

export type WorkerResult =
  | { readonly status: 'skipped'; readonly reason: string }
  | { readonly status: 'reported'; readonly detailType: JobOutcomeEventType };

/** A PutEvents entry for one of the worker's terminal events. */
type OutcomeEntry = PutEventsRequestEntry & { readonly DetailType: JobOutcomeEventType };

/** The fields every outcome event of this attempt shares. */
interface AttemptInfo {
  readonly owner: string;
  readonly jobName: string;
  readonly runId: string;
  readonly type: string;
  readonly attempt: number;
  readonly startedAt: string;
  readonly deadlineAt?: string;
}

/** Runs the run `payload` names, once, and puts its outcome on the bus. */
export async function runWorker(
  payload: unknown,
  invocation: Invocation,
  deps: WorkerDeps,
): Promise<WorkerResult> {
  const run = parsePayload(payload);
  appendJobKeys(run);
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
  const start = deps.now();
  const startAt = start.toISOString();
  const heartbeatMs = deps.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS;
  const claim = await deps.store.claimRun(run.owner, run.jobName, run.runId, {
    at: startAt,
    attempt,
    leaseId: invocation.awsRequestId,
    staleBefore: new Date(start.getTime() - staleLeaseMs(heartbeatMs)).toISOString(),
    deadlineAt: deadlineFor(active, deps.getJobType(run.type), start, deps),
  });
  if (!claim.claimed) {
    return claim.reason === 'gone'
      ? skip('The run finished before this attempt could start; not running it', logFields)
      : skip('Another invocation is running this run (its lease is live); not running it', {
          ...logFields,
          holder: claim.holder.leaseId ?? null,
        });
  }
  const started = claim.job;
  // This claim began the run (later attempts keep the first start): its wait in the queue ended now.
  if (started.startedAt === startAt) {
    deps.metrics?.queueWait(run.type, start.getTime() - Date.parse(started.createdAt));
  }
  const info: AttemptInfo = {
    owner: run.owner,
    jobName: run.jobName,
    runId: run.runId,
    type: run.type,
    attempt,
    // The first attempt's start, so the duration covers the whole run.
    startedAt: started.startedAt ?? startAt,
    deadlineAt: started.deadlineAt,
  };
  log.info('Run started', { ...logFields, attempt, deadlineAt: info.deadlineAt ?? null });
  await announce(
    JobEventType.Started,
    parse(jobStartedDetailSchema, {
      owner: info.owner,
      jobName: info.jobName,
      runId: info.runId,
      type: info.type,
      attempt,
      startedAt: startAt,
      deadlineAt: info.deadlineAt,
    }),
    deps,
  );

  const outcome = await decideOutcome(run, info, started, invocation, deps);
  if (!outcome) {
    return skip('The run stopped being active while it ran; no outcome to report', logFields);
  }
  const detailType = await report(info, outcome, deps);
  log.info('Run ended', { ...logFields, attempt: outcome.attempt ?? attempt, detailType });
  return { status: 'reported', detailType };
}

/**
 * When the run times out: the request's timeout, else the type's default, never
 * more than the worker's own timeout; measured from the first attempt's start.
 * A deadline already on the record (an earlier attempt's) wins in the store.
 */
function deadlineFor(
  active: ActiveJob,
  jobType: JobType | undefined,
  start: Date,
  deps: WorkerDeps,
): string | undefined {
  if (active.deadlineAt) return active.deadlineAt;
  const requested = active.timeoutSeconds ?? jobType?.defaultTimeoutSeconds;
  const cap = deps.maxTimeoutSeconds;
  const seconds =
    requested === undefined ? cap : cap === undefined ? requested : Math.min(requested, cap);
  if (seconds === undefined || !Number.isFinite(seconds) || seconds <= 0) return undefined;
  const from = active.startedAt ? Date.parse(active.startedAt) : start.getTime();
  return new Date(from + seconds * 1000).toISOString();
}

function parsePayload(payload: unknown): WorkerPayload {
  const parsed = validate(workerPayloadSchema, payload);
  if (!parsed.success) {
    const issues = describeIssues(parsed.error.issues);
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
  started: ActiveJob,
  invocation: Invocation,
  deps: WorkerDeps,
): Promise<RunOutcome | undefined> {
  if (started.cancelRequestedAt) {
    return {
      kind: 'cancelled',
      reason: `Cancel requested at ${started.cancelRequestedAt}, before the job ran`,
    };
  }
  if (info.deadlineAt && Date.parse(info.deadlineAt) <= deps.now().getTime()) {
    return { kind: 'timedOut', reason: `The run's deadline (${info.deadlineAt}) had passed` };
  }
  const jobType = deps.getJobType(run.type);
  if (!jobType) {
    return {
      kind: 'failed',
      error: { name: 'UnknownJobType', message: `There is no job type named "${run.type}"` },
    };
  }
  const input = validate(jobType.input, run.input);
  if (!input.success) {
    return {
      kind: 'failed',
      error: {
        name: 'InvalidInput',
        message: truncate(
          `The input is not valid for job type "${run.type}": ${describeIssues(input.error.issues)}`,
        ),
      },
    };
  }
  return execute(jobType, input.data, info, invocation, deps);
}

/**
 * Runs the job through the attempts loop (`attempts.ts`), with the table and
 * the bus behind its hooks: a heartbeat while it runs, progress and attempts
 * written to the job record, and whatever those writes learn (a cancel
 * request, the run being gone) stopping the run.
 */
async function execute(
  jobType: JobType,
  input: unknown,
  info: AttemptInfo,
  invocation: Invocation,
  deps: WorkerDeps,
): Promise<RunOutcome | undefined> {
  const controller = new AbortController();
  // What a heartbeat or a progress write learned about the run.
  const heed = (record: ActiveJob | undefined): void => {
    if (!record) {
      stopRun(controller, new RunNotActiveError('The run is no longer active'));
    } else if (record.cancelRequestedAt) {
      stopRun(controller, new JobCancelledError(`Cancel requested at ${record.cancelRequestedAt}`));
    }
  };
  const heartbeat = startHeartbeat(info, deps, heed);
  const writes: ProgressWrites = {
    touch: heartbeat.touch,
    heed,
    signal: controller.signal,
    events: throttle(deps.progressEventIntervalMs ?? DEFAULT_PROGRESS_EVENT_INTERVAL_MS, deps),
  };
  try {
    const { outcome } = await runAttempts({
      jobType,
      input,
      jobName: info.jobName,
      runId: info.runId,
      type: info.type,
      firstAttempt: info.attempt,
      controller,
      limits: {
        deadlineAt: info.deadlineAt,
        remainingMs: invocation.getRemainingTimeInMillis(),
        marginMs: deps.deadlineMarginMs,
      },
      remainingTimeMs: () => invocation.getRemainingTimeInMillis(),
      now: () => deps.now(),
      random: deps.random,
      hooks: {
        recordProgress: (progress, attempt) =>
          recordProgress(info, attempt, progress, writes, deps),
        recordAttempt: async (attempt) => {
          heartbeat.touch();
          heed(
            await deps.store.recordAttempt(
              info.owner,
              info.jobName,
              info.runId,
              attempt,
              deps.now().toISOString(),
            ),
          );
        },
      },
    });
    return outcome;
  } finally {
    heartbeat.stop();
  }
}

/** What a progress write shares with the rest of the attempt. */
interface ProgressWrites {
  /** Restarts the heartbeat interval. */
  readonly touch: () => void;
  readonly heed: (record: ActiveJob | undefined) => void;
  readonly signal: AbortSignal;
  /** Whether a `Job Progress` event is due (throttled). */
  readonly events: () => boolean;
}

/** Writes a progress report on the job record and, throttled, puts a `Job Progress` event. */
async function recordProgress(
  info: AttemptInfo,
  attempt: number,
  progress: JobProgress,
  writes: ProgressWrites,
  deps: WorkerDeps,
): Promise<void> {
  // A progress write is a heartbeat: the next one is due an interval from now.
  writes.touch();
  let record: ActiveJob | undefined;
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
  writes.heed(record);
  // Stopped meanwhile: the loop hands the job the reason, and there is nothing to announce.
  if (writes.signal.aborted || !writes.events()) return;
  await announce(
    JobEventType.Progress,
    parse(jobProgressDetailSchema, {
      owner: info.owner,
      jobName: info.jobName,
      runId: info.runId,
      type: info.type,
      attempt,
      ...progress,
    }),
    deps,
  );
}

/** True at most once per `intervalMs` (the first call included). */
function throttle(intervalMs: number, deps: WorkerDeps): () => boolean {
  let last = Number.NEGATIVE_INFINITY;
  return () => {
    const now = deps.now().getTime();
    if (now - last < intervalMs) return false;
    last = now;
    return true;
  };
}

/**
 * Writes a heartbeat every interval while the job runs, and hands what it
 * reads back (a cancel request, or the run being gone) to `heed`. `touch`
 * restarts the interval after another write that counted as one.
 */
function startHeartbeat(
  info: AttemptInfo,
  deps: WorkerDeps,
  heed: (record: ActiveJob | undefined) => void,
): { touch: () => void; stop: () => void } {
  const intervalMs = deps.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  const schedule = () => {
    clearTimeout(timer);
    if (!stopped) timer = setTimeout(beat, intervalMs);
  };
  const beat = async () => {
    try {
      const record = await deps.store.heartbeat(
        info.owner,
        info.jobName,
        info.runId,
        deps.now().toISOString(),
      );
      if (!stopped) heed(record);
    } catch (error) {
      log.warn('A heartbeat could not be written; the job goes on', {
        jobName: info.jobName,
        runId: info.runId,
        ...describeError(error),
      });
    }
    schedule();
  };
  schedule();
  return {
    touch: schedule,
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

/** Puts an informational event (Started, Progress); a failure is logged, never fatal. */
async function announce(detailType: JobEventType, detail: object, deps: WorkerDeps): Promise<void> {
  try {
    const response = await deps.eventBridge.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: deps.busName,
            Source: EVENT_SOURCE,
            DetailType: detailType,
            Detail: JSON.stringify(detail),
          },
        ],
      }),
    );
    if ((response?.FailedEntryCount ?? 0) > 0) {
      log.warn('PutEvents did not accept an informational event', { detailType });
    }
  } catch (error) {
    log.warn('An informational event could not be put', { detailType, ...describeError(error) });
  }
}

/** Builds, checks and puts the outcome event; returns the detail-type that was sent. */
async function report(
  info: AttemptInfo,
  outcome: RunOutcome,
  deps: WorkerDeps,
): Promise<JobOutcomeEventType> {
  const finished = deps.now();
  const timing = {
    finishedAt: finished.toISOString(),
    durationMs: Math.max(0, Math.round(finished.getTime() - Date.parse(info.startedAt))),
  };
  const { deadlineAt, ...fields } = info;
  const base = { ...fields, attempt: outcome.attempt ?? info.attempt, ...timing };
  const entry = outcomeEntry(base, deadlineAt, outcome, deps);
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

type OutcomeBase = Omit<AttemptInfo, 'deadlineAt'> & {
  readonly finishedAt: string;
  readonly durationMs: number;
};

function outcomeEntry(
  base: OutcomeBase,
  deadlineAt: string | undefined,
  outcome: RunOutcome,
  deps: WorkerDeps,
): OutcomeEntry {
  switch (outcome.kind) {
    case 'failed':
      return failedEntry(base, outcome.error, deps, outcome.attempts);
    case 'cancelled':
      return entryFor(
        JobEventType.Cancelled,
        parse(jobCancelledDetailSchema, {
          ...base,
          reason: outcome.reason,
          reportedBy: Reporter.Worker,
        }),
        deps,
      );
    case 'timedOut':
      return entryFor(
        JobEventType.TimedOut,
        parse(jobTimedOutDetailSchema, {
          ...base,
          reason: outcome.reason,
          reportedBy: Reporter.Worker,
          deadlineAt,
        }),
        deps,
      );
    case 'completed':
      return completedEntry(base, outcome.result, deps);
  }
}

function completedEntry(base: OutcomeBase, value: unknown, deps: WorkerDeps): OutcomeEntry {
  const serialized = resultJson(value);
  if ('error' in serialized) return failedEntry(base, serialized.error, deps);
  const { result, json } = serialized;
  const entry = entryFor(
    JobEventType.Completed,
    parse(jobCompletedDetailSchema, { ...base, result }),
    deps,
  );
  const resultBytes = utf8Length(json);
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

function failedEntry(
  base: OutcomeBase,
  error: JobError,
  deps: WorkerDeps,
  attempts?: readonly AttemptError[],
): OutcomeEntry {
  const detail = attempts ? { ...base, error, attempts } : { ...base, error };
  return entryFor(JobEventType.Failed, parse(jobFailedDetailSchema, detail), deps);
}

function entryFor(detailType: JobOutcomeEventType, detail: object, deps: WorkerDeps): OutcomeEntry {
  return {
    EventBusName: deps.busName,
    Source: EVENT_SOURCE,
    DetailType: detailType,
    Detail: JSON.stringify(detail),
  };
}
