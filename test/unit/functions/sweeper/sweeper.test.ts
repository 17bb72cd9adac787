import { DynamoDBClient, QueryCommand, type QueryCommandInput } from '@aws-sdk/client-dynamodb';
import {
  EventBridgeClient,
  PutEventsCommand,
  type PutEventsRequestEntry,
} from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { jobCancelledDetailSchema, jobTimedOutDetailSchema } from '../../../../core/event-schemas';
import type { ActiveJob } from '../../../../core/model';
import { ACTIVE_SHARDS, activePartitionKey } from '../../../../core/table';
import { JobStore } from '../../../../functions/shared/store';
import type { ActiveSummary } from '../../../../functions/shared/store-items';
import { judge, type SweeperDeps, sweep } from '../../../../functions/sweeper/service';
import { activeItem, activeJob } from '../../helpers/api-event';

const ddb = mockClient(DynamoDBClient);
const eventBridge = mockClient(EventBridgeClient);

const NOW = new Date('2026-01-05T12:00:00.000Z');
const LIMITS = { graceMs: 30_000, silentAfterMs: 600_000, startWindowMs: 6 * 3600_000 };

/** A run started 5 minutes ago that beat a second ago, due in 10 minutes: healthy. */
function healthy(overrides: Partial<ActiveSummary> = {}): ActiveSummary {
  return {
    owner: 'arn:aws:iam::123456789012:user/alice',
    jobName: 'nightly-report',
    runId: '01JDXR3Y5Q6Z8A9B0C1D2E3F4G',
    type: 'sleep',
    createdAt: '2026-01-05T11:55:00.000Z',
    startedAt: '2026-01-05T11:55:00.100Z',
    attemptStartedAt: '2026-01-05T11:55:00.100Z',
    attempt: 1,
    heartbeatAt: '2026-01-05T11:59:59.000Z',
    deadlineAt: '2026-01-05T12:10:00.000Z',
    status: 'RUNNING',
    ...overrides,
  };
}

function deps(): SweeperDeps {
  return {
    store: new JobStore(new DynamoDBClient({}), 'jobs-table'),
    eventBridge: new EventBridgeClient({}),
    busName: 'eventjobs-bus',
    now: () => NOW,
    ...LIMITS,
  };
}

/** Active records by shard, as the sparse index returns them. */
async function fakeIndex(byShard: Record<number, ActiveJob[]>): Promise<void> {
  const items = new Map<string, Awaited<ReturnType<typeof activeItem>>[]>();
  for (const [shard, jobs] of Object.entries(byShard)) {
    items.set(activePartitionKey(Number(shard)), await Promise.all(jobs.map((j) => activeItem(j))));
  }
  ddb.on(QueryCommand).callsFake(async (input: QueryCommandInput) => ({
    Items: items.get(input.ExpressionAttributeValues?.[':pk']?.S ?? '') ?? [],
  }));
}

function sent(): PutEventsRequestEntry[] {
  return eventBridge
    .commandCalls(PutEventsCommand)
    .flatMap((call) => call.args[0].input.Entries ?? []);
}

beforeEach(() => {
  ddb.reset();
  eventBridge.reset();
  eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [] });
});

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('sweeper: judging one active run', () => {
  it('leaves a healthy run to its worker', () => {
    expect(judge(healthy(), NOW, LIMITS)).toBeUndefined();
  });

  it('leaves a run just past its deadline to its worker during the grace', () => {
    expect(judge(healthy({ deadlineAt: '2026-01-05T11:59:40.000Z' }), NOW, LIMITS)).toBeUndefined();
  });

  it('times out a run past its deadline and the grace', () => {
    const verdict = judge(healthy({ deadlineAt: '2026-01-05T11:59:00.000Z' }), NOW, LIMITS);
    expect(verdict).toEqual({
      detailType: 'Job Timed Out',
      reason: expect.stringMatching(/deadline/),
    });
  });

  it('times out a started run whose worker fell silent', () => {
    const verdict = judge(
      healthy({
        startedAt: '2026-01-05T11:40:00.000Z',
        attemptStartedAt: '2026-01-05T11:40:00.000Z',
        heartbeatAt: '2026-01-05T11:49:00.000Z',
        deadlineAt: undefined,
      }),
      NOW,
      LIMITS,
    );
    expect(verdict).toEqual({
      detailType: 'Job Timed Out',
      reason: expect.stringMatching(/silent/),
    });
  });

  it('times out a run that never started long after its creation', () => {
    const verdict = judge(
      healthy({
        createdAt: '2026-01-05T05:00:00.000Z',
        startedAt: undefined,
        attemptStartedAt: undefined,
        heartbeatAt: undefined,
        deadlineAt: undefined,
        attempt: undefined,
      }),
      NOW,
      LIMITS,
    );
    expect(verdict?.detailType).toBe('Job Timed Out');
    expect(verdict?.reason).toMatch(/never started/);
  });

  it('leaves a run that has not started yet within its start window', () => {
    const fresh = healthy({ startedAt: undefined, heartbeatAt: undefined, deadlineAt: undefined });
    expect(judge(fresh, NOW, LIMITS)).toBeUndefined();
  });

  it('cancels, rather than times out, an abandoned run with a cancel request', () => {
    const verdict = judge(
      healthy({
        deadlineAt: '2026-01-05T11:00:00.000Z',
        cancelRequestedAt: '2026-01-05T11:30:00.000Z',
      }),
      NOW,
      LIMITS,
    );
    expect(verdict?.detailType).toBe('Job Cancelled');
  });

  it('cancels a never-started run once its cancel request is older than the silence window', () => {
    const verdict = judge(
      healthy({
        startedAt: undefined,
        heartbeatAt: undefined,
        deadlineAt: undefined,
        cancelRequestedAt: '2026-01-05T11:45:00.000Z',
      }),
      NOW,
      LIMITS,
    );
    expect(verdict?.detailType).toBe('Job Cancelled');
  });
});

