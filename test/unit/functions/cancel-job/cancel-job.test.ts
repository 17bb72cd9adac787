import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  QueryCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ApiHandler } from '../../../../functions/shared/http';
import {
  activeItem,
  activeJob,
  bodyOf,
  jobEvent,
  jobOutcome,
  OTHER_USER_ARN,
  outcomeItem,
  USER_ARN,
} from '../../helpers/api-event';

const NOW = new Date('2025-11-28T12:00:00.000Z');

const ddb = mockClient(DynamoDBClient);
let handler: ApiHandler;

function noActiveRun() {
  return new ConditionalCheckFailedException({
    message: 'The conditional request failed',
    $metadata: {},
  });
}

beforeAll(async () => {
  vi.stubEnv('JOBS_TABLE_NAME', 'jobs-table');
  ({ handler } = await import('../../../../functions/cancel-job/handler'));
});

afterAll(() => {
  vi.unstubAllEnvs();
});

beforeEach(() => {
  ddb.reset();
  ddb.on(UpdateItemCommand).rejects(noActiveRun());
  ddb.on(QueryCommand).resolves({ Items: [] });
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(NOW);
  vi.spyOn(console, 'log').mockImplementation(() => undefined);
  vi.spyOn(console, 'error').mockImplementation(() => undefined);
});

afterEach(() => {
  vi.useRealTimers();
  ddb.reset();
});

describe('DELETE /jobs/{name}', () => {
  it('records a cancel request on the running job and answers 202', async () => {
    // Prepare
    const job = activeJob({ cancelRequestedAt: NOW.toISOString() });
    ddb.on(UpdateItemCommand).resolves({ Attributes: await activeItem(job) });

    // Act
    const result = await handler(jobEvent('DELETE', 'nightly-report'));

    // Assess
    expect(result.statusCode).toBe(202);
    expect(bodyOf(result)).toEqual({
      jobName: 'nightly-report',
      runId: job.runId,
      status: 'RUNNING',
      cancelRequestedAt: NOW.toISOString(),
    });
    const [update] = ddb.commandCalls(UpdateItemCommand);
    expect(update?.args[0].input).toMatchObject({
      TableName: 'jobs-table',
      Key: { pk: { S: `JOB#${USER_ARN}#nightly-report` }, sk: { S: 'ACTIVE' } },
      ConditionExpression: 'attribute_exists(pk)',
      ExpressionAttributeValues: { ':at': { S: NOW.toISOString() } },
    });
  });

  it('keeps the time of the first request when cancel is repeated', async () => {
    // Prepare: the record already carries an earlier request
    const first = '2025-11-28T11:59:00.000Z';
    ddb
      .on(UpdateItemCommand)
      .resolves({ Attributes: await activeItem(activeJob({ cancelRequestedAt: first })) });

    // Act
    const result = await handler(jobEvent('DELETE', 'nightly-report'));

    // Assess
    expect(result.statusCode).toBe(202);
    expect(bodyOf(result)).toMatchObject({ cancelRequestedAt: first });
  });

  it('answers 409 JobFinished with the outcome when the job has already finished', async () => {
    // Prepare
    const outcome = jobOutcome({ status: 'SUCCEEDED' });
    ddb.on(QueryCommand).resolves({ Items: [await outcomeItem(outcome)] });

    // Act
    const result = await handler(jobEvent('DELETE', 'nightly-report'));

    // Assess
    expect(result.statusCode).toBe(409);
    expect(bodyOf(result)).toMatchObject({
      error: { code: 'JobFinished' },
      job: { jobName: 'nightly-report', runId: outcome.runId, status: 'SUCCEEDED' },
    });
  });

  it('answers 404 when no job of that name is running or retained', async () => {
    // Act
    const result = await handler(jobEvent('DELETE', 'nightly-report'));

    // Assess
    expect(result.statusCode).toBe(404);
    expect(bodyOf(result)).toMatchObject({ error: { code: 'NotFound' } });
  });

  it('answers 404 when the only outcome has expired', async () => {
    // Prepare
    const expired = jobOutcome({ expiresAt: Math.floor(NOW.getTime() / 1000) - 1 });
    ddb.on(QueryCommand).resolves({ Items: [await outcomeItem(expired)] });

    // Act
    const result = await handler(jobEvent('DELETE', 'nightly-report'));

    // Assess
    expect(result.statusCode).toBe(404);
  });

  it("cannot cancel another caller's job of the same name", async () => {
    // Prepare: only alice's record exists, so only her key passes the condition
    const item = await activeItem(
      activeJob({ owner: USER_ARN, cancelRequestedAt: NOW.toISOString() }),
    );
    ddb
      .on(UpdateItemCommand, { Key: { pk: { S: `JOB#${USER_ARN}#nightly-report` } } })
      .resolves({ Attributes: item });

    // Act
    const asBob = await handler(jobEvent('DELETE', 'nightly-report', { userArn: OTHER_USER_ARN }));

    // Assess
    expect(asBob.statusCode).toBe(404);
    const [update] = ddb.commandCalls(UpdateItemCommand);
    expect(update?.args[0].input.Key?.pk).toEqual({ S: `JOB#${OTHER_USER_ARN}#nightly-report` });
    const [query] = ddb.commandCalls(QueryCommand);
    expect(query?.args[0].input.ExpressionAttributeValues?.[':pk']).toEqual({
      S: `JOB#${OTHER_USER_ARN}#nightly-report`,
    });
  });

  it.each([
    ['too long', 'x'.repeat(129)],
    ['only dots', '..'],
    ['empty', ''],
    ['unicode', 'café'],
    ['a control character', 'job\u0000'],
  ])('answers 400 InvalidJobName for a name with %s and writes nothing', async (_, name) => {
    // Act
    const result = await handler(jobEvent('DELETE', name));

    // Assess
    expect(result.statusCode).toBe(400);
    expect(bodyOf(result)).toMatchObject({ error: { code: 'InvalidJobName' } });
    expect(ddb.calls()).toHaveLength(0);
  });

  it('answers 403 without an IAM identity and writes nothing', async () => {
    // Act
    const result = await handler(jobEvent('DELETE', 'nightly-report', { userArn: null }));

    // Assess
    expect(result.statusCode).toBe(403);
    expect(ddb.calls()).toHaveLength(0);
  });

  it('answers 500 with a generic message when DynamoDB fails', async () => {
    // Prepare
    ddb.on(UpdateItemCommand).rejects(new Error('ThrottlingException: rate exceeded'));

    // Act
    const result = await handler(jobEvent('DELETE', 'nightly-report'));

    // Assess
    expect(result.statusCode).toBe(500);
    expect(bodyOf(result)).toEqual({
      error: { code: 'InternalError', message: 'An internal error occurred' },
    });
  });
});
