/**
 * The fair-share engine against the local cloud's DynamoDB, whose conditions
 * and transactions are the real thing: the counters, FIFO and fair queues,
 * promotion on release, the per-owner queue cap, and a concurrent run whose
 * counters must come back to zero.
 */
import {
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  TransactionCanceledException,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type ConcurrencyLimits, ownerKeyId, typeKeyId } from '../../../../core/limits';
import { jobPartitionKey, ownerStatusPartitionKey, slotCounterKey } from '../../../../core/table';
import { TableClient } from '../../../../functions/shared/dynamodb';
import { type QueuedRun, SlotStore } from '../../../../functions/shared/slots';
import { type LocalTable, startLocalJobsTable } from '../../helpers/local-dynamodb';

const ALICE = 'arn:aws:iam::111122223333:user/alice';
const BOB = 'arn:aws:iam::111122223333:user/bob';
const CAROL = 'arn:aws:iam::111122223333:user/carol';

let table: LocalTable;
let tableName: string;
let client: DynamoDBClient;
let prefix = 0;

beforeAll(async () => {
  table = await startLocalJobsTable();
  client = table.client;
  tableName = table.tableName;
});
afterAll(async () => {
  await table.close();
});
beforeEach(() => {
  // Each test uses job types of its own, so counters and queues never carry over.
  prefix += 1;
});

type StartOutcome = 'running' | 'queued' | 'full';

/** What start-job and completion do with the engine, reduced to its table writes. */
class Jobs {
  readonly slots: SlotStore;
  readonly started: QueuedRun[] = [];
  readonly #onStart: (run: QueuedRun) => void;
  readonly #table = new TableClient(client, tableName);
  #clock = 0;

  constructor(limits: ConcurrencyLimits, onStart: (run: QueuedRun) => void = () => {}) {
    this.slots = new SlotStore(client, tableName, limits);
    this.#onStart = onStart;
  }

  async start(owner: string, type: string, jobName: string): Promise<StartOutcome> {
    // Strictly increasing times, so FIFO order is the order of calls.
    const at = new Date(Date.UTC(2026, 11, 7) + this.#clock++).toISOString();
    const runId = `run-${jobName}`;
    const seq = `${at}#${runId}`;
    const keys = this.slots.keysOf(owner, type);
    const record = (status: 'RUNNING' | 'QUEUED') => ({
      pk: { S: jobPartitionKey(owner, jobName) },
      sk: { S: 'ACTIVE' },
      gsi2pk: { S: ownerStatusPartitionKey(owner, status) },
      gsi2sk: { S: seq },
      owner: { S: owner },
      jobName: { S: jobName },
      runId: { S: runId },
      type: { S: type },
      status: { S: status },
    });
    try {
      await this.#table.transactWrite([
        { Put: { Item: record('RUNNING'), ConditionExpression: 'attribute_not_exists(pk)' } },
        ...this.slots.takeItems(keys, at),
      ]);
      const run = { owner, jobName, runId, type, seq, rounds: {} };
      this.started.push(run);
      this.#onStart(run);
      return 'running';
    } catch (error) {
      if (!(error instanceof TransactionCanceledException)) throw error;
      if (error.CancellationReasons?.[0]?.Code === 'ConditionalCheckFailed') throw error;
    }
    const { items } = await this.slots.enqueueItems({ owner, jobName, runId, type, seq }, keys, at);
    try {
      await this.#table.transactWrite([
        { Put: { Item: record('QUEUED'), ConditionExpression: 'attribute_not_exists(pk)' } },
        ...items,
      ]);
    } catch (error) {
      if (
        error instanceof TransactionCanceledException &&
        error.CancellationReasons?.[1]?.Code === 'ConditionalCheckFailed'
      ) {
        return 'full';
      }
      throw error;
    }
    await this.slots.dispatch({ owner, type }, async (run) => this.#started(run));
    return 'queued';
  }

  async finish(run: Pick<QueuedRun, 'owner' | 'jobName' | 'runId' | 'type'>): Promise<void> {
    const at = new Date().toISOString();
    await this.#table.transactWrite([
      {
        Delete: {
          Key: { pk: { S: jobPartitionKey(run.owner, run.jobName) }, sk: { S: 'ACTIVE' } },
          ConditionExpression: 'runId = :runId AND #status = :running',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':runId': { S: run.runId }, ':running': { S: 'RUNNING' } },
        },
      },
      ...this.slots.releaseItems(this.slots.keysOf(run.owner, run.type), at),
    ]);
    await this.slots.dispatch(run, async (next) => this.#started(next));
  }

  #started(run: QueuedRun): void {
    this.started.push(run);
    this.#onStart(run);
  }
}