describe('sweeper: a sweep', () => {
  it('queries every shard of the sparse index and puts one terminal event per abandoned run', async () => {
    // Prepare
    await fakeIndex({
      0: [
        activeJob({
          jobName: 'fine',
          startedAt: '2026-01-05T11:59:00.000Z',
          heartbeatAt: '2026-01-05T11:59:59.000Z',
        }),
      ],
      2: [
        activeJob({
          jobName: 'late',
          runId: 'RUN-LATE',
          startedAt: '2026-01-05T11:00:00.000Z',
          attempt: 2,
          heartbeatAt: '2026-01-05T11:58:00.000Z',
          deadlineAt: '2026-01-05T11:30:00.000Z',
        }),
      ],
    });

    // Act
    const result = await sweep(deps());

    // Assess
    const queried = ddb.commandCalls(QueryCommand).map((c) => c.args[0].input);
    expect(queried).toHaveLength(ACTIVE_SHARDS);
    expect(queried.every((q) => q.IndexName === 'byActive')).toBe(true);
    expect(result).toEqual({ examined: 2, ended: 1, failed: 0 });
    const [entry] = sent();
    expect(entry).toMatchObject({
      EventBusName: 'eventjobs-bus',
      Source: 'eventjobs',
      DetailType: 'Job Timed Out',
    });
    const detail = jobTimedOutDetailSchema.parse(JSON.parse(entry?.Detail ?? '{}'));
    expect(detail).toMatchObject({
      jobName: 'late',
      runId: 'RUN-LATE',
      attempt: 2,
      reportedBy: 'sweeper',
      deadlineAt: '2026-01-05T11:30:00.000Z',
      finishedAt: NOW.toISOString(),
      durationMs: 3600_000,
    });
  });

  it('sends a schema-valid Job Cancelled for an abandoned run with a cancel request', async () => {
    // Prepare
    await fakeIndex({
      1: [
        activeJob({
          startedAt: '2026-01-05T11:00:00.000Z',
          heartbeatAt: '2026-01-05T11:01:00.000Z',
          cancelRequestedAt: '2026-01-05T11:02:00.000Z',
        }),
      ],
    });

    // Act
    await sweep(deps());

    // Assess
    const [entry] = sent();
    expect(entry?.DetailType).toBe('Job Cancelled');
    expect(jobCancelledDetailSchema.safeParse(JSON.parse(entry?.Detail ?? '{}')).success).toBe(
      true,
    );
  });

  it('puts nothing when nothing is abandoned, and survives a failing PutEvents', async () => {
    // Prepare
    await fakeIndex({ 3: [activeJob({ createdAt: '2026-01-05T11:59:00.000Z' })] });

    // Act
    const quiet = await sweep(deps());

    // Assess
    expect(quiet).toEqual({ examined: 1, ended: 0, failed: 0 });
    expect(sent()).toHaveLength(0);

    // Prepare: a stuck run, and a bus that refuses
    ddb.reset();
    await fakeIndex({ 3: [activeJob({ createdAt: '2026-01-04T00:00:00.000Z' })] });
    eventBridge.on(PutEventsCommand).rejects(new Error('bus down'));

    // Act
    const failing = await sweep(deps());

    // Assess: the next sweep will find the same run again
    expect(failing).toEqual({ examined: 1, ended: 0, failed: 1 });
  });
});

describe('sweeper handler', () => {
  it('sweeps the table and bus named in its environment', async () => {
    // Prepare
    vi.stubEnv('JOBS_TABLE_NAME', 'jobs-from-env');
    vi.stubEnv('EVENT_BUS_NAME', 'bus-from-env');
    vi.stubEnv('SWEEP_START_WINDOW_SECONDS', '60');
    vi.stubEnv('WORKER_FUNCTION_NAME', 'eventjobs-worker');
    ddb.on(QueryCommand).callsFake(async (input: QueryCommandInput) => ({
      Items:
        input.ExpressionAttributeValues?.[':pk']?.S === activePartitionKey(0)
          ? [await activeItem(activeJob({ createdAt: '2020-01-01T00:00:00.000Z' }))]
          : [],
    }));
    vi.resetModules();
    const { handler } = await import('../../../../functions/sweeper/handler');

    // Act
    const result = await handler();

    // Assess
    expect(result).toEqual({ examined: 1, ended: 1, failed: 0 });
    expect(ddb.commandCalls(QueryCommand)[0]?.args[0].input.TableName).toBe('jobs-from-env');
    expect(sent()[0]).toMatchObject({ EventBusName: 'bus-from-env', DetailType: 'Job Timed Out' });
  });
});
