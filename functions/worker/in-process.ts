/**
 * A job type run in-process, for unit tests (`eventjobs/testing`): no table,
 * no bus, no Lambda. The input is validated as start-job and the worker
 * validate it, and the run goes through the worker's own attempts loop
 * (`attempts.ts`): the same context, retries, backoff, deadline and mapping of
 * errors to outcomes. What the worker would write, the test gets back.
 */
import { randomUUID } from 'node:crypto';
import { AppError } from '../../core/errors';
import { JobCancelledError } from '../../core/job-errors';
import type { CompletedRun, JobError, JobOutcomeStatus, JobType } from '../../core/job-type';
import type { JobProgress } from '../../core/model';
import { type StepRecord, type StepView, stepView } from '../../core/steps';
import { describeIssues, type Issue, validate } from '../shared/validate';
import {
  type AttemptLog,
  type AttemptsResult,
  messageOf,
  type RunOutcome,
  resultJson,
  runAttempts,
  stopRun,
} from './attempts';
import { StepRunner } from './steps';

/** The run's deadline when neither the options nor the type give one: Lambda's longest timeout. */
export const DEFAULT_TEST_TIMEOUT_MS = 15 * 60 * 1000;

/** One `ctx.progress` call, as the worker records it on the job record. */
export interface ProgressReport {
  /** 0 to 100: what the job reported, clamped and rounded. */
  readonly percent: number;
  /** The job's message, cut to 4000 characters. */
  readonly message?: string;
  /** When it was reported (ISO 8601). */
  readonly at: string;
  /** The attempt that reported it. */
  readonly attempt: number;
}

/** An attempt that threw and was followed by another (or was the last). */
export interface FailedAttempt {
  readonly attempt: number;
  readonly error: JobError;
  /** When it failed (ISO 8601). */
  readonly at: string;
}

/** How a run ended: what the worker would have reported. */
export interface JobRunResult<R = unknown> {
  readonly status: JobOutcomeStatus;
  /**
   * What the job returned, when SUCCEEDED, as callers get it: through JSON, so
   * nothing becomes `null`, a `Date` a string, and `undefined` keys are gone.
   */
  readonly result?: R;
  /** Why it FAILED: the error's name and message (the last attempt's). */
  readonly error?: JobError;
  /** Why it was CANCELLED or TIMED_OUT. */
  readonly reason?: string;
  /** The last attempt's number (the attempts the `attempt` option stands for included). */
  readonly attempts: number;
  /** Every attempt that threw, in order. */
  readonly failedAttempts: readonly FailedAttempt[];
  /** Every progress report, in order. */
  readonly progress: readonly ProgressReport[];
  /** From the start to the outcome, on the `now` clock (sleeps count, though they are skipped). */
  readonly durationMs: number;
  /** The run's steps and sleeps, as `GET /jobs/{name}` would show them. */
  readonly steps: readonly StepView[];
  /**
   * How many invocations the run took: 1, plus one per sleep (an in-process
   * run has no invocation limit, so it never continues).
   */
  readonly invocations: number;
}

