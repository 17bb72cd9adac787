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
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { Context } from 'aws-lambda';
import { MalformedEventError } from '../../core/errors';
import { jobStartedDetailSchema, workerPayloadSchema } from '../../core/event-schemas';
import { JobEventType, type JobOutcomeEventType, type WorkerPayload } from '../../core/events';
import { JobCancelledError, RunNotActiveError } from '../../core/job-errors';
import type { JobType } from '../../core/job-type';
import type { ActiveJob } from '../../core/model';
import { appendJobKeys, log } from '../shared/log';
import type { JobMetrics } from '../shared/metrics';
import type { JobStore } from '../shared/store';
import { truncate } from '../shared/text';
import { describeIssues, parse, validate } from '../shared/validate';
import { type RunOutcome, runAttempts, stopRun } from './attempts';
import { type AttemptInfo, announce, report } from './events';
import {
  DEFAULT_HEARTBEAT_INTERVAL_MS,
  type ProgressWrites,
  recordProgress,
  startHeartbeat,
  throttle,
} from './heartbeat';

// The loop's backoff is part of the worker's contract (and tested as such).
export { backoffMs } from './attempts';

/** DynamoDB's item limit. A run's outcome (input and result together) is one item. */
export const DYNAMODB_ITEM_BYTES = 400 * 1024;
/** Room in the outcome item for keys, timestamps and an error, besides input and result. */
export const OUTCOME_ITEM_OVERHEAD_BYTES = 16 * 1024;
/** How long before the Lambda timeout a job is stopped, so its outcome can still be sent. */
export const DEFAULT_DEADLINE_MARGIN_MS = 2000;

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
  // A run started from the queue gets a payload without its input: the record has it.
  const input = validate(jobType.input, run.input !== undefined ? run.input : started.input);
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
