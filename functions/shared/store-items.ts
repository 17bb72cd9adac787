/**
 * The jobs table's items as `JobStore` writes and reads them: the keys, and
 * the mappers between an item and an active record, an outcome, or a row of a
 * list. The layout itself (key names, indexes) is `core/table.ts`.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import * as z from 'zod/mini';
import { attemptErrorSchema } from '../../core/event-schemas';
import type { AttemptError, JobError } from '../../core/events';
import {
  type ActiveJob,
  type JobOutcome,
  type JobProgress,
  type JobStatus,
  type JobSummary,
  type QueuePlace,
  JobStatus as Status,
  type TerminalStatus,
} from '../../core/model';
import {
  ACTIVE_SORT_KEY,
  activePartitionKey,
  activeShardOf,
  JobsTable,
  jobPartitionKey,
  listSortKey,
  ownerPartitionKey,
  ownerStatusPartitionKey,
  RUN_SORT_KEY_PREFIX,
} from '../../core/table';
import type { StartedBy } from '../../core/triggers';
import type { Item } from './dynamodb';
import { validate } from './validate';

/** One active record as the sweeper sees it (the `byActive` index projection). */
export type ActiveSummary = Pick<
  ActiveJob,
  | 'owner'
  | 'jobName'
  | 'runId'
  | 'type'
  | 'createdAt'
  | 'startedAt'
  | 'attemptStartedAt'
  | 'attempt'
  | 'heartbeatAt'
  | 'deadlineAt'
  | 'cancelRequestedAt'
  | 'status'
  | 'dispatchedAt'
>;

/** What an active record and an outcome both store of their run. */
type StoredRun = Pick<
  JobOutcome,
  | 'owner'
  | 'jobName'
  | 'runId'
  | 'type'
  | 'input'
  | 'createdAt'
  | 'startedAt'
  | 'attempt'
  | 'cancelRequestedAt'
  | 'deadlineAt'
  | 'timeoutSeconds'
  | 'callbackUrl'
  | 'startedBy'
> & { readonly status: JobStatus };

/** What every stored run has that the sweeper's index projects too. */
type RunFields = Pick<
  ActiveSummary,
  | 'owner'
  | 'jobName'
  | 'runId'
  | 'type'
  | 'createdAt'
  | 'startedAt'
  | 'attempt'
  | 'cancelRequestedAt'
  | 'deadlineAt'
>;

export function activeKey(owner: string, jobName: string): Item {
  return { pk: { S: jobPartitionKey(owner, jobName) }, sk: { S: ACTIVE_SORT_KEY } };
}

/** The key of one run's retained outcome. */
export function outcomeKey(owner: string, jobName: string, runId: string): Item {
  return {
    pk: { S: jobPartitionKey(owner, jobName) },
    sk: { S: `${RUN_SORT_KEY_PREFIX}${runId}` },
  };
}

function listKeys(owner: string, status: JobStatus, createdAt: string, runId: string): Item {
  const sortKey = { S: listSortKey(createdAt, runId) };
  return {
    gsi1pk: { S: ownerPartitionKey(owner) },
    gsi1sk: sortKey,
    gsi2pk: { S: ownerStatusPartitionKey(owner, status) },
    gsi2sk: sortKey,
  };
}

function runToItem(run: StoredRun): Item {
  return {
    ...listKeys(run.owner, run.status, run.createdAt, run.runId),
    owner: { S: run.owner },
    jobName: { S: run.jobName },
    runId: { S: run.runId },
    type: { S: run.type },
    status: { S: run.status },
    input: { S: JSON.stringify(run.input) },
    createdAt: { S: run.createdAt },
    ...present({
      startedAt: text(run.startedAt),
      attempt: num(run.attempt),
      cancelRequestedAt: text(run.cancelRequestedAt),
      deadlineAt: text(run.deadlineAt),
      // On the outcome too: a replay starts its new run with the same deadline.
      timeoutSeconds: num(run.timeoutSeconds),
      callbackUrl: text(run.callbackUrl),
      startedBy: run.startedBy && { S: JSON.stringify(run.startedBy) },
    }),
  };
}

