/**
 * Fair share end to end, on a local cloud of its own whose limits are small
 * enough to reach in a test: 2 runs at once per owner, 3 for the stack, 4 jobs
 * queued per owner. Alice floods the API; Bob must be served all the same.
 */
import { resolve } from 'node:path';
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningLocalCloud } from '../../src/local';
import { startLocalCloud } from '../../src/local';
import { E2E_CONTEXT, ensureAssembly } from './assembly';
import { type ApiResponse, callApi, eventually, uniqueName } from './client';
import type { E2eTarget } from './target';

const ROOT = resolve(import.meta.dirname, '../..');
const LIMITS = {
  ownerConcurrency: '2',
  workerReservedConcurrency: '3',
  maxQueuedPerOwner: '4',
};
const CONTEXT = { ...E2E_CONTEXT, ...LIMITS };
const ASSEMBLY = resolve(ROOT, `.vitest/cdk.out.fair-share-${Object.values(CONTEXT).join('-')}`);

let cloud: RunningLocalCloud;
let target: E2eTarget;

beforeAll(async () => {
  await ensureAssembly(ASSEMBLY, CONTEXT);
  cloud = await startLocalCloud({
    assemblyDir: ASSEMBLY,
    apiPort: 0,
    awsPort: 0,
    quiet: true,
    logsDir: resolve(ROOT, '.vitest/logs-fair-share'),
    timeScale: 0.01,
    scheduleScale: 0.05,
  });
  const [alice, bob] = cloud.users;
  if (!alice || !bob) throw new Error('The local cloud has fewer than two identities');
  target = {
    kind: 'local',
    apiUrl: cloud.apiUrl,
    region: cloud.region,
    tableName: cloud.outputs.TableName ?? '',
    awsEndpoint: cloud.awsEndpoint,
    tableReader: alice,
    alice: { ...alice, owner: alice.arn },
    bob: { ...bob, owner: bob.arn },
    workerTimeoutSeconds: Number(E2E_CONTEXT.workerTimeoutSeconds),
    outcomeQueueUrl: cloud.outputs.OutcomeQueueUrl ?? '',
  };
}, 300_000);

afterAll(async () => {
  await cloud?.stop();
});

interface Started {
  readonly name: string;
  readonly response: ApiResponse;
}

async function start(who: 'alice' | 'bob', seconds: number, prefix: string): Promise<Started> {
  const name = uniqueName(prefix);
  const response = await callApi(target, target[who], 'POST', '/jobs', {
    type: 'sleep',
    name,
    input: { seconds },
  });
  return { name, response };
}

interface View {
  readonly status: string;
  readonly startedAt?: string;
  readonly dispatchedAt?: string;
  readonly queue?: { readonly position: number };
}

async function view(who: 'alice' | 'bob', name: string): Promise<View> {
  const response = await callApi(target, target[who], 'GET', `/jobs/${name}`);
  expect(response.status).toBe(200);
  return response.body as View;
}

function ended(status: string): boolean {
  return ['SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT'].includes(status);
}

async function whenEnded(who: 'alice' | 'bob', name: string): Promise<View> {
  return eventually(
    `${name} to end`,
    async () => {
      const job = await view(who, name);
      return ended(job.status) ? job : undefined;
    },
    60_000,
  );
}

/** Every slot counter of the stack, as stored. */
async function counters(): Promise<Array<{ key: string; running: number; queued: number }>> {
  const client = new DynamoDBClient({
    endpoint: target.awsEndpoint,
    region: target.region,
    credentials: target.tableReader,
  });
  try {
    const { Items } = await client.send(
      new ScanCommand({
        TableName: target.tableName,
        FilterExpression: 'begins_with(pk, :slots)',
        ExpressionAttributeValues: { ':slots': { S: 'SLOTS#' } },
        ConsistentRead: true,
      }),
    );
    return (Items ?? []).map((item) => ({
      key: item.pk?.S?.slice('SLOTS#'.length) ?? '',
      running: Number(item.running?.N ?? 0),
      queued: Number(item.queued?.N ?? 0),
    }));
  } finally {
    client.destroy();
  }
}

