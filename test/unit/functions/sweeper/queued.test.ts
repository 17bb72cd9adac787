/**
 * The sweeper under fair share: how it judges queued runs and runs from the
 * queue, and how it sets a drifted slot counter back to the truth (against
 * the local cloud's DynamoDB).
 */
import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type ConcurrencyLimits, ownerKeyId } from '../../../../core/limits';
import { slotCounterKey } from '../../../../core/table';
import { SlotStore } from '../../../../functions/shared/slots';
import type { ActiveSummary } from '../../../../functions/shared/store-items';
import { judge } from '../../../../functions/sweeper/service';
import { COUNTER_SETTLE_MS, SlotTally } from '../../../../functions/sweeper/slot-repair';
import { type LocalTable, startLocalJobsTable } from '../../helpers/local-dynamodb';

const NOW = new Date('2026-01-05T12:00:00.000Z');
const LIMITS = {
  graceMs: 30_000,
  silentAfterMs: 600_000,
  startWindowMs: 3600_000,
  queueTimeoutMs: 2 * 3600_000,
};
const OWNER = 'arn:aws:iam::123456789012:user/alice';

function ago(ms: number): string {
  return new Date(NOW.getTime() - ms).toISOString();
}

/** A run waiting in the queue since a minute ago. */
function queued(overrides: Partial<ActiveSummary> = {}): ActiveSummary {
  return {
    owner: OWNER,
    jobName: 'nightly-report',
    runId: '01JDXR3Y5Q6Z8A9B0C1D2E3F4G',
    type: 'sleep',
    createdAt: ago(60_000),
    status: 'QUEUED',
    ...overrides,
  };
}

describe('sweeper: judging a queued run', () => {
  it('leaves a run that waits within the queue timeout', () => {
    expect(judge(queued(), NOW, LIMITS)).toBeUndefined();
  });

  it('ends a run queued for longer than the queue timeout as TIMED_OUT', () => {
    // Act
    const verdict = judge(queued({ createdAt: ago(LIMITS.queueTimeoutMs + 1000) }), NOW, LIMITS);

    // Assess
    expect(verdict).toEqual({
      detailType: 'Job Timed Out',
      reason: expect.stringContaining('waited in the queue'),
    });
  });

  it('applies no start window to a queued run: it has no worker yet', () => {
    // Prepare: older than the start window, and no queue timeout configured.
    const { queueTimeoutMs: _none, ...withoutQueueTimeout } = LIMITS;
    const job = queued({ createdAt: ago(LIMITS.startWindowMs * 10) });

    // Act
    const verdict = judge(job, NOW, withoutQueueTimeout);

    // Assess
    expect(verdict).toBeUndefined();
  });

  it('ends a queued run as CANCELLED when its cancel is older than silentAfter (its event was lost)', () => {
    // Act
    const verdict = judge(
      queued({ cancelRequestedAt: ago(LIMITS.silentAfterMs + 1000) }),
      NOW,
      LIMITS,
    );

    // Assess
    expect(verdict).toEqual({
      detailType: 'Job Cancelled',
      reason: expect.stringContaining('while the job was queued'),
    });
  });

  it('leaves a queued run whose cancel is recent: its own Job Cancelled is on the way', () => {
    expect(judge(queued({ cancelRequestedAt: ago(1000) }), NOW, LIMITS)).toBeUndefined();
  });
});

describe('sweeper: a run started from the queue', () => {
  const fromQueue = (dispatchedAgo: number): ActiveSummary =>
    queued({
      status: 'RUNNING',
      createdAt: ago(LIMITS.startWindowMs * 3),
      dispatchedAt: ago(dispatchedAgo),
    });

  it('counts its start window from its dispatch, not its creation', () => {
    expect(judge(fromQueue(60_000), NOW, LIMITS)).toBeUndefined();
  });

  it('ends it when it has not started within the window after its dispatch', () => {
    // Act
    const verdict = judge(fromQueue(LIMITS.startWindowMs + 1000), NOW, LIMITS);

    // Assess
    expect(verdict).toEqual({
      detailType: 'Job Timed Out',
      reason: expect.stringContaining('dispatched from the queue'),
    });
  });
});

describe('SlotTally: repairing counters', () => {
  let table: LocalTable;
  const limits: ConcurrencyLimits = { perOwner: 5, maxQueuedPerOwner: 10, perType: {} };

  beforeAll(async () => {
    table = await startLocalJobsTable();
  });
  afterAll(async () => {
    await table.close();
  });

  async function putCounter(keyId: string, running: number, queued: number, changedAt: string) {
    const key = slotCounterKey(keyId);
    await table.client.send(
      new PutItemCommand({
        TableName: table.tableName,
        Item: {
          pk: { S: key.pk },
          sk: { S: key.sk },
          running: { N: String(running) },
          queued: { N: String(queued) },
          version: { N: '3' },
          changedAt: { S: changedAt },
        },
      }),
    );
  }

  async function counter(keyId: string) {
    const key = slotCounterKey(keyId);
    const { Item } = await table.client.send(
      new GetItemCommand({
        TableName: table.tableName,
        Key: { pk: { S: key.pk }, sk: { S: key.sk } },
        ConsistentRead: true,
      }),
    );
    return { running: Number(Item?.running?.N), queued: Number(Item?.queued?.N) };
  }

  it('sets a counter that drifted from the runs the sweep saw, and dispatches for the queued', async () => {
    // Prepare: one run and one waiting run, but the counter says 4 running, none queued.
    const owner = `${OWNER}-drifted`;
    await putCounter(ownerKeyId(owner), 4, 0, ago(COUNTER_SETTLE_MS * 2));
    const tally = new SlotTally(new SlotStore(table.client, table.tableName, limits));
    tally.add(queued({ owner, jobName: 'a', status: 'RUNNING' }));
    tally.add(queued({ owner, jobName: 'b' }));
    const dispatch = vi.fn(async () => undefined);

    // Act
    const result = await tally.settle(NOW, dispatch);

    // Assess
    expect(result).toEqual({ repaired: 1, dispatched: 1 });
    expect(await counter(ownerKeyId(owner))).toEqual({ running: 1, queued: 1 });
    expect(dispatch).toHaveBeenCalledWith({ owner, type: 'sleep' });
  });

  it('leaves a counter that changed too recently for the index to have caught up', async () => {
    // Prepare
    const owner = `${OWNER}-recent`;
    await putCounter(ownerKeyId(owner), 4, 0, ago(1000));
    const tally = new SlotTally(new SlotStore(table.client, table.tableName, limits));
    tally.add(queued({ owner, jobName: 'a', status: 'RUNNING' }));

    // Act
    const result = await tally.settle(NOW, undefined);

    // Assess
    expect(result).toEqual({ repaired: 0, dispatched: 0 });
    expect(await counter(ownerKeyId(owner))).toEqual({ running: 4, queued: 0 });
  });
});
