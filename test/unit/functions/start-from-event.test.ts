/**
 * The starter function's service (`startFromPayload`): a trigger's EventBridge
 * event or a schedule's firing goes through the real `startJob`, on the local
 * cloud's DynamoDB (real conditions, slots and queues) with Lambda's Invoke
 * endpoint stood in for; the starters' own items and `Job Rejected` are fakes
 * that keep what they were given.
 */
import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type JobRejectedDetail, jobRejectedDetailSchema } from '../../../core/event-schemas';
import type { OwnerModel } from '../../../core/limits';
import {
  DEFAULT_SCHEDULE_NAME,
  encodeStarter,
  type ScheduleConfig,
  STARTER_KEY,
  type TriggerConfig,
} from '../../../core/triggers';
import { SlotStore } from '../../../functions/shared/slots';
import { type StartedRun, StarterStore } from '../../../functions/shared/starter-store';
import { JobStore } from '../../../functions/shared/store';
import { type StarterDeps, startFromPayload } from '../../../functions/start-from-event/service';
import { startJob } from '../../../functions/start-job/service';
import { USER_ARN } from '../helpers/api-event';
import { type LambdaEndpoint, startLambdaEndpoint } from '../helpers/lambda-endpoint';
import { type LocalTable, startLocalJobsTable } from '../helpers/local-dynamodb';
import { capturePowertoolsOutput } from '../helpers/powertools-output';

const NOW = new Date('2026-12-07T06:00:02.000Z');
const RETENTION_SECONDS = 7 * 86_400;
/** One run and one queued job per owner: a third start is refused with QueueFull. */
const LIMITS = { perOwner: 1, maxQueuedPerOwner: 1, perType: {} };

/** The starters' items in memory, as `StarterStore` keeps them in the table. */
class MemoryStarterStore extends StarterStore {
  readonly started = new Map<string, { run: StartedRun; expiresAt: number }>();
  readonly last = new Map<string, StartedRun & { scheduledTime: string }>();

  constructor() {
    // The table is never reached: every method is the memory's.
    super(new DynamoDBClient({ region: 'eu-west-1' }), 'unused');
  }

  override async startedBy(starterId: string, eventKey: string): Promise<StartedRun | undefined> {
    return this.started.get(`${starterId}#${eventKey}`)?.run;
  }

  override async recordStarted(
    starterId: string,
    eventKey: string,
    run: StartedRun,
    expiresAt: number,
  ): Promise<void> {
    const key = `${starterId}#${eventKey}`;
    if (!this.started.has(key)) this.started.set(key, { run, expiresAt });
  }

  override async lastRun(
    scheduleId: string,
  ): Promise<(StartedRun & { scheduledTime: string }) | undefined> {
    return this.last.get(scheduleId);
  }

  override async recordLastRun(
    scheduleId: string,
    run: StartedRun,
    scheduledTime: string,
  ): Promise<void> {
    this.last.set(scheduleId, { ...run, scheduledTime });
  }
}

let table: LocalTable;
let lambda: LambdaEndpoint;
let store: JobStore;
let lambdaClient: LambdaClient;
let starters: MemoryStarterStore;
let rejected: JobRejectedDetail[];
let serial = 0;
/** An owner of this test's own, so no run, slot or queue carries over between tests. */
let owner: string;

beforeAll(async () => {
  table = await startLocalJobsTable();
  lambda = await startLambdaEndpoint();
  store = new JobStore(
    table.client,
    table.tableName,
    new SlotStore(table.client, table.tableName, LIMITS),
  );
  lambdaClient = new LambdaClient({
    endpoint: lambda.url,
    region: 'eu-west-1',
    credentials: { accessKeyId: 'AKIAUNITTEST00000000', secretAccessKey: 'unit-test-secret' },
    maxAttempts: 1,
  });
});

afterAll(async () => {
  lambdaClient.destroy();
  await lambda.close();
  await table.close();
});

beforeEach(() => {
  serial += 1;
  owner = `${USER_ARN}-${serial}`;
  lambda.reset();
  starters = new MemoryStarterStore();
  rejected = [];
  capturePowertoolsOutput();
});

function deps(overrides: Partial<StarterDeps> = {}): StarterDeps {
  return {
    store,
    starters,
    putRejected: async (detail) => {
      rejected.push(detail);
    },
    lambda: lambdaClient,
    workerFunctionName: 'eventjobs-worker',
    maxInputBytes: 64 * 1024,
    maxEventBytes: 256 * 1024,
    retentionSeconds: RETENTION_SECONDS,
    ownerModel: 'principal' as OwnerModel,
    now: () => NOW,
    ...overrides,
  };
}

/** An EventBridge event as a rule's target receives it. */
function busEvent(detail: unknown, overrides: Record<string, unknown> = {}) {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Job Requested',
    source: 'shop.orders',
    account: '123456789012',
    time: '2026-12-07T06:00:00Z',
    region: 'eu-west-1',
    resources: [],
    detail,
    ...overrides,
  };
}

/**
 * What a trigger's rule target delivers: the configuration, the fixed owner
 * beside it (resolved by CloudFormation) when the trigger has one, and the event.
 */
function triggerPayload(config: TriggerConfig, event: unknown, fixedOwner?: unknown) {
  return {
    [STARTER_KEY]: encodeStarter(config),
    ...(fixedOwner !== undefined ? { owner: fixedOwner } : {}),
    event,
  };
}

/** A trigger that takes everything from the event, as the reference app's does. */
function requestTrigger(overrides: Partial<TriggerConfig> = {}): TriggerConfig {
  return {
    kind: 'trigger',
    id: 'job-requested',
    type: { path: '$.detail.type' },
    name: { path: '$.detail.requestId' },
    input: { path: '$.detail.input' },
    owner: { path: '$.detail.owner' },
    ...overrides,
  };
}

