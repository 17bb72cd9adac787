/**
 * `POST /jobs/batch`: up to 100 starts in one request, each answered on its
 * own, the way SQS's SendMessageBatch answers. Every entry is a `POST /jobs`
 * body plus its `id` in the batch, and `startJob` starts it: the same owner,
 * limits, idempotent retry by name and queueing as one start at a time.
 *
 * A problem with the batch as a whole (its shape, size or ids) is a 400 and
 * starts nothing; a problem with one entry is that entry's `failed` item, and
 * the other entries are started all the same.
 */
import { BadRequestError, type ErrorDetail, HttpError } from '../../core/errors';
import { describeError, log } from '../shared/log';
import { retryLaterError } from '../shared/throttling';
import { isBatchEntryId, MAX_BATCH_ENTRIES } from './batch-limits';
import { type StartedJob, type StartJobDeps, startJob } from './service';

/** Entries started side by side: enough to overlap their round trips, few enough to stay under the dependencies' throttles. */
export const BATCH_START_CONCURRENCY = 8;

/**
 * The longest a batch goes on beginning entries. With the slowest start (a
 * worker invoke that times out and is retried, `ENTRY_RESERVE_MS`) after it,
 * the function still answers within its 29 s and API Gateway's 30 s.
 */
export const BATCH_START_WINDOW_MS = 10_000;

/** How long one entry may take at worst: three 5 s attempts of the worker's invoke. */
export const ENTRY_RESERVE_MS = 15_000;

/** A failed entry carries at most this many validation details, so 100 of them fit in a response. */
export const MAX_DETAILS_PER_ENTRY = 10;

/** One entry of a batch: its id, and the start request it carries. */
export interface BatchEntry {
  readonly id: string;
  readonly request: Record<string, unknown>;
}

export interface BatchEntryStarted extends StartedJob {
  readonly id: string;
}

export interface BatchEntryFailed {
  readonly id: string;
  readonly code: string;
  readonly message: string;
  /** True when the entry itself is at fault (4xx); false when the same entry may succeed later. */
  readonly senderFault: boolean;
  readonly details?: readonly ErrorDetail[];
  readonly retryAfterSeconds?: number;
}

/** Each list in the batch's order. */
export interface BatchOutcome {
  readonly successful: readonly BatchEntryStarted[];
  readonly failed: readonly BatchEntryFailed[];
}

export interface BatchOptions {
  /**
   * Epoch milliseconds from which no further entry is begun (beyond the first
   * `concurrency`, which always are); those left fail as `NotAttempted`.
   */
  readonly startBy: number;
  /** Entries started at once. @default BATCH_START_CONCURRENCY */
  readonly concurrency?: number;
}

/** When a batch stops beginning entries, given the function's remaining time. */
export function batchStartDeadline(nowMs: number, remainingMs: number): number {
  return nowMs + Math.max(0, Math.min(BATCH_START_WINDOW_MS, remainingMs - ENTRY_RESERVE_MS));
}

/** Checks the batch as a whole: its shape, its size and its ids. */
export function parseBatchRequest(body: unknown): BatchEntry[] {
  if (!isRecord(body) || !Array.isArray(body.jobs) || Object.keys(body).length !== 1) {
    throw new BadRequestError(
      'InvalidBody',
      'The request body must be {"jobs": [...]}: an array of start requests, each with an "id"',
    );
  }
  const jobs: unknown[] = body.jobs;
  if (jobs.length === 0) {
    throw new BadRequestError('EmptyBatchRequest', 'The batch has no entries; send 1 to 100');
  }
  if (jobs.length > MAX_BATCH_ENTRIES) {
    throw new BadRequestError(
      'TooManyEntriesInBatchRequest',
      `The batch has ${jobs.length} entries; the most is ${MAX_BATCH_ENTRIES}`,
    );
  }
  const seen = new Set<string>();
  return jobs.map((entry, index) => {
    const id = isRecord(entry) ? entry.id : undefined;
    if (!isRecord(entry) || !isBatchEntryId(id)) {
      throw new BadRequestError(
        'InvalidBatchEntryId',
        `Entry ${index} has no valid id: an id is 1 to 80 characters of A-Z a-z 0-9 - _`,
        { details: [{ path: `jobs.${index}.id`, message: 'Invalid batch entry id' }] },
      );
    }
    if (seen.has(id)) {
      throw new BadRequestError(
        'BatchEntryIdsNotDistinct',
        `Entry ${index} repeats the id "${id}"; the ids in a batch must be distinct`,
        { details: [{ path: `jobs.${index}.id`, message: 'Repeated batch entry id' }] },
      );
    }
    seen.add(id);
    // Rest copies own keys as they are (`__proto__` included), as the request was sent.
    const { id: _, ...request } = entry;
    return { id, request };
  });
}

