/**
 * Reads of the jobs table through the local cloud's DynamoDB endpoint: the job
 * items the checks count, and the fair-share counters (`SLOTS#<keyId>`) and
 * queue entries (`QUEUE#<keyId>`) that must all be back to zero once every job
 * has ended.
 */
import { DynamoDBClient, paginateScan, type ScanCommandInput } from '@aws-sdk/client-dynamodb';
import type { Api } from './http';

type RawItem = Record<string, { S?: string; N?: string }>;

export interface TableItem {
  readonly jobName: string;
  readonly sk: string;
  readonly status?: string;
  readonly runId?: string;
  /** Set while a worker invocation holds the run. */
  readonly leaseId?: string;
}

export interface SlotCounterItem {
  /** `owner:<arn>`, `type:<name>` or `all`. */
  readonly keyId: string;
  readonly running: number;
  readonly queued: number;
  readonly round?: number;
  readonly version?: number;
  readonly changedAt?: string;
}

export interface QueueEntryItem {
  readonly keyId: string;
  readonly jobName: string;
  readonly runId: string;
}

/** What the table holds of fair share: every counter, and every entry still queued. */
export interface SlotSnapshot {
  readonly counters: readonly SlotCounterItem[];
  readonly queueEntries: readonly QueueEntryItem[];
}

const SLOTS_PREFIX = 'SLOTS#';
const QUEUE_PREFIX = 'QUEUE#';

export async function scanTable(api: Api): Promise<TableItem[]> {
  const items = await scan(api, {
    ProjectionExpression: 'jobName, sk, #s, runId, leaseId',
    ExpressionAttributeNames: { '#s': 'status' },
  });
  return items.map((item) => ({
    jobName: item.jobName?.S ?? '',
    sk: item.sk?.S ?? '',
    status: item.status?.S,
    runId: item.runId?.S,
    leaseId: item.leaseId?.S,
  }));
}

/** A scan of the `SLOTS#` and `QUEUE#` partitions (a handful of items once the run has ended). */
export async function readSlots(api: Api): Promise<SlotSnapshot> {
  const items = await scan(api, {
    FilterExpression: 'begins_with(pk, :slots) OR begins_with(pk, :queue)',
    ExpressionAttributeValues: { ':slots': { S: SLOTS_PREFIX }, ':queue': { S: QUEUE_PREFIX } },
  });
  const counters: SlotCounterItem[] = [];
  const queueEntries: QueueEntryItem[] = [];
  for (const item of items) {
    const pk = item.pk?.S ?? '';
    if (pk.startsWith(SLOTS_PREFIX)) {
      counters.push({
        keyId: pk.slice(SLOTS_PREFIX.length),
        running: numberOf(item.running) ?? 0,
        queued: numberOf(item.queued) ?? 0,
        round: numberOf(item.round),
        version: numberOf(item.version),
        changedAt: item.changedAt?.S,
      });
    } else {
      queueEntries.push({
        keyId: pk.slice(QUEUE_PREFIX.length),
        jobName: item.jobName?.S ?? '',
        runId: item.runId?.S ?? '',
      });
    }
  }
  counters.sort((a, b) => a.keyId.localeCompare(b.keyId));
  return { counters, queueEntries };
}

async function scan(api: Api, input: Omit<ScanCommandInput, 'TableName'>): Promise<RawItem[]> {
  const client = new DynamoDBClient({
    endpoint: api.awsEndpoint,
    region: api.region,
    credentials: api.user,
  });
  const items: RawItem[] = [];
  try {
    for await (const page of paginateScan({ client }, { ...input, TableName: api.tableName })) {
      for (const item of page.Items ?? []) items.push(item as RawItem);
    }
  } finally {
    client.destroy();
  }
  return items;
}

function numberOf(value: { N?: string } | undefined): number | undefined {
  return value?.N === undefined ? undefined : Number(value.N);
}
