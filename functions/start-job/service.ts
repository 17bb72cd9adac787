/**
 * Starting a job: validate the request, claim the job's name with a
 * conditional put, then hand the run to the worker with an asynchronous
 * invoke. A run the worker never received is removed again, so no record is
 * left RUNNING with nobody working on it.
 */

import * as z from 'zod/mini';
import {
  BadRequestError,
  ConflictError,
  type ErrorDetail,
  PayloadTooLargeError,
  ServiceUnavailableError,
  TooManyRequestsError,
} from '../../core/errors';
import { isJobName, JobEventType, type JobQueuedDetail } from '../../core/events';
import { type ActiveJob, activeView, JobStatus } from '../../core/model';
import { MAX_RUN_TIMEOUT_SECONDS } from '../../core/steps';
import type { StartedBy } from '../../core/triggers';
import { type DispatchDeps, dispatchQueued, invokeWorker, workerPayload } from '../shared/dispatch';
import { ulid } from '../shared/ids';
import { getJobType, jobTypeNames } from '../shared/job-registry';
import {
  canonicalJson,
  hasNonFiniteNumber,
  MAX_JSON_DEPTH,
  nestingExceeds,
  sha256Hex,
  utf8Length,
} from '../shared/json';
import { appendJobKeys, describeError, log } from '../shared/log';
import { checkCallbackUrl, type LookupAll, resolveSafeAddress } from '../shared/ssrf';
import type { JobStore } from '../shared/store';
import { type SchemaError, validate } from '../shared/validate';

/**
 * Room for `type`, `name` and JSON punctuation around the input. A body larger
 * than `maxInputBytes` plus this is refused before it is parsed.
 */
export const BODY_OVERHEAD_BYTES = 16 * 1024;

const MAX_TYPE_LENGTH = 128;

/**
 * How deeply objects and arrays may nest in `input`. Serializing, hashing and
 * validating JSON all recurse, and so do the worker's and completion's events:
 * an input a few thousand levels deep fits well within the byte limit but
 * overflows the stack, either here (a 500) or after the job started (a run that
 * never reaches an outcome). Real job inputs are nowhere near this deep.
 */
export const MAX_INPUT_DEPTH = MAX_JSON_DEPTH;

const startRequestSchema = z.strictObject({
  type: z.string().check(z.maxLength(MAX_TYPE_LENGTH)),
  name: z.optional(z.string()),
  input: z.optional(z.unknown()),
  timeoutSeconds: z.optional(z.int().check(z.gte(1))),
  callback: z.optional(z.strictObject({ url: z.string() })),
});

/**
 * The ceiling of a request's `timeoutSeconds`: the longest a run may last (30
 * days), whatever the worker's timeout; a run longer than one invocation
 * continues from its checkpoints.
 */
export const DEFAULT_MAX_TIMEOUT_SECONDS = MAX_RUN_TIMEOUT_SECONDS;

export interface StartJobDeps extends DispatchDeps {
  /** Puts a lifecycle event on the bus (`Job Queued`). @default - nothing is announced */
  readonly putEvent?: (
    detailType: typeof JobEventType.Queued,
    detail: JobQueuedDetail,
  ) => Promise<void>;
  /** The largest accepted `input`, as JSON text in bytes. */
  readonly maxInputBytes: number;
  /** The largest `timeoutSeconds` a request may ask for. @default DEFAULT_MAX_TIMEOUT_SECONDS (30 days) */
  readonly maxTimeoutSeconds?: number;
  /** Callbacks may be `http://localhost` (the local cloud only). @default false */
  readonly allowHttpLocalhost?: boolean;
  /** Resolves a callback's host. @default - the system resolver */
  readonly lookup?: LookupAll;
  /**
   * How long a callback host may take to resolve before the start is refused.
   * @default 2000 (`CALLBACK_LOOKUP_TIMEOUT_MS`)
   */
  readonly callbackLookupTimeoutMs?: number;
  /**
   * Puts the job's keys (`owner`, `jobName`, `runId`) on every further log line of the
   * invocation. A batch turns this off: its entries start side by side, and one entry's
   * keys would land on another's lines (its own lines name the job).
   * @default true
   */
  readonly logJobKeys?: boolean;
  /**
   * Counts a queued run's place among its owner's waiting runs for the answer and
   * `Job Queued`. Counting reads the owner's queue up to the run (a Query of
   * COUNT), so a batch, which may queue many runs of one owner at once, leaves it
   * out: each entry would read the queue again. `GET /jobs/{name}` still counts it.
   * @default true
   */
  readonly countQueuePosition?: boolean;
  readonly now: () => Date;
}

