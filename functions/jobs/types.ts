/**
 * What a job type is. A type is one file that exports a `defineJobType(...)`
 * and one line in `registry.ts`.
 */
import type { z } from 'zod';
import type { JobError } from '../shared/events';

/** What the worker hands a running job. */
export interface JobContext {
  readonly jobName: string;
  readonly runId: string;
  readonly type: string;
  /** 1 for the first attempt of this run. */
  readonly attempt: number;
  /** Aborted when the job is asked to stop (a cancel request). Check it; stop promptly. */
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

export interface JobType<I = unknown, R = unknown> {
  readonly name: string;
  readonly description: string;
  /** Validates and parses the request's `input`; a parse failure is a 400 at submit. */
  readonly input: z.ZodType<I>;
  /** The work. What it returns is the job's result and must be JSON-serialisable. */
  run(input: I, ctx: JobContext): Promise<R>;
  /**
   * Processes the outcome in the completion function, before the outcome is
   * written. If it throws, the job is recorded FAILED with that error.
   */
  onComplete?(run: CompletedRun<I, R>): Promise<void>;
}

/** Declares a job type with its input type inferred from the schema. */
export function defineJobType<S extends z.ZodType, R>(
  type: JobType<z.output<S>, R> & { readonly input: S },
): JobType<z.output<S>, R> {
  return type;
}
