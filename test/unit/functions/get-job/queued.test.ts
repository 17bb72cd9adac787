/**
 * GET /jobs/{name} of a queued run shows where it waits: its place among its
 * owner's waiting runs, read from the queue on the local cloud's DynamoDB.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ActiveJob } from '../../../../core/model';
import { getJob } from '../../../../functions/get-job/service';
import { SlotStore } from '../../../../functions/shared/slots';
import { JobStore } from '../../../../functions/shared/store';
import { activeJob, USER_ARN } from '../../helpers/api-event';
import { type LocalTable, startLocalJobsTable } from '../../helpers/local-dynamodb';

let table: LocalTable;
let store: JobStore;

beforeAll(async () => {
  table = await startLocalJobsTable();
  const limits = { perOwner: 1, maxQueuedPerOwner: 10, perType: {} };
  store = new JobStore(
    table.client,
    table.tableName,
    new SlotStore(table.client, table.tableName, limits),
  );
});
afterAll(async () => {
  await table.close();
});

function run(n: number): ActiveJob {
  const at = new Date(Date.UTC(2026, 0, 5, 10, 0, n)).toISOString();
  return activeJob({
    jobName: `job-${n}`,
    runId: `01JDXR3Y5Q6Z8A9B0C1D2E3F${String(n).padStart(2, '0')}`,
    createdAt: at,
    updatedAt: at,
  });
}

describe('getJob: a queued run', () => {
  it('shows queue.position among the owner’s waiting runs, and none for a running one', async () => {
    // Prepare: job-1 runs, job-2 and job-3 wait in that order.
    for (const n of [1, 2, 3]) await store.createActive(run(n));
    const deps = { store, now: () => new Date('2026-01-05T10:01:00.000Z') };

    // Act
    const [running, second, third] = await Promise.all(
      ['job-1', 'job-2', 'job-3'].map((name) => getJob(USER_ARN, name, deps)),
    );

    // Assess
    expect(running?.status).toBe('RUNNING');
    expect(running?.queue).toBeUndefined();
    expect(second).toMatchObject({ status: 'QUEUED', queue: { position: 1 } });
    expect(third).toMatchObject({ status: 'QUEUED', queue: { position: 2 } });
  });
});
