/**
 * Completion starts the queued runs a finished run makes room for: after it
 * has ended the run, and also on a duplicate or late event, in case the
 * invocation that ended the run died before it got that far.
 */
import {
  DynamoDBClient,
  GetItemCommand,
  TransactionCanceledException,
  TransactWriteItemsCommand,
} from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { ActiveJob } from '../../../../core/model';
import { type CompletionDeps, completeRun } from '../../../../functions/completion/service';
import { getJobType } from '../../../../functions/shared/job-registry';
import { JobStore } from '../../../../functions/shared/store';
import { activeItem, activeJob, USER_ARN } from '../../helpers/api-event';

const ddb = mockClient(DynamoDBClient);
const RUN_ID = '01JDXR3Y5Q6Z8A9B0C1D2E3F4G';
const NOW = new Date('2026-01-05T10:00:10.000Z');

function running(overrides: Partial<ActiveJob> = {}): ActiveJob {
  return activeJob({
    runId: RUN_ID,
    type: 'sleep',
    input: { seconds: 1 },
    startedAt: '2026-01-05T10:00:00.000Z',
    attempt: 1,
    ...overrides,
  });
}

/** `Job Completed` of the run, as EventBridge delivers it. */
function completed() {
  return {
    version: '0',
    id: '6a7e8feb-b491-4cf7-a9f1-bf3703467718',
    'detail-type': 'Job Completed',
    source: 'eventjobs',
    account: '123456789012',
    time: '2026-01-05T10:00:03Z',
    region: 'us-east-1',
    resources: [],
    detail: {
      owner: USER_ARN,
      jobName: 'nightly-report',
      runId: RUN_ID,
      type: 'sleep',
      attempt: 1,
      startedAt: '2026-01-05T10:00:00.000Z',
      finishedAt: '2026-01-05T10:00:02.500Z',
      durationMs: 2500,
      result: { sleptSeconds: 1 },
    },
  };
}

function givenActive(job: ActiveJob | undefined): void {
  ddb.on(GetItemCommand).callsFake(async () => ({ Item: job ? await activeItem(job) : undefined }));
}

/** A dispatch that notes how many transactions had been written when it ran. */
function recordingDispatch() {
  const writesSeen: number[] = [];
  const dispatch = vi.fn(async (_trigger: { owner: string; type: string }) => {
    writesSeen.push(ddb.commandCalls(TransactWriteItemsCommand).length);
  });
  return { dispatch, writesSeen };
}

function deps(dispatch: CompletionDeps['dispatch']): CompletionDeps {
  return {
    store: new JobStore(new DynamoDBClient({}), 'jobs-table'),
    retentionSeconds: 3600,
    now: () => new Date(NOW),
    getJobType,
    dispatch,
  };
}

beforeEach(() => {
  ddb.reset();
  ddb.on(TransactWriteItemsCommand).resolves({});
  vi.spyOn(console, 'log').mockImplementation(() => undefined);
});

describe('completion: starting queued runs', () => {
  it("dispatches for the run's owner and type once the run has ended", async () => {
    // Prepare
    givenActive(running());
    const { dispatch, writesSeen } = recordingDispatch();

    // Act
    const result = await completeRun(completed(), deps(dispatch));

    // Assess
    expect(result.status).toBe('finished');
    expect(dispatch).toHaveBeenCalledTimes(1);
    expect(dispatch).toHaveBeenCalledWith(
      expect.objectContaining({ owner: USER_ARN, type: 'sleep' }),
    );
    expect(writesSeen).toEqual([1]);
  });

  it('dispatches for a duplicate event whose run has no active record', async () => {
    // Prepare
    givenActive(undefined);
    const { dispatch } = recordingDispatch();

    // Act
    const result = await completeRun(completed(), deps(dispatch));

    // Assess
    expect(result.status).toBe('ignored');
    expect(dispatch).toHaveBeenCalledTimes(1);
    expect(dispatch).toHaveBeenCalledWith(
      expect.objectContaining({ owner: USER_ARN, type: 'sleep' }),
    );
    expect(ddb.commandCalls(TransactWriteItemsCommand)).toHaveLength(0);
  });

  it('dispatches for a late event whose run ended between reading and writing', async () => {
    // Prepare: the record is read, then another completion ends the run first.
    givenActive(running());
    ddb
      .on(GetItemCommand)
      .resolvesOnce({ Item: await activeItem(running()) })
      .resolves({});
    ddb.on(TransactWriteItemsCommand).rejects(
      new TransactionCanceledException({
        message: 'Transaction cancelled',
        $metadata: {},
        CancellationReasons: [
          { Code: 'ConditionalCheckFailed' },
          { Code: 'ConditionalCheckFailed' },
        ],
      }),
    );
    const { dispatch } = recordingDispatch();

    // Act
    const result = await completeRun(completed(), deps(dispatch));

    // Assess
    expect(result.status).toBe('ignored');
    expect(dispatch).toHaveBeenCalledTimes(1);
    expect(dispatch).toHaveBeenCalledWith(
      expect.objectContaining({ owner: USER_ARN, type: 'sleep' }),
    );
  });
});