/**
 * Starts every entry for `owner` and answers each one's result. Entries that
 * name the same job run one after the other, in the batch's order, so they
 * behave as two `POST /jobs` one after the other would; other entries run
 * side by side, `concurrency` at a time.
 */
export async function startBatch(
  owner: string,
  body: unknown,
  deps: StartJobDeps,
  options: BatchOptions,
): Promise<BatchOutcome> {
  const entries = parseBatchRequest(body);
  const entryDeps: StartJobDeps = { ...deps, logJobKeys: false, countQueuePosition: false };
  const concurrency = options.concurrency ?? BATCH_START_CONCURRENCY;
  // The first round is begun whatever the time, so every batch makes progress: sending
  // the entries it did not attempt again always starts some of them.
  let begun = 0;
  const mayBegin = () => begun++ < concurrency || deps.now().getTime() < options.startBy;
  const results: (BatchEntryStarted | BatchEntryFailed)[] = [];
  await forEachBounded(lanesByName(entries), concurrency, async (lane) => {
    for (const index of lane) {
      const entry = entries[index] as BatchEntry;
      results[index] = await startEntry(owner, entry, entryDeps, mayBegin);
    }
  });
  return {
    successful: results.filter((r): r is BatchEntryStarted => 'runId' in r),
    failed: results.filter((r): r is BatchEntryFailed => 'code' in r),
  };
}

async function startEntry(
  owner: string,
  entry: BatchEntry,
  deps: StartJobDeps,
  mayBegin: () => boolean,
): Promise<BatchEntryStarted | BatchEntryFailed> {
  if (!mayBegin()) {
    return {
      id: entry.id,
      code: 'NotAttempted',
      message: 'The batch ran out of time before this entry was begun; send it again',
      senderFault: false,
    };
  }
  try {
    return { id: entry.id, ...(await startJob(owner, entry.request, deps)) };
  } catch (error) {
    return entryFailure(entry.id, error);
  }
}

/** An entry's error as its `failed` item: mapped as `errorResponse` maps a whole request's. */
export function entryFailure(id: string, error: unknown): BatchEntryFailed {
  const mapped = error instanceof HttpError ? error : retryLaterError(error);
  if (mapped === undefined) {
    log.error('A batch entry failed unexpectedly', { batchEntryId: id, ...describeError(error) });
    return { id, code: 'InternalError', message: 'An internal error occurred', senderFault: false };
  }
  if (mapped !== error) {
    log.warn('A dependency throttled or failed a batch entry', {
      batchEntryId: id,
      statusCode: mapped.statusCode,
      ...describeError(error),
    });
  }
  const { statusCode, details, retryAfterSeconds } = mapped;
  return {
    id,
    code: mapped.code,
    message: mapped.message,
    senderFault: statusCode >= 400 && statusCode < 500 && statusCode !== 429,
    ...(details?.length ? { details: details.slice(0, MAX_DETAILS_PER_ENTRY) } : {}),
    ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}),
  };
}

/**
 * The entries' indexes in lanes: one lane per job name, in the batch's order,
 * and a lane of its own for each entry without a (string) name.
 */
function lanesByName(entries: readonly BatchEntry[]): number[][] {
  const lanes: number[][] = [];
  const byName = new Map<string, number[]>();
  entries.forEach((entry, index) => {
    const name = entry.request.name;
    const lane = typeof name === 'string' ? byName.get(name) : undefined;
    if (lane) {
      lane.push(index);
      return;
    }
    const fresh = [index];
    lanes.push(fresh);
    if (typeof name === 'string') byName.set(name, fresh);
  });
  return lanes;
}

/** Runs `fn` over `items`, at most `limit` at a time, in order of `items`. */
async function forEachBounded<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), items.length) }, worker));
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