describe('fair share: a noisy neighbour', () => {
  it("queues one owner's flood, refuses it past its queue, and still serves another owner", async () => {
    // Prepare: Alice fills her two slots and her queue, and asks for one more.
    const alice: Started[] = [];
    for (let i = 0; i < 7; i++) alice.push(await start('alice', 1.5, `flood${i}`));

    // Act: Bob's requests while Alice's jobs hold the stack.
    const bobFirst = await start('bob', 0.5, 'neighbour');
    const bobSecond = await start('bob', 0.5, 'neighbour');
    const bobQueuedAt = Date.now();
    const bobGets = await Promise.all(
      [bobFirst, bobSecond].map((job) => callApi(target, target.bob, 'GET', `/jobs/${job.name}`)),
    );

    // Assess: Alice got her two slots, four places in the queue, then 429 QueueFull.
    const aliceAnswers = alice.map(({ response }) => [
      response.status,
      (response.body as { status?: string; error?: { code: string } }).status ??
        (response.body as { error?: { code: string } }).error?.code,
    ]);
    expect(aliceAnswers).toEqual([
      [202, 'RUNNING'],
      [202, 'RUNNING'],
      [202, 'QUEUED'],
      [202, 'QUEUED'],
      [202, 'QUEUED'],
      [202, 'QUEUED'],
      [429, 'QueueFull'],
    ]);
    expect(
      alice.slice(2, 6).map(({ response }) => (response.body as View).queue?.position),
    ).toEqual([1, 2, 3, 4]);
    expect(alice[6]?.response.headers.get('retry-after')).toBe('30');
    // Bob: his first job takes the stack's third slot at once; his second waits for one.
    expect([bobFirst.response.status, (bobFirst.response.body as View).status]).toEqual([
      202,
      'RUNNING',
    ]);
    expect([bobSecond.response.status, (bobSecond.response.body as View).status]).toEqual([
      202,
      'QUEUED',
    ]);
    expect(bobGets.map((response) => response.status)).toEqual([200, 200]);

    // Bob's queued job starts within about one release: at most one of Alice's queued
    // jobs may start before it (the stack's queue takes owners in turns).
    const bobStarted = await eventually(
      "Bob's queued job to start",
      async () => {
        const job = await view('bob', bobSecond.name);
        return job.startedAt ? { ...job, seenAt: Date.now() } : undefined;
      },
      60_000,
      50,
    );
    const aliceViews = await Promise.all(
      alice.slice(0, 6).map(({ name }) => whenEnded('alice', name)),
    );
    const aliceDispatchedBeforeBob = aliceViews
      .slice(2)
      .filter(
        (job) =>
          job.dispatchedAt && bobStarted.dispatchedAt && job.dispatchedAt < bobStarted.dispatchedAt,
      );
    expect(aliceDispatchedBeforeBob.length).toBeLessThanOrEqual(1);
    console.log(
      `fair share: Bob's queued job started ${bobStarted.seenAt - bobQueuedAt} ms after it was queued ` +
        `(${aliceDispatchedBeforeBob.length} of Alice's queued jobs started before it)`,
    );

    // Alice's queue is FIFO: her queued jobs were dispatched in the order she started them.
    const dispatched = aliceViews.slice(2).map((job) => job.dispatchedAt ?? '');
    expect(dispatched).toEqual([...dispatched].sort());
    expect(aliceViews.map((job) => job.status)).toEqual(Array(6).fill('SUCCEEDED'));
    await whenEnded('bob', bobFirst.name);
    expect((await whenEnded('bob', bobSecond.name)).status).toBe('SUCCEEDED');

    // No slot is leaked: every counter is back to zero.
    const left = await eventually(
      'every counter to come back to zero',
      async () => {
        const all = await counters();
        return all.every((c) => c.running === 0 && c.queued === 0) ? all : undefined;
      },
      20_000,
    );
    expect(left.length).toBeGreaterThan(0);
  }, 180_000);
});

describe('fair share: cancelling a queued job', () => {
  it('ends it CANCELLED at once, without ever starting it, and frees its place', async () => {
    // Prepare: two running jobs hold Alice's slots; a third waits.
    const running = [await start('alice', 2, 'hold'), await start('alice', 2, 'hold')];
    const queued = await start('alice', 0.2, 'waiting');
    expect((queued.response.body as View).status).toBe('QUEUED');

    // Act
    const cancel = await callApi(target, target.alice, 'DELETE', `/jobs/${queued.name}`);

    // Assess
    expect(cancel.status).toBe(202);
    expect((cancel.body as View).status).toBe('QUEUED');
    const cancelled = await eventually(
      'the queued job to end',
      async () => {
        const job = await view('alice', queued.name);
        return ended(job.status) ? job : undefined;
      },
      20_000,
      50,
    );
    expect(cancelled.status).toBe('CANCELLED');
    expect(cancelled.startedAt).toBeUndefined();
    // It ended while both others still ran: a cancel does not wait for a slot.
    expect((await view('alice', running[0]?.name ?? '')).status).toBe('RUNNING');
    for (const job of running)
      expect((await whenEnded('alice', job.name)).status).toBe('SUCCEEDED');
    await eventually(
      'every counter to come back to zero',
      async () => {
        const all = await counters();
        return all.every((c) => c.running === 0 && c.queued === 0) ? all : undefined;
      },
      20_000,
    );
  }, 120_000);
});
