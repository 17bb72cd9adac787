import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  TransactionCanceledException,
  TransactWriteItemsCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BadRequestError } from '../../../../core/errors';
import { JobStore } from '../../../../functions/shared/store';
import {
  activeItem,
  activeJob,
  jobOutcome,
  OTHER_USER_ARN,
  outcomeItem,
  USER_ARN,
} from '../../helpers/api-event';

const ddb = mockClient(DynamoDBClient);
const store = new JobStore(new DynamoDBClient({}), 'jobs-table');
const NOW_SECONDS = 1_764_324_000;

function conditionFailed(item?: Awaited<ReturnType<typeof activeItem>>) {
  return new ConditionalCheckFailedException({
    message: 'The conditional request failed',
    $metadata: {},
    Item: item,
  });
}

function transactionCancelled(codes: string[]) {
  return new TransactionCanceledException({
    message: 'Transaction cancelled',
    $metadata: {},
    CancellationReasons: codes.map((Code) => ({ Code })),
  });
}

beforeEach(() => {
  ddb.reset();
});

afterEach(() => {
  ddb.reset();
});

describe('JobStore.createActive', () => {
  it('puts the record only if the name has no active record', async () => {
    // Prepare
    ddb.on(PutItemCommand).resolves({});

    // Act
    const result = await store.createActive(activeJob());

    // Assess
    expect(result).toEqual({ created: true, job: activeJob() });
    const [put] = ddb.commandCalls(PutItemCommand);
    expect(put?.args[0].input).toMatchObject({
      TableName: 'jobs-table',
      ConditionExpression: 'attribute_not_exists(pk)',
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      Item: {
        pk: { S: `JOB#${USER_ARN}#nightly-report` },
        sk: { S: 'ACTIVE' },
        gsi1pk: { S: `OWNER#${USER_ARN}` },
        gsi2pk: { S: `OWNER#${USER_ARN}#RUNNING` },
      },
    });
  });

  it('returns created:false with the running job when the condition fails', async () => {
    // Prepare
    const existing = activeJob({ runId: 'RUN-OLD', input: { value: [1, 2] }, attempt: 2 });
    ddb.on(PutItemCommand).rejects(conditionFailed(await activeItem(existing)));

    // Act
    const result = await store.createActive(activeJob({ runId: 'RUN-NEW' }));

    // Assess
    expect(result).toEqual({ created: false, existing });
  });

  it('passes on any other failure', async () => {
    // Prepare
    ddb.on(PutItemCommand).rejects(new Error('ThrottlingException'));

    // Act
    const act = store.createActive(activeJob());

    // Assess
    await expect(act).rejects.toThrow('ThrottlingException');
  });
});

describe('JobStore.deleteActive', () => {
  it('deletes only the record of this run', async () => {
    // Prepare
    ddb.on(DeleteItemCommand).resolves({});

    // Act
    const deleted = await store.deleteActive(activeJob({ jobName: 'job', runId: 'RUN1' }));

    // Assess
    expect(deleted).toBe(true);
    expect(ddb.commandCalls(DeleteItemCommand)[0]?.args[0].input).toMatchObject({
      Key: { pk: { S: `JOB#${USER_ARN}#job` }, sk: { S: 'ACTIVE' } },
      ConditionExpression: 'runId = :runId',
      ExpressionAttributeValues: { ':runId': { S: 'RUN1' } },
    });
  });

  it('answers false when the record is gone or is another run', async () => {
    // Prepare
    ddb.on(DeleteItemCommand).rejects(conditionFailed());

    // Act & Assess
    await expect(store.deleteActive(activeJob({ jobName: 'job', runId: 'RUN1' }))).resolves.toBe(
      false,
    );
  });
});

