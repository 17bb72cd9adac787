/**
 * Signalling a job: stores a named signal, with its JSON payload, for the
 * caller's active run of that name, and wakes the run if it is suspended in
 * `ctx.waitForSignal` for that very signal. The first signal of a name wins:
 * the same payload again is an idempotent retry, a different one a conflict.
 */
import {
  BadRequestError,
  ConflictError,
  NotFoundError,
  PayloadTooLargeError,
} from '../../core/errors';
import { type ActiveJob, outcomeView } from '../../core/model';
import {
  MAX_RUN_TIMEOUT_SECONDS,
  MAX_STEP_RESULT_BYTES,
  SIGNAL_NAME_PATTERN,
} from '../../core/steps';
import { invokeWorker, type WorkerTarget, workerPayload } from '../shared/dispatch';
import {
  canonicalJson,
  hasNonFiniteNumber,
  MAX_JSON_DEPTH,
  nestingExceeds,
  utf8Length,
} from '../shared/json';
import { appendJobKeys, describeError, log } from '../shared/log';
import type { StepStore } from '../shared/step-store';
import type { JobStore } from '../shared/store';

/** The largest signal payload, in bytes of JSON: what a step's result may be, since the run gets it as one. */
export const MAX_SIGNAL_PAYLOAD_BYTES = MAX_STEP_RESULT_BYTES;

/**
 * Room for whitespace around the payload: a body larger than the payload limit
 * plus this is refused before it is parsed; the payload is measured again as
 * compact JSON after.
 */
export const SIGNAL_BODY_OVERHEAD_BYTES = 16 * 1024;

export interface SignalJobDeps extends WorkerTarget {
  readonly store: JobStore;
  readonly steps: StepStore;
  /** How long outcomes are kept; a signal is kept as long past its run's deadline. */
  readonly retentionSeconds: number;
  readonly now: () => Date;
}

/** The answer of `POST /jobs/{name}/signals/{signal}` (202). */
export interface SignalAccepted {
  readonly jobName: string;
  readonly runId: string;
  readonly signal: string;
  /** When the signal was first received; a repeat keeps the first time. */
  readonly receivedAt: string;
  /** True when this request repeated a signal already received with the same payload. */
  readonly duplicate?: true;
}

/** Checks a signal name: 1 to 128 of `[A-Za-z0-9._-]`, and not only dots. */
export function parseSignalName(raw: unknown): string {
  if (typeof raw !== 'string' || !SIGNAL_NAME_PATTERN.test(raw)) {
    throw new BadRequestError(
      'InvalidSignalName',
      'The signal name must be 1 to 128 characters of A-Z a-z 0-9 . _ - and not only dots',
    );
  }
  return raw;
}

/**
 * Checks a signal's payload, any JSON value, and answers its JSON text: as
 * deep, as finite and as large as a job input may be (see start-job), and at
 * most `MAX_SIGNAL_PAYLOAD_BYTES`.
 */
export function signalPayloadJson(payload: unknown): string {
  if (nestingExceeds(payload, MAX_JSON_DEPTH)) {
    throw new BadRequestError(
      'InvalidPayload',
      `The signal payload nests objects and arrays more than ${MAX_JSON_DEPTH} levels deep`,
    );
  }
  // 1e400 parses as Infinity, which JSON cannot hold: it would reach the run as null.
  if (hasNonFiniteNumber(payload)) {
    throw new BadRequestError(
      'InvalidPayload',
      'The signal payload has a number too large to be represented (beyond ±1.8e308)',
    );
  }
  const json = JSON.stringify(payload);
  const bytes = utf8Length(json);
  if (bytes > MAX_SIGNAL_PAYLOAD_BYTES) {
    throw new PayloadTooLargeError(
      `The signal payload is ${bytes} bytes of JSON; the limit is ${MAX_SIGNAL_PAYLOAD_BYTES}`,
    );
  }
  return json;
}

