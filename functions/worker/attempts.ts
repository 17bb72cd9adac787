/**
 * How one run of a job is executed, without any storage: the job's context,
 * the attempts loop with its retry policy and full-jitter backoff, the stop at
 * the run's deadline (or shortly before the invocation's end), and how what a
 * job throws becomes an outcome.
 *
 * The worker (`service.ts`) runs it with hooks that write progress and attempts
 * to the table and announce them on the bus; `eventjobs/testing` runs the very
 * same loop in-process, so a job's unit tests see what the worker would do.
 */

import type { AttemptError } from '../../core/events';
import {
  isJobCancelledError,
  JobTimeoutError,
  RunNotActiveError,
  RunSuspendedError,
} from '../../core/job-errors';
import {
  type JobContext,
  type JobError,
  type JobType,
  NO_RETRIES,
  type RetryPolicy,
} from '../../core/job-type';
import type { JobProgress } from '../../core/model';
import { delay } from '../../core/signals';
import { isNonRetryable } from '../../core/steps';
import { log } from '../shared/log';
import { truncate } from '../shared/text';
import { messageOf, toJobError } from './errors';
import { StepRunner } from './steps';

// Part of the loop's contract for its callers (the worker, eventjobs/testing).
export { messageOf, toJobError } from './errors';

/** How a run ended, before it is turned into an event; `attempt` is the last one's number. */
export type RunOutcome = { readonly attempt?: number } & (
  | { readonly kind: 'completed'; readonly result: unknown }
  | {
      readonly kind: 'failed';
      readonly error: JobError;
      readonly attempts?: readonly AttemptError[];
    }
  | { readonly kind: 'cancelled'; readonly reason: string }
  | { readonly kind: 'timedOut'; readonly reason: string }
  | {
      /**
       * The run stops this invocation without ending: a sleep (`sleepName`,
       * `wakeAt`), a wait for a signal (`signalName`, `wakeAt` its timeout if
       * any) or a continuation (neither).
       */
      readonly kind: 'suspended';
      readonly reason: string;
      readonly wakeAt?: string;
      readonly sleepName?: string;
      readonly signalName?: string;
    }
);

/**
 * What the runner of the loop keeps of a run besides running it. The worker
 * persists here; a hook may abort the run's controller (a cancel it learned of).
 * What a hook throws propagates: out of `ctx.progress`, or out of `runAttempts`.
 */
export interface AttemptHooks {
  /**
   * A job reported valid progress (rounded and clamped to 0..100) and its run
   * was still on. `ctx.progress` resolves after it, unless the run was stopped meanwhile.
   *
   * @default - progress is not kept
   */
  readonly recordProgress?: (progress: JobProgress, attempt: number) => Promise<void>;
  /**
   * Attempt `attempt` (2 or more) is about to start, after its backoff.
   *
   * @default - nothing is recorded
   */
  readonly recordAttempt?: (attempt: number) => Promise<void>;
}

/** When a run must stop; see `armStop`. */
export interface StopLimits {
  /**
   * The run's deadline (ISO 8601).
   *
   * @default - none
   */
  readonly deadlineAt?: string;
  /**
   * What was left of the invocation when the run started, in ms; not finite or
   * not positive means the runner cannot say, and then only the deadline stops the run.
   *
   * @default - no invocation limit
   */
  readonly remainingMs?: number;
  /** How long before the invocation's end the run is stopped; at most a quarter of `remainingMs`. */
  readonly marginMs: number;
  /**
   * What stops the run at the invocation's end, instead of `JobTimeoutError`:
   * a `RunSuspendedError` for a run that can continue in a fresh invocation.
   *
   * @default - the run times out
   */
  readonly atInvocationEnd?: () => Error | undefined;
}

/** The two log lines the loop writes. */
export type AttemptLog = Pick<typeof log, 'info' | 'warn'>;

/** Everything `runAttempts` needs for one run. */
export interface AttemptsRun {
  readonly jobType: JobType;
  /** The parsed input (the type's schema has accepted it). */
  readonly input: unknown;
  readonly jobName: string;
  readonly runId: string;
  /** The type name the run was started with (`ctx.type`). */
  readonly type: string;
  /** The number of the first attempt this invocation makes (1 unless earlier ones happened). */
  readonly firstAttempt: number;
  /**
   * Its signal is the job's `ctx.signal`. The caller aborts it (with
   * `JobCancelledError`, ...) to stop the run; the loop aborts it when the run is over.
   */
  readonly controller: AbortController;
  readonly limits: StopLimits;
  /** What `ctx.remainingTimeMs()` answers. */
  readonly remainingTimeMs: () => number;
  readonly now: () => Date;
  /**
   * A number in [0, 1) for the retry jitter.
   *
   * @default Math.random
   */
  readonly random?: () => number;
  /** @default - nothing is persisted */
  readonly hooks?: AttemptHooks;
  /**
   * The run's steps and sleeps, with the checkpoints of earlier invocations.
   *
   * @default - no checkpoints, kept in memory only
   */
  readonly steps?: StepRunner;
  /** `ctx.invocation`. @default 1 */
  readonly invocation?: number;
  /** @default - the functions' structured log */
  readonly log?: AttemptLog;
}