function schedule(overrides: Partial<ScheduleConfig> = {}): ScheduleConfig {
  return {
    kind: 'schedule',
    id: `nightly-${serial}`,
    type: 'echo',
    name: DEFAULT_SCHEDULE_NAME,
    overlap: 'skip',
    ...overrides,
  };
}

/**
 * What Scheduler delivers for one firing: the configuration, and beside it the
 * owner and input (resolved by CloudFormation) and Scheduler's context attributes.
 */
function firing(
  config: ScheduleConfig,
  scheduledTime: string,
  values: { owner?: unknown; input?: unknown } = {},
) {
  return {
    [STARTER_KEY]: encodeStarter(config),
    owner: 'owner' in values ? values.owner : owner,
    input: 'input' in values ? values.input : { value: 'scheduled' },
    scheduledTime,
    executionId: randomUUID(),
  };
}

/** The one rejection put, as it goes on the wire, after checking it against the published schema. */
function theRejection(): JobRejectedDetail {
  expect(rejected).toHaveLength(1);
  const wire = JSON.parse(JSON.stringify(rejected[0])) as JobRejectedDetail;
  expect(() => jobRejectedDetailSchema.parse(wire)).not.toThrow();
  return wire;
}

describe('a trigger event', () => {
  it('starts a job through startJob, records who started it, and remembers the event', async () => {
    // Prepare
    const event = busEvent({
      type: 'echo',
      requestId: 'req-1',
      input: { value: { n: 1 } },
      owner,
    });

    // Act
    const result = await startFromPayload(triggerPayload(requestTrigger(), event), deps());

    // Assess: a new run of the named job, for the owner the event names
    expect(result).toEqual({
      outcome: 'started',
      job: { jobName: 'req-1', runId: expect.any(String), status: 'RUNNING', created: true },
    });
    const runId = result.outcome === 'started' ? result.job.runId : '';
    const record = await store.getActive(owner, 'req-1');
    expect(record).toMatchObject({
      runId,
      type: 'echo',
      status: 'RUNNING',
      input: { value: { n: 1 } },
      startedBy: {
        kind: 'trigger',
        id: 'job-requested',
        eventId: event.id,
        source: 'shop.orders',
        detailType: 'Job Requested',
      },
    });
    // Assess: the worker was invoked for it
    expect(lambda.received).toHaveLength(1);
    expect(JSON.parse(lambda.received[0]?.body ?? 'null')).toMatchObject({
      owner,
      jobName: 'req-1',
      runId,
      type: 'echo',
    });
    // Assess: the event is remembered for the longest run plus the outcome retention
    expect([...starters.started]).toEqual([
      [
        `job-requested#${event.id}`,
        {
          run: { owner, jobName: 'req-1', runId },
          expiresAt: NOW.getTime() / 1000 + 30 * 86_400 + RETENTION_SECONDS,
        },
      ],
    ]);
    expect(rejected).toEqual([]);
  });

  it('defaults: the fixed principal owns it, the event id names it, the detail is its input', async () => {
    // Prepare
    const config: TriggerConfig = {
      kind: 'trigger',
      id: 'orders',
      type: 'echo',
      owner: { fixed: true },
      timeoutSeconds: 120,
    };
    const event = busEvent({ value: 'from detail' }, { 'detail-type': undefined });

    // Act
    const result = await startFromPayload(triggerPayload(config, event, owner), deps());

    // Assess
    expect(result).toMatchObject({ outcome: 'started', job: { jobName: event.id, created: true } });
    const record = await store.getActive(owner, event.id);
    expect(record).toMatchObject({
      input: { value: 'from detail' },
      timeoutSeconds: 120,
      startedBy: { kind: 'trigger', id: 'orders', eventId: event.id, source: 'shop.orders' },
    });
    expect(record?.startedBy).not.toHaveProperty('detailType');
  });

  it('maps a nested input of paths and fixed values', async () => {
    // Prepare
    const config = requestTrigger({
      type: 'echo',
      input: {
        value: {
          order: { path: '$.detail.order.id' },
          via: '<trigger>',
          lines: [{ path: '$.detail.order.lines[0]' }],
        },
      },
    });
    const event = busEvent({ requestId: 'mapped', owner, order: { id: 'o-1', lines: ['a', 'b'] } });

    // Act
    await startFromPayload(triggerPayload(config, event), deps());

    // Assess
    const record = await store.getActive(owner, 'mapped');
    expect(record?.input).toEqual({ value: { order: 'o-1', via: '<trigger>', lines: ['a'] } });
  });

  it.each<[OwnerModel, string, string]>([
    [
      'principal',
      'arn:aws:sts::123456789012:assumed-role/Ingest/session-a',
      'arn:aws:sts::123456789012:assumed-role/Ingest',
    ],
    [
      'session',
      'arn:aws:sts::123456789012:assumed-role/Ingest/session-b',
      'arn:aws:sts::123456789012:assumed-role/Ingest/session-b',
    ],
  ])(
    'under %s, an owner from the event is the owner the API would derive',
    async (ownerModel, arn, expected) => {
      // Prepare
      const name = `owned-${serial}`;
      const event = busEvent({ type: 'echo', requestId: name, input: { value: 1 }, owner: arn });

      // Act
      const result = await startFromPayload(
        triggerPayload(requestTrigger(), event),
        deps({ ownerModel }),
      );

      // Assess
      expect(result.outcome).toBe('started');
      expect(await store.getActive(expected, name)).toMatchObject({ owner: expected });
    },
  );

  it('a redelivered event that already started a run starts nothing, even after the run ended', async () => {
    // Prepare
    const event = busEvent({ type: 'echo', requestId: 'once', input: { value: 1 }, owner });
    const payload = triggerPayload(requestTrigger(), event);
    const first = await startFromPayload(payload, deps());
    const firstRun = await store.getActive(owner, 'once');
    if (!firstRun) throw new Error('the first delivery started no run');
    await store.deleteActive(firstRun);
    lambda.reset();

    // Act
    const again = await startFromPayload(payload, deps());

    // Assess
    expect(first.outcome).toBe('started');
    expect(again).toEqual({
      outcome: 'duplicate',
      run: { owner, jobName: 'once', runId: firstRun.runId },
    });
    expect(await store.getActive(owner, 'once')).toBeUndefined();
    expect(lambda.received).toEqual([]);
    expect(rejected).toEqual([]);
  });

  it('a redelivery racing the first delivery, while its run runs, gets the same run', async () => {
    // Prepare: neither delivery has remembered the event when the other reads
    const event = busEvent({ type: 'echo', requestId: 'raced', input: { value: 1 }, owner });
    const payload = triggerPayload(requestTrigger(), event);

    // Act
    const [a, b] = await Promise.all([
      startFromPayload(payload, deps()),
      startFromPayload(payload, deps()),
    ]);

    // Assess: one run, started once and repeated once
    const record = await store.getActive(owner, 'raced');
    const jobs = [a, b].map((result) => (result.outcome === 'started' ? result.job : undefined));
    expect(jobs.map((job) => job?.runId)).toEqual([record?.runId, record?.runId]);
    expect(jobs.map((job) => job?.created).sort()).toEqual([false, true]);
    expect(starters.started.get(`job-requested#${event.id}`)?.run).toEqual({
      owner,
      jobName: 'raced',
      runId: record?.runId,
    });
    expect(rejected).toEqual([]);
  });

  it('a redelivery after the first delivery died before remembering the event gets the same run', async () => {
    // Prepare: the first delivery started the run, then failed to remember the event
    const event = busEvent({ type: 'echo', requestId: 'retried', input: { value: 1 }, owner });
    const payload = triggerPayload(requestTrigger(), event);
    const failing = new MemoryStarterStore();
    failing.recordStarted = async () => {
      throw new Error('ProvisionedThroughputExceededException');
    };
    await expect(startFromPayload(payload, deps({ starters: failing }))).rejects.toThrow(
      'ProvisionedThroughputExceededException',
    );
    const firstRun = await store.getActive(owner, 'retried');

    // Act: Lambda's retry
    const retry = await startFromPayload(payload, deps());

    // Assess
    expect(retry).toMatchObject({
      outcome: 'started',
      job: { jobName: 'retried', runId: firstRun?.runId, created: false },
    });
    expect(starters.started.get(`job-requested#${event.id}`)?.run.runId).toBe(firstRun?.runId);
  });
});

