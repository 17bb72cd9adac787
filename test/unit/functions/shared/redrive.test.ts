/**
 * Re-drive after a crash: which runs go on from their checkpoints in a fresh
 * invocation (and whether that is a new attempt), and the take-over on the
 * local cloud's DynamoDB that lets only one caller re-drive a run.
 */
import type { LambdaClient } from '@aws-sdk/client-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WorkerPayload } from '../../../../core/events';
import type { ActiveJob } from '../../../../core/model';
import { redrive, redriveDecision } from '../../../../functions/shared/redrive';
import { JobStore } from '../../../../functions/shared/store';
import { activeJob } from '../../helpers/api-event';
import { type LocalTable, startLocalJobsTable } from '../../helpers/local-dynamodb';

const NOW = new Date('2026-01-05T10:00:00.000Z');

/** A started run with checkpoints whose worker held a lease. */
function crashed(overrides: Partial<ActiveJob> = {}): ActiveJob {
  return activeJob({
    status: 'RUNNING',
    startedAt: '2026-01-05T09:50:00.000Z',
    heartbeatAt: '2026-01-05T09:55:00.000Z',
    deadlineAt: '2026-01-05T11:00:00.000Z',
    checkpointed: true,
    leaseId: 'dead-request',
    attempt: 1,
    maxAttempts: 3,
    ...overrides,
  });
}

describe('redriveDecision', () => {
  it.each<[string, Partial<ActiveJob>, ReturnType<typeof redriveDecision>]>([
    [
      'a run without checkpoints',
      { checkpointed: undefined },
      { redrive: false, why: 'the run has no checkpoints to resume from' },
    ],
    [
      'a queued run',
      { status: 'QUEUED' },
      { redrive: false, why: 'the run has no checkpoints to resume from' },
    ],
    [
      'a run whose cancel was requested',
      { cancelRequestedAt: '2026-01-05T09:59:00.000Z' },
      { redrive: false, why: 'a cancel was requested' },
    ],
    [
      'a run past its deadline',
      { deadlineAt: '2026-01-05T09:59:59.999Z' },
      { redrive: false, why: 'its deadline (2026-01-05T09:59:59.999Z) has passed' },
    ],
    [
      'a run at its deadline',
      { deadlineAt: '2026-01-05T10:00:00.000Z' },
      { redrive: false, why: 'its deadline (2026-01-05T10:00:00.000Z) has passed' },
    ],
    [
      'a sleeping run whose timer did not wake it (no lease)',
      {
        leaseId: undefined,
        wakeAt: '2026-01-05T09:58:00.000Z',
        sleepName: 'nap',
        attempt: 3,
      },
      {
        redrive: true,
        bump: false,
        why: 'its timer did not wake it (it was to wake at 2026-01-05T09:58:00.000Z)',
      },
    ],
    [
      'a suspended run whose continuation never started (no lease)',
      { leaseId: undefined, attempt: 3 },
      { redrive: true, bump: false, why: 'its continuation never started' },
    ],
    [
      'a crashed run with attempts left',
      { attempt: 2, maxAttempts: 3 },
      { redrive: true, bump: true, why: 'its worker died on attempt 2 of 3' },
    ],
    [
      'a crashed run that spent its attempts',
      { attempt: 3, maxAttempts: 3 },
      {
        redrive: false,
        why: "its worker died on attempt 3 of 3 (the type's retry policy)",
      },
    ],
    [
      'a crashed run of a type without retries (no maxAttempts on the record)',
      { attempt: 1, maxAttempts: undefined },
      {
        redrive: false,
        why: "its worker died on attempt 1 of 1 (the type's retry policy)",
      },
    ],
    [
      'a crashed run with no attempt on the record',
      { attempt: undefined, maxAttempts: 2 },
      { redrive: true, bump: true, why: 'its worker died on attempt 1 of 2' },
    ],
    [
      'a crashed run without a deadline',
      { deadlineAt: undefined },
      { redrive: true, bump: true, why: 'its worker died on attempt 1 of 3' },
    ],
  ])('%s', (_what, overrides, decision) => {
    // Act
    const result = redriveDecision(crashed(overrides), NOW);

    // Assess
    expect(result).toEqual(decision);
  });
});

