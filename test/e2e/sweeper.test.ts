/**
 * The sweeper end to end: the schedule rule invokes it, it finds abandoned runs
 * through the sparse index, and it ends them through the same event path a
 * worker uses (bus → outcome rule → completion → retained outcome).
 *
 * Each case writes an active record that no worker holds, with its times in the
 * past, as a crashed start or a dead worker would leave it.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, describe, expect, inject, it } from 'vitest';
import type { ActiveJob } from '../../core/model';
import { ulid } from '../../functions/shared/ids';
import { sha256Hex } from '../../functions/shared/json';
import { JobStore } from '../../functions/shared/store';
import { type ApiResponse, callApi, eventually, uniqueName } from './client';

const target = inject('e2e');
// Locally the schedule runs every 0.6 s (time scale 0.01); in AWS once a minute.
const WAIT_MS = target.kind === 'local' ? 20_000 : 150_000;

const client = new DynamoDBClient({
  region: target.region,
  credentials: target.tableReader,
  ...(target.awsEndpoint ? { endpoint: target.awsEndpoint } : {}),
});
const store = new JobStore(client, target.tableName);
afterAll(() => client.destroy());

interface JobBody {
  runId: string;
  status: string;
  error?: { name: string; message: string };
}

const ago = (ms: number) => new Date(Date.now() - ms).toISOString();
const HOUR = 3_600_000;

async function abandon(overrides: Partial<ActiveJob>): Promise<ActiveJob> {
  const createdAt = overrides.createdAt ?? ago(3 * HOUR);
  const job: ActiveJob = {
    owner: target.alice.owner,
    jobName: uniqueName('abandoned'),
    runId: ulid(Date.parse(createdAt)),
    type: 'sleep',
    status: 'RUNNING',
    input: { seconds: 1 },
    inputHash: sha256Hex('{"seconds":1}'),
    createdAt,
    updatedAt: createdAt,
    ...overrides,
  };
  const claim = await store.createActive(job);
  expect(claim.created).toBe(true);
  return job;
}

async function ended(job: ActiveJob): Promise<JobBody> {
  return eventually(
    `${job.jobName} to be ended by the sweeper`,
    async () => {
      const response: ApiResponse = await callApi(
        target,
        target.alice,
        'GET',
        `/jobs/${job.jobName}`,
      );
      const body = response.body as JobBody;
      return response.status === 200 && body.status !== 'RUNNING' ? body : undefined;
    },
    WAIT_MS,
  );
}

describe('the sweeper', () => {
  it('1. ends a run that no worker ever began, long after its creation: TIMED_OUT', async () => {
    const job = await abandon({});

    const outcome = await ended(job);

    expect(outcome).toMatchObject({ status: 'TIMED_OUT', runId: job.runId });
    expect(outcome.error?.message).toMatch(/never started/);
    expect(await store.getActive(job.owner, job.jobName)).toBeUndefined();
  });

  it('2. ends a started run whose worker fell silent past its deadline: TIMED_OUT', async () => {
    const startedAt = ago(2 * HOUR);
    const job = await abandon({
      startedAt,
      attempt: 1,
      attemptStartedAt: startedAt,
      heartbeatAt: ago(HOUR + 60_000),
      deadlineAt: ago(HOUR),
      leaseId: 'a-worker-that-died',
    });

    const outcome = await ended(job);

    expect(outcome).toMatchObject({ status: 'TIMED_OUT', runId: job.runId });
    expect(outcome.error?.message).toMatch(/deadline/);
  });

  it('3. ends a run whose cancel was requested before any worker began it: CANCELLED', async () => {
    const job = await abandon({ cancelRequestedAt: ago(2 * HOUR) });

    const outcome = await ended(job);

    expect(outcome).toMatchObject({ status: 'CANCELLED', runId: job.runId });
  });

  it('4. leaves a healthy run alone: a fresh heartbeat, a deadline ahead', async () => {
    const job = await abandon({
      createdAt: ago(1000),
      startedAt: ago(900),
      attempt: 1,
      attemptStartedAt: ago(900),
      heartbeatAt: ago(100),
      deadlineAt: new Date(Date.now() + HOUR).toISOString(),
      leaseId: 'a-live-worker',
    });
    // Several sweeps pass (locally one every 0.6 s).
    await new Promise((r) => setTimeout(r, target.kind === 'local' ? 3000 : 0));

    const response = await callApi(target, target.alice, 'GET', `/jobs/${job.jobName}`);
    expect(response.status).toBe(200);
    expect((response.body as JobBody).status).toBe('RUNNING');
    // Cleared by the test itself, so no record is left behind.
    await store.deleteActive(job);
  });
});
