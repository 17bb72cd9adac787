import { DynamoDBClient, GetItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
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
import { lambdaContext } from '../../helpers/lambda-context';
import { capturePowertoolsOutput, type PowertoolsOutput } from '../../helpers/powertools-output';

const ddb = mockClient(DynamoDBClient);
let handler: ApiHandler;
let output: PowertoolsOutput;

beforeAll(async () => {
  vi.stubEnv('JOBS_TABLE_NAME', 'jobs-table');
  ({ handler } = await import('../../../../functions/get-job/handler'));
});

afterAll(() => {
  vi.unstubAllEnvs();
});

beforeEach(() => {
  ddb.reset();
  ddb.on(GetItemCommand).resolves({});
  ddb.on(QueryCommand).resolves({ Items: [] });
  output = capturePowertoolsOutput();
});

afterEach(() => {
  ddb.reset();
});

describe('GET /jobs/{name}', () => {
  it('returns the running job from its active record, read by the caller and the name', async () => {
    // Prepare
    const job = activeJob({
      progress: { percent: 40, message: 'halfway-ish', at: '2025-11-28T10:00:05.000Z' },
    });
    ddb.on(GetItemCommand).resolves({ Item: await activeItem(job) });

    // Act
    const result = await handler(jobEvent('GET', 'nightly-report'));

    // Assess
    expect(result.statusCode).toBe(200);
    expect(bodyOf(result)).toEqual({
      jobName: 'nightly-report',
      runId: job.runId,
      type: 'echo',
      status: 'RUNNING',
      createdAt: job.createdAt,
      updatedAt: job.updatedAt,
      progress: { percent: 40, message: 'halfway-ish', at: '2025-11-28T10:00:05.000Z' },
      input: { value: 'hello' },
    });
    const [get] = ddb.commandCalls(GetItemCommand);
    expect(get?.args[0].input).toMatchObject({
      TableName: 'jobs-table',
      Key: { pk: { S: `JOB#${USER_ARN}#nightly-report` }, sk: { S: 'ACTIVE' } },
      ConsistentRead: true,
    });
    expect(ddb.commandCalls(QueryCommand)).toHaveLength(0);
  });

  it('returns the newest retained outcome when no run is active', async () => {
    // Prepare
    const outcome = jobOutcome({
      status: 'FAILED',
      result: undefined,
      error: { name: 'Boom', message: 'it broke' },
    });
    ddb.on(QueryCommand).resolves({ Items: [await outcomeItem(outcome)] });

    // Act
    const result = await handler(jobEvent('GET', 'nightly-report'));

    // Assess
    expect(result.statusCode).toBe(200);
    expect(bodyOf(result)).toMatchObject({
      jobName: 'nightly-report',
      runId: outcome.runId,
      status: 'FAILED',
      finishedAt: outcome.finishedAt,
      error: { name: 'Boom', message: 'it broke' },
      expiresAt: new Date(outcome.expiresAt * 1000).toISOString(),
    });
    const [query] = ddb.commandCalls(QueryCommand);
    expect(query?.args[0].input.ExpressionAttributeValues?.[':pk']).toEqual({
      S: `JOB#${USER_ARN}#nightly-report`,
    });
  });

  it('answers 404 when the only outcome has expired, even before TTL removed it', async () => {
    // Prepare
    const expired = jobOutcome({ expiresAt: Math.floor(Date.now() / 1000) - 60 });
    ddb.on(QueryCommand).resolves({ Items: [await outcomeItem(expired)] });

    // Act
    const result = await handler(jobEvent('GET', 'nightly-report'));

    // Assess
    expect(result.statusCode).toBe(404);
  });

  it('answers 404 NotFound for a name that was never used', async () => {
    // Act
    const result = await handler(jobEvent('GET', 'never-started'));

    // Assess
    expect(result.statusCode).toBe(404);
    expect(bodyOf(result)).toEqual({
      error: { code: 'NotFound', message: expect.stringContaining('never-started') },
    });
  });

  it("never shows one caller another caller's job of the same name", async () => {
    // Prepare: only alice has a job called nightly-report
    const item = await activeItem(activeJob({ owner: USER_ARN }));
    ddb
      .on(GetItemCommand, { Key: { pk: { S: `JOB#${USER_ARN}#nightly-report` } } })
      .resolves({ Item: item });

    // Act
    const asBob = await handler(jobEvent('GET', 'nightly-report', { userArn: OTHER_USER_ARN }));
    const asAlice = await handler(jobEvent('GET', 'nightly-report', { userArn: USER_ARN }));

    // Assess
    expect(asBob.statusCode).toBe(404);
    expect(asAlice.statusCode).toBe(200);
    const bobKeys = ddb
      .commandCalls(GetItemCommand)
      .map((call) => call.args[0].input.Key?.pk?.S)
      .filter((pk) => pk?.includes(OTHER_USER_ARN));
    expect(bobKeys).toEqual([`JOB#${OTHER_USER_ARN}#nightly-report`]);
  });

  it.each([
    ['too long', 'x'.repeat(129)],
    ['a slash', 'a/b'],
    ['only dots', '..'],
    ['a single dot', '.'],
    ['empty', ''],
    ['unicode', 'jöb'],
    ['a control character', 'job\n1'],
    ['a space', 'my job'],
    ['a hash (the key separator)', 'a#b'],
  ])(
    'answers 400 InvalidJobName for a name with %s, without reading the table',
    async (_, name) => {
      // Act
      const result = await handler(jobEvent('GET', name));

      // Assess
      expect(result.statusCode).toBe(400);
      expect(bodyOf(result)).toMatchObject({ error: { code: 'InvalidJobName' } });
      expect(ddb.calls()).toHaveLength(0);
    },
  );

  it('answers 400 InvalidJobName when the path parameter is missing', async () => {
    // Prepare
    const event = jobEvent('GET', 'x');
    event.pathParameters = undefined;

    // Act
    const result = await handler(event);

    // Assess
    expect(result.statusCode).toBe(400);
    expect(bodyOf(result)).toMatchObject({ error: { code: 'InvalidJobName' } });
  });

  it('accepts a name of exactly 128 characters', async () => {
    // Act
    const result = await handler(jobEvent('GET', 'a'.repeat(128)));

    // Assess
    expect(result.statusCode).toBe(404);
  });

  it('answers 403 when the request carries no IAM identity, without reading the table', async () => {
    // Act
    const result = await handler(jobEvent('GET', 'nightly-report', { userArn: null }));

    // Assess
    expect(result.statusCode).toBe(403);
    expect(bodyOf(result)).toMatchObject({ error: { code: 'Forbidden' } });
    expect(ddb.calls()).toHaveLength(0);
  });

  it('answers 500 with a generic message when DynamoDB fails, and logs the cause', async () => {
    // Prepare
    ddb.on(GetItemCommand).rejects(new Error('secret internal detail'));
    const context = lambdaContext({ functionName: 'eventjobs-get-job' });

    // Act
    const result = await handler(jobEvent('GET', 'nightly-report'), context);

    // Assess
    expect(result.statusCode).toBe(500);
    expect(bodyOf(result)).toEqual({
      error: { code: 'InternalError', message: 'An internal error occurred' },
    });
    expect(result.body).not.toContain('secret');
    expect(result.body).not.toMatch(/\bat\s/);
    // The cause is logged, with the function, the job and the request to correlate it by.
    expect(output.logs()).toEqual([
      expect.objectContaining({
        level: 'ERROR',
        message: 'Unhandled error',
        errorMessage: 'secret internal detail',
        service: 'eventjobs',
        function: 'get-job',
        function_request_id: context.awsRequestId,
        owner: USER_ARN,
        jobName: 'nightly-report',
      }),
    ]);
  });
});

describe('get-job configuration', () => {
  it('fails to load, naming the variable, when the table name is not set', async () => {
    // Prepare
    vi.resetModules();
    vi.stubEnv('JOBS_TABLE_NAME', '');

    // Act
    const loading = import('../../../../functions/get-job/handler');

    // Assess
    await expect(loading).rejects.toThrow(/JOBS_TABLE_NAME/);
    vi.stubEnv('JOBS_TABLE_NAME', 'jobs-table');
  });
});
