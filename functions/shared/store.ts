/**
 * The jobs table, as the functions use it. Every write that moves a job between
 * states is conditional on the run id, so a duplicate or late caller changes
 * nothing instead of overwriting a newer run.
 */
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  TransactionCanceledException,
  TransactWriteItemsCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import * as z from 'zod/mini';
import { BadRequestError } from '../../core/errors';
import { attemptErrorSchema } from '../../core/event-schemas';
import type { AttemptError, JobError } from '../../core/events';
import {
  type ActiveJob,
  type JobOutcome,
  type JobProgress,
  type JobStatus,
  type JobSummary,
  JobStatus as Status,
  type TerminalStatus,
  type WebhookDelivery,
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
import { validate } from './validate';

type Item = Record<string, AttributeValue>;

export type CreateResult =
  | { readonly created: true }
  | { readonly created: false; readonly existing: ActiveJob };

/** What `claimRun` found: the run is now this invocation's, gone, or held by a live invocation. */
export type ClaimResult =
  | { readonly claimed: true; readonly job: ActiveJob }
  | { readonly claimed: false; readonly reason: 'gone' }
  | { readonly claimed: false; readonly reason: 'leased'; readonly holder: ActiveJob };

export interface ClaimRequest {
  readonly at: string;
  readonly attempt: number;
  /** The Lambda request id; an async retry of the same invocation reuses it. */
  readonly leaseId: string;
  /** A holder whose last heartbeat is older than this has died: its lease can be taken. */
  readonly staleBefore: string;
  /** Set only if the run has no deadline yet, so the first attempt's deadline sticks. */
  readonly deadlineAt?: string;
}

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
>;

export interface ActivePage {
  readonly jobs: ActiveSummary[];
  readonly nextKey?: Item;
}

export interface ListOptions {
  readonly status?: JobStatus;
  readonly limit: number;
  readonly cursor?: string;
}

export interface ListPage {
  readonly jobs: JobSummary[];
  readonly nextCursor?: string;
}

export class JobStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  /** Puts the active record unless the name already has a running job, which it returns. */
  async createActive(job: ActiveJob): Promise<CreateResult> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: activeToItem(job),
          ConditionExpression: 'attribute_not_exists(pk)',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { created: true };
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) {
        // Servers that ignore ReturnValuesOnConditionCheckFailure return no item: read it.
        const existing = error.Item
          ? itemToActive(error.Item)
          : await this.getActive(job.owner, job.jobName);
        if (existing) return { created: false, existing };
      }
      throw error;
    }
  }

  /** Deletes the active record of this run only; false when it is gone or belongs to another run. */
  async deleteActive(owner: string, jobName: string, runId: string): Promise<boolean> {
    try {
      await this.client.send(
        new DeleteItemCommand({
          TableName: this.tableName,
          Key: activeKey(owner, jobName),
          ConditionExpression: 'runId = :runId',
          ExpressionAttributeValues: { ':runId': { S: runId } },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  async getActive(owner: string, jobName: string): Promise<ActiveJob | undefined> {
    const { Item } = await this.client.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: activeKey(owner, jobName),
        ConsistentRead: true,
      }),
    );
    return Item ? itemToActive(Item) : undefined;
  }

  /**
   * The newest retained outcome of a name. Run ids sort by time, so it is the
   * last `RUN#` item; an expired one counts as gone even before TTL deletes it.
   */
  async getLatestOutcome(
    owner: string,
    jobName: string,
    nowSeconds: number,
  ): Promise<JobOutcome | undefined> {
    const { Items } = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :run)',
        ExpressionAttributeValues: {
          ':pk': { S: jobPartitionKey(owner, jobName) },
          ':run': { S: RUN_SORT_KEY_PREFIX },
        },
        ScanIndexForward: false,
        Limit: 1,
        ConsistentRead: true,
      }),
    );
    const item = Items?.[0];
    if (!item) return undefined;
    const outcome = itemToOutcome(item);
    return outcome.expiresAt > nowSeconds ? outcome : undefined;
  }

  /** Marks the run as started by a worker attempt; undefined when the run is no longer active. */
  async markStarted(
    owner: string,
    jobName: string,
    runId: string,
    at: string,
    attempt: number,
  ): Promise<ActiveJob | undefined> {
    return this.updateActiveRun(owner, jobName, runId, {
      UpdateExpression:
        'SET startedAt = if_not_exists(startedAt, :at), updatedAt = :at, attempt = :attempt',
      ExpressionAttributeValues: { ':at': { S: at }, ':attempt': { N: String(attempt) } },
    });
  }

  /**
   * Claims the run for one worker invocation (a lease keyed by its request id)
   * and marks the attempt started. A second, concurrent invocation of the same
   * run (a duplicate delivery) is refused while the holder's heartbeat is
   * fresh; Lambda's own retry of the invocation carries the same request id and
   * passes.
   */
  async claimRun(
    owner: string,
    jobName: string,
    runId: string,
    request: ClaimRequest,
  ): Promise<ClaimResult> {
    const values: Item = {
      ':runId': { S: runId },
      ':at': { S: request.at },
      ':attempt': { N: String(request.attempt) },
      ':lease': { S: request.leaseId },
      ':stale': { S: request.staleBefore },
    };
    let deadline = '';
    if (request.deadlineAt) {
      values[':deadline'] = { S: request.deadlineAt };
      deadline = ', deadlineAt = if_not_exists(deadlineAt, :deadline)';
    }
    try {
      const { Attributes } = await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: activeKey(owner, jobName),
          UpdateExpression:
            'SET startedAt = if_not_exists(startedAt, :at), updatedAt = :at, attempt = :attempt, ' +
            `attemptStartedAt = :at, heartbeatAt = :at, leaseId = :lease${deadline}`,
          ConditionExpression:
            'runId = :runId AND (attribute_not_exists(leaseId) OR leaseId = :lease OR ' +
            'attribute_not_exists(heartbeatAt) OR heartbeatAt < :stale)',
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      if (!Attributes) return { claimed: false, reason: 'gone' };
      return { claimed: true, job: itemToActive(Attributes) };
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) {
        const current = error.Item
          ? itemToActive(error.Item)
          : await this.getActive(owner, jobName);
        if (current && current.runId === runId) {
          return { claimed: false, reason: 'leased', holder: current };
        }
        return { claimed: false, reason: 'gone' };
      }
      throw error;
    }
  }

  /**
   * The worker's sign of life. Returns the record as it now is, so the worker
   * learns of a cancel request; undefined when the run is no longer active.
   */
  async heartbeat(
    owner: string,
    jobName: string,
    runId: string,
    at: string,
  ): Promise<ActiveJob | undefined> {
    return this.updateActiveRun(owner, jobName, runId, {
      UpdateExpression: 'SET heartbeatAt = :at',
      ExpressionAttributeValues: { ':at': { S: at } },
    });
  }

  /** Records that the worker began another in-process attempt of the run. */
  async recordAttempt(
    owner: string,
    jobName: string,
    runId: string,
    attempt: number,
    at: string,
  ): Promise<ActiveJob | undefined> {
    return this.updateActiveRun(owner, jobName, runId, {
      UpdateExpression: 'SET attempt = :attempt, heartbeatAt = :at, updatedAt = :at',
      ExpressionAttributeValues: { ':attempt': { N: String(attempt) }, ':at': { S: at } },
    });
  }

  /** One page of one shard of the active records (the sparse `byActive` index). */
  async listActive(shard: number, startKey?: Item): Promise<ActivePage> {
    const index = JobsTable.byActive;
    const { Items, LastEvaluatedKey } = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: index.indexName,
        KeyConditionExpression: '#pk = :pk',
        ExpressionAttributeNames: { '#pk': index.partitionKey },
        ExpressionAttributeValues: { ':pk': { S: activePartitionKey(shard) } },
        ExclusiveStartKey: startKey,
      }),
    );
    return { jobs: (Items ?? []).map(itemToActiveSummary), nextKey: LastEvaluatedKey };
  }

  /** Records progress; returns the record as it now is (with any cancel request), or undefined if gone. */
  async recordProgress(
    owner: string,
    jobName: string,
    runId: string,
    progress: JobProgress,
  ): Promise<ActiveJob | undefined> {
    return this.updateActiveRun(owner, jobName, runId, {
      // Progress is a sign of life too.
      UpdateExpression: 'SET progress = :progress, updatedAt = :at, heartbeatAt = :at',
      ExpressionAttributeValues: {
        ':progress': progressToAttr(progress),
        ':at': { S: progress.at },
      },
    });
  }

  /** Records a cancel request on the running job; undefined when no job of that name is running. */
  async requestCancel(owner: string, jobName: string, at: string): Promise<ActiveJob | undefined> {
    try {
      const { Attributes } = await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: activeKey(owner, jobName),
          UpdateExpression:
            'SET cancelRequestedAt = if_not_exists(cancelRequestedAt, :at), updatedAt = :at',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':at': { S: at } },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return Attributes ? itemToActive(Attributes) : undefined;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined;
      throw error;
    }
  }

  /**
   * Writes the outcome and deletes the active record in one transaction,
   * conditional on the active record still being this run. False means a
   * duplicate or late event: nothing was changed.
   */
  async finishRun(outcome: JobOutcome): Promise<boolean> {
    try {
      await this.client.send(
        new TransactWriteItemsCommand({
          TransactItems: [
            {
              Put: {
                TableName: this.tableName,
                Item: outcomeToItem(outcome),
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
            {
              Delete: {
                TableName: this.tableName,
                Key: activeKey(outcome.owner, outcome.jobName),
                ConditionExpression: 'runId = :runId',
                ExpressionAttributeValues: { ':runId': { S: outcome.runId } },
              },
            },
          ],
        }),
      );
      return true;
    } catch (error) {
      if (
        error instanceof TransactionCanceledException &&
        error.CancellationReasons?.some((reason) => reason.Code === 'ConditionalCheckFailed')
      ) {
        return false;
      }
      throw error;
    }
  }

  /** One run's retained outcome, if it has one. */
  async getOutcome(owner: string, jobName: string, runId: string): Promise<JobOutcome | undefined> {
    const { Item } = await this.client.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: {
          pk: { S: jobPartitionKey(owner, jobName) },
          sk: { S: `${RUN_SORT_KEY_PREFIX}${runId}` },
        },
        ConsistentRead: true,
      }),
    );
    return Item ? itemToOutcome(Item) : undefined;
  }

  /**
   * Records how a run's webhook delivery ended, on its outcome. Conditional on the
   * outcome existing, so it never creates a stray item; false when it does not.
   */
  async recordWebhook(
    owner: string,
    jobName: string,
    runId: string,
    delivery: WebhookDelivery,
  ): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: {
            pk: { S: jobPartitionKey(owner, jobName) },
            sk: { S: `${RUN_SORT_KEY_PREFIX}${runId}` },
          },
          UpdateExpression: 'SET webhook = :webhook',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':webhook': { S: JSON.stringify(delivery) } },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  /** An owner's jobs, newest first, optionally of one status, a page at a time. */
  async list(owner: string, options: ListOptions, nowSeconds: number): Promise<ListPage> {
    const index = options.status ? JobsTable.byOwnerStatus : JobsTable.byOwner;
    const partition = options.status
      ? ownerStatusPartitionKey(owner, options.status)
      : ownerPartitionKey(owner);
    const startKey = options.cursor
      ? decodeCursor(options.cursor, index.partitionKey, index.sortKey, partition, owner)
      : undefined;
    const { Items, LastEvaluatedKey } = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: index.indexName,
        KeyConditionExpression: '#pk = :pk',
        FilterExpression: 'attribute_not_exists(expiresAt) OR expiresAt > :now',
        ExpressionAttributeNames: { '#pk': index.partitionKey },
        ExpressionAttributeValues: {
          ':pk': { S: partition },
          ':now': { N: String(nowSeconds) },
        },
        ScanIndexForward: false,
        Limit: options.limit,
        ExclusiveStartKey: startKey,
      }),
    );
    return {
      jobs: (Items ?? []).map(itemToSummary),
      nextCursor: LastEvaluatedKey ? encodeCursor(LastEvaluatedKey) : undefined,
    };
  }

  private async updateActiveRun(
    owner: string,
    jobName: string,
    runId: string,
    update: {
      UpdateExpression: string;
      ExpressionAttributeValues: Item;
    },
  ): Promise<ActiveJob | undefined> {
    try {
      const { Attributes } = await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: activeKey(owner, jobName),
          UpdateExpression: update.UpdateExpression,
          ConditionExpression: 'runId = :runId',
          ExpressionAttributeValues: {
            ...update.ExpressionAttributeValues,
            ':runId': { S: runId },
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return Attributes ? itemToActive(Attributes) : undefined;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined;
      throw error;
    }
  }
}

