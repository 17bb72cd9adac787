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
import {
  isJobCancelledError,
  JobCancelledError,
  JobTimeoutError,
  RunNotActiveError,
} from '../jobs/errors';
import { delay } from '../jobs/signals';
import { type JobContext, type JobType, NO_RETRIES, type RetryPolicy } from '../jobs/types';
import { MalformedEventError } from '../shared/errors';
import {
  jobCancelledDetailSchema,
  jobCompletedDetailSchema,
  jobFailedDetailSchema,
  jobProgressDetailSchema,
  jobStartedDetailSchema,
  jobTimedOutDetailSchema,
  workerPayloadSchema,
} from '../shared/event-schemas';
import {
  type AttemptError,
  EVENT_SOURCE,
  type JobError,
  JobEventType,
  type JobOutcomeEventType,
  putEventsEntrySize,
  Reporter,
  type WorkerPayload,
} from '../shared/events';
import { utf8Length } from '../shared/json';
import { describeError, log } from '../shared/log';
import type { ActiveJob, JobProgress } from '../shared/model';
import { describeIssues, validate } from '../shared/schema';
import type { JobStore } from '../shared/store';
import { truncate } from '../shared/text';
import { EventDeliveryError } from './errors';

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
}

/** What the worker uses of the Lambda context. */
export type Invocation = Pick<Context, 'awsRequestId' | 'getRemainingTimeInMillis'>;

export type WorkerResult =
  | { readonly status: 'skipped'; readonly reason: string }
  | { readonly status: 'reported'; readonly detailType: JobOutcomeEventType };

/** A PutEvents entry for one of the worker's terminal events. */
type OutcomeEntry = PutEventsRequestEntry & { readonly DetailType: JobOutcomeEventType };