async function counter(keyId: string): Promise<{ running: number; queued: number }> {
  const key = slotCounterKey(keyId);
  const { Item } = await client.send(
    new GetItemCommand({
      TableName: tableName,
      Key: { pk: { S: key.pk }, sk: { S: key.sk } },
      ConsistentRead: true,
    }),
  );
  return { running: Number(Item?.running?.N ?? 0), queued: Number(Item?.queued?.N ?? 0) };
}

async function status(owner: string, jobName: string): Promise<string | undefined> {
  const { Item } = await client.send(
    new GetItemCommand({
      TableName: tableName,
      Key: { pk: { S: jobPartitionKey(owner, jobName) }, sk: { S: 'ACTIVE' } },
      ConsistentRead: true,
    }),
  );
  return Item?.status?.S;
}

/** Marks a run's cancel as requested on its record, as cancel-job does. */
async function requestCancel(owner: string, jobName: string): Promise<void> {
  await client.send(
    new UpdateItemCommand({
      TableName: tableName,
      Key: { pk: { S: jobPartitionKey(owner, jobName) }, sk: { S: 'ACTIVE' } },
      UpdateExpression: 'SET cancelRequestedAt = :at',
      ExpressionAttributeValues: { ':at': { S: new Date().toISOString() } },
    }),
  );
}

function limits(overrides: Partial<ConcurrencyLimits> = {}): ConcurrencyLimits {
  return { perOwner: 2, maxQueuedPerOwner: 1000, perType: {}, ...overrides };
}

describe('SlotStore: an owner over its limit', () => {
  it('queues the runs over the limit and starts the oldest when a slot is freed', async () => {
    // Prepare
    const type = `t${prefix}`;
    const owner = `${ALICE}-${prefix}`;
    const jobs = new Jobs(limits({ perOwner: 2 }));

    // Act
    const outcomes = [];
    for (const name of ['a', 'b', 'c', 'd']) outcomes.push(await jobs.start(owner, type, name));
    const queuedCounter = await counter(ownerKeyId(owner));
    await jobs.finish({ owner, type, jobName: 'a', runId: 'run-a' });

    // Assess
    expect(outcomes).toEqual(['running', 'running', 'queued', 'queued']);
    expect(queuedCounter).toEqual({ running: 2, queued: 2 });
    expect(jobs.started.map((run) => run.jobName)).toEqual(['a', 'b', 'c']);
    expect(await status(owner, 'c')).toBe('RUNNING');
    expect(await status(owner, 'd')).toBe('QUEUED');
    expect(await counter(ownerKeyId(owner))).toEqual({ running: 2, queued: 1 });
  });

  it('gives each queued run its place in the owner queue', async () => {
    // Prepare
    const type = `t${prefix}`;
    const owner = `${ALICE}-${prefix}`;
    const jobs = new Jobs(limits({ perOwner: 1 }));
    for (const name of ['a', 'b', 'c', 'd']) await jobs.start(owner, type, name);

    // Act
    const seqOf = (name: string) =>
      `${new Date(Date.UTC(2026, 11, 7) + ['a', 'b', 'c', 'd'].indexOf(name)).toISOString()}#run-${name}`;
    const positions = await Promise.all(
      ['b', 'c', 'd'].map((name) => jobs.slots.position({ owner, seq: seqOf(name) })),
    );

    // Assess
    expect(positions).toEqual([1, 2, 3]);
  });

  it('refuses a run beyond maxQueuedPerOwner and changes nothing', async () => {
    // Prepare
    const type = `t${prefix}`;
    const owner = `${ALICE}-${prefix}`;
    const jobs = new Jobs(limits({ perOwner: 1, maxQueuedPerOwner: 2 }));
    for (const name of ['a', 'b', 'c']) await jobs.start(owner, type, name);

    // Act
    const outcome = await jobs.start(owner, type, 'd');

    // Assess
    expect(outcome).toBe('full');
    expect(await status(owner, 'd')).toBeUndefined();
    expect(await counter(ownerKeyId(owner))).toEqual({ running: 1, queued: 2 });
  });

  it('never starts a queued run whose cancel was requested', async () => {
    // Prepare
    const type = `t${prefix}`;
    const owner = `${ALICE}-${prefix}`;
    const jobs = new Jobs(limits({ perOwner: 1 }));
    for (const name of ['a', 'b', 'c']) await jobs.start(owner, type, name);
    await requestCancel(owner, 'b');

    // Act
    await jobs.finish({ owner, type, jobName: 'a', runId: 'run-a' });

    // Assess
    expect(jobs.started.map((run) => run.jobName)).toEqual(['a', 'c']);
    expect(await status(owner, 'b')).toBe('QUEUED');
  });
});