describe('JobStore.getActive and getLatestOutcome', () => {
  it('reads the active record consistently under the owner and name', async () => {
    // Prepare
    const job = activeJob({
      progress: { percent: 50, at: '2025-11-28T10:00:01.000Z' },
      cancelRequestedAt: '2025-11-28T10:00:02.000Z',
    });
    ddb.on(GetItemCommand).resolves({ Item: await activeItem(job) });

    // Act
    const found = await store.getActive(USER_ARN, 'nightly-report');

    // Assess
    expect(found).toEqual({ ...job, progress: { percent: 50, at: job.progress?.at } });
    expect(ddb.commandCalls(GetItemCommand)[0]?.args[0].input).toMatchObject({
      Key: { pk: { S: `JOB#${USER_ARN}#nightly-report` }, sk: { S: 'ACTIVE' } },
      ConsistentRead: true,
    });
  });

  it('returns the newest outcome while it is retained', async () => {
    // Prepare
    const outcome = jobOutcome({ expiresAt: NOW_SECONDS + 1 });
    ddb.on(QueryCommand).resolves({ Items: [await outcomeItem(outcome)] });

    // Act
    const found = await store.getLatestOutcome(USER_ARN, 'nightly-report', NOW_SECONDS);

    // Assess
    expect(found).toEqual(outcome);
    expect(ddb.commandCalls(QueryCommand)[0]?.args[0].input).toMatchObject({
      ExpressionAttributeValues: {
        ':pk': { S: `JOB#${USER_ARN}#nightly-report` },
        ':run': { S: 'RUN#' },
      },
      ScanIndexForward: false,
      Limit: 1,
    });
  });

  it('treats an outcome past its expiry as gone', async () => {
    // Prepare
    ddb
      .on(QueryCommand)
      .resolves({ Items: [await outcomeItem(jobOutcome({ expiresAt: NOW_SECONDS }))] });

    // Act & Assess
    await expect(store.getLatestOutcome(USER_ARN, 'nightly-report', NOW_SECONDS)).resolves.toBe(
      undefined,
    );
  });
});

describe('JobStore conditional updates', () => {
  it('requestCancel answers undefined when no job of that name is running', async () => {
    // Prepare
    ddb.on(UpdateItemCommand).rejects(conditionFailed());

    // Act & Assess
    await expect(store.requestCancel(USER_ARN, 'job', '2025-11-28T12:00:00.000Z')).resolves.toBe(
      undefined,
    );
  });

  it('markStarted and recordProgress are conditional on the run id', async () => {
    // Prepare
    ddb.on(UpdateItemCommand).rejects(conditionFailed());

    // Act
    const started = await store.markStarted(USER_ARN, 'job', 'RUN1', '2025-11-28T12:00:00Z', 1);
    const progressed = await store.recordProgress(USER_ARN, 'job', 'RUN1', {
      percent: 10,
      at: '2025-11-28T12:00:01Z',
    });

    // Assess
    expect(started).toBeUndefined();
    expect(progressed).toBeUndefined();
    for (const call of ddb.commandCalls(UpdateItemCommand)) {
      expect(call.args[0].input).toMatchObject({
        ConditionExpression: 'runId = :runId',
        ExpressionAttributeValues: { ':runId': { S: 'RUN1' } },
      });
    }
  });
});

describe('JobStore.finishRun', () => {
  it('writes the outcome and deletes this run in one transaction', async () => {
    // Prepare
    ddb.on(TransactWriteItemsCommand).resolves({});

    // Act
    const finished = await store.finishRun(jobOutcome({ runId: 'RUN1' }));

    // Assess
    expect(finished).toBe(true);
    const items = ddb.commandCalls(TransactWriteItemsCommand)[0]?.args[0].input.TransactItems;
    expect(items?.[0]?.Put).toMatchObject({
      ConditionExpression: 'attribute_not_exists(pk)',
      Item: { pk: { S: `JOB#${USER_ARN}#nightly-report` }, sk: { S: 'RUN#RUN1' } },
    });
    expect(items?.[1]?.Delete).toMatchObject({
      Key: { pk: { S: `JOB#${USER_ARN}#nightly-report` }, sk: { S: 'ACTIVE' } },
      ConditionExpression: 'runId = :runId',
      ExpressionAttributeValues: { ':runId': { S: 'RUN1' } },
    });
  });

  it.each([[['None', 'ConditionalCheckFailed']], [['ConditionalCheckFailed', 'None']]])(
    'answers false for a duplicate or late event (reasons %j)',
    async (codes) => {
      // Prepare
      ddb.on(TransactWriteItemsCommand).rejects(transactionCancelled(codes));

      // Act & Assess
      await expect(store.finishRun(jobOutcome())).resolves.toBe(false);
    },
  );

  it('passes on a transaction cancelled for another reason', async () => {
    // Prepare
    ddb.on(TransactWriteItemsCommand).rejects(transactionCancelled(['None', 'ThrottlingError']));

    // Act & Assess
    await expect(store.finishRun(jobOutcome())).rejects.toBeInstanceOf(
      TransactionCanceledException,
    );
  });
});

