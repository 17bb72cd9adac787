/**
 * What a job type is. A type is one file that exports a `defineJobType(...)`
 * and one line in `registry.ts`.
 */
import type { JobError } from '../shared/events';
import type { InferOutput, StandardSchemaV1 } from '../shared/schema';

/** What the worker hands a running job. */
export interface JobContext {
  readonly jobName: string;
  readonly runId: string;
  readonly type: string;
  /** 1 for the first attempt of this run. */
  readonly attempt: number;
  /**
   * Aborted when the job must stop: a cancel request (`JobCancelledError`), its
   * deadline (`JobTimeoutError`) or the run ending elsewhere. Check it at least
   * once a second; a job that ignores it is abandoned at its deadline anyway.
   */
  readonly signal: AbortSignal;
  /** Milliseconds left before the worker Lambda is stopped. */
  remainingTimeMs(): number;
  /**
   * Reports progress (0 to 100) and an optional message on the job record.
   * Throws the signal's reason if a cancel was requested.
   */
  progress(percent: number, message?: string): Promise<void>;
}

/** What a type's `onComplete` hook receives: the run's terminal outcome. */
export interface CompletedRun<I, R> {
  readonly jobName: string;
  readonly runId: string;
  readonly type: string;
  readonly status: 'SUCCEEDED' | 'FAILED' | 'CANCELLED' | 'TIMED_OUT';
  readonly input: I;
  readonly result?: R;
  readonly error?: JobError;
}

/**
 * How eventjobs retries a run whose `run` threw, within one worker invocation:
 * attempt n waits a random time between 0 and
 * min(maxBackoffMs, initialBackoffMs * multiplier^(n-1)) ("full jitter") first.
 * A retry starts only if the wait fits before the run's deadline, so
 * maxAttempts and the backoff must fit in the type's timeout.
 */
export interface RetryPolicy {
  /** Attempts in all, the first included (1 = no retries). */
  readonly maxAttempts: number;
  readonly initialBackoffMs: number;
  readonly multiplier: number;
  readonly maxBackoffMs: number;
}

export const NO_RETRIES: RetryPolicy = {
  maxAttempts: 1,
  initialBackoffMs: 0,
  multiplier: 1,
  maxBackoffMs: 0,
};

export interface JobType<I = unknown, R = unknown> {
  readonly name: string;
  readonly description: string;
  /**
   * How long a run may take, from its first start, unless the request asks for
   * less; never more than the worker's timeout. Past it, the run ends TIMED_OUT.
   *
   * @default - the worker's timeout
   */
  readonly defaultTimeoutSeconds?: number;
  /**
   * Retries of a run whose `run` threw. Cancellation and timeouts are never retried.
   *
   * @default NO_RETRIES
   */
  readonly retry?: RetryPolicy;
  /**
   * Validates and parses the request's `input`; a parse failure is a 400 at submit.
   * Any synchronous Standard Schema: one from `../shared/schema`, or zod's.
   */
  readonly input: StandardSchemaV1<unknown, I>;
  /** The work. What it returns is the job's result and must be JSON-serialisable. */
  run(input: I, ctx: JobContext): Promise<R>;
  /**
   * Processes the outcome in the completion function, before the outcome is
   * written. If it throws, the job is recorded FAILED with that error.
   */
  onComplete?(run: CompletedRun<I, R>): Promise<void>;
}

/** Declares a job type with its input type inferred from the schema. */
export function defineJobType<S extends StandardSchemaV1, R>(
  type: JobType<InferOutput<S>, R> & { readonly input: S },
): JobType<InferOutput<S>, R> {
  return type;
}
