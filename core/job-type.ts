/**
 * What a job type is: the contract between a user's job code and eventjobs.
 * An app declares its types with `defineJobType` in one module and names that
 * module to the `AsyncJobs` construct (`jobTypes: { entry }`); every export of
 * the module is a job type.
 */
import { AppError } from './errors';
import type { InferOutput, StandardSchemaV1 } from './standard-schema';
import {
  MAX_RUN_TIMEOUT_SECONDS,
  type SleepDuration,
  type StepContext,
  type WaitForSignalOptions,
} from './steps';

/** What a failed run reports: the error's name and message. */
export interface JobError {
  name: string;
  message: string;
}

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
  /**
   * Runs `fn` once per run and checkpoints its JSON result (at most
   * `MAX_STEP_RESULT_BYTES`). A later invocation of the same run (a
   * continuation, a wake from a sleep, a re-drive after a crash) gets the
   * stored result back without running `fn` again. A step that throws fails
   * the attempt; the type's retry policy runs the job again, and the steps
   * that finished are not re-run. Names are unique within a run.
   */
  step<T>(name: string, fn: (step: StepContext) => Promise<T> | T): Promise<T>;
  /**
   * Suspends the run for `duration` with no Lambda running; a timer resumes
   * it, from its checkpoints. A cancel ends a sleeping run at once, and so
   * does its deadline. A sleep is a step: its name is unique within the run.
   */
  sleep(name: string, duration: SleepDuration): Promise<void>;
  /**
   * Suspends the run, with no Lambda running, until the signal `name` is sent
   * (`POST /jobs/{jobName}/signals/{name}` with a JSON body, by the job's
   * owner), and returns its payload. A signal sent earlier is returned at
   * once. Past `timeout` it throws `SignalTimeoutError`; a cancel or the
   * deadline ends a waiting run as they end a sleeping one. Names are
   * 1 to 128 of `[A-Za-z0-9._-]` and unique within the run, like steps'.
   */
  waitForSignal<T = unknown>(name: string, options?: WaitForSignalOptions): Promise<T>;
  /** 1 for the run's first worker invocation; continuations and wakes count up. */
  readonly invocation: number;
}

/** The terminal statuses of a run. */
export type JobOutcomeStatus = 'SUCCEEDED' | 'FAILED' | 'CANCELLED' | 'TIMED_OUT';