/** How to run the job: its identity, its limits and what the test controls. */
export interface RunJobOptions {
  /**
   * `ctx.jobName`.
   *
   * @default 'test-job'
   */
  readonly jobName?: string;
  /**
   * `ctx.runId`.
   *
   * @default - a random UUID
   */
  readonly runId?: string;
  /**
   * The number of the first attempt, as if the earlier ones had happened (and
   * failed); the retry policy counts them. A whole number, at least 1.
   *
   * @default 1
   */
  readonly attempt?: number;
  /**
   * The run's deadline, in ms from now. At it the signal aborts with
   * `JobTimeoutError` and the run ends TIMED_OUT, even if the job ignores the signal.
   *
   * @default - the type's `defaultTimeoutSeconds`, else 15 minutes
   */
  readonly timeoutMs?: number;
  /**
   * What `ctx.remainingTimeMs()` answers: a number (always the same) or a
   * function. It does not stop the run; `timeoutMs` does.
   *
   * @default - the time left before the deadline
   */
  readonly remainingTimeMs?: number | (() => number);
  /**
   * Cancels the run this many ms after it starts, as a cancel request would.
   *
   * @default - never
   */
  readonly cancelAfterMs?: number;
  /**
   * An outside signal; when it aborts, the run is cancelled.
   *
   * @default - none
   */
  readonly signal?: AbortSignal;
  /**
   * Called with each progress report while the job waits in `ctx.progress`
   * (for a promise it returns, too); what it throws, `ctx.progress` throws.
   *
   * @default - none
   */
  readonly onProgress?: (report: ProgressReport) => unknown;
  /**
   * A number in [0, 1) for the retry backoff's jitter; `() => 0` retries at once.
   *
   * @default Math.random
   */
  readonly random?: () => number;
  /**
   * The signals sent to the run, by name: what `ctx.waitForSignal` returns.
   * A wait for a signal not given here times out (or meets the deadline).
   *
   * @default - none
   */
  readonly signals?: Readonly<Record<string, unknown>>;
  /**
   * The clock: progress and failure times, the deadline and the duration.
   *
   * @default - the system clock
   */
  readonly now?: () => Date;
}

/** A run in progress, from `startJob`. */
export interface JobRun<R = unknown> {
  /** Cancels the run (a no-op once it ended); the job's signal aborts with `JobCancelledError`. */
  cancel(reason?: string): void;
  /** How the run ended; rejects with `JobInputError` for input the type's schema refuses. */
  readonly outcome: Promise<JobRunResult<R>>;
  /** The progress reports so far. */
  readonly progress: readonly ProgressReport[];
}

/** The type's schema refused the input: start-job would answer 400 and never run the job. */
export class JobInputError extends AppError {
  /** Where and what, as the schema reported them. */
  readonly issues: readonly Issue[];

  constructor(type: string, issues: readonly Issue[], options?: ErrorOptions) {
    super(`The input is not valid for job type "${type}": ${describeIssues(issues)}`, options);
    this.issues = issues;
  }
}

// The loop's two log lines say what `failedAttempts` and `attempts` already show.
const quiet: AttemptLog = { info: () => undefined, warn: () => undefined };

/** Runs one run of `type` with `input` in-process, and resolves with how it ended. */
export function runJob<I, R>(
  type: JobType<I, R>,
  input: unknown,
  options: RunJobOptions = {},
): Promise<JobRunResult<R>> {
  return startJob(type, input, options).outcome;
}

/** Starts one run of `type` with `input` in-process; for tests that act while it runs. */
export function startJob<I, R>(
  type: JobType<I, R>,
  input: unknown,
  options: RunJobOptions = {},
): JobRun<R> {
  const controller = new AbortController();
  const progress: ProgressReport[] = [];
  const outcome = run(type, input, options, controller, progress);
  return {
    cancel: (reason) => stopRun(controller, new JobCancelledError(reason ?? 'Cancel requested')),
    outcome,
    progress,
  };
}

/**
 * Calls the type's `onComplete` hook with `completed`, as the completion
 * function does; rejects with what the hook throws (the run would be recorded
 * FAILED with `OnCompleteError`). Resolves false when the type has no hook.
 */
export async function runOnComplete<I, R>(
  type: JobType<I, R>,
  completed: CompletedRun<I, R>,
): Promise<boolean> {
  if (!type.onComplete) return false;
  await type.onComplete(completed);
  return true;
}

