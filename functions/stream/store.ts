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
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CONNECTION_PARTITION_PREFIX, jobPartitionKey } from '../../core/table';
import { type Item, TableClient, unlessRefused } from '../shared/dynamodb';
import { parse } from '../shared/validate';
import { type JobEvent, jobEventSchema } from './messages';

export const EVENT_SORT_KEY_PREFIX = 'EVT#';
export const SUBSCRIPTION_SORT_KEY_PREFIX = 'SUB#';
export const CONNECTION_KEY_PREFIX = CONNECTION_PARTITION_PREFIX;

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
  readonly #table: TableClient;

  constructor(client: DynamoDBClient, tableName: string) {
    this.#table = new TableClient(client, tableName);
  }

  /** Writes the event into its run's log; a duplicate delivery rewrites the same item. */
  async putEvent(event: JobEvent, expiresAt: number): Promise<void> {
    await this.#table.put({
      Item: {
        pk: { S: jobPartitionKey(event.detail.owner, event.detail.jobName) },
        sk: { S: eventSortKey(event) },
        runId: { S: event.detail.runId },
        detailType: { S: event['detail-type'] },
        event: { S: JSON.stringify(event) },
        expiresAt: { N: String(expiresAt) },
      },
    });
  }

  /**
   * The event's position in its run's log (from 1): the number of log items that
   * sort at or before it. Counted, not carried in a counter, so a duplicate
   * delivery gets the same number and nothing has to be incremented exactly once.
   */
  async positionOf(event: JobEvent): Promise<number> {
    let count = 0;
    await this.#table.queryAll(
      {
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
    await this.#forEachLive(
      jobPartitionKey(owner, jobName),
      runLogPrefix(runId),
      nowSeconds,
      (item) => {
        const raw = item.event?.S;
        if (raw !== undefined) events.push(parse(jobEventSchema, JSON.parse(raw)));
      },
    );
    return events;
  }

  /** The live subscriptions of a job (any run). */
  async subscriptions(jobPk: string, nowSeconds: number): Promise<Subscription[]> {
    const found: Subscription[] = [];
    await this.#forEachLive(jobPk, SUBSCRIPTION_SORT_KEY_PREFIX, nowSeconds, (item) => {
      const connectionId = item.connectionId?.S;
      const runId = item.runId?.S;
      if (connectionId && runId) found.push({ connectionId, runId });
    });
    return found;
  }

  async putSubscription(jobPk: string, subscription: Subscription, expiresAt: number) {
    await this.#table.put({
      Item: {
        pk: { S: jobPk },
        sk: { S: `${SUBSCRIPTION_SORT_KEY_PREFIX}${subscription.connectionId}` },
        connectionId: { S: subscription.connectionId },
        runId: { S: subscription.runId },
        expiresAt: { N: String(expiresAt) },
      },
    });
  }

  async deleteSubscription(jobPk: string, connectionId: string): Promise<void> {
    await this.#table.delete({
      Key: {
        pk: { S: jobPk },
        sk: { S: `${SUBSCRIPTION_SORT_KEY_PREFIX}${connectionId}` },
      },
    });
  }

  async putConnection(connectionId: string, owner: string, expiresAt: number): Promise<void> {
    await this.#table.put({
      Item: {
        ...connectionKey(connectionId),
        connectionId: { S: connectionId },
        owner: { S: owner },
        expiresAt: { N: String(expiresAt) },
      },
    });
  }

  /** The connection's record; undefined when it is gone or expired. */
  async getConnection(connectionId: string, nowSeconds: number): Promise<Connection | undefined> {
    const item = await this.#table.get(connectionKey(connectionId));
    const owner = item?.owner?.S;
    const expiresAt = Number(item?.expiresAt?.N ?? 0);
    if (!item || !owner || expiresAt <= nowSeconds) return undefined;
    return { connectionId, owner, subscriptions: item.subscriptions?.SS ?? [] };
  }

  /** Notes on the connection's record that it follows a job; false when the record is gone. */
  async addConnectionSubscription(connectionId: string, jobPk: string): Promise<boolean> {
    return unlessRefused(async () => {
      await this.#table.update({
        Key: connectionKey(connectionId),
        UpdateExpression: 'ADD subscriptions :pk',
        // Never create a record without owner and TTL for a connection that has left.
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':pk': { SS: [jobPk] } },
      });
      return true;
    }, false);
  }

  async deleteConnection(connectionId: string): Promise<void> {
    await this.#table.delete({ Key: connectionKey(connectionId) });
  }

  /**
   * Hands each item of a partition whose sort key starts with `prefix` to
   * `onItem`, in order, leaving out the expired ones that TTL has not deleted yet.
   */
  async #forEachLive(
    pk: string,
    prefix: string,
    nowSeconds: number,
    onItem: (item: Item) => void,
  ): Promise<void> {
    await this.#table.queryAll(
      {
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        FilterExpression: 'expiresAt > :now',
        ExpressionAttributeValues: {
          ':pk': { S: pk },
          ':prefix': { S: prefix },
          ':now': { N: String(nowSeconds) },
        },
        ConsistentRead: true,
      },
      (page) => {
        for (const item of page.items) onItem(item);
      },
    );
  }
}