/** How the run ended (undefined: nobody wants its outcome), and every failed attempt. */
export interface AttemptsResult {
  readonly outcome: RunOutcome | undefined;
  readonly failures: readonly AttemptError[];
}

/** Aborts the controller with `reason` unless it is aborted already (the first reason wins). */
export function stopRun(controller: AbortController, reason: Error): void {
  if (!controller.signal.aborted) controller.abort(reason);
}

/** Runs the job, retrying it by its type's policy, until it ends or is stopped. */
export async function runAttempts(run: AttemptsRun): Promise<AttemptsResult> {
  const { controller, jobType } = run;
  const { signal } = controller;
  const steps =
    run.steps ?? new StepRunner([], { writer: { save: async () => undefined }, now: run.now });
  const logger = run.log ?? log;
  const stopAt = armStop(controller, run.limits, run.now().getTime());
  // The job gets to stop on its own first; if it ignores the signal, the race still ends the run.
  const stopped = rejectOnAbort(signal);
  const policy = jobType.retry ?? NO_RETRIES;
  const failures: AttemptError[] = [];
  const end = (outcome: RunOutcome | undefined): AttemptsResult => ({ outcome, failures });
  let attempt = run.firstAttempt;
  try {
    // Stopped before it began (an outside cancel): the job is not started at all.
    if (signal.aborted) return end(outcomeOfError(signal.reason, attempt));
    for (;;) {
      steps.newAttempt();
      const ctx = jobContext(run, attempt, signal, steps);
      try {
        const result = await Promise.race([
          Promise.resolve().then(() => jobType.run(run.input, ctx)),
          stopped,
        ]);
        return end({ kind: 'completed', result, attempt });
      } catch (error) {
        const outcome = outcomeOfError(error, attempt);
        if (outcome?.kind !== 'failed') return end(outcome);
        const at = run.now();
        failures.push({ attempt, error: outcome.error, at: at.toISOString() });
        const failed = { ...outcome, attempts: failures.length > 1 ? [...failures] : undefined };
        if (attempt >= policy.maxAttempts || isNonRetryable(error)) return end(failed);
        const waitMs = backoffMs(policy, attempt, run.random ?? Math.random);
        if (stopAt !== undefined && at.getTime() + waitMs >= stopAt) {
          logger.warn('No time left for another attempt before the deadline', {
            jobName: run.jobName,
            runId: run.runId,
            attempt,
          });
          return end(failed);
        }
        try {
          await Promise.race([delay(waitMs, signal), stopped]);
        } catch (reason) {
          return end(outcomeOfError(reason, attempt));
        }
        attempt += 1;
        await run.hooks?.recordAttempt?.(attempt);
        if (signal.aborted) return end(outcomeOfError(signal.reason, attempt));
        logger.info('Retrying the run', { jobName: run.jobName, runId: run.runId, attempt });
      }
    }
  } finally {
    stopRun(controller, new RunNotActiveError('The attempt is over'));
  }
}