async function run<I, R>(
  type: JobType<I, R>,
  input: unknown,
  options: RunJobOptions,
  controller: AbortController,
  progress: ProgressReport[],
): Promise<JobRunResult<R>> {
  checkOptions(options);
  const parsed = validate(type.input, input);
  if (!parsed.success) {
    throw new JobInputError(type.name, parsed.error.issues, { cause: parsed.error });
  }
  const clock = options.now ?? (() => new Date());
  // Sleeps are skipped: the clock jumps to each sleep's end, as if its timer had fired.
  let skippedMs = 0;
  const now = (): Date => new Date(clock().getTime() + skippedMs);
  const start = now().getTime();
  const deadline = start + (options.timeoutMs ?? timeoutOf(type));
  const firstAttempt = options.attempt ?? 1;
  const runId = options.runId ?? randomUUID();
  const release = armCancels(controller, options);
  // The run's checkpoints, kept in memory across its invocations.
  const checkpoints = new Map<string, StepRecord>();
  // A sleep ends an invocation, not an attempt: the next one goes on with its count and failures.
  let attempt = firstAttempt;
  const failures: AttemptsResult['failures'][number][] = [];
  try {
    for (let invocation = 1; ; invocation++) {
      // Each invocation has its own signal; the run's cancel reaches every one.
      const current = new AbortController();
      const forward = (): void => stopRun(current, controller.signal.reason);
      if (controller.signal.aborted) forward();
      else controller.signal.addEventListener('abort', forward, { once: true });
      let attempts: AttemptsResult;
      try {
        attempts = await runAttempts({
          jobType: type,
          input: parsed.data,
          jobName: options.jobName ?? 'test-job',
          runId,
          type: type.name,
          firstAttempt: attempt,
          controller: current,
          // No invocation limit: in a test, the deadline stands for both.
          limits: { deadlineAt: new Date(deadline).toISOString(), marginMs: 0 },
          remainingTimeMs: remainingTimeOf(options.remainingTimeMs, deadline, now),
          now,
          random: options.random,
          log: quiet,
          invocation,
          steps: new StepRunner([...checkpoints.values()], {
            now,
            writer: { save: async (step) => void checkpoints.set(step.name, step) },
            readSignal: async (name) => signalJson(options.signals, name),
          }),
          hooks: {
            recordProgress: async (report: JobProgress, attempt: number) => {
              const recorded: ProgressReport = { ...report, attempt };
              progress.push(recorded);
              await options.onProgress?.(recorded);
            },
          },
        });
      } finally {
        controller.signal.removeEventListener('abort', forward);
      }
      failures.push(...attempts.failures);
      attempts = { ...attempts, failures: [...failures] };
      const { outcome } = attempts;
      attempt = outcome?.attempt ?? attempt;
      const common = {
        attempts: firstAttempt,
        progress: [...progress],
        durationMs: Math.max(0, Math.round(now().getTime() - start)),
        steps: [...checkpoints.values()].map(stepView),
        invocations: invocation,
      };
      const waiting = outcome?.kind === 'suspended' && outcome.signalName !== undefined;
      if (outcome?.kind !== 'suspended' || (outcome.wakeAt === undefined && !waiting)) {
        return resultOf<R>(attempts, common);
      }
      // The worker's timer fires at the sleep's end (a wait's timeout), or at the deadline if
      // that comes first. A signal the test did not give never comes.
      const wake =
        outcome.wakeAt === undefined ? Number.POSITIVE_INFINITY : Date.parse(outcome.wakeAt);
      if (wake > deadline) {
        skippedMs += Math.max(0, deadline - now().getTime());
        const where = waiting
          ? `while it waited for the signal "${outcome.signalName}"`
          : `while it slept in "${outcome.sleepName}", which was to end at ${outcome.wakeAt}`;
        return resultOf<R>(
          {
            outcome: {
              kind: 'timedOut',
              attempt: outcome.attempt,
              reason: `The run's deadline (${new Date(deadline).toISOString()}) came ${where}`,
            },
            failures: attempts.failures,
          },
          { ...common, durationMs: Math.max(0, Math.round(now().getTime() - start)) },
        );
      }
      skippedMs += Math.max(0, wake - now().getTime());
    }
  } finally {
    release();
  }
}

/** A given signal's payload as JSON (null for `undefined`), or undefined when none was given. */
function signalJson(
  signals: Readonly<Record<string, unknown>> | undefined,
  name: string,
): string | undefined {
  if (!signals || !Object.hasOwn(signals, name)) return undefined;
  return JSON.stringify(signals[name] ?? null);
}

