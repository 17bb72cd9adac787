/**
 * The stream's items in the jobs table, next to the job they belong to:
 *
 * - `pk = JOB#<owner>#<name>`, `sk = EVT#<runId>#<time>#<eventId>`: the run's
 *   event log, one item per lifecycle event, kept as long as outcomes are.
 * - `pk = JOB#<owner>#<name>`, `sk = SUB#<connectionId>`: a connection that
 *   follows the job's run `runId`.
 * - `pk = sk = CONN#<connectionId>`: who opened the connection (its IAM owner)
 *   and the job partitions it subscribed to, so `$disconnect` can clean up.
 *
 * None of them carries an index key, so the list and sweeper indexes never see them,
 * and `JobStore` reads only `ACTIVE` and `RUN#` items.
 */
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  type QueryCommandInput,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { jobPartitionKey } from '../../core/table';
import { parse } from '../shared/validate';
import { type JobEvent, jobEventSchema } from './messages';

type Item = Record<string, AttributeValue>;

export const EVENT_SORT_KEY_PREFIX = 'EVT#';
export const SUBSCRIPTION_SORT_KEY_PREFIX = 'SUB#';
export const CONNECTION_KEY_PREFIX = 'CONN#';

/** The log prefix of one run: every event of it sorts under this. */
export function runLogPrefix(runId: string): string {
  return `${EVENT_SORT_KEY_PREFIX}${runId}#`;
}

/**
 * An event's place in its run's log. EventBridge times have whole seconds, so
 * events of one second sort by their id among themselves.
 */
export function eventSortKey(event: JobEvent): string {
  return `${runLogPrefix(event.detail.runId)}${event.time}#${event.id}`;
}

export function connectionKey(connectionId: string): Item {
  const key = `${CONNECTION_KEY_PREFIX}${connectionId}`;
  return { pk: { S: key }, sk: { S: key } };
}

export interface Subscription {
  readonly connectionId: string;
  /** The run the connection follows; events of any other run are not sent to it. */
  readonly runId: string;
}

export interface Connection {
  readonly connectionId: string;
  readonly owner: string;
  /** The job partitions (`JOB#<owner>#<name>`) the connection has subscribed to. */
  readonly subscriptions: readonly string[];
}