describe('a trigger event that can never start a job is rejected, not retried', () => {
  it('an owner that is no principal ARN: InvalidOwner, with the event copied into the rejection', async () => {
    // Prepare
    const event = busEvent({
      type: 'echo',
      requestId: 'bad-owner',
      input: { value: 1 },
      owner: 'events.amazonaws.com',
    });

    // Act
    const result = await startFromPayload(triggerPayload(requestTrigger(), event), deps());

    // Assess
    expect(result).toEqual({
      outcome: 'rejected',
      code: 'InvalidOwner',
      message: expect.stringContaining('"events.amazonaws.com"'),
    });
    const detail = theRejection();
    expect(detail).toEqual({
      startedBy: {
        kind: 'trigger',
        id: 'job-requested',
        eventId: event.id,
        source: 'shop.orders',
        detailType: 'Job Requested',
      },
      reason: {
        code: 'InvalidOwner',
        message:
          'The owner must be the ARN of an IAM user or role, or of an assumed role; got "events.amazonaws.com"',
      },
      event,
      deadLettered: true,
      rejectedAt: NOW.toISOString(),
    });
    expect(lambda.received).toEqual([]);
    expect(starters.started.size).toBe(0);
  });

  it.each<[string, Record<string, unknown>, string, RegExp]>([
    [
      'an unknown type',
      { type: 'nope', requestId: 'r', input: { value: 1 } },
      'UnknownJobType',
      /Unknown job type "nope"/,
    ],
    [
      'a type that is no string',
      { type: 7, requestId: 'r', input: { value: 1 } },
      'UnknownJobType',
      /The job's type at \$\.detail\.type must be a string; got 7/,
    ],
    [
      'an input the type refuses',
      { type: 'echo', requestId: 'r', input: { wrong: 1 } },
      'InvalidInput',
      /The input is not valid for job type "echo"/,
    ],
    [
      'a name that is no job name',
      { type: 'echo', requestId: 'has space', input: { value: 1 } },
      'InvalidJobName',
      /The job name must be 1 to 128 characters/,
    ],
    [
      'a name that is no string',
      { type: 'echo', requestId: ['r'], input: { value: 1 } },
      'InvalidJobName',
      /The job's name at \$\.detail\.requestId must be a string/,
    ],
    [
      'no value at the type path',
      { requestId: 'r', input: { value: 1 } },
      'MissingValue',
      /^The event has no value at \$\.detail\.type \(the job's type\)$/,
    ],
    [
      'no value at the name path',
      { type: 'echo', input: { value: 1 } },
      'MissingValue',
      /^The event has no value at \$\.detail\.requestId \(the job's name\)$/,
    ],
    [
      'no value at the input path',
      { type: 'echo', requestId: 'r' },
      'MissingValue',
      /^The event has no value at \$\.detail\.input \(the job's input\)$/,
    ],
  ])('%s is rejected', async (_what, detail, code, message) => {
    // Prepare
    const event = busEvent({ owner, ...detail });

    // Act
    const result = await startFromPayload(triggerPayload(requestTrigger(), event), deps());

    // Assess
    expect(result).toEqual({ outcome: 'rejected', code, message: expect.stringMatching(message) });
    const rejection = theRejection();
    expect(rejection).toMatchObject({
      startedBy: { kind: 'trigger', id: 'job-requested', eventId: event.id },
      reason: { code, message: expect.stringMatching(message) },
      owner,
      event,
      deadLettered: true,
      rejectedAt: NOW.toISOString(),
    });
    expect(lambda.received).toEqual([]);
    expect(starters.started.size).toBe(0);
  });

  it('what could be read before the refusal is in the rejection, with the schema issues as details', async () => {
    // Prepare
    const event = busEvent({
      type: 'echo',
      requestId: 'invalid',
      input: { value: 1, extra: 2 },
      owner,
    });

    // Act
    await startFromPayload(triggerPayload(requestTrigger(), event), deps());

    // Assess
    const rejection = theRejection();
    expect(rejection).toMatchObject({
      owner,
      type: 'echo',
      jobName: 'invalid',
      reason: { code: 'InvalidInput', details: [expect.objectContaining({ path: 'input' })] },
    });
  });

  it('no value at the owner path: MissingValue, with no owner in the rejection', async () => {
    // Prepare
    const event = busEvent({ type: 'echo', requestId: 'ownerless', input: { value: 1 } });

    // Act
    const result = await startFromPayload(triggerPayload(requestTrigger(), event), deps());

    // Assess
    expect(result).toMatchObject({ outcome: 'rejected', code: 'MissingValue' });
    const rejection = theRejection();
    expect(rejection.reason.message).toBe(
      "The event has no value at $.detail.owner (the job's owner)",
    );
    expect(rejection).not.toHaveProperty('owner');
    expect(rejection.event).toEqual(event);
  });

  it('a name another run holds with another input: JobNameInUse, the running run untouched', async () => {
    // Prepare
    const first = busEvent({ type: 'echo', requestId: 'taken', input: { value: 1 }, owner });
    await startFromPayload(triggerPayload(requestTrigger(), first), deps());
    const running = await store.getActive(owner, 'taken');
    const second = busEvent({ type: 'echo', requestId: 'taken', input: { value: 2 }, owner });

    // Act
    const result = await startFromPayload(triggerPayload(requestTrigger(), second), deps());

    // Assess
    expect(result).toMatchObject({ outcome: 'rejected', code: 'JobNameInUse' });
    expect(theRejection()).toMatchObject({ jobName: 'taken', startedBy: { eventId: second.id } });
    expect(await store.getActive(owner, 'taken')).toMatchObject({
      runId: running?.runId,
      input: { value: 1 },
    });
  });

  it('an input over the size limit: PayloadTooLarge', async () => {
    // Prepare
    const event = busEvent({
      type: 'echo',
      requestId: 'big',
      input: { value: 'x'.repeat(200) },
      owner,
    });

    // Act
    const result = await startFromPayload(
      triggerPayload(requestTrigger(), event),
      deps({ maxInputBytes: 100 }),
    );

    // Assess
    expect(result).toMatchObject({ outcome: 'rejected', code: 'PayloadTooLarge' });
    expect(theRejection().deadLettered).toBe(true);
  });

  it('a rejection whose copy of the event would not fit in one event leaves it out', async () => {
    // Prepare
    const event = busEvent({
      type: 'nope',
      requestId: 'huge',
      input: { value: 1 },
      owner,
      padding: 'x'.repeat(4000),
    });

    // Act
    await startFromPayload(triggerPayload(requestTrigger(), event), deps({ maxEventBytes: 2000 }));

    // Assess
    const rejection = theRejection();
    expect(rejection).not.toHaveProperty('event');
    expect(rejection).toMatchObject({
      eventOmitted: true,
      startedBy: { eventId: event.id },
      reason: { code: 'UnknownJobType' },
      deadLettered: true,
    });
  });

  it('a rejection that fits keeps its copy of the event', async () => {
    // Prepare
    const event = busEvent({
      type: 'nope',
      requestId: 'fits',
      input: { value: 1 },
      owner,
      padding: 'x'.repeat(500),
    });

    // Act
    await startFromPayload(triggerPayload(requestTrigger(), event), deps({ maxEventBytes: 2000 }));

    // Assess
    const rejection = theRejection();
    expect(rejection.event).toEqual(event);
    expect(rejection).not.toHaveProperty('eventOmitted');
  });
});

describe("a trigger's owner", () => {
  const fixedOwner = (): TriggerConfig => requestTrigger({ owner: { fixed: true } });

  it('a fixed owner comes from the target, beside the configuration: an owner in the event changes nothing', async () => {
    // Prepare: whoever puts the event names another owner
    const other = `${owner}-other`;
    const event = busEvent({ type: 'echo', requestId: 'fixed', input: { value: 1 }, owner: other });

    // Act
    const result = await startFromPayload(triggerPayload(fixedOwner(), event, owner), deps());

    // Assess
    expect(result).toMatchObject({ outcome: 'started', job: { jobName: 'fixed', created: true } });
    expect(await store.getActive(owner, 'fixed')).toMatchObject({ owner });
    expect(await store.getActive(other, 'fixed')).toBeUndefined();
  });

  it.each<[OwnerModel, (n: number) => string, (n: number) => string]>([
    [
      'principal',
      (n) => `arn:aws:iam::123456789012:role/ingest/Ingest-${n}`,
      (n) => `arn:aws:sts::123456789012:assumed-role/Ingest-${n}`,
    ],
    [
      'principal',
      (n) => `arn:aws:sts::123456789012:assumed-role/Ingest-${n}`,
      (n) => `arn:aws:sts::123456789012:assumed-role/Ingest-${n}`,
    ],
    [
      'session',
      (n) => `arn:aws:sts::123456789012:assumed-role/Ingest-${n}/alice`,
      (n) => `arn:aws:sts::123456789012:assumed-role/Ingest-${n}/alice`,
    ],
  ])(
    'under %s, a fixed owner (as CloudFormation resolved it) is the owner the API would derive',
    async (ownerModel, arnOf, expectedOf) => {
      // Prepare
      const [arn, expected] = [arnOf(serial), expectedOf(serial)];
      const event = busEvent({ type: 'echo', requestId: 'role-owned', input: { value: 1 } });

      // Act
      const result = await startFromPayload(
        triggerPayload(fixedOwner(), event, arn),
        deps({ ownerModel }),
      );

      // Assess
      expect(result.outcome).toBe('started');
      expect(await store.getActive(expected, 'role-owned')).toMatchObject({ owner: expected });
    },
  );

  const SESSION_MESSAGE =
    "The owner must be the ARN of an IAM user or of an assumed-role session (the stack's owner model is session); got ";
  const PRINCIPAL_MESSAGE =
    'The owner must be the ARN of an IAM user or role, or of an assumed role; got ';

  it.each<[string, OwnerModel, 'fixed' | 'event', unknown, string]>([
    [
      'a role, under session',
      'session',
      'fixed',
      'arn:aws:iam::123456789012:role/Ingest',
      `${SESSION_MESSAGE}"arn:aws:iam::123456789012:role/Ingest"`,
    ],
    [
      'an assumed role without a session, under session',
      'session',
      'fixed',
      'arn:aws:sts::123456789012:assumed-role/Ingest',
      `${SESSION_MESSAGE}"arn:aws:sts::123456789012:assumed-role/Ingest"`,
    ],
    [
      'a role from the event, under session',
      'session',
      'event',
      'arn:aws:iam::123456789012:role/Ingest',
      `${SESSION_MESSAGE}"arn:aws:iam::123456789012:role/Ingest"`,
    ],
    [
      'a group',
      'principal',
      'fixed',
      'arn:aws:iam::123456789012:group/devs',
      `${PRINCIPAL_MESSAGE}"arn:aws:iam::123456789012:group/devs"`,
    ],
    [
      'no owner beside the configuration',
      'principal',
      'fixed',
      undefined,
      `${PRINCIPAL_MESSAGE}nothing`,
    ],
    ['an owner that is no string', 'principal', 'fixed', 42, `${PRINCIPAL_MESSAGE}42`],
    [
      'an owner in the event that is no string',
      'principal',
      'event',
      ['x'],
      `${PRINCIPAL_MESSAGE}["x"]`,
    ],
  ])(
    '%s: InvalidOwner, dead-lettered, nothing started or remembered',
    async (_what, ownerModel, source, arn, message) => {
      // Prepare
      const config = source === 'fixed' ? fixedOwner() : requestTrigger();
      const event = busEvent({
        type: 'echo',
        requestId: 'no-owner',
        input: { value: 1 },
        ...(source === 'event' ? { owner: arn } : {}),
      });
      const payload =
        source === 'fixed' ? triggerPayload(config, event, arn) : triggerPayload(config, event);

      // Act
      const result = await startFromPayload(payload, deps({ ownerModel }));

      // Assess
      expect(result).toEqual({ outcome: 'rejected', code: 'InvalidOwner', message });
      const rejection = theRejection();
      expect(rejection).toEqual({
        startedBy: expect.objectContaining({ kind: 'trigger', eventId: event.id }),
        reason: { code: 'InvalidOwner', message },
        event,
        deadLettered: true,
        rejectedAt: NOW.toISOString(),
      });
      expect(lambda.received).toEqual([]);
      expect(starters.started.size).toBe(0);
    },
  );
});

describe('a trigger event that might start a job later throws, so Lambda retries it', () => {
  it('a full queue (QueueFull): nothing rejected, nothing remembered', async () => {
    // Prepare: the owner's one slot and one queue place are taken
    for (const name of ['one', 'two']) {
      const event = busEvent({ type: 'echo', requestId: name, input: { value: 1 }, owner });
      await startFromPayload(triggerPayload(requestTrigger(), event), deps());
    }
    const third = busEvent({ type: 'echo', requestId: 'three', input: { value: 1 }, owner });

    // Act
    const act = startFromPayload(triggerPayload(requestTrigger(), third), deps());

    // Assess
    await expect(act).rejects.toMatchObject({ statusCode: 429, code: 'QueueFull' });
    expect(await store.getActive(owner, 'three')).toBeUndefined();
    expect(starters.started.has(`job-requested#${third.id}`)).toBe(false);
    expect(rejected).toEqual([]);
  });

  it('an unreachable worker: the run is removed again, and the retry starts it', async () => {
    // Prepare
    const event = busEvent({ type: 'echo', requestId: 'unreachable', input: { value: 1 }, owner });
    const payload = triggerPayload(requestTrigger(), event);
    lambda.answer({ status: 500, errorType: 'ServiceException' });

    // Act
    const act = startFromPayload(payload, deps());

    // Assess
    await expect(act).rejects.toMatchObject({ statusCode: 503 });
    expect(await store.getActive(owner, 'unreachable')).toBeUndefined();
    expect(starters.started.size).toBe(0);
    expect(rejected).toEqual([]);

    // Act: Lambda's retry, with the worker back
    lambda.answer({ status: 202 });
    const retry = await startFromPayload(payload, deps());

    // Assess
    expect(retry).toMatchObject({
      outcome: 'started',
      job: { jobName: 'unreachable', created: true },
    });
  });

  it('a rejection that cannot be put throws, so the event is retried rather than lost', async () => {
    // Prepare
    const event = busEvent({ type: 'nope', requestId: 'r', input: { value: 1 }, owner });
    const putRejected = async () => {
      throw new Error('PutEvents refused the event: ThrottlingException');
    };

    // Act
    const act = startFromPayload(triggerPayload(requestTrigger(), event), deps({ putRejected }));

    // Assess
    await expect(act).rejects.toThrow('ThrottlingException');
  });
});

describe('a schedule firing', () => {
  it('starts a job named from the template and the scheduled time, and remembers the firing', async () => {
    // Prepare
    const config = schedule({ timeoutSeconds: 300 });
    const scheduledTime = '2026-12-07T06:00:00Z';

    // Act
    const result = await startFromPayload(firing(config, scheduledTime), deps());

    // Assess
    const jobName = `${config.id}-20261207T060000Z`;
    expect(result).toMatchObject({ outcome: 'started', job: { jobName, created: true } });
    const runId = result.outcome === 'started' ? result.job.runId : '';
    expect(await store.getActive(owner, jobName)).toMatchObject({
      runId,
      type: 'echo',
      input: { value: 'scheduled' },
      timeoutSeconds: 300,
      startedBy: { kind: 'schedule', id: config.id, scheduledTime },
    });
    expect(starters.last.get(config.id)).toEqual({ owner, jobName, runId, scheduledTime });
    expect(starters.started.get(`schedule:${config.id}#${scheduledTime}`)).toEqual({
      run: { owner, jobName, runId },
      expiresAt: NOW.getTime() / 1000 + 30 * 86_400 + RETENTION_SECONDS,
    });
    expect(rejected).toEqual([]);
  });

  it.each<[string, OwnerModel, (n: number) => string, (n: number) => string]>([
    [
      'a session owner under principal starts jobs its role owns',
      'principal',
      (n) => `arn:aws:sts::123456789012:assumed-role/Ops-${n}/anyone`,
      (n) => `arn:aws:sts::123456789012:assumed-role/Ops-${n}`,
    ],
    [
      "a role's ARN (a token CloudFormation resolved) under principal starts jobs its sessions own",
      'principal',
      (n) => `arn:aws:iam::123456789012:role/ops/Ops-${n}`,
      (n) => `arn:aws:sts::123456789012:assumed-role/Ops-${n}`,
    ],
    [
      'a session owner under session starts jobs that session owns',
      'session',
      (n) => `arn:aws:sts::123456789012:assumed-role/Ops-${n}/alice`,
      (n) => `arn:aws:sts::123456789012:assumed-role/Ops-${n}/alice`,
    ],
  ])('%s', async (_what, ownerModel, arnOf, expectedOf) => {
    // Prepare
    const config = schedule({ id: `ops-${serial}` });
    const payload = firing(config, '2026-12-07T06:00:00Z', { owner: arnOf(serial) });

    // Act
    const result = await startFromPayload(payload, deps({ ownerModel }));

    // Assess
    expect(result.outcome).toBe('started');
    expect(
      await store.getActive(expectedOf(serial), `ops-${serial}-20261207T060000Z`),
    ).toMatchObject({ owner: expectedOf(serial), input: { value: 'scheduled' } });
    expect(starters.last.get(config.id)?.owner).toBe(expectedOf(serial));
  });

  // A literal owner is checked at synth; a token's value (`role.roleArn`) is first seen here.
  it.each<[string, OwnerModel, unknown, string]>([
    [
      'a role, under session',
      'session',
      'arn:aws:iam::123456789012:role/Ops',
      `The owner must be the ARN of an IAM user or of an assumed-role session (the stack's owner model is session); got "arn:aws:iam::123456789012:role/Ops"`,
    ],
    [
      'an assumed role without a session, under session',
      'session',
      'arn:aws:sts::123456789012:assumed-role/Ops',
      `The owner must be the ARN of an IAM user or of an assumed-role session (the stack's owner model is session); got "arn:aws:sts::123456789012:assumed-role/Ops"`,
    ],
    [
      'a service principal',
      'principal',
      'scheduler.amazonaws.com',
      'The owner must be the ARN of an IAM user or role, or of an assumed role; got "scheduler.amazonaws.com"',
    ],
    [
      'no owner',
      'principal',
      undefined,
      'The owner must be the ARN of an IAM user or role, or of an assumed role; got nothing',
    ],
    [
      'an owner that is no string',
      'principal',
      [USER_ARN],
      `The owner must be the ARN of an IAM user or role, or of an assumed role; got ["${USER_ARN}"]`,
    ],
  ])(
    'an owner no caller can be (%s): InvalidOwner, dead-lettered, nothing started or remembered',
    async (_what, ownerModel, arn, message) => {
      // Prepare
      const config = schedule();
      const scheduledTime = '2026-12-07T06:00:00Z';

      // Act
      const result = await startFromPayload(
        firing(config, scheduledTime, { owner: arn }),
        deps({ ownerModel }),
      );

      // Assess
      expect(result).toMatchObject({ outcome: 'rejected', code: 'InvalidOwner' });
      expect(theRejection()).toEqual({
        startedBy: { kind: 'schedule', id: config.id, scheduledTime },
        reason: { code: 'InvalidOwner', message },
        type: 'echo',
        jobName: `${config.id}-20261207T060000Z`,
        deadLettered: true,
        rejectedAt: NOW.toISOString(),
      });
      expect(lambda.received).toEqual([]);
      expect(starters.started.size).toBe(0);
      expect(starters.last.size).toBe(0);
    },
  );

  it('overlap skip: a firing while the last run is active starts nothing, and says so without dead-lettering', async () => {
    // Prepare
    const config = schedule();
    const first = await startFromPayload(firing(config, '2026-12-07T06:00:00Z'), deps());
    const runningRunId = first.outcome === 'started' ? first.job.runId : '';
    lambda.reset();

    // Act
    const result = await startFromPayload(firing(config, '2026-12-07T07:00:00Z'), deps());

    // Assess
    expect(result).toMatchObject({ outcome: 'rejected', code: 'OverlapSkipped' });
    expect(theRejection()).toEqual({
      startedBy: { kind: 'schedule', id: config.id, scheduledTime: '2026-12-07T07:00:00Z' },
      reason: {
        code: 'OverlapSkipped',
        message: expect.stringContaining(
          `${config.id}-20261207T060000Z (${runningRunId}) is still RUNNING`,
        ),
      },
      owner,
      type: 'echo',
      jobName: `${config.id}-20261207T070000Z`,
      runningRunId,
      deadLettered: false,
      rejectedAt: NOW.toISOString(),
    });
    expect(await store.getActive(owner, `${config.id}-20261207T070000Z`)).toBeUndefined();
    expect(lambda.received).toEqual([]);
    expect(starters.last.get(config.id)?.runId).toBe(runningRunId);
    expect(starters.started.has(`schedule:${config.id}#2026-12-07T07:00:00Z`)).toBe(false);
  });

  it('overlap skip: once the last run has ended, the next firing starts', async () => {
    // Prepare
    const config = schedule();
    await startFromPayload(firing(config, '2026-12-07T06:00:00Z'), deps());
    const last = await store.getActive(owner, `${config.id}-20261207T060000Z`);
    if (!last) throw new Error('the first firing started no run');
    await store.deleteActive(last);

    // Act
    const result = await startFromPayload(firing(config, '2026-12-07T07:00:00Z'), deps());

    // Assess
    expect(result).toMatchObject({
      outcome: 'started',
      job: { jobName: `${config.id}-20261207T070000Z`, created: true },
    });
    expect(rejected).toEqual([]);
  });

  // The firing would otherwise reach the start path, where the same name and input make
  // it a repeat of the running run: it would "start" a run that another firing started.
  it('overlap skip with a fixed name: a later firing while the run is active is skipped too', async () => {
    // Prepare: a name without {scheduledTime}, so each firing's job has the same name
    const config = schedule({ name: '{id}' });
    const first = await startFromPayload(firing(config, '2026-12-07T06:00:00Z'), deps());
    const runningRunId = first.outcome === 'started' ? first.job.runId : '';
    lambda.reset();

    // Act
    const result = await startFromPayload(firing(config, '2026-12-07T07:00:00Z'), deps());

    // Assess
    expect(result).toMatchObject({ outcome: 'rejected', code: 'OverlapSkipped' });
    expect(theRejection()).toMatchObject({
      startedBy: { kind: 'schedule', id: config.id, scheduledTime: '2026-12-07T07:00:00Z' },
      reason: {
        message: expect.stringContaining(`${config.id} (${runningRunId}) is still RUNNING`),
      },
      jobName: config.id,
      runningRunId,
      deadLettered: false,
    });
    expect(lambda.received).toEqual([]);
    expect(await store.getActive(owner, config.id)).toMatchObject({
      runId: runningRunId,
      startedBy: { scheduledTime: '2026-12-07T06:00:00Z' },
    });
    expect(starters.last.get(config.id)).toMatchObject({
      runId: runningRunId,
      scheduledTime: '2026-12-07T06:00:00Z',
    });
    expect(starters.started.has(`schedule:${config.id}#2026-12-07T07:00:00Z`)).toBe(false);
  });

  it.each([DEFAULT_SCHEDULE_NAME, '{id}'])(
    'overlap skip, name %j: a redelivery of the firing whose run is active, not remembered, gets that run',
    async (name) => {
      // Prepare: the firing started its run and recorded it as the last, then died before
      // remembering the firing
      const config = schedule({ name });
      const payload = firing(config, '2026-12-07T06:00:00Z');
      const first = await startFromPayload(payload, deps());
      const runId = first.outcome === 'started' ? first.job.runId : '';
      starters.started.clear();
      lambda.reset();

      // Act
      const again = await startFromPayload(payload, deps());

      // Assess: the idempotent start's repeat, not a skip (a worker invoked again, if at all,
      // only for that run: it has not begun, as far as the record says)
      expect(again).toMatchObject({ outcome: 'started', job: { runId, created: false } });
      expect(rejected).toEqual([]);
      for (const request of lambda.received) {
        expect(JSON.parse(request.body ?? 'null')).toMatchObject({ runId });
      }
      expect(starters.started.get(`schedule:${config.id}#2026-12-07T06:00:00Z`)?.run.runId).toBe(
        runId,
      );
    },
  );

  it('overlap skip: a run that waits in the queue is still active', async () => {
    // Prepare: the owner's one slot is taken, so the first firing's run is queued
    const busy = busEvent({ type: 'echo', requestId: 'busy', input: { value: 1 }, owner });
    await startFromPayload(triggerPayload(requestTrigger(), busy), deps());
    const config = schedule();
    const first = await startFromPayload(firing(config, '2026-12-07T06:00:00Z'), deps());
    const queuedRunId = first.outcome === 'started' ? first.job.runId : '';

    // Act
    const result = await startFromPayload(firing(config, '2026-12-07T07:00:00Z'), deps());

    // Assess
    expect(first).toMatchObject({ outcome: 'started', job: { status: 'QUEUED' } });
    expect(result).toMatchObject({ outcome: 'rejected', code: 'OverlapSkipped' });
    expect(theRejection()).toMatchObject({
      reason: { message: expect.stringContaining(`(${queuedRunId}) is still QUEUED`) },
      runningRunId: queuedRunId,
      deadLettered: false,
    });
  });

  it('overlap skip: the last run ended and another run holds its name: no skip, the start path decides', async () => {
    // Prepare: the last run ended, and someone started a run of the same name with another input
    const config = schedule({ name: '{id}' });
    await startFromPayload(firing(config, '2026-12-07T06:00:00Z'), deps());
    const last = await store.getActive(owner, config.id);
    if (!last) throw new Error('the first firing started no run');
    await store.deleteActive(last);
    const other = await startJob(
      owner,
      { type: 'echo', name: config.id, input: { value: 'api' } },
      deps(),
    );

    // Act
    const result = await startFromPayload(firing(config, '2026-12-07T07:00:00Z'), deps());

    // Assess
    expect(result).toMatchObject({ outcome: 'rejected', code: 'JobNameInUse' });
    expect(theRejection()).toMatchObject({ jobName: config.id, deadLettered: true });
    expect(theRejection()).not.toHaveProperty('runningRunId');
    expect(await store.getActive(owner, config.id)).toMatchObject({ runId: other.runId });
  });

  it('overlap allow: a firing while the last run is active starts another', async () => {
    // Prepare
    const config = schedule({ overlap: 'allow' });
    const first = await startFromPayload(
      firing(config, '2026-12-07T06:00:00Z'),
      deps({ store: unlimited() }),
    );

    // Act
    const second = await startFromPayload(
      firing(config, '2026-12-07T07:00:00Z'),
      deps({ store: unlimited() }),
    );

    // Assess
    expect(first).toMatchObject({ outcome: 'started', job: { created: true } });
    expect(second).toMatchObject({
      outcome: 'started',
      job: { jobName: `${config.id}-20261207T070000Z`, status: 'RUNNING', created: true },
    });
    const runs = await Promise.all(
      ['20261207T060000Z', '20261207T070000Z'].map((at) =>
        store.getActive(owner, `${config.id}-${at}`),
      ),
    );
    expect(runs.map((run) => run?.status)).toEqual(['RUNNING', 'RUNNING']);
    expect(starters.last.get(config.id)?.scheduledTime).toBe('2026-12-07T07:00:00Z');
    expect(rejected).toEqual([]);
  });

  it('a second delivery of the same firing is a duplicate of the first', async () => {
    // Prepare
    const config = schedule();
    const first = await startFromPayload(firing(config, '2026-12-07T06:00:00Z'), deps());
    const runId = first.outcome === 'started' ? first.job.runId : '';
    lambda.reset();

    // Act
    const again = await startFromPayload(firing(config, '2026-12-07T06:00:00Z'), deps());

    // Assess
    expect(again).toEqual({
      outcome: 'duplicate',
      run: { owner, jobName: `${config.id}-20261207T060000Z`, runId },
    });
    expect(lambda.received).toEqual([]);
    expect(rejected).toEqual([]);
  });

  it('a firing whose input the type refuses is rejected and dead-lettered, with no event copy', async () => {
    // Prepare
    const config = schedule();

    // Act
    const result = await startFromPayload(
      firing(config, '2026-12-07T06:00:00Z', { input: { wrong: true } }),
      deps(),
    );

    // Assess
    expect(result).toMatchObject({ outcome: 'rejected', code: 'InvalidInput' });
    const rejection = theRejection();
    expect(rejection).toMatchObject({
      startedBy: { kind: 'schedule', id: config.id, scheduledTime: '2026-12-07T06:00:00Z' },
      owner,
      type: 'echo',
      jobName: `${config.id}-20261207T060000Z`,
      deadLettered: true,
    });
    expect(rejection).not.toHaveProperty('event');
    expect(starters.last.has(config.id)).toBe(false);
  });
});

describe('a payload that is none of the construct targets throws', () => {
  it.each<[string, unknown, RegExp]>([
    ['no payload', null, /no starter configuration/],
    ['an event without configuration', busEvent({}), /no starter configuration/],
    [
      'a configuration of no known kind',
      { [STARTER_KEY]: Buffer.from('{"kind":"x"}').toString('base64url') },
      /unknown starter configuration/,
    ],
    [
      'a configuration that is JSON null',
      { [STARTER_KEY]: Buffer.from('null').toString('base64url'), event: busEvent({}) },
      /unknown starter configuration/,
    ],
    [
      'a trigger payload without an event id',
      triggerPayload(requestTrigger(), { detail: {} }),
      /without an event id/,
    ],
    [
      'a firing without a scheduled time',
      { [STARTER_KEY]: encodeStarter(schedule()), owner: USER_ARN, input: {} },
      /without a valid scheduledTime/,
    ],
    [
      'a firing with a scheduled time that is none',
      firing(schedule(), 'soon', { owner: USER_ARN }),
      /without a valid scheduledTime/,
    ],
  ])('%s', async (_what, payload, message) => {
    // Act
    const act = startFromPayload(payload, deps());

    // Assess
    await expect(act).rejects.toThrow(message);
    expect(rejected).toEqual([]);
    expect(lambda.received).toEqual([]);
  });
});

/** The same table with no concurrency limits, for runs side by side. */
function unlimited(): JobStore {
  return new JobStore(table.client, table.tableName);
}