describe('JobStore.list', () => {
  it('round-trips its cursor into the next query', async () => {
    // Prepare
    const lastKey = {
      pk: { S: `JOB#${USER_ARN}#a` },
      sk: { S: 'ACTIVE' },
      gsi2pk: { S: `OWNER#${USER_ARN}#RUNNING` },
      gsi2sk: { S: '2025-11-28T10:00:00.000Z#RUN1' },
    };
    ddb
      .on(QueryCommand)
      .resolvesOnce({ Items: [await activeItem()], LastEvaluatedKey: lastKey })
      .resolves({ Items: [] });

    // Act
    const first = await store.list(USER_ARN, { status: 'RUNNING', limit: 1 }, NOW_SECONDS);
    const second = await store.list(
      USER_ARN,
      { status: 'RUNNING', limit: 1, cursor: first.nextCursor },
      NOW_SECONDS,
    );

    // Assess
    expect(first.jobs).toHaveLength(1);
    expect(second).toEqual({ jobs: [], nextCursor: undefined });
    const calls = ddb.commandCalls(QueryCommand);
    expect(calls[1]?.args[0].input).toMatchObject({
      IndexName: 'byOwnerStatus',
      ExclusiveStartKey: lastKey,
      FilterExpression: 'attribute_not_exists(expiresAt) OR expiresAt > :now',
      ExpressionAttributeValues: { ':now': { N: String(NOW_SECONDS) } },
    });
  });

  it("refuses another owner's cursor before querying", async () => {
    // Prepare
    ddb.on(QueryCommand).resolvesOnce({
      Items: [],
      LastEvaluatedKey: {
        pk: { S: `JOB#${OTHER_USER_ARN}#a` },
        sk: { S: 'ACTIVE' },
        gsi1pk: { S: `OWNER#${OTHER_USER_ARN}` },
        gsi1sk: { S: '2025-11-28T10:00:00.000Z#RUN1' },
      },
    });
    const { nextCursor } = await store.list(OTHER_USER_ARN, { limit: 1 }, NOW_SECONDS);
    ddb.resetHistory();

    // Act
    const act = store.list(USER_ARN, { limit: 1, cursor: nextCursor }, NOW_SECONDS);

    // Assess
    await expect(act).rejects.toBeInstanceOf(BadRequestError);
    await expect(act).rejects.toMatchObject({ code: 'InvalidCursor', statusCode: 400 });
    expect(ddb.calls()).toHaveLength(0);
  });
});