export function activeToItem(job: ActiveJob): Item {
  return {
    ...activeKey(job.owner, job.jobName),
    ...runToItem(job),
    // Only active records carry these, which keeps the sweeper's index sparse.
    [JobsTable.byActive.partitionKey]: {
      S: activePartitionKey(activeShardOf(job.owner, job.jobName)),
    },
    [JobsTable.byActive.sortKey]: { S: listSortKey(job.createdAt, job.runId) },
    inputHash: { S: job.inputHash },
    updatedAt: { S: job.updatedAt },
    ...present({
      progress: job.progress && progressToAttr(job.progress),
      heartbeatAt: text(job.heartbeatAt),
      attemptStartedAt: text(job.attemptStartedAt),
      leaseId: text(job.leaseId),
      dispatchedAt: text(job.dispatchedAt),
      queue: job.queue && queueToAttr(job.queue),
      invocations: num(job.invocations),
      checkpointed: job.checkpointed ? { BOOL: true } : undefined,
      maxAttempts: num(job.maxAttempts),
      wakeAt: text(job.wakeAt),
      sleepName: text(job.sleepName),
      waitingFor: text(job.waitingFor),
      suspendedAt: text(job.suspendedAt),
      redrivenAt: text(job.redrivenAt),
    }),
  };
}

export function outcomeToItem(outcome: JobOutcome): Item {
  return {
    ...outcomeKey(outcome.owner, outcome.jobName, outcome.runId),
    ...runToItem(outcome),
    finishedAt: { S: outcome.finishedAt },
    expiresAt: { N: String(outcome.expiresAt) },
    ...present({
      durationMs: num(outcome.durationMs),
      result: outcome.result !== undefined ? { S: JSON.stringify(outcome.result) } : undefined,
      error: outcome.error && errorToAttr(outcome.error),
      attempts: outcome.attempts?.length ? { S: JSON.stringify(outcome.attempts) } : undefined,
      webhook: outcome.webhook && { S: JSON.stringify(outcome.webhook) },
      invocations: num(outcome.invocations),
      checkpointed: outcome.checkpointed ? { BOOL: true } : undefined,
      announcedAt: text(outcome.announcedAt),
    }),
  };
}

/** The optional attributes that have a value: an absent one is left off the item, not stored empty. */
function present(attributes: Record<string, AttributeValue | undefined>): Item {
  const item: Item = {};
  for (const [name, value] of Object.entries(attributes)) if (value) item[name] = value;
  return item;
}

/** A string attribute; an empty string counts as absent. */
function text(value: string | undefined): AttributeValue | undefined {
  return value ? { S: value } : undefined;
}

function num(value: number | undefined): AttributeValue | undefined {
  return value === undefined ? undefined : { N: String(value) };
}

function itemToRun(item: Item): RunFields {
  return {
    owner: str(item, 'owner'),
    jobName: str(item, 'jobName'),
    runId: str(item, 'runId'),
    type: str(item, 'type'),
    createdAt: str(item, 'createdAt'),
    startedAt: optStr(item, 'startedAt'),
    attempt: optNum(item, 'attempt'),
    cancelRequestedAt: optStr(item, 'cancelRequestedAt'),
    deadlineAt: optStr(item, 'deadlineAt'),
  };
}

export function itemToActiveSummary(item: Item): ActiveSummary {
  return {
    ...itemToRun(item),
    // Records from before queueing existed have no QUEUED status: they run.
    status: optStr(item, 'status') === Status.Queued ? Status.Queued : Status.Running,
    attemptStartedAt: optStr(item, 'attemptStartedAt'),
    heartbeatAt: optStr(item, 'heartbeatAt'),
    dispatchedAt: optStr(item, 'dispatchedAt'),
  };
}

export function itemToActive(item: Item): ActiveJob {
  return {
    ...itemToActiveSummary(item),
    queue: attrToQueue(item.queue),
    input: json(item, 'input'),
    inputHash: str(item, 'inputHash'),
    updatedAt: str(item, 'updatedAt'),
    progress: attrToProgress(item.progress),
    timeoutSeconds: optNum(item, 'timeoutSeconds'),
    leaseId: optStr(item, 'leaseId'),
    callbackUrl: optStr(item, 'callbackUrl'),
    invocations: optNum(item, 'invocations'),
    checkpointed: item.checkpointed?.BOOL === true ? true : undefined,
    maxAttempts: optNum(item, 'maxAttempts'),
    wakeAt: optStr(item, 'wakeAt'),
    sleepName: optStr(item, 'sleepName'),
    waitingFor: optStr(item, 'waitingFor'),
    suspendedAt: optStr(item, 'suspendedAt'),
    redrivenAt: optStr(item, 'redrivenAt'),
    startedBy: startedByOf(item),
  };
}

