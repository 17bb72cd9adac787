/**
 * JobStore with fair share, against the local cloud's DynamoDB (real
 * conditions and transactions): what createActive, finishRun and deleteActive
 * do to the record, the queues and the counters.
 */
import { type DynamoDBClient, GetItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type ConcurrencyLimits, ownerKeyId, typeKeyId } from '../../../../core/limits';
import type { ActiveJob, JobOutcome } from '../../../../core/model';
import { queuePartitionKey, slotCounterKey } from '../../../../core/table';
import { SlotStore } from '../../../../functions/shared/slots';
import { type CreateResult, JobStore } from '../../../../functions/shared/store';
import { activeJob, jobOutcome, USER_ARN } from '../../helpers/api-event';
import { type LocalTable, startLocalJobsTable } from '../../helpers/local-dynamodb';

let table: LocalTable;
let client: DynamoDBClient;
let tableName: string;
let test = 0;
/** An owner of this test's own, so counters and queues never carry over between tests. */
let owner: string;

beforeAll(async () => {
  table = await startLocalJobsTable();
  client = table.client;
  tableName = table.tableName;
});
afterAll(async () => {
  await table.close();
});
beforeEach(() => {
  test += 1;
  owner = `${USER_ARN}-${test}`;
});

function storeWith(overrides: Partial<ConcurrencyLimits> = {}): JobStore {
  const limits: ConcurrencyLimits = {
    perOwner: 1,
    maxQueuedPerOwner: 10,
    perType: {},
    ...overrides,
  };
  return new JobStore(client, tableName, new SlotStore(client, tableName, limits));
}

/** The n-th run of this test: its own name, run id and creation time, in that order. */
function run(n: number, overrides: Partial<ActiveJob> = {}): ActiveJob {
  const at = new Date(Date.UTC(2026, 0, 5, 10, 0, n)).toISOString();
  return activeJob({
    owner,
    jobName: `job-${n}`,
    runId: `01JDXR3Y5Q6Z8A9B0C1D2E3F${String(n).padStart(2, '0')}`,
    createdAt: at,
    updatedAt: at,
    ...overrides,
  });
}

function outcomeOf(job: ActiveJob, overrides: Partial<JobOutcome> = {}): JobOutcome {
  return jobOutcome({ owner: job.owner, jobName: job.jobName, runId: job.runId, ...overrides });
}