/** The job a start request refers to: the new run, or the identical one already running. */
export interface StartedJob {
  readonly jobName: string;
  readonly runId: string;
  /** QUEUED when a concurrency limit was reached: it starts when a slot is freed. */
  readonly status: 'RUNNING' | 'QUEUED';
  /** False when the request repeated a start that is still running (an idempotent retry). */
  readonly created: boolean;
  /** A queued run's place among its owner's waiting runs (1 is next). */
  readonly position?: number;
}

/**
 * What start-job's look at the queue may do before it answers: the API function
 * has 10 s, and under load each promotion is a transaction and a worker invoke.
 * What it leaves, the next release (or the sweep) starts. It gives way to any other
 * dispatch it meets (`yieldToOthers`): that one is filling the free slots already.
 */
const START_DISPATCH_BUDGET = { maxPromotions: 2, timeMs: 2_000, yieldToOthers: true } as const;

/** How long a caller whose queue is full is asked to wait before trying again. */
export const QUEUE_FULL_RETRY_AFTER_SECONDS = 30;

interface StartRequest {
  readonly type: string;
  readonly name?: string;
  /** The input as the type's schema parsed it: what the job receives and what is stored. */
  readonly input: unknown;
  /**
   * SHA-256 of the input as sent, in canonical JSON. The request's own input, not
   * the parsed one: a schema may drop keys (zod's objects drop unknown keys, and
   * `__proto__`), and two different requests must never count as one.
   */
  readonly inputHash: string;
  readonly timeoutSeconds?: number;
  readonly callbackUrl?: string;
}

/** Validates a start request's body: its shape, job type, name, input size and input. */
export function parseStartRequest(
  body: unknown,
  maxInputBytes: number,
  maxTimeoutSeconds: number = DEFAULT_MAX_TIMEOUT_SECONDS,
): StartRequest {
  const parsed = validate(startRequestSchema, body);
  if (!parsed.success) {
    throw new BadRequestError('InvalidBody', 'The request body is not a valid start request', {
      cause: parsed.error,
      details: issueDetails(parsed.error),
    });
  }
  const { type, name, input = {}, timeoutSeconds, callback } = parsed.data;

  const jobType = getJobType(type);
  if (!jobType) {
    throw new BadRequestError(
      'UnknownJobType',
      `Unknown job type "${type}"; known types are: ${jobTypeNames().join(', ')}`,
    );
  }

  if (timeoutSeconds !== undefined && timeoutSeconds > maxTimeoutSeconds) {
    throw new BadRequestError(
      'InvalidTimeout',
      `timeoutSeconds must be at most ${maxTimeoutSeconds} (${Math.round(maxTimeoutSeconds / 86_400)} days); a run without steps still stops at the worker's timeout`,
    );
  }

  if (name !== undefined && !isJobName(name)) {
    throw new BadRequestError(
      'InvalidJobName',
      'The job name must be 1 to 128 characters of A-Z a-z 0-9 . _ - and not only dots',
    );
  }

  // Checked before anything below recurses into the input.
  if (nestingExceeds(input, MAX_INPUT_DEPTH)) {
    throw new BadRequestError(
      'InvalidInput',
      `The job input nests objects and arrays more than ${MAX_INPUT_DEPTH} levels deep`,
    );
  }

  // JSON numbers beyond a double (1e400) parse as Infinity, which JSON cannot hold: it
  // would be stored as null, a silent change of the caller's input.
  if (hasNonFiniteNumber(input)) {
    throw new BadRequestError(
      'InvalidInput',
      'The job input has a number too large to be represented (beyond ±1.8e308)',
    );
  }

  // Measured before parsing, so an oversized input is refused without walking it.
  const inputBytes = utf8Length(JSON.stringify(input));
  if (inputBytes > maxInputBytes) {
    throw new PayloadTooLargeError(
      `The job input is ${inputBytes} bytes of JSON; the limit is ${maxInputBytes}`,
    );
  }

  const parsedInput = validate(jobType.input, input);
  if (!parsedInput.success) {
    throw new BadRequestError('InvalidInput', `The input is not valid for job type "${type}"`, {
      cause: parsedInput.error,
      details: issueDetails(parsedInput.error, ['input']),
    });
  }
  return {
    type,
    name,
    input: parsedInput.data,
    inputHash: sha256Hex(canonicalJson(input)),
    timeoutSeconds,
    callbackUrl: callback?.url,
  };
}

/**
 * How long a callback host may take to resolve at submit. The host, and so how
 * slowly its name servers answer, is the caller's choice: without a deadline
 * it would hold the request open.
 */
export const CALLBACK_LOOKUP_TIMEOUT_MS = 2000;