describe('SlotStore.dispatch that gives way to other dispatches (start-job)', () => {
  it('stops at a run it cannot promote, where a release goes past it', async () => {
    // Prepare: a's slot freed with nobody looking, b's cancel requested, c behind it.
    const type = `t${prefix}`;
    const owner = `${ALICE}-${prefix}`;
    const jobs = new Jobs(limits({ perOwner: 1 }));
    for (const name of ['a', 'b', 'c']) await jobs.start(owner, type, name);
    await requestCancel(owner, 'b');
    await new TableClient(client, tableName).transactWrite([
      { Delete: { Key: { pk: { S: jobPartitionKey(owner, 'a') }, sk: { S: 'ACTIVE' } } } },
      ...jobs.slots.releaseItems(jobs.slots.keysOf(owner, type), new Date().toISOString()),
    ]);
    const promoted: string[] = [];
    const start = async (run: QueuedRun) => {
      promoted.push(run.jobName);
    };

    // Act
    const yielded = await jobs.slots.dispatch({ owner, type }, start, { yieldToOthers: true });
    const statusAfterYield = await status(owner, 'c');
    const looked = await jobs.slots.dispatch({ owner, type }, start);

    // Assess
    expect(yielded).toEqual([]);
    expect(statusAfterYield).toBe('QUEUED');
    expect(looked.map((run) => run.jobName)).toEqual(['c']);
    expect(promoted).toEqual(['c']);
    expect(await status(owner, 'c')).toBe('RUNNING');
    expect(await counter(ownerKeyId(owner))).toEqual({ running: 1, queued: 1 });
  });
});

describe('SlotStore: a type limit shared by owners', () => {
  it("starts another owner's first run within one release, however long the first owner's queue", async () => {
    // Prepare
    const type = `t${prefix}`;
    const alice = `${ALICE}-${prefix}`;
    const bob = `${BOB}-${prefix}`;
    const jobs = new Jobs(limits({ perOwner: 100, perType: { [type]: 1 } }));
    for (let i = 0; i < 30; i++) await jobs.start(alice, type, `a${String(i).padStart(2, '0')}`);
    await jobs.start(bob, type, 'b00');

    // Act: end whatever runs, one release at a time, until Bob's run has started.
    let releases = 0;
    while (!jobs.started.some((run) => run.owner === bob) && releases < 40) {
      const current = jobs.started.at(-1);
      if (!current) throw new Error('nothing runs');
      await jobs.finish(current);
      releases += 1;
    }

    // Assess
    expect(releases).toBeLessThanOrEqual(2);
    const aliceOrder = jobs.started.filter((run) => run.owner === alice).map((run) => run.jobName);
    expect(aliceOrder).toEqual([...aliceOrder].sort());
    expect(await counter(typeKeyId(type))).toEqual({ running: 1, queued: 30 - releases });
  });

  it('skips a run whose owner is full and starts the next owner in the shared queue', async () => {
    // Prepare
    const type = `t${prefix}`;
    const other = `u${prefix}`;
    const alice = `${ALICE}-${prefix}`;
    const bob = `${BOB}-${prefix}`;
    const jobs = new Jobs(limits({ perOwner: 1, perType: { [type]: 1 } }));
    await jobs.start(bob, type, 'b0'); // holds the type's only slot
    await jobs.start(alice, other, 'a0'); // holds Alice's only slot
    await jobs.start(alice, type, 'a1'); // waits for the type and for Alice
    await jobs.start(CAROL + prefix, type, 'c1'); // waits for the type only

    // Act
    await jobs.finish({ owner: bob, type, jobName: 'b0', runId: 'run-b0' });

    // Assess
    expect(jobs.started.map((run) => run.jobName)).toEqual(['b0', 'a0', 'c1']);
    expect(await status(alice, 'a1')).toBe('QUEUED');
  });
});