/** What a type's `onComplete` hook receives: the run's terminal outcome. */
export interface CompletedRun<I, R> {
  readonly jobName: string;
  readonly runId: string;
  readonly type: string;
  readonly status: JobOutcomeStatus;
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

/** Marks what `defineJobType` made; `Symbol.for`, so two copies of this module agree. */
export const JOB_TYPE_BRAND: unique symbol = Symbol.for('eventjobs.jobType') as never;

/** What `defineJobType` takes. */
export interface JobTypeDefinition<I = unknown, R = unknown> {
  /** The name callers start it by (`"type"` in `POST /jobs`): 1 to 64 of `[A-Za-z0-9._-]`. */
  readonly name: string;
  readonly description: string;
  /**
   * How long a run may take, from its first start, unless the request asks
   * otherwise; up to `MAX_RUN_TIMEOUT_SECONDS` (30 days). Past it, the run ends
   * TIMED_OUT. A run that uses no steps still stops at the worker's timeout:
   * only a run with checkpoints can continue in a fresh invocation.
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
   * Runs of this type at once, across all owners. A start over it is accepted
   * and QUEUED; it starts when a run of this type ends, owners taking turns.
   * The construct's `typeConcurrency` may set or override it.
   *
   * @default - no limit of its own (the owner's and the stack's limits still apply)
   */
  readonly concurrency?: number;
  /**
   * Validates and parses the request's `input`; a parse failure is a 400 at submit.
   * Any synchronous Standard Schema: zod (classic or `zod/mini`), valibot, arktype.
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

/** A job type, as `defineJobType` returns it. */
export interface JobType<I = unknown, R = unknown> extends JobTypeDefinition<I, R> {
  readonly [JOB_TYPE_BRAND]: true;
}

/** Type names: what a job name allows, shorter. */
export const JOB_TYPE_NAME_PATTERN = /^(?!\.+$)[A-Za-z0-9._-]{1,64}$/;

/** A job type definition is malformed (thrown by `defineJobType`, so at import). */
export class JobTypeDefinitionError extends AppError {}

/**
 * Declares a job type, with its input type inferred from the schema. Checks
 * the definition at once, so a malformed type fails when its module loads
 * (at `cdk synth`), not when a job runs.
 */
export function defineJobType<S extends StandardSchemaV1, R>(
  definition: JobTypeDefinition<InferOutput<S>, R> & { readonly input: S },
): JobType<InferOutput<S>, R> {
  const where = `defineJobType(${JSON.stringify(definition?.name)})`;
  const fail = (message: string): never => {
    throw new JobTypeDefinitionError(`${where}: ${message}`);
  };
  if (typeof definition !== 'object' || definition === null) fail('takes an object');
  if (typeof definition.name !== 'string' || !JOB_TYPE_NAME_PATTERN.test(definition.name)) {
    fail('name must be 1 to 64 of A-Z a-z 0-9 . _ - (and not only dots)');
  }
  if (typeof definition.description !== 'string') fail('description must be a string');
  if (typeof definition.run !== 'function') fail('run must be a function');
  if (definition.onComplete !== undefined && typeof definition.onComplete !== 'function') {
    fail('onComplete must be a function');
  }
  const standard = (definition.input as Partial<StandardSchemaV1> | undefined)?.['~standard'];
  if (standard?.version !== 1 || typeof standard.validate !== 'function') {
    fail('input must be a Standard Schema (zod, valibot, arktype, ...)');
  }
  const timeout = definition.defaultTimeoutSeconds;
  if (
    timeout !== undefined &&
    (!Number.isInteger(timeout) || timeout < 1 || timeout > MAX_RUN_TIMEOUT_SECONDS)
  ) {
    fail(
      `defaultTimeoutSeconds must be a whole number of seconds, from 1 to ${MAX_RUN_TIMEOUT_SECONDS} (30 days)`,
    );
  }
  if (definition.retry !== undefined) checkRetry(definition.retry, fail);
  const concurrency = definition.concurrency;
  if (concurrency !== undefined && (!Number.isInteger(concurrency) || concurrency < 1)) {
    fail('concurrency must be a whole number, at least 1');
  }
  return Object.freeze({ ...definition, [JOB_TYPE_BRAND]: true as const });
}

function checkRetry(policy: RetryPolicy, fail: (message: string) => never): void {
  const { maxAttempts, initialBackoffMs, multiplier, maxBackoffMs } = policy;
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1) {
    fail('retry.maxAttempts must be a whole number, at least 1');
  }
  for (const [key, value] of Object.entries({ initialBackoffMs, multiplier, maxBackoffMs })) {
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      fail(`retry.${key} must be a number, at least 0`);
    }
  }
}

/** Whether a value is a job type made by `defineJobType` (of any copy of eventjobs). */
export function isJobType(value: unknown): value is JobType {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as Record<symbol, unknown>)[JOB_TYPE_BRAND] === true
  );
}

/** The job types of a module's exports, keyed by type name; throws on anything else. */
export function jobTypesOf(exports: Readonly<Record<string, unknown>>): Map<string, JobType> {
  const types = new Map<string, JobType>();
  const exportOf = new Map<string, string>();
  const problems: string[] = [];
  for (const [key, value] of Object.entries(exports)) {
    if (!isJobType(value)) {
      problems.push(
        `export "${key}" is not a job type (make it with defineJobType, or move it to another module)`,
      );
      continue;
    }
    const other = exportOf.get(value.name);
    if (other !== undefined && types.get(value.name) !== value) {
      problems.push(`exports "${other}" and "${key}" are both named "${value.name}"`);
      continue;
    }
    types.set(value.name, value);
    exportOf.set(value.name, key);
  }
  if (problems.length > 0) throw new JobTypeDefinitionError(problems.join('; '));
  return types;
}
