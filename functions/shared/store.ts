/**
 * The jobs table, as the functions use it. Every write that moves a job between
 * states is conditional on the run id, so a duplicate or late caller changes
 * nothing instead of overwriting a newer run.
 */
import {
  ConditionalCheckFailedException,
  type DynamoDBClient,
  type QueryCommandInput,
  TransactionCanceledException,
} from '@aws-sdk/client-dynamodb';
import {
  type ActiveJob,
  type JobOutcome,
  type JobProgress,
  JobStatus,
  type JobSummary,
  type WebhookDelivery,
} from '../../core/model';
import {
  activePartitionKey,
  JobsTable,
  jobPartitionKey,
  ownerPartitionKey,
  ownerStatusPartitionKey,
  RUN_SORT_KEY_PREFIX,
} from '../../core/table';
import { type Item, TableClient, type TableWrite, unlessRefused } from './dynamodb';
import { decodeCursor, encodeCursor } from './list-cursor';
import type { SlotStore } from './slots';
import {
  type ActiveSummary,
  activeKey,
  activeToItem,
  itemToActive,
  itemToActiveSummary,
  itemToOutcome,
  itemToSummary,
  outcomeKey,
  outcomeToItem,
  progressToAttr,
} from './store-items';

/**
 * What `createActive` did: created the record (RUNNING, or QUEUED when a
 * concurrency limit was reached), found the name's running job, or found the
 * owner's queue full and changed nothing.
 */
export type CreateResult =
  | { readonly created: true; readonly job: ActiveJob }
  | { readonly created: false; readonly existing: ActiveJob }
  | { readonly created: false; readonly queueFull: true };

/** Attempts at a transaction that lost a race with another one on the same item. */
const TRANSACTION_ATTEMPTS = 5;

/** What `claimRun` found: the run is now this invocation's, gone, or held by a live invocation. */
export type ClaimResult =
  | { readonly claimed: true; readonly job: ActiveJob }
  | { readonly claimed: false; readonly reason: 'gone' }
  | { readonly claimed: false; readonly reason: 'leased'; readonly holder: ActiveJob };

export interface ClaimRequest {
  readonly at: string;
  readonly attempt: number;
  /** The type's `retry.maxAttempts`, kept for the sweeper's re-drive of a crashed run. */
  readonly maxAttempts?: number;
  /** The Lambda request id; an async retry of the same invocation reuses it. */
  readonly leaseId: string;
  /** A holder whose last heartbeat is older than this has died: its lease can be taken. */
  readonly staleBefore: string;
  /** Set only if the run has no deadline yet, so the first attempt's deadline sticks. */
  readonly deadlineAt?: string;
}

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

/** An update of the active record: what it sets, and the values it names. */
interface ActiveUpdate {
  readonly UpdateExpression: string;
  readonly ExpressionAttributeValues: Item;
}

/** What an attempt's start sets: the first start sticks, the attempt count moves on. */
const START_ATTEMPT =
  'SET startedAt = if_not_exists(startedAt, :at), updatedAt = :at, attempt = :attempt';

export class JobStore {
  readonly #table: TableClient;
  readonly #slots: SlotStore | undefined;

  /** With `slots`, runs hold concurrency slots and wait in queues (`slots.ts`); without, none. */
  constructor(client: DynamoDBClient, tableName: string, slots?: SlotStore) {
    this.#table = new TableClient(client, tableName);
    this.#slots = slots;
  }

  get slots(): SlotStore | undefined {
    return this.#slots;
  }

