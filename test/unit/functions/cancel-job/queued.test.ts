/**
 * Cancelling a queued run: it has no worker to notice the request, so the
 * API puts its `Job Cancelled` at once (reported by the API) for completion
 * to end it. A running run is left to its worker: no event.
 */
import { DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { jobCancelledDetailSchema } from '../../../../core/event-schemas';
import type { ActiveJob } from '../../../../core/model';
import { type CancelJobDeps, cancelJob } from '../../../../functions/cancel-job/service';
import { JobStore } from '../../../../functions/shared/store';
import { activeItem, activeJob, USER_ARN } from '../../helpers/api-event';

const ddb = mockClient(DynamoDBClient);
const NOW = new Date('2026-01-05T10:00:00.000Z');

function deps(putEvent: CancelJobDeps['putEvent']): CancelJobDeps {
  return {
    store: new JobStore(new DynamoDBClient({}), 'jobs-table'),
    now: () => new Date(NOW),
    putEvent,
  };
}

/** The cancel request's update finds this record and returns it, as it now is. */
async function givenRecord(job: ActiveJob): Promise<void> {
  ddb.on(UpdateItemCommand).resolves({ Attributes: await activeItem(job) });
}

beforeEach(() => {
  ddb.reset();
  vi.spyOn(console, 'log').mockImplementation(() => undefined);
  vi.spyOn(console, 'warn').mockImplementation(() => undefined);
});

describe('cancelJob: a queued run', () => {
  it("puts the run's Job Cancelled, reported by the API", async () => {
    // Prepare
    const queued = activeJob({
      status: 'QUEUED',
      queue: { seq: `2025-11-28T10:00:00.000Z#${activeJob().runId}`, rounds: {} },
      cancelRequestedAt: NOW.toISOString(),
    });
    await givenRecord(queued);
    const putEvent = vi.fn(async () => undefined);

    // Act
    const result = await cancelJob(USER_ARN, queued.jobName, deps(putEvent));

    // Assess
    expect(result).toEqual({
      jobName: queued.jobName,
      runId: queued.runId,
      status: 'QUEUED',
      cancelRequestedAt: NOW.toISOString(),
    });
    expect(putEvent).toHaveBeenCalledTimes(1);
    const [detailType, detail] = putEvent.mock.calls[0] as unknown as [string, unknown];
    expect(detailType).toBe('Job Cancelled');
    expect(jobCancelledDetailSchema.safeParse(detail).success).toBe(true);
    expect(detail).toMatchObject({
      owner: USER_ARN,
      jobName: queued.jobName,
      runId: queued.runId,
      type: queued.type,
      finishedAt: NOW.toISOString(),
      reason: expect.stringContaining('queued'),
      reportedBy: 'api',
    });
  });

  it('still answers when the event cannot be put (the sweeper ends the run)', async () => {
    // Prepare
    await givenRecord(activeJob({ status: 'QUEUED', cancelRequestedAt: NOW.toISOString() }));
    const putEvent = vi.fn(async () => {
      throw new Error('bus down');
    });

    // Act
    const result = await cancelJob(USER_ARN, 'nightly-report', deps(putEvent));

    // Assess
    expect(result.status).toBe('QUEUED');
    expect(putEvent).toHaveBeenCalledTimes(1);
  });
});

describe('cancelJob: a running run', () => {
  it('puts no event: the worker sees the request and reports the cancel itself', async () => {
    // Prepare
    await givenRecord(activeJob({ status: 'RUNNING', cancelRequestedAt: NOW.toISOString() }));
    const putEvent = vi.fn(async () => undefined);

    // Act
    const result = await cancelJob(USER_ARN, 'nightly-report', deps(putEvent));

    // Assess
    expect(result.status).toBe('RUNNING');
    expect(putEvent).not.toHaveBeenCalled();
  });
});