function activeKey(owner: string, jobName: string): Item {
  return { pk: { S: jobPartitionKey(owner, jobName) }, sk: { S: ACTIVE_SORT_KEY } };
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

function activeToItem(job: ActiveJob): Item {
  const item: Item = {
    ...activeKey(job.owner, job.jobName),
    ...listKeys(job.owner, job.status, job.createdAt, job.runId),
    // Only active records carry these, which keeps the sweeper's index sparse.
    [JobsTable.byActive.partitionKey]: {
      S: activePartitionKey(activeShardOf(job.owner, job.jobName)),
    },
    [JobsTable.byActive.sortKey]: { S: listSortKey(job.createdAt, job.runId) },
    owner: { S: job.owner },
    jobName: { S: job.jobName },
    runId: { S: job.runId },
    type: { S: job.type },
    status: { S: job.status },
    input: { S: JSON.stringify(job.input) },
    inputHash: { S: job.inputHash },
    createdAt: { S: job.createdAt },
    updatedAt: { S: job.updatedAt },
  };
  if (job.startedAt) item.startedAt = { S: job.startedAt };
  if (job.attempt !== undefined) item.attempt = { N: String(job.attempt) };
  if (job.progress) item.progress = progressToAttr(job.progress);
  if (job.cancelRequestedAt) item.cancelRequestedAt = { S: job.cancelRequestedAt };
  if (job.deadlineAt) item.deadlineAt = { S: job.deadlineAt };
  if (job.timeoutSeconds !== undefined) item.timeoutSeconds = { N: String(job.timeoutSeconds) };
  if (job.heartbeatAt) item.heartbeatAt = { S: job.heartbeatAt };
  if (job.attemptStartedAt) item.attemptStartedAt = { S: job.attemptStartedAt };
  if (job.leaseId) item.leaseId = { S: job.leaseId };
  if (job.callbackUrl) item.callbackUrl = { S: job.callbackUrl };
  return item;
}

function outcomeToItem(outcome: JobOutcome): Item {
  const item: Item = {
    pk: { S: jobPartitionKey(outcome.owner, outcome.jobName) },
    sk: { S: `${RUN_SORT_KEY_PREFIX}${outcome.runId}` },
    ...listKeys(outcome.owner, outcome.status, outcome.createdAt, outcome.runId),
    owner: { S: outcome.owner },
    jobName: { S: outcome.jobName },
    runId: { S: outcome.runId },
    type: { S: outcome.type },
    status: { S: outcome.status },
    input: { S: JSON.stringify(outcome.input) },
    createdAt: { S: outcome.createdAt },
    finishedAt: { S: outcome.finishedAt },
    expiresAt: { N: String(outcome.expiresAt) },
  };
  if (outcome.startedAt) item.startedAt = { S: outcome.startedAt };
  if (outcome.durationMs !== undefined) item.durationMs = { N: String(outcome.durationMs) };
  if (outcome.attempt !== undefined) item.attempt = { N: String(outcome.attempt) };
  if (outcome.result !== undefined) item.result = { S: JSON.stringify(outcome.result) };
  if (outcome.error) item.error = errorToAttr(outcome.error);
  if (outcome.cancelRequestedAt) item.cancelRequestedAt = { S: outcome.cancelRequestedAt };
  if (outcome.deadlineAt) item.deadlineAt = { S: outcome.deadlineAt };
  if (outcome.attempts?.length) item.attempts = { S: JSON.stringify(outcome.attempts) };
  if (outcome.callbackUrl) item.callbackUrl = { S: outcome.callbackUrl };
  if (outcome.webhook) item.webhook = { S: JSON.stringify(outcome.webhook) };
  return item;
}

function itemToActive(item: Item): ActiveJob {
  return {
    owner: str(item, 'owner'),
    jobName: str(item, 'jobName'),
    runId: str(item, 'runId'),
    type: str(item, 'type'),
    status: Status.Running,
    input: json(item, 'input'),
    inputHash: str(item, 'inputHash'),
    createdAt: str(item, 'createdAt'),
    updatedAt: str(item, 'updatedAt'),
    startedAt: optStr(item, 'startedAt'),
    attempt: optNum(item, 'attempt'),
    progress: attrToProgress(item.progress),
    cancelRequestedAt: optStr(item, 'cancelRequestedAt'),
    deadlineAt: optStr(item, 'deadlineAt'),
    timeoutSeconds: optNum(item, 'timeoutSeconds'),
    heartbeatAt: optStr(item, 'heartbeatAt'),
    attemptStartedAt: optStr(item, 'attemptStartedAt'),
    leaseId: optStr(item, 'leaseId'),
    callbackUrl: optStr(item, 'callbackUrl'),
  };
}

function itemToActiveSummary(item: Item): ActiveSummary {
  return {
    owner: str(item, 'owner'),
    jobName: str(item, 'jobName'),
    runId: str(item, 'runId'),
    type: str(item, 'type'),
    createdAt: str(item, 'createdAt'),
    startedAt: optStr(item, 'startedAt'),
    attemptStartedAt: optStr(item, 'attemptStartedAt'),
    attempt: optNum(item, 'attempt'),
    heartbeatAt: optStr(item, 'heartbeatAt'),
    deadlineAt: optStr(item, 'deadlineAt'),
    cancelRequestedAt: optStr(item, 'cancelRequestedAt'),
  };
}

function itemToOutcome(item: Item): JobOutcome {
  return {
    owner: str(item, 'owner'),
    jobName: str(item, 'jobName'),
    runId: str(item, 'runId'),
    type: str(item, 'type'),
    status: str(item, 'status') as TerminalStatus,
    input: json(item, 'input'),
    createdAt: str(item, 'createdAt'),
    startedAt: optStr(item, 'startedAt'),
    finishedAt: str(item, 'finishedAt'),
    durationMs: optNum(item, 'durationMs'),
    attempt: optNum(item, 'attempt'),
    result: item.result?.S !== undefined ? JSON.parse(item.result.S) : undefined,
    error: attrToError(item.error),
    attempts: attrToAttempts(item.attempts),
    cancelRequestedAt: optStr(item, 'cancelRequestedAt'),
    deadlineAt: optStr(item, 'deadlineAt'),
    expiresAt: optNum(item, 'expiresAt') ?? 0,
    callbackUrl: optStr(item, 'callbackUrl'),
    webhook: item.webhook?.S !== undefined ? JSON.parse(item.webhook.S) : undefined,
  };
}

function itemToSummary(item: Item): JobSummary {
  return {
    jobName: str(item, 'jobName'),
    runId: str(item, 'runId'),
    type: str(item, 'type'),
    status: str(item, 'status') as JobStatus,
    createdAt: str(item, 'createdAt'),
    finishedAt: optStr(item, 'finishedAt'),
    progress: attrToProgress(item.progress),
  };
}

function progressToAttr(progress: JobProgress): AttributeValue {
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

/**
 * A list cursor is the query's LastEvaluatedKey, base64url-encoded. It is
 * checked against the caller's own partition before use, so a cursor can never
 * page into another owner's jobs.
 */
function encodeCursor(key: Item): string {
  const plain: Record<string, string> = {};
  for (const [name, value] of Object.entries(key)) {
    if (value.S !== undefined) plain[name] = value.S;
  }
  return Buffer.from(JSON.stringify(plain), 'utf8').toString('base64url');
}

function decodeCursor(
  cursor: string,
  indexPartitionKey: string,
  indexSortKey: string,
  expectedPartition: string,
  owner: string,
): Item {
  const invalid = () =>
    new BadRequestError('InvalidCursor', 'The cursor is not valid for this list');
  let plain: unknown;
  try {
    plain = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch (error) {
    throw new BadRequestError('InvalidCursor', 'The cursor is not valid for this list', {
      cause: error,
    });
  }
  if (!plain || typeof plain !== 'object' || Array.isArray(plain)) throw invalid();
  const names = [JobsTable.partitionKey, JobsTable.sortKey, indexPartitionKey, indexSortKey];
  const record = plain as Record<string, unknown>;
  if (Object.keys(record).length !== names.length) throw invalid();
  const key: Item = {};
  for (const name of names) {
    const value = record[name];
    if (typeof value !== 'string' || value.length === 0 || value.length > 4096) throw invalid();
    key[name] = { S: value };
  }
  if (record[indexPartitionKey] !== expectedPartition) throw invalid();
  if (!String(record[JobsTable.partitionKey]).startsWith(jobPartitionKey(owner, '')))
    throw invalid();
  return key;
}