function createdJob(result: CreateResult): ActiveJob {
  if (!result.created) throw new Error(`not created: ${JSON.stringify(result)}`);
  return result.job;
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

/** The job names waiting in a key's queue, in queue order. */
async function queueOf(keyId: string): Promise<string[]> {
  const { Items } = await client.send(
    new QueryCommand({
      TableName: tableName,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': { S: queuePartitionKey(keyId) } },
      ConsistentRead: true,
    }),
  );
  return (Items ?? []).map((item) => item.jobName?.S ?? '');
}

describe('JobStore.createActive with slots', () => {
  it('puts a RUNNING record while the owner has room, then a QUEUED one with its queue place', async () => {
    // Prepare
    const store = storeWith({ perOwner: 1 });

    // Act
    const first = await store.createActive(run(1));
    const second = await store.createActive(run(2));

    // Assess
    expect(createdJob(first).status).toBe('RUNNING');
    const queued = createdJob(second);
    expect(queued.status).toBe('QUEUED');
    expect(queued.queue).toEqual({ seq: `${run(2).createdAt}#${run(2).runId}`, rounds: {} });
    expect(await store.getActive(owner, 'job-1')).toMatchObject({ status: 'RUNNING' });
    expect(await store.getActive(owner, 'job-2')).toMatchObject({
      status: 'QUEUED',
      queue: queued.queue,
    });
    expect(await counter(ownerKeyId(owner))).toEqual({ running: 1, queued: 1 });
    expect(await queueOf(ownerKeyId(owner))).toEqual(['job-2']);
    expect(await store.slots?.position({ owner, seq: queued.queue?.seq ?? '' })).toBe(1);
  });

  it("queues a run in its type's fair queue too, with a round", async () => {
    // Prepare
    const type = `limited-${test}`;
    const store = storeWith({ perOwner: 5, perType: { [type]: 1 } });
    await store.createActive(run(1, { type }));

    // Act
    const queued = createdJob(await store.createActive(run(2, { type })));

    // Assess
    expect(queued.status).toBe('QUEUED');
    expect(queued.queue?.rounds).toEqual({ [typeKeyId(type)]: 1 });
    expect(await counter(typeKeyId(type))).toEqual({ running: 1, queued: 1 });
    expect(await queueOf(typeKeyId(type))).toEqual(['job-2']);
    expect(await counter(ownerKeyId(owner))).toEqual({ running: 1, queued: 1 });
  });

  it('answers queueFull at maxQueuedPerOwner and changes nothing', async () => {
    // Prepare
    const store = storeWith({ perOwner: 1, maxQueuedPerOwner: 1 });
    await store.createActive(run(1));
    await store.createActive(run(2));

    // Act
    const result = await store.createActive(run(3));

    // Assess
    expect(result).toEqual({ created: false, queueFull: true });
    expect(await store.getActive(owner, 'job-3')).toBeUndefined();
    expect(await counter(ownerKeyId(owner))).toEqual({ running: 1, queued: 1 });
    expect(await queueOf(ownerKeyId(owner))).toEqual(['job-2']);
  });

  it.each([
    ['RUNNING', 1],
    ['QUEUED', 2],
  ])(
    'returns the existing %s record of a name in use, and changes no counter',
    async (status, n) => {
      // Prepare
      const store = storeWith({ perOwner: 1 });
      await store.createActive(run(1));
      await store.createActive(run(2));
      const again = run(n, { runId: '01JDXR3Y5Q6Z8A9B0C1D2E3F99', input: { value: 'other' } });

      // Act
      const result = await store.createActive(again);

      // Assess
      expect(result).toMatchObject({
        created: false,
        existing: { jobName: `job-${n}`, runId: run(n).runId, status },
      });
      expect(await counter(ownerKeyId(owner))).toEqual({ running: 1, queued: 1 });
      expect(await queueOf(ownerKeyId(owner))).toEqual(['job-2']);
    },
  );
});

describe('JobStore.finishRun with slots', () => {
  it("frees a RUNNING run's slot with its end", async () => {
    // Prepare
    const store = storeWith({ perOwner: 1 });
    const running = createdJob(await store.createActive(run(1)));

    // Act
    const finished = await store.finishRun(outcomeOf(running), running);

    // Assess
    expect(finished).toBe(true);
    expect(await store.getActive(owner, 'job-1')).toBeUndefined();
    expect(await store.getOutcome(owner, 'job-1', running.runId)).toMatchObject({
      status: 'SUCCEEDED',
    });
    expect(await counter(ownerKeyId(owner))).toEqual({ running: 0, queued: 0 });
  });

  it('takes a QUEUED run out of its queues and its queued counts, and leaves the running slot', async () => {
    // Prepare
    const type = `limited-${test}`;
    const store = storeWith({ perOwner: 1, perType: { [type]: 1 } });
    await store.createActive(run(1, { type }));
    const queued = createdJob(await store.createActive(run(2, { type })));

    // Act
    const finished = await store.finishRun(outcomeOf(queued, { status: 'CANCELLED' }), queued);

    // Assess
    expect(finished).toBe(true);
    expect(await store.getActive(owner, 'job-2')).toBeUndefined();
    expect(await queueOf(ownerKeyId(owner))).toEqual([]);
    expect(await queueOf(typeKeyId(type))).toEqual([]);
    expect(await counter(ownerKeyId(owner))).toEqual({ running: 1, queued: 0 });
    expect(await counter(typeKeyId(type))).toEqual({ running: 1, queued: 0 });
  });

  it('ends a run read as QUEUED that was promoted meanwhile, releasing its slot (not its queue place)', async () => {
    // Prepare: job-2 is read while queued, then job-1 ends and the queue promotes job-2.
    const store = storeWith({ perOwner: 1 });
    const first = createdJob(await store.createActive(run(1)));
    const readWhileQueued = createdJob(await store.createActive(run(2)));
    await store.finishRun(outcomeOf(first), first);
    const started: string[] = [];
    await store.slots?.dispatch({ owner, type: 'echo' }, async (promoted) => {
      started.push(promoted.jobName);
    });

    // Act
    const finished = await store.finishRun(outcomeOf(readWhileQueued), readWhileQueued);

    // Assess
    expect(started).toEqual(['job-2']);
    expect(finished).toBe(true);
    expect(await store.getActive(owner, 'job-2')).toBeUndefined();
    expect(await counter(ownerKeyId(owner))).toEqual({ running: 0, queued: 0 });
    expect(await queueOf(ownerKeyId(owner))).toEqual([]);
  });

  it('changes nothing for a duplicate end', async () => {
    // Prepare
    const store = storeWith({ perOwner: 1 });
    const running = createdJob(await store.createActive(run(1)));
    await store.finishRun(outcomeOf(running), running);

    // Act
    const again = await store.finishRun(outcomeOf(running), running);

    // Assess
    expect(again).toBe(false);
    expect(await counter(ownerKeyId(owner))).toEqual({ running: 0, queued: 0 });
  });
});

describe('JobStore.deleteActive with slots', () => {
  it('gives back the slot of a RUNNING run it removes', async () => {
    // Prepare
    const store = storeWith({ perOwner: 1 });
    const running = createdJob(await store.createActive(run(1)));

    // Act
    const deleted = await store.deleteActive(running);

    // Assess
    expect(deleted).toBe(true);
    expect(await store.getActive(owner, 'job-1')).toBeUndefined();
    expect(await counter(ownerKeyId(owner))).toEqual({ running: 0, queued: 0 });
  });

  it('takes a QUEUED run it removes out of the queue', async () => {
    // Prepare
    const store = storeWith({ perOwner: 1 });
    await store.createActive(run(1));
    const queued = createdJob(await store.createActive(run(2)));

    // Act
    const deleted = await store.deleteActive(queued);

    // Assess
    expect(deleted).toBe(true);
    expect(await counter(ownerKeyId(owner))).toEqual({ running: 1, queued: 0 });
    expect(await queueOf(ownerKeyId(owner))).toEqual([]);
  });
});