/** How a run ended, before it is turned into an event; `attempt` is the last one's number. */
type RunOutcome = { readonly attempt?: number } & (
  | { readonly kind: 'completed'; readonly result: unknown }
  | {
      readonly kind: 'failed';
      readonly error: JobError;
      readonly attempts?: readonly AttemptError[];
    }
  | { readonly kind: 'cancelled'; readonly reason: string }
  | { readonly kind: 'timedOut'; readonly reason: string }
);

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
    jobStartedDetailSchema.parse({
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
  const parsed = workerPayloadSchema.safeParse(payload);
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

/** Runs the job, retrying it by its type's policy, until it ends or is stopped. */
async function execute(
  jobType: JobType,
  input: unknown,
  info: AttemptInfo,
  invocation: Invocation,
  deps: WorkerDeps,
): Promise<RunOutcome | undefined> {
  const controller = new AbortController();
  const { signal } = controller;
  const stop = (reason: Error): void => {
    if (!signal.aborted) controller.abort(reason);
  };
  // What a heartbeat or a progress write learned about the run.
  const heed = (record: ActiveJob | undefined): void => {
    if (!record) {
      stop(new RunNotActiveError('The run is no longer active'));
    } else if (record.cancelRequestedAt) {
      stop(new JobCancelledError(`Cancel requested at ${record.cancelRequestedAt}`));
    }
  };
  const heartbeat = startHeartbeat(info, deps, heed);
  const stopAt = armStop(controller, info, invocation, deps);
  // The job gets to stop on its own first; if it ignores the signal, the race still ends the run.
  const stopped = new Promise<never>((_resolve, reject) => {
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
  stopped.catch(() => undefined);

  const policy = jobType.retry ?? NO_RETRIES;
  const failures: AttemptError[] = [];
  let attempt = info.attempt;
  const progressEvents = throttle(
    deps.progressEventIntervalMs ?? DEFAULT_PROGRESS_EVENT_INTERVAL_MS,
    deps,
  );
  try {
    for (;;) {
      const ctx = jobContext(info, attempt, signal, invocation, deps, {
        onWrite: heartbeat.touch,
        heed,
        stop,
        progressEvents,
      });
      try {
        const result = await Promise.race([
          Promise.resolve().then(() => jobType.run(input, ctx)),
          stopped,
        ]);
        return { kind: 'completed', result, attempt };
      } catch (error) {
        const outcome = outcomeOfError(error, attempt);
        if (outcome?.kind !== 'failed') return outcome;
        const at = deps.now();
        failures.push({ attempt, error: outcome.error, at: at.toISOString() });
        const all = failures.length > 1 ? failures : undefined;
        if (attempt >= policy.maxAttempts) return { ...outcome, attempts: all };
        const waitMs = backoffMs(policy, attempt, deps.random ?? Math.random);
        if (stopAt !== undefined && at.getTime() + waitMs >= stopAt) {
          log.warn('No time left for another attempt before the deadline', {
            jobName: info.jobName,
            runId: info.runId,
            attempt,
          });
          return { ...outcome, attempts: all };
        }
        try {
          await Promise.race([delay(waitMs, signal), stopped]);
        } catch (reason) {
          return outcomeOfError(reason, attempt);
        }
        attempt += 1;
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
        if (signal.aborted) return outcomeOfError(signal.reason, attempt);
        log.info('Retrying the run', { jobName: info.jobName, runId: info.runId, attempt });
      }
    }
  } finally {
    heartbeat.stop();
    controller.abort(new RunNotActiveError('The attempt is over'));
  }
}

/** Full jitter: a random wait up to the capped exponential backoff of attempt `attempt`. */
export function backoffMs(policy: RetryPolicy, attempt: number, random: () => number): number {
  const ceiling = Math.min(
    policy.maxBackoffMs,
    policy.initialBackoffMs * policy.multiplier ** Math.max(0, attempt - 1),
  );
  return Math.floor(random() * Math.max(0, ceiling));
}

interface ContextHooks {
  readonly onWrite: () => void;
  readonly heed: (record: ActiveJob | undefined) => void;
  readonly stop: (reason: Error) => void;
  readonly progressEvents: () => boolean;
}

function jobContext(
  info: AttemptInfo,
  attempt: number,
  signal: AbortSignal,
  invocation: Invocation,
  deps: WorkerDeps,
  hooks: ContextHooks,
): JobContext {
  return {
    jobName: info.jobName,
    runId: info.runId,
    type: info.type,
    attempt,
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
      // A progress write is a heartbeat: the next one is due an interval from now.
      hooks.onWrite();
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
      hooks.heed(record);
      signal.throwIfAborted();
      if (hooks.progressEvents()) {
        await announce(
          JobEventType.Progress,
          jobProgressDetailSchema.parse({
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
    },
  };
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

/**
 * Stops the job at its deadline, or shortly before Lambda would kill it,
 * whichever is first, so the run ends TIMED_OUT at once instead of being
 * killed, retried from scratch and reported by the OnFailure destination much
 * later. Returns when that is (epoch ms), or undefined for no limit.
 */
function armStop(
  controller: AbortController,
  info: AttemptInfo,
  invocation: Invocation,
  deps: WorkerDeps,
): number | undefined {
  const now = deps.now().getTime();
  const remainingMs = invocation.getRemainingTimeInMillis();
  let lambdaStop: number | undefined;
  // A runner that cannot say how long is left gets no Lambda limit rather than an instant one.
  if (Number.isFinite(remainingMs) && remainingMs > 0) {
    const marginMs = Math.min(deps.deadlineMarginMs, Math.floor(remainingMs / 4));
    lambdaStop = now + remainingMs - marginMs;
  }
  const deadline = info.deadlineAt ? Date.parse(info.deadlineAt) : Number.NaN;
  const byDeadline =
    Number.isFinite(deadline) && (lambdaStop === undefined || deadline < lambdaStop);
  const stopAt = byDeadline ? deadline : lambdaStop;
  if (stopAt === undefined) return undefined;
  const message = byDeadline
    ? `The run did not finish by its deadline (${info.deadlineAt})`
    : `The job did not finish within the worker's time limit (${remainingMs} ms were left when it started)`;
  const timer = setTimeout(
    () => controller.abort(new JobTimeoutError(message)),
    Math.max(0, stopAt - now),
  );
  controller.signal.addEventListener('abort', () => clearTimeout(timer), { once: true });
  return stopAt;
}

function outcomeOfError(error: unknown, attempt: number): RunOutcome | undefined {
  if (error instanceof RunNotActiveError) return undefined;
  if (error instanceof JobTimeoutError) {
    return { kind: 'timedOut', reason: truncate(error.message), attempt };
  }
  if (isJobCancelledError(error)) {
    return { kind: 'cancelled', reason: truncate(messageOf(error)), attempt };
  }
  return { kind: 'failed', error: toJobError(error), attempt };
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
        jobCancelledDetailSchema.parse({
          ...base,
          reason: outcome.reason,
          reportedBy: Reporter.Worker,
        }),
        deps,
      );
    case 'timedOut':
      return entryFor(
        JobEventType.TimedOut,
        jobTimedOutDetailSchema.parse({
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

function failedEntry(
  base: OutcomeBase,
  error: JobError,
  deps: WorkerDeps,
  attempts?: readonly AttemptError[],
): OutcomeEntry {
  const detail = attempts ? { ...base, error, attempts } : { ...base, error };
  return entryFor(JobEventType.Failed, jobFailedDetailSchema.parse(detail), deps);
}

function entryFor(detailType: JobOutcomeEventType, detail: object, deps: WorkerDeps): OutcomeEntry {
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