describe('SlotStore under concurrency', () => {
  it('never runs more than a limit allows, starts every run once, and ends with every counter at zero', async () => {
    // Prepare
    const limited = `t${prefix}`;
    const free = `u${prefix}`;
    const owners = [ALICE, BOB, CAROL].map((arn) => `${arn}-${prefix}`);
    const configured = limits({ perOwner: 3, total: 6, perType: { [limited]: 2 } });
    const live = new Map<string, number>();
    let peak = { owner: 0, type: 0, total: 0 };
    const pending: Promise<void>[] = [];
    const jobs: Jobs = new Jobs(configured, (run) => {
      const keys = jobs.slots.keysOf(run.owner, run.type);
      for (const key of keys) live.set(key.id, (live.get(key.id) ?? 0) + 1);
      peak = {
        owner: Math.max(peak.owner, ...owners.map((o) => live.get(ownerKeyId(o)) ?? 0)),
        type: Math.max(peak.type, live.get(typeKeyId(limited)) ?? 0),
        total: Math.max(peak.total, live.get('all') ?? 0),
      };
      // Each run works a little, then ends; its end frees the slots for the next.
      pending.push(
        (async () => {
          await new Promise((resolve) => setTimeout(resolve, Math.random() * 15));
          for (const key of keys) live.set(key.id, (live.get(key.id) ?? 0) - 1);
          await jobs.finish(run);
        })(),
      );
    });

    // Act
    const names = owners.flatMap((owner, o) =>
      Array.from({ length: 20 }, (_, i) => ({
        owner,
        type: i % 2 ? limited : free,
        name: `j${o}-${i}`,
      })),
    );
    await Promise.all(names.map(({ owner, type, name }) => jobs.start(owner, type, name)));
    for (let settled = 0; settled < pending.length; ) {
      const batch = pending.slice(settled);
      await Promise.all(batch);
      settled += batch.length;
    }

    // Assess
    expect(new Set(jobs.started.map((run) => run.jobName)).size).toBe(names.length);
    expect(jobs.started).toHaveLength(names.length);
    expect(peak.owner).toBeLessThanOrEqual(3);
    expect(peak.type).toBeLessThanOrEqual(2);
    expect(peak.total).toBeLessThanOrEqual(6);
    const counters = await Promise.all(
      [...owners.map(ownerKeyId), typeKeyId(limited), 'all'].map(counter),
    );
    expect(counters).toEqual(counters.map(() => ({ running: 0, queued: 0 })));
  }, 60_000);
});

describe('SlotStore.repairCounter', () => {
  it('sets a counter that drifted to the true counts, only if it has not changed since it was read', async () => {
    // Prepare
    const keyId = `owner:repair-${prefix}`;
    const key = slotCounterKey(keyId);
    const slots = new SlotStore(client, tableName, limits());
    await client.send(
      new PutItemCommand({
        TableName: tableName,
        Item: {
          pk: { S: key.pk },
          sk: { S: key.sk },
          running: { N: '5' },
          queued: { N: '0' },
          version: { N: '7' },
          changedAt: { S: '2026-12-07T00:00:00.000Z' },
        },
      }),
    );
    const [seen] = (await slots.readCounters([keyId])).values();
    if (!seen) throw new Error('no counter');

    // Act
    const tooRecent = await slots.repairCounter(
      keyId,
      seen,
      { running: 1, queued: 0 },
      seen.changedAt ?? '',
    );
    const stale = await slots.repairCounter(
      keyId,
      { ...seen, version: 6 },
      { running: 1, queued: 0 },
      '2027',
    );
    const repaired = await slots.repairCounter(keyId, seen, { running: 1, queued: 0 }, '2027');

    // Assess
    expect([tooRecent, stale, repaired]).toEqual([false, false, true]);
    expect(await counter(keyId)).toEqual({ running: 1, queued: 0 });
    await client.send(
      new DeleteItemCommand({
        TableName: tableName,
        Key: { pk: { S: key.pk }, sk: { S: key.sk } },
      }),
    );
  });
});
