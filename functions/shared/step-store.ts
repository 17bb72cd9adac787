/**
 * A run's step and sleep checkpoints in the jobs table: one item per step,
 * `STEP#<runId>#<name>` in the job's partition, read back with one strongly
 * consistent query when an invocation of the run begins (and by GET). Each
 * item expires (TTL) at the run's deadline plus the outcome retention, so a
 * finished run's steps stay readable as long as its outcome.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  StepStatus as Status,
  type StepKind,
  type StepRecord,
  type StepStatus,
} from '../../core/steps';
import {
  JobsTable,
  jobPartitionKey,
  signalSortKey,
  stepSortKey,
  stepSortKeyPrefix,
} from '../../core/table';
import { type Item, TableClient, unlessRefused } from './dynamodb';

/** A signal as stored: its JSON payload and when it arrived. */
export interface StoredSignal {
  readonly payloadJson: string;
  readonly receivedAt: string;
}

export interface RunRef {
  readonly owner: string;
  readonly jobName: string;
  readonly runId: string;
}

export class StepStore {
  readonly #table: TableClient;

  constructor(client: DynamoDBClient, tableName: string) {
    this.#table = new TableClient(client, tableName);
  }

  /**
   * Writes a step as it now is, unless the table has it SUCCEEDED already (a
   * finished step is never overwritten, by a late invocation or anyone).
   * Returns false when it was refused for that reason.
   */
  async save(run: RunRef, step: StepRecord, expiresAt: number): Promise<boolean> {
    return unlessRefused(async () => {
      await this.#table.put({
        Item: stepToItem(run, step, expiresAt),
        ConditionExpression: 'attribute_not_exists(pk) OR #status <> :succeeded',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':succeeded': { S: Status.Succeeded } },
      });
      return true;
    }, false);
  }

  /**
   * Stores a signal for the run unless one of that name is there: the first
   * one wins, and what is there is returned when it was not stored.
   */
  async putSignal(
    run: RunRef,
    name: string,
    signal: StoredSignal,
    expiresAt: number,
  ): Promise<
    { readonly stored: true } | { readonly stored: false; readonly existing: StoredSignal }
  > {
    const key = signalKey(run, name);
    try {
      await this.#table.put({
        Item: {
          ...key,
          [JobsTable.ttlAttribute]: { N: String(expiresAt) },
          name: { S: name },
          payloadJson: { S: signal.payloadJson },
          receivedAt: { S: signal.receivedAt },
        },
        ConditionExpression: 'attribute_not_exists(pk)',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      });
      return { stored: true };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      const item = error.Item ?? (await this.#table.get(key));
      if (!item) throw error;
      return { stored: false, existing: itemToSignal(item) };
    }
  }

  /** The run's signal of that name, if one was sent (a strongly consistent read). */
  async getSignal(run: RunRef, name: string): Promise<StoredSignal | undefined> {
    const item = await this.#table.get(signalKey(run, name));
    return item ? itemToSignal(item) : undefined;
  }

  /** Every step of the run, in the order they began; expired ones are left out. */
  async list(run: RunRef, nowSeconds: number): Promise<StepRecord[]> {
    const steps: StepRecord[] = [];
    await this.#table.queryAll(
      {
        KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
        ExpressionAttributeNames: {
          '#pk': JobsTable.partitionKey,
          '#sk': JobsTable.sortKey,
        },
        ExpressionAttributeValues: {
          ':pk': { S: jobPartitionKey(run.owner, run.jobName) },
          ':prefix': { S: stepSortKeyPrefix(run.runId) },
        },
        ConsistentRead: true,
      },
      ({ items }) => {
        for (const item of items) {
          const expiresAt = Number(item[JobsTable.ttlAttribute]?.N ?? Number.POSITIVE_INFINITY);
          if (expiresAt > nowSeconds) steps.push(itemToStep(item));
        }
      },
    );
    return steps.sort(
      (a, b) => a.startedAt.localeCompare(b.startedAt) || a.name.localeCompare(b.name),
    );
  }
}

function stepToItem(run: RunRef, step: StepRecord, expiresAt: number): Item {
  const item: Item = {
    [JobsTable.partitionKey]: { S: jobPartitionKey(run.owner, run.jobName) },
    [JobsTable.sortKey]: { S: stepSortKey(run.runId, step.name) },
    [JobsTable.ttlAttribute]: { N: String(expiresAt) },
    name: { S: step.name },
    kind: { S: step.kind },
    status: { S: step.status },
    startedAt: { S: step.startedAt },
    attempts: { N: String(step.attempts) },
  };
  if (step.endedAt) item.endedAt = { S: step.endedAt };
  if (step.resultJson !== undefined) item.resultJson = { S: step.resultJson };
  if (step.wakeAt) item.wakeAt = { S: step.wakeAt };
  if (step.error) item.error = { S: JSON.stringify(step.error) };
  return item;
}

function itemToStep(item: Item): StepRecord {
  const error = item.error?.S ? (JSON.parse(item.error.S) as StepRecord['error']) : undefined;
  return {
    name: item.name?.S ?? '',
    kind: (item.kind?.S ?? 'step') as StepKind,
    status: (item.status?.S ?? Status.Running) as StepStatus,
    startedAt: item.startedAt?.S ?? '',
    attempts: Number(item.attempts?.N ?? 0),
    ...(item.endedAt?.S ? { endedAt: item.endedAt.S } : {}),
    ...(item.resultJson?.S !== undefined ? { resultJson: item.resultJson.S } : {}),
    ...(item.wakeAt?.S ? { wakeAt: item.wakeAt.S } : {}),
    ...(error ? { error } : {}),
  };
}

function signalKey(run: RunRef, name: string): Item {
  return {
    [JobsTable.partitionKey]: { S: jobPartitionKey(run.owner, run.jobName) },
    [JobsTable.sortKey]: { S: signalSortKey(run.runId, name) },
  };
}

function itemToSignal(item: Item): StoredSignal {
  return { payloadJson: item.payloadJson?.S ?? 'null', receivedAt: item.receivedAt?.S ?? '' };
}