  /**
   * Puts the active record unless the name already has a job, which it returns.
   * With slots, the record is RUNNING if every key has room and nobody waits
   * on it (taking the slots in the same transaction), else QUEUED.
   */
  async createActive(job: ActiveJob): Promise<CreateResult> {
    const slots = this.#slots;
    if (!slots) return this.#putActive(job, []);
    const keys = slots.keysOf(job.owner, job.type);
    // A read first: when a key is full or others wait, the fast path's transaction would
    // only be refused, and under load every transaction on the shared counters costs.
    let fastPath = await slots.fits(keys);
    for (let attempt = 1; ; attempt++) {
      try {
        if (fastPath) return await this.#putActive(job, slots.takeItems(keys, job.createdAt));
      } catch (error) {
        if (!(error instanceof TransactionCanceledException)) throw error;
        // Items 1.. are the counters: a refusal there is a full key; anything else, a race.
        const full = refusedBy(error, ...keys.map((_, index) => index + 1));
        if (!full && attempt < TRANSACTION_ATTEMPTS) continue;
        if (!full) throw error;
      }
      fastPath = true;
      // A key is full, or others wait: the run joins the queues.
      const seq = `${job.createdAt}#${job.runId}`;
      const { items, rounds } = await slots.enqueueItems(
        { owner: job.owner, jobName: job.jobName, runId: job.runId, type: job.type, seq },
        keys,
        job.createdAt,
      );
      const queued: ActiveJob = { ...job, status: 'QUEUED', queue: { seq, rounds } };
      try {
        return await this.#putActive(queued, items);
      } catch (error) {
        if (!(error instanceof TransactionCanceledException)) throw error;
        // The owner's counter is the first of the queue's items: its condition is the cap.
        if (refusedBy(error, 1)) return { created: false, queueFull: true };
        if (attempt >= TRANSACTION_ATTEMPTS) throw error;
      }
    }
  }