export function itemToOutcome(item: Item): JobOutcome {
  return {
    ...itemToRun(item),
    status: str(item, 'status') as TerminalStatus,
    input: json(item, 'input'),
    finishedAt: str(item, 'finishedAt'),
    durationMs: optNum(item, 'durationMs'),
    result: json(item, 'result'),
    error: attrToError(item.error),
    attempts: attrToAttempts(item.attempts),
    expiresAt: optNum(item, 'expiresAt') ?? 0,
    timeoutSeconds: optNum(item, 'timeoutSeconds'),
    callbackUrl: optStr(item, 'callbackUrl'),
    webhook: json(item, 'webhook') as JobOutcome['webhook'],
    invocations: optNum(item, 'invocations'),
    checkpointed: item.checkpointed?.BOOL === true ? true : undefined,
    announcedAt: optStr(item, 'announcedAt'),
    startedBy: startedByOf(item),
  };
}

export function itemToSummary(item: Item): JobSummary {
  return {
    jobName: str(item, 'jobName'),
    runId: str(item, 'runId'),
    type: str(item, 'type'),
    status: str(item, 'status') as JobStatus,
    createdAt: str(item, 'createdAt'),
    finishedAt: optStr(item, 'finishedAt'),
    progress: attrToProgress(item.progress),
    ...(item.startedBy ? { startedBy: startedByOf(item) } : {}),
  };
}

/** The trigger or schedule that started a run, kept as JSON text. */
function startedByOf(item: Item): StartedBy | undefined {
  return json(item, 'startedBy') as StartedBy | undefined;
}

export function progressToAttr(progress: JobProgress): AttributeValue {
  const map: Item = { percent: { N: String(progress.percent) }, at: { S: progress.at } };
  if (progress.message !== undefined) map.message = { S: progress.message };
  return { M: map };
}

function attrToProgress(attr: AttributeValue | undefined): JobProgress | undefined {
  if (!attr?.M) return undefined;
  return {
    percent: Number(attr.M.percent?.N ?? 0),
    message: attr.M.message?.S,
    at: attr.M.at?.S ?? '',
  };
}

function queueToAttr(queue: QueuePlace): AttributeValue {
  const rounds: Item = {};
  for (const [key, round] of Object.entries(queue.rounds)) rounds[key] = { N: String(round) };
  return { M: { seq: { S: queue.seq }, rounds: { M: rounds } } };
}

function attrToQueue(attr: AttributeValue | undefined): QueuePlace | undefined {
  const seq = attr?.M?.seq?.S;
  if (seq === undefined) return undefined;
  const rounds: Record<string, number> = {};
  for (const [key, value] of Object.entries(attr?.M?.rounds?.M ?? {}))
    rounds[key] = Number(value.N);
  return { seq, rounds };
}

function errorToAttr(error: JobError): AttributeValue {
  return { M: { name: { S: error.name }, message: { S: error.message } } };
}

function attrToError(attr: AttributeValue | undefined): JobError | undefined {
  if (!attr?.M) return undefined;
  return { name: attr.M.name?.S ?? 'Error', message: attr.M.message?.S ?? '' };
}

const attemptErrorsSchema = z.array(attemptErrorSchema);

function attrToAttempts(attr: AttributeValue | undefined): AttemptError[] | undefined {
  if (attr?.S === undefined) return undefined;
  const parsed = validate(attemptErrorsSchema, JSON.parse(attr.S));
  return parsed.success ? parsed.data : undefined;
}

function str(item: Item, name: string): string {
  const value = item[name]?.S;
  if (value === undefined) throw new Error(`Stored job item has no string attribute "${name}"`);
  return value;
}

function optStr(item: Item, name: string): string | undefined {
  return item[name]?.S;
}

function optNum(item: Item, name: string): number | undefined {
  const raw = item[name]?.N;
  return raw === undefined ? undefined : Number(raw);
}

function json(item: Item, name: string): unknown {
  const raw = item[name]?.S;
  return raw === undefined ? undefined : JSON.parse(raw);
}
