/**
 * Steps and durable sleeps: the contract of `ctx.step` and `ctx.sleep`, their
 * limits, and the errors a run gets when it breaks them.
 *
 * A step's result is checkpointed in the jobs table the first time it returns;
 * any later invocation of the same run (a continuation, a wake from a sleep, a
 * re-drive after a crash) gets the stored result back without running the step
 * again. A sleep suspends the run with no Lambda running; a timer resumes it.
 */
import { AppError } from './errors';

/** The largest step result, in bytes of JSON. Larger data belongs in S3, with the key as the result. */
export const MAX_STEP_RESULT_BYTES = 32 * 1024;
/** The most steps and sleeps one run may checkpoint. */
export const MAX_STEPS_PER_RUN = 1000;
/** The longest a run may last, start to deadline: 30 days. */
export const MAX_RUN_TIMEOUT_SECONDS = 30 * 24 * 60 * 60;
/** Step and sleep names: 1 to 128 printable characters, no `#` (it separates the key's parts). */
export const STEP_NAME_PATTERN = /^[^\p{Cc}#]{1,128}$/u;

export const StepKind = { Step: 'step', Sleep: 'sleep', Signal: 'signal' } as const;
export type StepKind = (typeof StepKind)[keyof typeof StepKind];

export const StepStatus = {
  /** Its function is running (or its invocation died while it ran). */
  Running: 'RUNNING',
  /** It returned; its result is checkpointed. */
  Succeeded: 'SUCCEEDED',
  /** Its last attempt threw; the run's retry policy decides what comes next. */
  Failed: 'FAILED',
  /** A sleep not yet over. */
  Sleeping: 'SLEEPING',
  /** A wait for a signal that has not come. */
  Waiting: 'WAITING',
} as const;
export type StepStatus = (typeof StepStatus)[keyof typeof StepStatus];

/** A step or a sleep as the table keeps it. */
export interface StepRecord {
  readonly name: string;
  readonly kind: StepKind;
  readonly status: StepStatus;
  /** The first time it began. */
  readonly startedAt: string;
  readonly endedAt?: string;
  /** How many times its function began (a sleep: 1). */
  readonly attempts: number;
  /** The result's JSON (a signal's payload); absent for a step that returned `undefined`. */
  readonly resultJson?: string;
  /** A sleep's wake time; a signal wait's timeout. */
  readonly wakeAt?: string;
  /** The last attempt's error, for a FAILED step. */
  readonly error?: { readonly name: string; readonly message: string };
}

/** A step as `GET /jobs/{name}` shows it: never its result, which can be large. */
export interface StepView {
  readonly name: string;
  readonly kind: StepKind;
  readonly status: StepStatus;
  readonly startedAt: string;
  readonly endedAt?: string;
  readonly attempts: number;
  readonly wakeAt?: string;
  readonly error?: { readonly name: string; readonly message: string };
}

export function stepView(step: StepRecord): StepView {
  return {
    name: step.name,
    kind: step.kind,
    status: step.status,
    startedAt: step.startedAt,
    ...(step.endedAt ? { endedAt: step.endedAt } : {}),
    attempts: step.attempts,
    ...(step.wakeAt ? { wakeAt: step.wakeAt } : {}),
    ...(step.error ? { error: step.error } : {}),
  };
}

/** How long `ctx.sleep` waits: seconds, or a sum of units. */
export type SleepDuration =
  | number
  | {
      readonly days?: number;
      readonly hours?: number;
      readonly minutes?: number;
      readonly seconds?: number;
    };

/** What a step's function is given. */
export interface StepContext {
  /** 1 the first time this step's function runs in this run; more after a retry or a crash. */
  readonly attempt: number;
  /** The job's signal (`ctx.signal`). */
  readonly signal: AbortSignal;
}

/**
 * A job failed in a way no retry can mend: the run ends FAILED at once,
 * whatever its type's retry policy. Job code may throw it too.
 */
export class NonRetryableError extends AppError {}

/** Two steps (or sleeps) of one run have the same name. */
export class DuplicateStepNameError extends NonRetryableError {}
/** A step's result is over `MAX_STEP_RESULT_BYTES`. */
export class StepResultTooLargeError extends NonRetryableError {}
/** A step returned something JSON cannot carry faithfully. */
export class StepResultNotJsonError extends NonRetryableError {}
/** A run began more than `MAX_STEPS_PER_RUN` steps and sleeps. */
export class TooManyStepsError extends NonRetryableError {}
/** A step or sleep name, or a sleep's duration, is malformed. */
export class InvalidStepError extends NonRetryableError {}
/** A name was a step in one invocation and a sleep in another: the job's code is not deterministic. */
export class StepKindMismatchError extends NonRetryableError {}
/** A whole worker invocation went by without finishing a step: no continuation can help. */
export class StepTooLongError extends NonRetryableError {}
/** `ctx.waitForSignal` timed out before its signal came. */
export class SignalTimeoutError extends NonRetryableError {}

/** Signal names: what a URL path segment carries without escaping. */
export const SIGNAL_NAME_PATTERN = /^(?!\.+$)[A-Za-z0-9._-]{1,128}$/;

/** What `ctx.waitForSignal` takes. */
export interface WaitForSignalOptions {
  /**
   * How long to wait; past it, `waitForSignal` throws `SignalTimeoutError`.
   *
   * @default - until the run's deadline
   */
  readonly timeout?: SleepDuration;
}

/** True for a `NonRetryableError`, also one from another copy of this module. */
export function isNonRetryable(error: unknown): boolean {
  if (error instanceof NonRetryableError) return true;
  // Another copy of eventjobs (the user's bundle next to ours) has its own class.
  let proto: unknown = error instanceof Error ? Object.getPrototypeOf(error) : undefined;
  while (proto && proto !== Error.prototype) {
    if ((proto as { constructor?: { name?: string } }).constructor?.name === 'NonRetryableError') {
      return true;
    }
    proto = Object.getPrototypeOf(proto);
  }
  return false;
}

/** The duration in milliseconds, or an error message. */
export function sleepMs(duration: SleepDuration): number | string {
  const units = { days: 86_400_000, hours: 3_600_000, minutes: 60_000, seconds: 1000 } as const;
  if (typeof duration === 'number') {
    return Number.isFinite(duration) && duration >= 0
      ? Math.round(duration * 1000)
      : `a sleep's duration must be a finite number of seconds, at least 0 (got ${String(duration)})`;
  }
  if (typeof duration !== 'object' || duration === null) {
    return 'a sleep takes a number of seconds or { days, hours, minutes, seconds }';
  }
  let ms = 0;
  for (const [key, value] of Object.entries(duration)) {
    if (!(key in units)) return `a sleep's duration has no unit "${key}"`;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      return `a sleep's ${key} must be a finite number, at least 0`;
    }
    ms += value * units[key as keyof typeof units];
  }
  return Math.round(ms);
}

/**
 * Why `value` is not JSON that comes back the same (undefined when it is):
 * plain objects, arrays, strings, finite numbers, booleans and null only.
 */
export function notJsonReason(
  value: unknown,
  path = 'result',
  seen = new Set<object>(),
): string | undefined {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return undefined;
  if (typeof value === 'number') {
    return Number.isFinite(value) ? undefined : `${path} is ${value}, which JSON has no form for`;
  }
  if (typeof value !== 'object') return `${path} is a ${typeof value}, which JSON has no form for`;
  if (seen.has(value)) return `${path} refers to itself`;
  seen.add(value);
  try {
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        const why = notJsonReason(value[i], `${path}[${i}]`, seen);
        if (why) return why;
      }
      return undefined;
    }
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      const name = (proto as { constructor?: { name?: string } }).constructor?.name ?? 'object';
      return `${path} is a ${name}, not a plain object (return its JSON form, e.g. a Date's ISO string)`;
    }
    for (const [key, item] of Object.entries(value)) {
      if (item === undefined) continue;
      const why = notJsonReason(item, `${path}.${key}`, seen);
      if (why) return why;
    }
    return undefined;
  } finally {
    seen.delete(value);
  }
}