/**
 * Refuses a callback URL that is not https (locally: http to localhost), or whose
 * host is, or resolves to, a private, loopback, link-local or metadata address,
 * or does not resolve within the lookup deadline.
 * Delivery checks again, after its own lookup, so a host that changes its answer
 * later is still refused.
 */
async function checkCallback(url: string, deps: StartJobDeps): Promise<string> {
  const options = { allowHttpLocalhost: deps.allowHttpLocalhost ?? false };
  const form = checkCallbackUrl(url, options);
  if (!form.ok) throw new BadRequestError('InvalidCallback', form.reason);
  const timeoutMs = deps.callbackLookupTimeoutMs ?? CALLBACK_LOOKUP_TIMEOUT_MS;
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(), timeoutMs);
  try {
    const resolved = await resolveSafeAddress(form.url.hostname, {
      ...options,
      lookup: deps.lookup,
      signal: deadline.signal,
    });
    if (!resolved.ok) {
      const reason = resolved.timedOut
        ? `The callback host ${form.url.hostname} did not resolve within ${timeoutMs} ms.`
        : resolved.reason;
      throw new BadRequestError('InvalidCallback', reason);
    }
  } finally {
    clearTimeout(timer);
  }
  return form.url.href;
}

/**
 * Starts a job for `owner`. Repeating a start of a job that is still running
 * with the same type and input returns that run instead of failing, so a
 * client may retry a start whose response it lost.
 */
export async function startJob(
  owner: string,
  body: unknown,
  deps: StartJobDeps,
  /** The trigger or schedule starting the run (the starter function); absent for the API. */
  startedBy?: StartedBy,
): Promise<StartedJob> {
  const request = parseStartRequest(body, deps.maxInputBytes, deps.maxTimeoutSeconds);
  const callbackUrl =
    request.callbackUrl === undefined ? undefined : await checkCallback(request.callbackUrl, deps);
  const now = deps.now();
  const at = now.toISOString();
  const job: ActiveJob = {
    owner,
    // A generated name is a ULID too, so unnamed jobs list in the order they were started.
    jobName: request.name ?? ulid(now.getTime()),
    runId: ulid(now.getTime()),
    type: request.type,
    status: JobStatus.Running,
    input: request.input,
    inputHash: request.inputHash,
    createdAt: at,
    updatedAt: at,
    ...(request.timeoutSeconds !== undefined ? { timeoutSeconds: request.timeoutSeconds } : {}),
    ...(callbackUrl !== undefined ? { callbackUrl } : {}),
    ...(startedBy ? { startedBy } : {}),
  };

  if (deps.logJobKeys !== false) appendJobKeys(job);
  const claim = await deps.store.createActive(job);
  if (!claim.created) {
    if ('queueFull' in claim) throw queueFullError(deps);
    return repeatedStart(job, claim.existing, deps);
  }
  if (claim.job.status === JobStatus.Queued) return queued(claim.job, deps);

  try {
    await invokeWorker(deps, workerPayload(job, at));
  } catch (error) {
    log.error('The worker could not be invoked; removing the job record', {
      owner,
      jobName: job.jobName,
      runId: job.runId,
      ...describeError(error),
    });
    await removeUnstartedRun(deps.store, job);
    // Its slots are free again: a run queued meanwhile may take them.
    await dispatchQueued(job, deps, START_DISPATCH_BUDGET).catch((dispatchError: unknown) =>
      log.warn('Looking for a free slot failed', { ...describeError(dispatchError) }),
    );
    throw new ServiceUnavailableError('The job could not be started; try again later', {
      cause: error,
    });
  }

  deps.metrics?.started(job.type);
  log.info('Job started', { owner, jobName: job.jobName, runId: job.runId, type: job.type });
  return { jobName: job.jobName, runId: job.runId, status: job.status, created: true };
}

/**
 * The run was queued: look for a slot at once, since one may have been freed
 * while the run was being queued (the release's own look may have come just
 * before the run was there to be seen), or the run was queued only because
 * others wait on one of its keys while it fits itself. Still queued: announce it.
 */