describe('JobStore lifecycle writes', () => {
  it('puts the sweeper index keys on an active record only', async () => {
    // Act
    const active = await activeItem(activeJob());
    const outcome = await outcomeItem(jobOutcome());

    // Assess
    expect(active.gsi3pk?.S).toMatch(/^ACTIVE#[0-3]$/);
    expect(active.gsi3sk?.S).toBe('2025-11-28T10:00:00.000Z#01JDXR3Y5Q6Z8A9B0C1D2E3F4G');
    expect(outcome.gsi3pk).toBeUndefined();
  });

  it('claimRun writes the lease, the attempt start and a first deadline, conditionally', async () => {
    // Prepare
    ddb.on(UpdateItemCommand).resolves({ Attributes: await activeItem(activeJob()) });

    // Act
    const result = await store.claimRun(USER_ARN, 'nightly-report', 'RUN-1', {
      at: '2026-01-05T10:00:00.000Z',
      attempt: 1,
      leaseId: 'req-1',
      staleBefore: '2026-01-05T09:59:55.500Z',
      deadlineAt: '2026-01-05T10:15:00.000Z',
    });

    // Assess
    expect(result.claimed).toBe(true);
    const input = ddb.commandCalls(UpdateItemCommand)[0]?.args[0].input;
    expect(input?.UpdateExpression).toContain('deadlineAt = if_not_exists(deadlineAt, :deadline)');
    expect(input?.UpdateExpression).toContain('leaseId = :lease');
    expect(input?.ConditionExpression).toBe(
      'runId = :runId AND #status <> :queued AND (attribute_not_exists(leaseId) OR ' +
        'leaseId = :lease OR attribute_not_exists(heartbeatAt) OR heartbeatAt < :stale)',
    );
    expect(input?.ExpressionAttributeValues?.[':queued']).toEqual({ S: 'QUEUED' });
  });

  it('claimRun tells a live lease of the same run from a finished run', async () => {
    // Prepare
    const held = activeJob({ runId: 'RUN-1', leaseId: 'req-0' });
    const other = activeJob({ runId: 'RUN-2' });
    ddb
      .on(UpdateItemCommand)
      .rejectsOnce(conditionFailed(await activeItem(held)))
      .rejectsOnce(conditionFailed(await activeItem(other)));
    const request = {
      at: '2026-01-05T10:00:00.000Z',
      attempt: 2,
      leaseId: 'req-1',
      staleBefore: '2026-01-05T09:59:55.500Z',
    };

    // Act
    const leased = await store.claimRun(USER_ARN, 'nightly-report', 'RUN-1', request);
    const gone = await store.claimRun(USER_ARN, 'nightly-report', 'RUN-1', request);

    // Assess
    expect(leased).toMatchObject({
      claimed: false,
      reason: 'leased',
      holder: { leaseId: 'req-0' },
    });
    expect(gone).toEqual({ claimed: false, reason: 'gone' });
  });

  it('heartbeat is conditional on the run id and returns the record with any cancel request', async () => {
    // Prepare
    ddb.on(UpdateItemCommand).resolves({
      Attributes: await activeItem(activeJob({ cancelRequestedAt: '2026-01-05T10:00:01.000Z' })),
    });

    // Act
    const record = await store.heartbeat(
      USER_ARN,
      'nightly-report',
      'RUN-1',
      '2026-01-05T10:00:02.000Z',
    );

    // Assess
    const input = ddb.commandCalls(UpdateItemCommand)[0]?.args[0].input;
    expect(input?.ConditionExpression).toBe('runId = :runId');
    expect(input?.ReturnValues).toBe('ALL_NEW');
    expect(record?.cancelRequestedAt).toBe('2026-01-05T10:00:01.000Z');
  });

  it('listActive queries one shard of the byActive index', async () => {
    // Prepare
    ddb.on(QueryCommand).resolves({
      Items: [await activeItem(activeJob({ deadlineAt: '2026-01-05T10:15:00.000Z' }))],
    });

    // Act
    const page = await store.listActive(2);

    // Assess
    const input = ddb.commandCalls(QueryCommand)[0]?.args[0].input;
    expect(input).toMatchObject({
      IndexName: 'byActive',
      ExpressionAttributeValues: { ':pk': { S: 'ACTIVE#2' } },
    });
    expect(page.jobs[0]).toMatchObject({
      jobName: 'nightly-report',
      deadlineAt: '2026-01-05T10:15:00.000Z',
    });
  });

  it("round-trips a retried run's attempts through the outcome item", async () => {
    // Prepare
    const attempts = [
      { attempt: 1, error: { name: 'E', message: 'm' }, at: '2026-01-05T10:00:00.000Z' },
    ];
    ddb
      .on(QueryCommand)
      .resolves({ Items: [await outcomeItem(jobOutcome({ status: 'FAILED', attempts }))] });

    // Act
    const outcome = await store.getLatestOutcome(USER_ARN, 'nightly-report', NOW_SECONDS);

    // Assess
    expect(outcome?.attempts).toEqual(attempts);
  });
});
