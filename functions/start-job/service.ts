/**
 * Starting a job: validate the request, claim the job's name with a
 * conditional put, then hand the run to the worker with an asynchronous
 * invoke. A run the worker never received is removed again, so no record is
 * left RUNNING with nobody working on it.
 */

import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import * as z from 'zod/mini';
import {
  BadRequestError,
  ConflictError,
  type ErrorDetail,
  PayloadTooLargeError,
  ServiceUnavailableError,
} from '../../core/errors';
import { isJobName, type WorkerPayload } from '../../core/events';
import { type ActiveJob, activeView, JobStatus } from '../../core/model';
import { ulid } from '../shared/ids';
import { getJobType, jobTypeNames } from '../shared/job-registry';
import { canonicalJson, sha256Hex, utf8Length } from '../shared/json';
import { appendJobKeys, describeError, log } from '../shared/log';
import type { JobMetrics } from '../shared/metrics';
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
export const MAX_INPUT_DEPTH = 64;

const startRequestSchema = z.strictObject({
  type: z.string().check(z.maxLength(MAX_TYPE_LENGTH)),
  name: z.optional(z.string()),
  input: z.optional(z.unknown()),
  timeoutSeconds: z.optional(z.int().check(z.gte(1))),
  callback: z.optional(z.strictObject({ url: z.string() })),
});

/** Lambda's longest timeout: the ceiling of a request's `timeoutSeconds` when no other is set. */
export const DEFAULT_MAX_TIMEOUT_SECONDS = 900;

export interface StartJobDeps {
  readonly store: JobStore;
  /** Invokes the worker; its retries (throttling, 5xx, network errors) are the SDK's standard ones. */
  readonly lambda: LambdaClient;
  readonly workerFunctionName: string;
  /** The largest accepted `input`, as JSON text in bytes. */
  readonly maxInputBytes: number;
  /** The largest `timeoutSeconds` a request may ask for: the worker's own timeout. @default 900 */
  readonly maxTimeoutSeconds?: number;
  /** Callbacks may be `http://localhost` (the local cloud only). @default false */
  readonly allowHttpLocalhost?: boolean;
  /** Resolves a callback's host. @default - the system resolver */
  readonly lookup?: LookupAll;
  readonly now: () => Date;
  /** Where each new run is counted. @default - nothing is counted */
  readonly metrics?: JobMetrics;
}

/** The job a start request refers to: the new run, or the identical one already running. */
export interface StartedJob {
  readonly jobName: string;
  readonly runId: string;
  readonly status: 'RUNNING';
  /** False when the request repeated a start that is still running (an idempotent retry). */
  readonly created: boolean;
}

interface StartRequest {
  readonly type: string;
  readonly name?: string;
  readonly input: unknown;
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
      `timeoutSeconds must be at most ${maxTimeoutSeconds}, the worker's own timeout`,
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
  return { type, name, input: parsedInput.data, timeoutSeconds, callbackUrl: callback?.url };
}

/**
 * Refuses a callback URL that is not https (locally: http to localhost), or whose
 * host is, or resolves to, a private, loopback, link-local or metadata address.
 * Delivery checks again, after its own lookup, so a host that changes its answer
 * later is still refused.
 */
async function checkCallback(url: string, deps: StartJobDeps): Promise<string> {
  const options = { allowHttpLocalhost: deps.allowHttpLocalhost ?? false };
  const form = checkCallbackUrl(url, options);
  if (!form.ok) throw new BadRequestError('InvalidCallback', form.reason);
  const resolved = await resolveSafeAddress(form.url.hostname, { ...options, lookup: deps.lookup });
  if (!resolved.ok) throw new BadRequestError('InvalidCallback', resolved.reason);
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
    inputHash: sha256Hex(canonicalJson(request.input)),
    createdAt: at,
    updatedAt: at,
    ...(request.timeoutSeconds !== undefined ? { timeoutSeconds: request.timeoutSeconds } : {}),
    ...(callbackUrl !== undefined ? { callbackUrl } : {}),
  };

  appendJobKeys(job);
  const claim = await deps.store.createActive(job);
  if (!claim.created) {
    const { existing } = claim;
    appendJobKeys(existing);
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
      if (!existing.startedAt) {
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
          owner,
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
    throw new ServiceUnavailableError('The job could not be started; try again later', {
      cause: error,
    });
  }

  deps.metrics?.started(job.type);
  log.info('Job started', { owner, jobName: job.jobName, runId: job.runId, type: job.type });
  return { jobName: job.jobName, runId: job.runId, status: job.status, created: true };
}

function workerPayload(job: ActiveJob, submittedAt: string): WorkerPayload {
  return {
    owner: job.owner,
    jobName: job.jobName,
    runId: job.runId,
    type: job.type,
    input: job.input,
    submittedAt,
  };
}

async function invokeWorker(deps: StartJobDeps, payload: WorkerPayload): Promise<void> {
  const response = await deps.lambda.send(
    new InvokeCommand({
      FunctionName: deps.workerFunctionName,
      InvocationType: 'Event',
      Payload: JSON.stringify(payload),
    }),
  );
  // An accepted asynchronous invoke answers 202; anything else means the event was not queued.
  if (response.StatusCode !== 202 || response.FunctionError) {
    throw new Error(
      `Invoke answered status ${response.StatusCode}` +
        (response.FunctionError ? ` with function error ${response.FunctionError}` : ''),
    );
  }
}

async function removeUnstartedRun(store: JobStore, job: ActiveJob): Promise<void> {
  try {
    // Conditional on the run id: if the record is already another run's, it is left alone.
    await store.deleteActive(job.owner, job.jobName, job.runId);
  } catch (error) {
    log.error(
      'ORPHANED JOB RECORD: the worker was never invoked and the record could not be removed',
      { owner: job.owner, jobName: job.jobName, runId: job.runId, ...describeError(error) },
    );
  }
}

/** Whether objects and arrays nest more than `maxDepth` levels in `value`; walks without recursing. */
export function nestingExceeds(value: unknown, maxDepth: number): boolean {
  const stack: Array<{ readonly value: unknown; readonly depth: number }> = [{ value, depth: 0 }];
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    if (typeof next.value !== 'object' || next.value === null) continue;
    const depth = next.depth + 1;
    if (depth > maxDepth) return true;
    for (const child of Object.values(next.value)) stack.push({ value: child, depth });
  }
  return false;
}

/** Validation issues as error details, with paths from the request body's root (`input.seconds`). */
function issueDetails(error: SchemaError, prefix: readonly PropertyKey[] = []): ErrorDetail[] {
  return error.issues.map((issue) => {
    const path = [...prefix, ...issue.path].map(String).join('.');
    return path ? { path, message: issue.message } : { message: issue.message };
  });
}