describe('redrive on the local DynamoDB', () => {
  let table: LocalTable;
  let store: JobStore;
  let serial = 0;

  beforeAll(async () => {
    table = await startLocalJobsTable();
    store = new JobStore(table.client, table.tableName);
  });
  afterAll(async () => {
    await table.close();
  });

  /** A Lambda client that accepts every asynchronous invoke and keeps its payload. */
  function fakeLambda() {
    const payloads: WorkerPayload[] = [];
    const lambda = {
      send: async (command: { input: { Payload?: string } }) => {
        payloads.push(JSON.parse(command.input.Payload ?? 'null') as WorkerPayload);
        return { StatusCode: 202 };
      },
    } as unknown as LambdaClient;
    return { lambda, payloads };
  }

  async function stored(overrides: Partial<ActiveJob>): Promise<ActiveJob> {
    serial += 1;
    const job = crashed({
      jobName: `job-${serial}`,
      runId: `01JDXR3Y5Q6Z8A9B0C1D2E3F${String(serial).padStart(2, '0')}`,
      ...overrides,
    });
    await store.createActive(job);
    return job;
  }

  it('takes a crashed run over, counts the crash as an attempt, and invokes the worker', async () => {
    // Prepare
    const job = await stored({ attempt: 1, maxAttempts: 3 });
    const { lambda, payloads } = fakeLambda();

    // Act
    const done = await redrive(job, NOW, {
      store,
      worker: { lambda, workerFunctionName: 'eventjobs-worker' },
    });

    // Assess
    expect(done).toBe(true);
    const record = await store.getActive(job.owner, job.jobName);
    expect(record).toMatchObject({
      attempt: 2,
      heartbeatAt: NOW.toISOString(),
      redrivenAt: NOW.toISOString(),
    });
    expect(record?.leaseId).toBeUndefined();
    expect(payloads).toEqual([
      expect.objectContaining({
        owner: job.owner,
        jobName: job.jobName,
        runId: job.runId,
        type: job.type,
        resume: 'redrive',
        submittedAt: NOW.toISOString(),
      }),
    ]);
  });

  it('keeps the attempt of a sleeping run whose timer was lost', async () => {
    // Prepare
    const job = await stored({
      leaseId: undefined,
      attempt: 2,
      wakeAt: '2026-01-05T09:58:00.000Z',
      sleepName: 'nap',
      heartbeatAt: '2026-01-05T09:58:00.000Z',
    });
    const { lambda, payloads } = fakeLambda();

    // Act
    const done = await redrive(job, NOW, {
      store,
      worker: { lambda, workerFunctionName: 'eventjobs-worker' },
    });

    // Assess
    expect(done).toBe(true);
    expect((await store.getActive(job.owner, job.jobName))?.attempt).toBe(2);
    expect(payloads).toHaveLength(1);
  });

  it('lets only the first of two callers that saw the same heartbeat re-drive the run', async () => {
    // Prepare
    const job = await stored({});
    const { lambda, payloads } = fakeLambda();
    const deps = { store, worker: { lambda, workerFunctionName: 'eventjobs-worker' } };

    // Act
    const first = await redrive(job, NOW, deps);
    const second = await redrive(job, new Date(NOW.getTime() + 1000), deps);

    // Assess
    expect([first, second]).toEqual([true, false]);
    expect(payloads).toHaveLength(1);
    expect((await store.getActive(job.owner, job.jobName))?.attempt).toBe(2);
  });

  it('does nothing for a run the decision refuses', async () => {
    // Prepare
    const job = await stored({ attempt: 3, maxAttempts: 3 });
    const { lambda, payloads } = fakeLambda();

    // Act
    const done = await redrive(job, NOW, {
      store,
      worker: { lambda, workerFunctionName: 'eventjobs-worker' },
    });

    // Assess
    expect(done).toBe(false);
    expect(payloads).toEqual([]);
    expect(await store.getActive(job.owner, job.jobName)).toMatchObject({
      attempt: 3,
      leaseId: 'dead-request',
    });
  });
});