/**
 * Sends `signal` to `owner`'s active job `jobName`. A queued run keeps the
 * signal until it gets there; a finished job is a 409, an unknown one a 404.
 */
export async function signalJob(
  owner: string,
  jobName: string,
  signal: string,
  payload: unknown,
  deps: SignalJobDeps,
): Promise<SignalAccepted> {
  const payloadJson = signalPayloadJson(payload);
  const now = deps.now();
  const active = await deps.store.getActive(owner, jobName);
  if (!active) throw await notActive(owner, jobName, now, deps);
  appendJobKeys({ runId: active.runId });

  const receivedAt = now.toISOString();
  const put = await deps.steps.putSignal(
    active,
    signal,
    { payloadJson, receivedAt },
    expiresAt(active, now, deps.retentionSeconds),
  );
  const answer = { jobName: active.jobName, runId: active.runId, signal };
  if (!put.stored) {
    if (canonicalJson(JSON.parse(put.existing.payloadJson)) !== canonicalJson(payload)) {
      throw new ConflictError(
        'SignalConflict',
        `The signal "${signal}" was already sent to this run at ${put.existing.receivedAt} with a different payload`,
        { extra: { receivedAt: put.existing.receivedAt } },
      );
    }
    // A retry of a signal that may have woken the run already: the resume below is the worker's to ignore.
    await resumeIfWaiting(active, signal, deps);
    return { ...answer, receivedAt: put.existing.receivedAt, duplicate: true };
  }
  log.info('Signal received', { signal, status: active.status });
  await resumeIfWaiting(active, signal, deps);
  return { ...answer, receivedAt };
}

/** Why there is no run to signal: the job finished (409), or there is none (404). */
async function notActive(
  owner: string,
  jobName: string,
  now: Date,
  deps: SignalJobDeps,
): Promise<Error> {
  const outcome = await deps.store.getLatestOutcome(
    owner,
    jobName,
    Math.floor(now.getTime() / 1000),
  );
  if (outcome) {
    return new ConflictError(
      'JobFinished',
      `The job named "${jobName}" has already finished (${outcome.status}); it takes no more signals`,
      { extra: { job: outcomeView(outcome) } },
    );
  }
  return new NotFoundError(`No job named "${jobName}" is running or retained`);
}

/**
 * When the signal's item expires (epoch seconds): the run's deadline plus the
 * outcome retention, as its steps do. A run that has not started has no
 * deadline yet; the latest it can have bounds it instead, so the signal
 * outlives the run however late the run gets to it.
 */
function expiresAt(active: ActiveJob, now: Date, retentionSeconds: number): number {
  const deadline = active.deadlineAt ? Date.parse(active.deadlineAt) : Number.NaN;
  const until = Number.isFinite(deadline)
    ? deadline
    : now.getTime() + (active.timeoutSeconds ?? MAX_RUN_TIMEOUT_SECONDS) * 1000;
  return Math.floor(Math.max(until, now.getTime()) / 1000) + retentionSeconds;
}

/**
 * Hands the run to the worker when it is suspended waiting for this signal.
 * The record is read again after the signal's write, whatever it was before
 * (a queued run may have started and suspended since): a run that suspends
 * after this read finds the signal itself when it suspends, and one that
 * suspended before it is seen here. A lost invoke is the sweeper's to re-drive.
 */
async function resumeIfWaiting(
  before: ActiveJob,
  signal: string,
  deps: SignalJobDeps,
): Promise<void> {
  try {
    const active = await deps.store.getActive(before.owner, before.jobName);
    if (!active || active.runId !== before.runId) return;
    if (active.waitingFor !== signal || active.leaseId) return;
    await invokeWorker(deps, {
      ...workerPayload(active, deps.now().toISOString()),
      resume: 'signal',
    });
    log.info('Run resumed by its signal', { signal });
  } catch (error) {
    log.warn('The run waiting for the signal could not be resumed; the sweeper re-drives it', {
      signal,
      ...describeError(error),
    });
  }
}