function checkOptions(options: RunJobOptions): void {
  const { attempt, timeoutMs, cancelAfterMs } = options;
  if (attempt !== undefined && (!Number.isSafeInteger(attempt) || attempt < 1)) {
    throw new RangeError(`attempt must be a whole number, at least 1; got ${attempt}`);
  }
  if (timeoutMs !== undefined && (!Number.isFinite(timeoutMs) || timeoutMs <= 0)) {
    throw new RangeError(`timeoutMs must be a number of ms above 0; got ${timeoutMs}`);
  }
  if (cancelAfterMs !== undefined && (!Number.isFinite(cancelAfterMs) || cancelAfterMs < 0)) {
    throw new RangeError(`cancelAfterMs must be a number of ms, at least 0; got ${cancelAfterMs}`);
  }
}

function timeoutOf(type: JobType<unknown, unknown>): number {
  const seconds = type.defaultTimeoutSeconds;
  return seconds === undefined ? DEFAULT_TEST_TIMEOUT_MS : seconds * 1000;
}

function remainingTimeOf(
  option: RunJobOptions['remainingTimeMs'],
  deadline: number,
  now: () => Date,
): () => number {
  if (typeof option === 'function') return option;
  if (option !== undefined) return () => option;
  return () => Math.max(0, deadline - now().getTime());
}

/** Wires `cancelAfterMs` and the outside signal to the run; returns what undoes it. */
function armCancels(controller: AbortController, options: RunJobOptions): () => void {
  const { signal: outside, cancelAfterMs } = options;
  const timer =
    cancelAfterMs === undefined
      ? undefined
      : setTimeout(
          () =>
            stopRun(
              controller,
              new JobCancelledError(`Cancelled by the test after ${cancelAfterMs} ms`),
            ),
          cancelAfterMs,
        );
  const onAbort = (): void => {
    const reason: unknown = outside?.reason;
    const message = `The outside signal aborted: ${messageOf(reason)}`;
    stopRun(controller, new JobCancelledError(message, { cause: reason }));
  };
  if (outside?.aborted) onAbort();
  else outside?.addEventListener('abort', onAbort, { once: true });
  return () => {
    clearTimeout(timer);
    outside?.removeEventListener('abort', onAbort);
  };
}

type Common = Pick<JobRunResult, 'attempts' | 'progress' | 'durationMs' | 'steps' | 'invocations'>;

/** The outcome as the test sees it: what the worker would have put in its terminal event. */
function resultOf<R>({ outcome, failures }: AttemptsResult, common: Common): JobRunResult<R> {
  if (!outcome) {
    // Only a job that throws RunNotActiveError itself gets here: the worker reports nothing then.
    throw new Error('The run ended with no outcome: the job threw RunNotActiveError');
  }
  const base = { ...common, attempts: outcome.attempt ?? common.attempts };
  const failedAttempts = [...failures];
  switch (outcome.kind) {
    case 'completed':
      return completed<R>(outcome, { ...base, failedAttempts });
    case 'failed':
      return { status: 'FAILED', error: outcome.error, ...base, failedAttempts };
    case 'cancelled':
      return { status: 'CANCELLED', reason: outcome.reason, ...base, failedAttempts };
    case 'timedOut':
      return { status: 'TIMED_OUT', reason: outcome.reason, ...base, failedAttempts };
    case 'suspended':
      // A continuation needs an invocation limit, which an in-process run has not.
      throw new Error(`The run suspended without a sleep: ${outcome.reason}`);
  }
}

function completed<R>(
  outcome: Extract<RunOutcome, { kind: 'completed' }>,
  base: Omit<JobRunResult<R>, 'status'>,
): JobRunResult<R> {
  const serialized = resultJson(outcome.result);
  if ('error' in serialized) return { status: 'FAILED', error: serialized.error, ...base };
  return { status: 'SUCCEEDED', result: JSON.parse(serialized.json) as R, ...base };
}