/** A promise that rejects with the signal's reason when it aborts (at once if it has). */
function rejectOnAbort(signal: AbortSignal): Promise<never> {
  const stopped = new Promise<never>((_resolve, reject) => {
    if (signal.aborted) reject(signal.reason);
    else signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
  // Nobody may be racing it when it rejects; that is not an unhandled rejection.
  stopped.catch(() => undefined);
  return stopped;
}

/** Full jitter: a random wait up to the capped exponential backoff of attempt `attempt`. */
export function backoffMs(policy: RetryPolicy, attempt: number, random: () => number): number {
  const ceiling = Math.min(
    policy.maxBackoffMs,
    policy.initialBackoffMs * policy.multiplier ** Math.max(0, attempt - 1),
  );
  return Math.floor(random() * Math.max(0, ceiling));
}

function jobContext(
  run: AttemptsRun,
  attempt: number,
  signal: AbortSignal,
  steps: StepRunner,
): JobContext {
  return {
    jobName: run.jobName,
    runId: run.runId,
    type: run.type,
    attempt,
    invocation: run.invocation ?? 1,
    signal,
    step: (name, fn) => steps.step(name, fn, signal),
    sleep: (name, duration) => suspending(run, () => steps.sleep(name, duration, signal)),
    waitForSignal: (name, options) =>
      suspending(run, () => steps.waitForSignal(name, options, signal)),
    remainingTimeMs: () => run.remainingTimeMs(),
    async progress(percent, message) {
      if (typeof percent !== 'number' || !Number.isFinite(percent)) {
        throw new TypeError(
          `Progress must be a finite number from 0 to 100, got ${String(percent)}`,
        );
      }
      signal.throwIfAborted();
      const progress: JobProgress = {
        percent: Math.round(Math.min(100, Math.max(0, percent))),
        at: run.now().toISOString(),
        ...(message === undefined ? {} : { message: truncate(String(message)) }),
      };
      await run.hooks?.recordProgress?.(progress, attempt);
      // What the hook learned (a cancel request) reaches the job as the abort reason.
      signal.throwIfAborted();
    },
  };
}

/** Runs a sleep or a wait; a suspension stops the run even if the job catches it. */
async function suspending<T>(run: AttemptsRun, wait: () => Promise<T>): Promise<T> {
  try {
    return await wait();
  } catch (error) {
    if (error instanceof RunSuspendedError) stopRun(run.controller, error);
    throw error;
  }
}

/**
 * Stops the job at its deadline, or shortly before the invocation would be
 * killed, whichever is first, so the run ends TIMED_OUT at once instead of being
 * killed, retried from scratch and reported by the OnFailure destination much
 * later. Returns when that is (epoch ms), or undefined for no limit.
 */
export function armStop(
  controller: AbortController,
  limits: StopLimits,
  now: number,
): number | undefined {
  const remainingMs = limits.remainingMs ?? Number.NaN;
  let lambdaStop: number | undefined;
  // A runner that cannot say how long is left gets no invocation limit rather than an instant one.
  if (Number.isFinite(remainingMs) && remainingMs > 0) {
    const marginMs = Math.min(limits.marginMs, Math.floor(remainingMs / 4));
    lambdaStop = now + remainingMs - marginMs;
  }
  const deadline = limits.deadlineAt ? Date.parse(limits.deadlineAt) : Number.NaN;
  const byDeadline =
    Number.isFinite(deadline) && (lambdaStop === undefined || deadline < lambdaStop);
  const stopAt = byDeadline ? deadline : lambdaStop;
  if (stopAt === undefined) return undefined;
  const message = byDeadline
    ? `The run did not finish by its deadline (${limits.deadlineAt})`
    : `The job did not finish within the worker's time limit (${remainingMs} ms were left when it started)`;
  const timer = setTimeout(
    () =>
      stopRun(
        controller,
        (!byDeadline && limits.atInvocationEnd?.()) || new JobTimeoutError(message),
      ),
    Math.max(0, stopAt - now),
  );
  controller.signal.addEventListener('abort', () => clearTimeout(timer), { once: true });
  return stopAt;
}

/** What a thrown value (or an abort reason) means for the run; undefined when nobody wants it. */
export function outcomeOfError(error: unknown, attempt: number): RunOutcome | undefined {
  if (error instanceof RunNotActiveError) return undefined;
  if (error instanceof RunSuspendedError) {
    return {
      kind: 'suspended',
      reason: error.message,
      attempt,
      ...(error.wakeAt ? { wakeAt: error.wakeAt } : {}),
      ...(error.sleepName ? { sleepName: error.sleepName } : {}),
      ...(error.signalName ? { signalName: error.signalName } : {}),
    };
  }
  if (error instanceof JobTimeoutError) {
    return { kind: 'timedOut', reason: truncate(error.message), attempt };
  }
  if (isJobCancelledError(error)) {
    return { kind: 'cancelled', reason: truncate(messageOf(error)), attempt };
  }
  return { kind: 'failed', error: toJobError(error), attempt };
}

/**
 * A result as the outcome carries it (nothing is `null`, since the event's
 * detail must have the key) with its JSON, or the error a run that returned
 * something JSON cannot carry fails with.
 */
export function resultJson(
  value: unknown,
): { readonly result: unknown; readonly json: string } | { readonly error: JobError } {
  const result = value === undefined ? null : value;
  let json: string | undefined;
  try {
    json = JSON.stringify(result);
  } catch (error) {
    return notSerializable(messageOf(error));
  }
  if (json === undefined) return notSerializable(`JSON has no form for a ${typeof result}`);
  return { result, json };
}

function notSerializable(why: string): { readonly error: JobError } {
  const message = truncate(`The result cannot be converted to JSON: ${why}`);
  return { error: { name: 'ResultNotSerializableError', message } };
}