async function queued(job: ActiveJob, deps: StartJobDeps): Promise<StartedJob> {
  const { owner, jobName, runId, type } = job;
  let startedNow = false;
  try {
    // Read after the run's own write: a slot freed before it is seen here, and one freed
    // after it finds the run in the queue. No room on its keys: nothing to look for.
    const slots = deps.store.slots;
    const room = slots ? await slots.hasRoom(slots.keysOf(owner, type)) : false;
    // A caller waits: a short look (its own run, or a couple of others that fit now).
    const started = room ? await dispatchQueued({ owner, type }, deps, START_DISPATCH_BUDGET) : [];
    startedNow = started.some((run) => run.runId === runId);
  } catch (error) {
    // The run is safely queued; the next release (or the sweeper) starts it.
    log.warn('Looking for a free slot after queueing failed', { ...describeError(error) });
  }
  if (startedNow) {
    // Queued only because others waited on one of its keys, and a slot was free for it.
    log.info('Job started', { owner, jobName, runId, type, via: 'queue' });
    return { jobName, runId, status: JobStatus.Running, created: true };
  }
  deps.metrics?.queued(type);
  let position: number | undefined;
  try {
    // Informational, so bounded: a caller waits, and a long queue under load is slow to count.
    position =
      job.queue && deps.countQueuePosition !== false
        ? await within(
            POSITION_TIMEOUT_MS,
            deps.store.slots?.position({ owner, seq: job.queue.seq }),
          )
        : undefined;
    await deps.putEvent?.(JobEventType.Queued, {
      owner,
      jobName,
      runId,
      type,
      queuedAt: job.createdAt,
      ...(position !== undefined ? { position } : {}),
    });
  } catch (error) {
    // Informational: the run is queued whether or not the event got out.
    log.warn('Job Queued could not be announced', { ...describeError(error) });
  }
  log.info('Job queued', { owner, jobName, runId, type, position });
  return { jobName, runId, status: JobStatus.Queued, created: true, position };
}

/** How long start-job waits for a queued run's position before answering without it. */
const POSITION_TIMEOUT_MS = 1_000;

/** `promise`'s value, or undefined when it has not settled within `ms`. */
async function within<T>(ms: number, promise: Promise<T> | undefined): Promise<T | undefined> {
  if (promise === undefined) return undefined;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function queueFullError(deps: StartJobDeps): TooManyRequestsError {
  const max = deps.store.slots?.limits.maxQueuedPerOwner;
  return new TooManyRequestsError(
    'QueueFull',
    `You have ${max ?? 'the most'} jobs queued already, the most allowed; start more when some have started`,
    { retryAfterSeconds: QUEUE_FULL_RETRY_AFTER_SECONDS },
  );
}

/**
 * The name already has a running job. The same start again (same type, input,
 * timeout and callback) returns that run; any other start is a conflict.
 */
async function repeatedStart(
  job: ActiveJob,
  existing: ActiveJob,
  deps: StartJobDeps,
): Promise<StartedJob> {
  if (deps.logJobKeys !== false) appendJobKeys(existing);
  if (
    existing.type === job.type &&
    existing.inputHash === job.inputHash &&
    existing.timeoutSeconds === job.timeoutSeconds &&
    existing.callbackUrl === job.callbackUrl
  ) {
    // No worker has begun this run: the first start may have died between writing the
    // record and invoking the worker (a timeout, a crash), and the client is retrying
    // for that reason. Invoke again; a second invocation of a run that did get queued is
    // refused by the worker's run lease, so this cannot run the job twice.
    if (existing.status === JobStatus.Running && !existing.startedAt) {
      try {
        await invokeWorker(deps, workerPayload(existing, existing.createdAt));
      } catch (error) {
        // The record stays: it is the run the client asked for, and a later retry (or
        // the sweeper's start window) settles it.
        throw new ServiceUnavailableError('The job could not be started; try again later', {
          cause: error,
        });
      }
      log.info('Worker invoked again for a run that had not started', {
        owner: job.owner,
        jobName: existing.jobName,
        runId: existing.runId,
      });
    }
    return {
      jobName: existing.jobName,
      runId: existing.runId,
      status: existing.status,
      created: false,
    };
  }
  throw new ConflictError(
    'JobNameInUse',
    `A job named "${job.jobName}" is already running with a different type, input, timeout or callback`,
    { extra: { job: activeView(existing) } },
  );
}

async function removeUnstartedRun(store: JobStore, job: ActiveJob): Promise<void> {
  try {
    // Conditional on the run id: if the record is already another run's, it is left alone.
    await store.deleteActive(job);
  } catch (error) {
    log.error(
      'ORPHANED JOB RECORD: the worker was never invoked and the record could not be removed',
      { owner: job.owner, jobName: job.jobName, runId: job.runId, ...describeError(error) },
    );
  }
}

/** Validation issues as error details, with paths from the request body's root (`input.seconds`). */
export function issueDetails(
  error: SchemaError,
  prefix: readonly PropertyKey[] = [],
): ErrorDetail[] {
  return error.issues.map((issue) => {
    const path = [...prefix, ...issue.path].map(String).join('.');
    return path ? { path, message: issue.message } : { message: issue.message };
  });
}