  /** Puts the record with `writes` in one transaction (or alone); a name in use returns its job. */
  async #putActive(job: ActiveJob, writes: readonly TableWrite[]): Promise<CreateResult> {
    const put = {
      Item: activeToItem(job),
      ConditionExpression: 'attribute_not_exists(pk)',
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
    };
    try {
      if (writes.length === 0) await this.#table.put(put);
      else await this.#table.transactWrite([{ Put: put }, ...writes]);
      return { created: true, job };
    } catch (error) {
      const refused =
        error instanceof ConditionalCheckFailedException ||
        (error instanceof TransactionCanceledException && refusedBy(error, 0, 1));
      if (refused) {
        const item =
          error instanceof ConditionalCheckFailedException
            ? error.Item
            : (error as TransactionCanceledException).CancellationReasons?.[0]?.Item;
        const existing = item ? itemToActive(item) : await this.getActive(job.owner, job.jobName);
        if (existing) return { created: false, existing };
      }
      throw error;
    }
  }

  /**
   * Deletes the active record of this run only (a start that never reached the
   * worker), giving back what it held; false when it is gone or another run's.
   */
  async deleteActive(job: ActiveJob): Promise<boolean> {
    const deleteRun = this.#deleteRun(job, job);
    const slotWrites = this.#slotWrites(job, new Date().toISOString());
    if (slotWrites.length === 0) {
      return unlessRefused(async () => {
        if ('Delete' in deleteRun) await this.#table.delete(deleteRun.Delete);
        return true;
      }, false);
    }
    try {
      await this.#table.transactWrite([deleteRun, ...slotWrites]);
      return true;
    } catch (error) {
      if (error instanceof TransactionCanceledException && refusedBy(error, 0)) return false;
      throw error;
    }
  }

  async getActive(owner: string, jobName: string): Promise<ActiveJob | undefined> {
    const item = await this.#table.get(activeKey(owner, jobName));
    return item ? itemToActive(item) : undefined;
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
    const { Items } = await this.#table.query({
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :run)',
      ExpressionAttributeValues: {
        ':pk': { S: jobPartitionKey(owner, jobName) },
        ':run': { S: RUN_SORT_KEY_PREFIX },
      },
      ScanIndexForward: false,
      Limit: 1,
      ConsistentRead: true,
    });
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
    return this.#updateActiveRun(owner, jobName, runId, {
      UpdateExpression: START_ATTEMPT,
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
      ':queued': { S: JobStatus.Queued },
    };
    let deadline = '';
    if (request.deadlineAt) {
      values[':deadline'] = { S: request.deadlineAt };
      deadline = ', deadlineAt = if_not_exists(deadlineAt, :deadline)';
    }
    if (request.maxAttempts !== undefined) values[':max'] = { N: String(request.maxAttempts) };
    values[':one'] = { N: '1' };
    values[':zero'] = { N: '0' };
    const maxAttempts = request.maxAttempts !== undefined ? ', maxAttempts = :max' : '';
    try {
      const { Attributes } = await this.#table.update({
        Key: activeKey(owner, jobName),
        // A claim ends a sleep or a suspension: the run is running again.
        UpdateExpression:
          `${START_ATTEMPT}, attemptStartedAt = :at, heartbeatAt = :at, leaseId = :lease${deadline}${maxAttempts}, ` +
          'invocations = if_not_exists(invocations, :zero) + :one REMOVE wakeAt, sleepName, waitingFor',
        // A queued run is not the worker's until the queue has promoted it.
        ConditionExpression:
          'runId = :runId AND #status <> :queued AND (attribute_not_exists(leaseId) OR ' +
          'leaseId = :lease OR attribute_not_exists(heartbeatAt) OR heartbeatAt < :stale)',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: values,
        ReturnValues: 'ALL_NEW',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      });
      if (!Attributes) return { claimed: false, reason: 'gone' };
      return { claimed: true, job: itemToActive(Attributes) };
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) {
        const current = await this.#recordThatRefused(error, owner, jobName);
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
    return this.#updateActiveRun(owner, jobName, runId, {
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
    return this.#updateActiveRun(owner, jobName, runId, {
      UpdateExpression: 'SET attempt = :attempt, heartbeatAt = :at, updatedAt = :at',
      ExpressionAttributeValues: { ':attempt': { N: String(attempt) }, ':at': { S: at } },
    });
  }

  /**
   * The run stops this invocation without ending: its lease is given up, and
   * a sleeping run's heartbeat is set to its wake time, a waiting run's to its
   * timeout or deadline (the sweeper judges silence from the heartbeat). Undefined when the run is gone or the lease
   * is no longer this invocation's.
   */
  async suspendRun(
    run: { owner: string; jobName: string; runId: string },
    leaseId: string,
    at: string,
    wait?:
      | { readonly sleep: string; readonly wakeAt: string }
      | { readonly signal: string; readonly timeoutAt?: string; readonly beatAt: string },
  ): Promise<ActiveJob | undefined> {
    const values: Item = {
      ':runId': { S: run.runId },
      ':lease': { S: leaseId },
      ':at': { S: at },
      ':beat': { S: wait ? ('sleep' in wait ? wait.wakeAt : wait.beatAt) : at },
    };
    let set = 'SET suspendedAt = :at, updatedAt = :at, heartbeatAt = :beat';
    let remove = ' REMOVE leaseId';
    if (wait && 'sleep' in wait) {
      values[':wake'] = { S: wait.wakeAt };
      values[':sleep'] = { S: wait.sleep };
      set += ', wakeAt = :wake, sleepName = :sleep';
      remove += ', waitingFor';
    } else if (wait) {
      values[':signal'] = { S: wait.signal };
      set += ', waitingFor = :signal';
      remove += ', sleepName';
      if (wait.timeoutAt) {
        values[':wake'] = { S: wait.timeoutAt };
        set += ', wakeAt = :wake';
      } else {
        remove += ', wakeAt';
      }
    } else {
      remove += ', wakeAt, sleepName, waitingFor';
    }
    return this.#updateActive(run.owner, run.jobName, 'runId = :runId AND leaseId = :lease', {
      UpdateExpression: set + remove,
      ExpressionAttributeValues: values,
    });
  }

  /** Marks the run as one with checkpoints: from now on a crash re-drives it. */
  async markCheckpointed(
    owner: string,
    jobName: string,
    runId: string,
  ): Promise<ActiveJob | undefined> {
    return this.#updateActiveRun(owner, jobName, runId, {
      UpdateExpression: 'SET checkpointed = :true',
      ExpressionAttributeValues: { ':true': { BOOL: true } },
    });
  }

  /**
   * Takes a run whose worker died (or whose timer was lost) over for a fresh
   * invocation: frees its lease, counts a crash as an attempt when `bump`,
   * and sets its heartbeat to now, so a second sweep waits for the new
   * invocation. Conditional on the heartbeat the caller judged, so only one
   * caller re-drives. Undefined when refused.
   */
  async redrive(
    job: Pick<ActiveJob, 'owner' | 'jobName' | 'runId' | 'heartbeatAt'>,
    at: string,
    bump: boolean,
  ): Promise<ActiveJob | undefined> {
    const values: Item = {
      ':runId': { S: job.runId },
      ':at': { S: at },
      ':bump': { N: bump ? '1' : '0' },
      ':zero': { N: '0' },
    };
    let condition = 'runId = :runId AND ';
    if (job.heartbeatAt) {
      values[':seen'] = { S: job.heartbeatAt };
      condition += 'heartbeatAt = :seen';
    } else {
      condition += 'attribute_not_exists(heartbeatAt)';
    }
    return this.#updateActive(job.owner, job.jobName, condition, {
      UpdateExpression:
        'SET heartbeatAt = :at, redrivenAt = :at, updatedAt = :at, ' +
        'attempt = if_not_exists(attempt, :zero) + :bump REMOVE leaseId',
      ExpressionAttributeValues: values,
    });
  }

  /** One page of one shard of the active records (the sparse `byActive` index). */
  async listActive(shard: number, startKey?: Item): Promise<ActivePage> {
    const { Items, LastEvaluatedKey } = await this.#queryIndex(
      JobsTable.byActive,
      activePartitionKey(shard),
      { ExclusiveStartKey: startKey },
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
    return this.#updateActiveRun(owner, jobName, runId, {
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
    return this.#updateActive(owner, jobName, 'attribute_exists(pk)', {
      UpdateExpression:
        'SET cancelRequestedAt = if_not_exists(cancelRequestedAt, :at), updatedAt = :at',
      ExpressionAttributeValues: { ':at': { S: at } },
    });
  }

  /**
   * Writes the outcome and deletes the active record in one transaction,
   * conditional on the active record still being this run. With slots, the
   * same transaction gives back a running run's slots, or takes a queued run
   * out of its queues; `active` is the record as read, and if a promotion
   * changed it meanwhile the end is written against what it has become. False
   * means a duplicate or late event: nothing was changed.
   */
  async finishRun(outcome: JobOutcome, active?: ActiveJob): Promise<boolean> {
    let current = active;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.#table.transactWrite([
          {
            Put: { Item: outcomeToItem(outcome), ConditionExpression: 'attribute_not_exists(pk)' },
          },
          this.#deleteRun(outcome, current),
          ...this.#slotWrites(current, outcome.finishedAt),
        ]);
        return true;
      } catch (error) {
        if (!(error instanceof TransactionCanceledException)) throw error;
        const refused = refusedBy(error, 0, 1);
        if (attempt >= TRANSACTION_ATTEMPTS || (refused && !current)) {
          if (refused) return false;
          throw error;
        }
        if (refused) {
          // Gone, another run, or promoted since it was read: look again.
          const now = await this.getActive(outcome.owner, outcome.jobName);
          if (!now || now.runId !== outcome.runId) return false;
          current = now;
        }
      }
    }
  }

  /** Deletes the run's active record, if it is still this run (and, with slots, as read). */
  #deleteRun(
    run: Pick<ActiveJob, 'owner' | 'jobName' | 'runId'>,
    active: ActiveJob | undefined,
  ): TableWrite {
    const values: Item = { ':runId': { S: run.runId } };
    if (active && this.#slots) values[':status'] = { S: active.status };
    return {
      Delete: {
        Key: activeKey(run.owner, run.jobName),
        ConditionExpression: values[':status']
          ? 'runId = :runId AND #status = :status'
          : 'runId = :runId',
        ...(values[':status'] ? { ExpressionAttributeNames: { '#status': 'status' } } : {}),
        ExpressionAttributeValues: values,
      },
    };
  }

  /** What ending `active` gives back: its slots if it ran, its queue places if it waited. */
  #slotWrites(active: ActiveJob | undefined, at: string): TableWrite[] {
    const slots = this.#slots;
    if (!slots || !active) return [];
    const keys = slots.keysOf(active.owner, active.type);
    if (active.status === 'RUNNING') return slots.releaseItems(keys, at);
    if (!active.queue) return [];
    return slots.dequeueItems({ ...active, ...active.queue }, keys, at);
  }

  /** One run's retained outcome, if it has one. */
  async getOutcome(owner: string, jobName: string, runId: string): Promise<JobOutcome | undefined> {
    const item = await this.#table.get(outcomeKey(owner, jobName, runId));
    return item ? itemToOutcome(item) : undefined;
  }

  /**
   * Records how a run's webhook delivery ended, on its outcome. Conditional on the
   * outcome existing, so it never creates a stray item; false when it does not.
   */
  /** Records that `Job Finished` was put for the outcome; false when it is gone. */
  async recordAnnounced(
    owner: string,
    jobName: string,
    runId: string,
    at: string,
  ): Promise<boolean> {
    return unlessRefused(async () => {
      await this.#table.update({
        Key: outcomeKey(owner, jobName, runId),
        UpdateExpression: 'SET announcedAt = :at',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':at': { S: at } },
      });
      return true;
    }, false);
  }

  async recordWebhook(
    owner: string,
    jobName: string,
    runId: string,
    delivery: WebhookDelivery,
  ): Promise<boolean> {
    return unlessRefused(async () => {
      await this.#table.update({
        Key: outcomeKey(owner, jobName, runId),
        UpdateExpression: 'SET webhook = :webhook',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':webhook': { S: JSON.stringify(delivery) } },
      });
      return true;
    }, false);
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
    const { Items, LastEvaluatedKey } = await this.#queryIndex(index, partition, {
      FilterExpression: 'attribute_not_exists(expiresAt) OR expiresAt > :now',
      ExpressionAttributeValues: { ':now': { N: String(nowSeconds) } },
      ScanIndexForward: false,
      Limit: options.limit,
      ExclusiveStartKey: startKey,
    });
    return {
      jobs: (Items ?? []).map(itemToSummary),
      nextCursor: LastEvaluatedKey ? encodeCursor(LastEvaluatedKey) : undefined,
    };
  }

  /** One page of one partition of an index; `query` adds to the partition's own values. */
  async #queryIndex(
    index: { readonly indexName: string; readonly partitionKey: string },
    partition: string,
    query: Omit<QueryCommandInput, 'TableName' | 'IndexName' | 'KeyConditionExpression'>,
  ) {
    return this.#table.query({
      ...query,
      IndexName: index.indexName,
      KeyConditionExpression: '#pk = :pk',
      ExpressionAttributeNames: { '#pk': index.partitionKey },
      ExpressionAttributeValues: { ':pk': { S: partition }, ...query.ExpressionAttributeValues },
    });
  }

  /**
   * The active record a refused write found. Servers that ignore
   * ReturnValuesOnConditionCheckFailure return no item: read it.
   */
  async #recordThatRefused(
    error: ConditionalCheckFailedException,
    owner: string,
    jobName: string,
  ): Promise<ActiveJob | undefined> {
    return error.Item ? itemToActive(error.Item) : this.getActive(owner, jobName);
  }

  /** Updates this run's active record; undefined when it is gone or belongs to another run. */
  async #updateActiveRun(
    owner: string,
    jobName: string,
    runId: string,
    update: ActiveUpdate,
  ): Promise<ActiveJob | undefined> {
    return this.#updateActive(owner, jobName, 'runId = :runId', {
      UpdateExpression: update.UpdateExpression,
      ExpressionAttributeValues: { ...update.ExpressionAttributeValues, ':runId': { S: runId } },
    });
  }

  /** Updates the active record if `condition` holds; returns it as it now is, or undefined. */
  async #updateActive(
    owner: string,
    jobName: string,
    condition: string,
    update: ActiveUpdate,
  ): Promise<ActiveJob | undefined> {
    return unlessRefused(async () => {
      const { Attributes } = await this.#table.update({
        Key: activeKey(owner, jobName),
        UpdateExpression: update.UpdateExpression,
        ConditionExpression: condition,
        ExpressionAttributeValues: update.ExpressionAttributeValues,
        ReturnValues: 'ALL_NEW',
      });
      return Attributes ? itemToActive(Attributes) : undefined;
    }, undefined);
  }
}

/** Whether a cancelled transaction failed a condition on one of the items at `indexes`. */
function refusedBy(error: TransactionCanceledException, ...indexes: number[]): boolean {
  const reasons = error.CancellationReasons ?? [];
  return indexes.some((index) => reasons[index]?.Code === 'ConditionalCheckFailed');
}