export class StreamStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  /** Writes the event into its run's log; a duplicate delivery rewrites the same item. */
  async putEvent(event: JobEvent, expiresAt: number): Promise<void> {
    await this.client.send(
      new PutItemCommand({
        TableName: this.tableName,
        Item: {
          pk: { S: jobPartitionKey(event.detail.owner, event.detail.jobName) },
          sk: { S: eventSortKey(event) },
          runId: { S: event.detail.runId },
          detailType: { S: event['detail-type'] },
          event: { S: JSON.stringify(event) },
          expiresAt: { N: String(expiresAt) },
        },
      }),
    );
  }

  /**
   * The event's position in its run's log (from 1): the number of log items that
   * sort at or before it. Counted, not carried in a counter, so a duplicate
   * delivery gets the same number and nothing has to be incremented exactly once.
   */
  async positionOf(event: JobEvent): Promise<number> {
    let count = 0;
    await this.#queryAll(
      {
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
        ExpressionAttributeValues: {
          ':pk': { S: jobPartitionKey(event.detail.owner, event.detail.jobName) },
          ':from': { S: runLogPrefix(event.detail.runId) },
          ':to': { S: eventSortKey(event) },
        },
        Select: 'COUNT',
        ConsistentRead: true,
      },
      (page) => {
        count += page.count;
      },
    );
    return count;
  }

  /** A run's logged events in log order; expired ones (TTL not yet applied) are left out. */
  async runEvents(
    owner: string,
    jobName: string,
    runId: string,
    nowSeconds: number,
  ): Promise<JobEvent[]> {
    const events: JobEvent[] = [];
    await this.#queryAll(
      {
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :run)',
        FilterExpression: 'expiresAt > :now',
        ExpressionAttributeValues: {
          ':pk': { S: jobPartitionKey(owner, jobName) },
          ':run': { S: runLogPrefix(runId) },
          ':now': { N: String(nowSeconds) },
        },
        ConsistentRead: true,
      },
      (page) => {
        for (const item of page.items) {
          const raw = item.event?.S;
          if (raw === undefined) continue;
          events.push(parse(jobEventSchema, JSON.parse(raw)));
        }
      },
    );
    return events;
  }

  /** The live subscriptions of a job (any run). */
  async subscriptions(jobPk: string, nowSeconds: number): Promise<Subscription[]> {
    const found: Subscription[] = [];
    await this.#queryAll(
      {
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :sub)',
        FilterExpression: 'expiresAt > :now',
        ExpressionAttributeValues: {
          ':pk': { S: jobPk },
          ':sub': { S: SUBSCRIPTION_SORT_KEY_PREFIX },
          ':now': { N: String(nowSeconds) },
        },
        ConsistentRead: true,
      },
      (page) => {
        for (const item of page.items) {
          const connectionId = item.connectionId?.S;
          const runId = item.runId?.S;
          if (connectionId && runId) found.push({ connectionId, runId });
        }
      },
    );
    return found;
  }

  async putSubscription(jobPk: string, subscription: Subscription, expiresAt: number) {
    await this.client.send(
      new PutItemCommand({
        TableName: this.tableName,
        Item: {
          pk: { S: jobPk },
          sk: { S: `${SUBSCRIPTION_SORT_KEY_PREFIX}${subscription.connectionId}` },
          connectionId: { S: subscription.connectionId },
          runId: { S: subscription.runId },
          expiresAt: { N: String(expiresAt) },
        },
      }),
    );
  }

  async deleteSubscription(jobPk: string, connectionId: string): Promise<void> {
    await this.client.send(
      new DeleteItemCommand({
        TableName: this.tableName,
        Key: {
          pk: { S: jobPk },
          sk: { S: `${SUBSCRIPTION_SORT_KEY_PREFIX}${connectionId}` },
        },
      }),
    );
  }

  async putConnection(connectionId: string, owner: string, expiresAt: number): Promise<void> {
    await this.client.send(
      new PutItemCommand({
        TableName: this.tableName,
        Item: {
          ...connectionKey(connectionId),
          connectionId: { S: connectionId },
          owner: { S: owner },
          expiresAt: { N: String(expiresAt) },
        },
      }),
    );
  }

  /** The connection's record; undefined when it is gone or expired. */
  async getConnection(connectionId: string, nowSeconds: number): Promise<Connection | undefined> {
    const { Item } = await this.client.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: connectionKey(connectionId),
        ConsistentRead: true,
      }),
    );
    const owner = Item?.owner?.S;
    const expiresAt = Number(Item?.expiresAt?.N ?? 0);
    if (!Item || !owner || expiresAt <= nowSeconds) return undefined;
    return { connectionId, owner, subscriptions: Item.subscriptions?.SS ?? [] };
  }

  /** Notes on the connection's record that it follows a job; false when the record is gone. */
  async addConnectionSubscription(connectionId: string, jobPk: string): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: connectionKey(connectionId),
          UpdateExpression: 'ADD subscriptions :pk',
          // Never create a record without owner and TTL for a connection that has left.
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':pk': { SS: [jobPk] } },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  async deleteConnection(connectionId: string): Promise<void> {
    await this.client.send(
      new DeleteItemCommand({ TableName: this.tableName, Key: connectionKey(connectionId) }),
    );
  }

  async #queryAll(
    input: QueryCommandInput,
    onPage: (page: { items: Item[]; count: number }) => void,
  ): Promise<void> {
    let startKey: Item | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({ ...input, ...(startKey ? { ExclusiveStartKey: startKey } : {}) }),
      );
      onPage({ items: page.Items ?? [], count: page.Count ?? 0 });
      startKey = page.LastEvaluatedKey;
    } while (startKey);
  }
}
