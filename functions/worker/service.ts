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
import { JobCancelledError, RunNotActiveError, RunSuspendedError } from '../../core/job-errors';
import { type JobType, NO_RETRIES } from '../../core/job-type';
import type { ActiveJob } from '../../core/model';
import { MAX_RUN_TIMEOUT_SECONDS, type StepRecord, StepTooLongError } from '../../core/steps';
import { appendJobKeys, log, runKeys } from '../shared/log';
import type { JobMetrics } from '../shared/metrics';
import type { StepStore } from '../shared/step-store';
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
import { type Resumer, timerName } from './resume';
import { StepRunner } from './steps';

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
  /** The runs' step checkpoints. */
  readonly steps: StepStore;
  /** How a suspended run is resumed: a continuation now, or a timer at a sleep's end. */
  readonly resumer: Resumer;
  /** How long outcomes are kept; step checkpoints are kept as long past the run's deadline. */
  readonly retentionSeconds: number;
}

/** What the worker uses of the Lambda context. */
export type Invocation = Pick<
  Context,
  'awsRequestId' | 'getRemainingTimeInMillis' | 'functionName' | 'invokedFunctionArn'
>;

export type WorkerResult =
  | { readonly status: 'skipped'; readonly reason: string }
  | { readonly status: 'reported'; readonly detailType: JobOutcomeEventType }
  | { readonly status: 'suspended'; readonly wakeAt?: string };

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
  // Taking over a lease (a dead invocation's, or this one's on Lambda's retry) starts a
  // new attempt; after a suspension (sleep, continuation) the run goes on in the same one.
  const attempt =
    active.attempt === undefined ? 1 : active.leaseId ? active.attempt + 1 : active.attempt;
  const jobType = deps.getJobType(run.type);
  const start = deps.now();
  const startAt = start.toISOString();
  const heartbeatMs = deps.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS;
  const claim = await deps.store.claimRun(run.owner, run.jobName, run.runId, {
    at: startAt,
    attempt,
    maxAttempts: (jobType?.retry ?? NO_RETRIES).maxAttempts,
    leaseId: invocation.awsRequestId,
    staleBefore: new Date(start.getTime() - staleLeaseMs(heartbeatMs)).toISOString(),
    deadlineAt: deadlineFor(active, jobType, start, deps),
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
  const invocations = started.invocations ?? 1;
  log.info(invocations === 1 ? 'Run started' : 'Run resumed', {
    ...logFields,
    attempt,
    invocations,
    resume: run.resume ?? null,
    deadlineAt: info.deadlineAt ?? null,
  });
  // A continuation or a wake goes on with the same attempt: no second `Job Started`.
  const newAttempt = invocations === 1 || attempt !== active.attempt || run.resume === 'redrive';
  if (newAttempt)
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

  const outcome = await decideOutcome(run, info, active, started, invocation, deps);
  if (!outcome) {
    return skip('The run stopped being active while it ran; no outcome to report', logFields);
  }
  if (outcome.kind === 'suspended') return suspend(run, info, outcome, invocation, deps, logFields);
  const detailType = await report(info, outcome, deps);
  log.info('Run ended', { ...logFields, attempt: outcome.attempt ?? attempt, detailType });
  return { status: 'reported', detailType };
}

/**
 * When the run times out: the request's timeout, else the type's default, else
 * the worker's own timeout; at most 30 days; measured from the first attempt's start.
 * A deadline already on the record (an earlier attempt's) wins in the store.
 */
function deadlineFor(
  active: ActiveJob,
  jobType: JobType | undefined,
  start: Date,
  deps: WorkerDeps,
): string | undefined {
  if (active.deadlineAt) return active.deadlineAt;
  // A run that uses no steps still stops at the worker's timeout (see `armStop`).
  const requested =
    active.timeoutSeconds ?? jobType?.defaultTimeoutSeconds ?? deps.maxTimeoutSeconds;
  const seconds =
    requested === undefined ? undefined : Math.min(requested, MAX_RUN_TIMEOUT_SECONDS);
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
  before: ActiveJob,
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
    return { kind: 'timedOut', reason: deadlineReason(info.deadlineAt, before) };
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
  const steps = started.checkpointed
    ? await deps.steps.list(run, Math.floor(deps.now().getTime() / 1000))
    : [];
  return execute(jobType, input.data, info, started, steps, invocation, deps);
}

/** Why a run's deadline ended it, naming the sleep it was in. */
function deadlineReason(deadlineAt: string, before: ActiveJob): string {
  const { sleepName, wakeAt, waitingFor } = before;
  if (waitingFor) {
    return `The run's deadline (${deadlineAt}) passed while it waited for the signal "${waitingFor}"`;
  }
  if (!sleepName || !wakeAt) return `The run's deadline (${deadlineAt}) had passed`;
  if (Date.parse(wakeAt) > Date.parse(deadlineAt)) {
    return (
      `The run's deadline (${deadlineAt}) came while it slept in "${sleepName}", which was to ` +
      `end at ${wakeAt}: a sleep must end before the run's deadline (ask for a longer ` +
      `timeoutSeconds, up to ${MAX_RUN_TIMEOUT_SECONDS} s, or sleep less)`
    );
  }
  return `The run's deadline (${deadlineAt}) passed while it slept in "${sleepName}"`;
}

/**
 * Gives up this invocation without ending the run: frees the lease, then
 * hands the run on, at once (a continuation) or by a timer at the sleep's end
 * (or at the deadline, if that comes first). If the hand-over fails, the
 * worker throws: Lambda retries the invocation, which replays to the same point.
 */
async function suspend(
  run: WorkerPayload,
  info: AttemptInfo,
  outcome: Extract<RunOutcome, { kind: 'suspended' }>,
  invocation: Invocation,
  deps: WorkerDeps,
  logFields: Record<string, unknown>,
): Promise<WorkerResult> {
  const at = deps.now().toISOString();
  if (outcome.signalName !== undefined) {
    return waitForSignal(
      run,
      info,
      outcome.signalName,
      outcome.wakeAt,
      invocation,
      deps,
      logFields,
    );
  }
  const sleep =
    outcome.wakeAt !== undefined
      ? { name: outcome.sleepName ?? 'sleep', wakeAt: outcome.wakeAt }
      : undefined;
  const suspended = await deps.store.suspendRun(
    run,
    invocation.awsRequestId,
    at,
    sleep && { sleep: sleep.name, wakeAt: sleep.wakeAt },
  );
  if (!suspended) {
    return skip('The run stopped being active while it ran; not resuming it', logFields);
  }
  const payload: WorkerPayload = {
    ...runKeys(run),
    type: run.type,
    submittedAt: at,
    resume: sleep ? 'wake' : 'continue',
  };
  if (!sleep) {
    await deps.resumer.continueRun(payload, invocation.functionName);
    log.info('Run continues in a fresh invocation', { ...logFields, reason: outcome.reason });
    return { status: 'suspended' };
  }
  const wake = Date.parse(sleep.wakeAt);
  const deadline = info.deadlineAt ? Date.parse(info.deadlineAt) : Number.POSITIVE_INFINITY;
  if (wake > deadline) {
    log.warn("The sleep ends after the run's deadline: the run will time out at its deadline", {
      ...logFields,
      sleep: sleep.name,
      wakeAt: sleep.wakeAt,
      deadlineAt: info.deadlineAt ?? null,
    });
  }
  await deps.resumer.wakeAt(
    payload,
    new Date(Math.min(wake, deadline)),
    timerName(run.runId, sleep.name),
    invocation.invokedFunctionArn,
  );
  log.info('Run sleeps', { ...logFields, sleep: sleep.name, wakeAt: sleep.wakeAt });
  return { status: 'suspended', wakeAt: sleep.wakeAt };
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
  started: ActiveJob,
  checkpoints: readonly StepRecord[],
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
  const expiresAt =
    Math.floor((info.deadlineAt ? Date.parse(info.deadlineAt) : deps.now().getTime()) / 1000) +
    deps.retentionSeconds;
  let marked = started.checkpointed === true;
  const steps = new StepRunner(checkpoints, {
    now: deps.now,
    readSignal: async (name) => (await deps.steps.getSignal(info, name))?.payloadJson,
    writer: {
      save: async (step) => {
        if (!marked) {
          const record = await deps.store.markCheckpointed(info.owner, info.jobName, info.runId);
          heed(record);
          if (!record) throw new RunNotActiveError('The run is no longer active');
          marked = true;
        }
        // Refused only when the table has the step finished: another invocation holds the run.
        if (!(await deps.steps.save(info, step, expiresAt))) {
          throw new RunNotActiveError(`Another invocation finished step "${step.name}"`);
        }
      },
    },
  });
  try {
    const { outcome } = await runAttempts({
      steps,
      invocation: started.invocations ?? 1,
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
        atInvocationEnd: () => continuation(steps, deps),
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

/**
 * Suspends a run that waits for a signal. After its record says so, it looks
 * for the signal once more: one sent while the run was suspending found a
 * lease on the record and invoked nobody, so the run goes on at once. Else a
 * timer wakes it at the wait's timeout or the deadline, whichever is first.
 */
async function waitForSignal(
  run: WorkerPayload,
  info: AttemptInfo,
  signal: string,
  timeoutAt: string | undefined,
  invocation: Invocation,
  deps: WorkerDeps,
  logFields: Record<string, unknown>,
): Promise<WorkerResult> {
  const now = deps.now();
  const at = now.toISOString();
  const deadline = info.deadlineAt ? Date.parse(info.deadlineAt) : Number.POSITIVE_INFINITY;
  const timeout = timeoutAt ? Date.parse(timeoutAt) : Number.POSITIVE_INFINITY;
  const wakeMs = Math.min(timeout, deadline);
  // The sweeper leaves the run alone until its timeout or deadline (30 days at most).
  const beatAt = new Date(
    Number.isFinite(wakeMs) ? wakeMs : now.getTime() + MAX_RUN_TIMEOUT_SECONDS * 1000,
  ).toISOString();
  const suspended = await deps.store.suspendRun(run, invocation.awsRequestId, at, {
    signal,
    ...(timeoutAt ? { timeoutAt } : {}),
    beatAt,
  });
  if (!suspended) {
    return skip('The run stopped being active while it ran; not resuming it', logFields);
  }
  const base = { ...runKeys(run), type: run.type, submittedAt: at };
  if (await deps.steps.getSignal(run, signal)) {
    await deps.resumer.continueRun({ ...base, resume: 'signal' }, invocation.functionName);
    log.info('The signal came while the run suspended: it goes on', { ...logFields, signal });
    return { status: 'suspended' };
  }
  if (Number.isFinite(wakeMs)) {
    await deps.resumer.wakeAt(
      { ...base, resume: 'wake' },
      new Date(wakeMs),
      timerName(run.runId, `signal:${signal}`),
      invocation.invokedFunctionArn,
    );
  }
  log.info('Run waits for a signal', { ...logFields, signal, timeoutAt: timeoutAt ?? null });
  return { status: 'suspended', ...(timeoutAt ? { wakeAt: timeoutAt } : {}) };
}

/**
 * What stops a run at the invocation's end: nothing special for a run without
 * checkpoints (it times out, as it always did); a continuation for a run that
 * finished a step in this invocation; `StepTooLongError` for one that did not,
 * since a fresh invocation would only start the same step over.
 */
function continuation(steps: StepRunner, deps: WorkerDeps): Error | undefined {
  if (!steps.used) return undefined;
  if (steps.completedHere === 0) {
    const running = steps.running;
    return new StepTooLongError(
      `${running ? `Step "${running}"` : 'The job'} did not finish a step within a whole worker ` +
        `invocation${deps.maxTimeoutSeconds ? ` (${deps.maxTimeoutSeconds} s)` : ''}: each step must ` +
        'fit in one invocation, so split the work into shorter steps or raise the worker timeout',
    );
  }
  return new RunSuspendedError(
    'The worker invocation is near its end: the run continues in a fresh one',
  );
}
