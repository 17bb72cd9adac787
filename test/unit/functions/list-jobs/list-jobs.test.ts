import { DynamoDBClient, QueryCommand } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ApiHandler } from '../../../../functions/shared/http';
import {
  activeItem,
  activeJob,
  bodyOf,
  jobOutcome,
  listJobsEvent,
  OTHER_USER_ARN,
  outcomeItem,
  USER_ARN,
} from '../../helpers/api-event';

const ddb = mockClient(DynamoDBClient);
let handler: ApiHandler;

/** A LastEvaluatedKey of the byOwner index, as DynamoDB returns it for `owner`'s list. */
function lastKeyOf(owner: string, jobName: string, createdAt: string, runId: string) {
  return {
    pk: { S: `JOB#${owner}#${jobName}` },
    sk: { S: `RUN#${runId}` },
    gsi1pk: { S: `OWNER#${owner}` },
    gsi1sk: { S: `${createdAt}#${runId}` },
  };
}

beforeAll(async () => {
  vi.stubEnv('JOBS_TABLE_NAME', 'jobs-table');
  ({ handler } = await import('../../../../functions/list-jobs/handler'));
});

afterAll(() => {
  vi.unstubAllEnvs();
});

beforeEach(() => {
  ddb.reset();
  ddb.on(QueryCommand).resolves({ Items: [] });
  vi.spyOn(console, 'log').mockImplementation(() => undefined);
  vi.spyOn(console, 'error').mockImplementation(() => undefined);
});

afterEach(() => {
  ddb.reset();
});

describe('GET /jobs', () => {
  it("lists the caller's jobs newest first, 20 by default, as summaries without input or result", async () => {
    // Prepare
    const running = activeJob({ jobName: 'b-job', createdAt: '2025-11-28T11:00:00.000Z' });
    const done = jobOutcome({ jobName: 'a-job', createdAt: '2025-11-28T10:00:00.000Z' });
    ddb.on(QueryCommand).resolves({ Items: [await activeItem(running), await outcomeItem(done)] });

    // Act
    const result = await handler(listJobsEvent());

    // Assess
    expect(result.statusCode).toBe(200);
    expect(bodyOf(result)).toEqual({
      jobs: [
        {
          jobName: 'b-job',
          runId: running.runId,
          type: 'echo',
          status: 'RUNNING',
          createdAt: running.createdAt,
        },
        {
          jobName: 'a-job',
          runId: done.runId,
          type: 'echo',
          status: 'SUCCEEDED',
          createdAt: done.createdAt,
          finishedAt: done.finishedAt,
        },
      ],
    });
    const [query] = ddb.commandCalls(QueryCommand);
    expect(query?.args[0].input).toMatchObject({
      TableName: 'jobs-table',
      IndexName: 'byOwner',
      ExpressionAttributeValues: { ':pk': { S: `OWNER#${USER_ARN}` } },
      ScanIndexForward: false,
      Limit: 20,
    });
    expect(query?.args[0].input.ExclusiveStartKey).toBeUndefined();
  });

  it('filters by status through the owner-and-status index', async () => {
    // Act
    const result = await handler(listJobsEvent({ status: 'FAILED', limit: '5' }));

    // Assess
    expect(result.statusCode).toBe(200);
    expect(bodyOf(result)).toEqual({ jobs: [] });
    const [query] = ddb.commandCalls(QueryCommand);
    expect(query?.args[0].input).toMatchObject({
      IndexName: 'byOwnerStatus',
      ExpressionAttributeValues: { ':pk': { S: `OWNER#${USER_ARN}#FAILED` } },
      Limit: 5,
    });
  });

  it.each(['1', '100'])('accepts limit=%s', async (limit) => {
    // Act
    const result = await handler(listJobsEvent({ limit }));

    // Assess
    expect(result.statusCode).toBe(200);
    expect(ddb.commandCalls(QueryCommand)[0]?.args[0].input.Limit).toBe(Number(limit));
  });

  it('pages with an opaque cursor that round-trips to the next query', async () => {
    // Prepare
    const lastKey = lastKeyOf(
      USER_ARN,
      'a-job',
      '2025-11-28T10:00:00.000Z',
      '01JDXR3Y5Q6Z8A9B0C1D2E3F4G',
    );
    ddb
      .on(QueryCommand)
      .resolvesOnce({ Items: [await activeItem()], LastEvaluatedKey: lastKey })
      .resolves({ Items: [] });

    // Act
    const first = await handler(listJobsEvent({ limit: '1' }));
    const { nextCursor } = bodyOf(first);
    const second = await handler(listJobsEvent({ limit: '1', cursor: String(nextCursor) }));

    // Assess
    expect(first.statusCode).toBe(200);
    expect(typeof nextCursor).toBe('string');
    expect(String(nextCursor)).not.toContain(USER_ARN);
    expect(second.statusCode).toBe(200);
    expect(bodyOf(second)).toEqual({ jobs: [] });
    const calls = ddb.commandCalls(QueryCommand);
    expect(calls).toHaveLength(2);
    expect(calls[1]?.args[0].input.ExclusiveStartKey).toEqual(lastKey);
  });

  it.each([
    ['garbage', 'not a cursor!!'],
    ['base64 of non-JSON', Buffer.from('hello').toString('base64url')],
    ['a JSON array', Buffer.from('[]').toString('base64url')],
    ['missing keys', Buffer.from(JSON.stringify({ pk: 'x' })).toString('base64url')],
    ['empty', ''],
  ])('answers 400 InvalidCursor for a %s cursor without querying', async (_, cursor) => {
    // Act
    const result = await handler(listJobsEvent({ cursor }));

    // Assess
    expect(result.statusCode).toBe(400);
    expect(bodyOf(result)).toMatchObject({ error: { code: 'InvalidCursor' } });
    expect(ddb.calls()).toHaveLength(0);
  });

  it("refuses another owner's cursor, so a cursor cannot page into their jobs", async () => {
    // Prepare: bob lists and gets a cursor over his own jobs
    ddb.on(QueryCommand).resolvesOnce({
      Items: [],
      LastEvaluatedKey: lastKeyOf(OTHER_USER_ARN, 'b-job', '2025-11-28T10:00:00.000Z', 'RUN1'),
    });
    const bobs = bodyOf(await handler(listJobsEvent({}, { userArn: OTHER_USER_ARN })));
    ddb.resetHistory();

    // Act: alice presents it
    const result = await handler(listJobsEvent({ cursor: String(bobs.nextCursor) }));

    // Assess
    expect(result.statusCode).toBe(400);
    expect(bodyOf(result)).toMatchObject({ error: { code: 'InvalidCursor' } });
    expect(ddb.calls()).toHaveLength(0);
  });

  it("refuses a cursor whose index key is the caller's but whose job key is another owner's", async () => {
    // Prepare
    const forged = {
      pk: `JOB#${OTHER_USER_ARN}#b-job`,
      sk: 'RUN#1',
      gsi1pk: `OWNER#${USER_ARN}`,
      gsi1sk: '2025-11-28T10:00:00.000Z#1',
    };
    const cursor = Buffer.from(JSON.stringify(forged)).toString('base64url');

    // Act
    const result = await handler(listJobsEvent({ cursor }));

    // Assess
    expect(result.statusCode).toBe(400);
    expect(ddb.calls()).toHaveLength(0);
  });

  it('refuses a cursor from the unfiltered list when a status filter is given', async () => {
    // Prepare
    ddb.on(QueryCommand).resolvesOnce({
      Items: [],
      LastEvaluatedKey: lastKeyOf(USER_ARN, 'a-job', '2025-11-28T10:00:00.000Z', 'RUN1'),
    });
    const page = bodyOf(await handler(listJobsEvent()));
    ddb.resetHistory();

    // Act
    const result = await handler(
      listJobsEvent({ status: 'RUNNING', cursor: String(page.nextCursor) }),
    );

    // Assess
    expect(result.statusCode).toBe(400);
    expect(bodyOf(result)).toMatchObject({ error: { code: 'InvalidCursor' } });
  });

  it("answers 400 InvalidCursor for the caller's own cursor with keys DynamoDB refuses", async () => {
    // Prepare: ownership checks pass, but no sort key may exceed 1,024 bytes
    const forged = {
      pk: `JOB#${USER_ARN}#a-job`,
      sk: 'ACTIVE',
      gsi1pk: `OWNER#${USER_ARN}`,
      gsi1sk: '9'.repeat(2000),
    };
    const cursor = Buffer.from(JSON.stringify(forged)).toString('base64url');
    const refused = Object.assign(
      new Error(
        'The provided starting key is invalid: Aggregated size of all range keys has exceeded the size limit of 1024 bytes',
      ),
      { name: 'ValidationException' },
    );
    ddb.on(QueryCommand).rejects(refused);

    // Act
    const result = await handler(listJobsEvent({ cursor }));

    // Assess
    expect(result.statusCode).toBe(400);
    expect(bodyOf(result)).toEqual({
      error: { code: 'InvalidCursor', message: 'The cursor is not valid for this list' },
    });
  });

  it('answers 500 for a ValidationException on a query without a cursor', async () => {
    // Prepare: then the query itself is wrong, which is never the caller's fault
    ddb.on(QueryCommand).rejects(Object.assign(new Error('bad'), { name: 'ValidationException' }));

    // Act
    const result = await handler(listJobsEvent());

    // Assess
    expect(result.statusCode).toBe(500);
  });

  it.each(['running', 'DONE', '', 'RUNNING,FAILED'])(
    'answers 400 InvalidStatus for status=%j',
    async (status) => {
      // Act
      const result = await handler(listJobsEvent({ status }));

      // Assess
      expect(result.statusCode).toBe(400);
      expect(bodyOf(result)).toMatchObject({ error: { code: 'InvalidStatus' } });
      expect(ddb.calls()).toHaveLength(0);
    },
  );

  it.each(['0', '101', '-1', '1.5', 'ten', '', '1e2', ' 5', '0x10', '020000'])(
    'answers 400 InvalidLimit for limit=%j',
    async (limit) => {
      // Act
      const result = await handler(listJobsEvent({ limit }));

      // Assess
      expect(result.statusCode).toBe(400);
      expect(bodyOf(result)).toMatchObject({ error: { code: 'InvalidLimit' } });
      expect(ddb.calls()).toHaveLength(0);
    },
  );

  it('answers 400 InvalidQuery for an unknown query parameter', async () => {
    // Act
    const result = await handler(listJobsEvent({ state: 'RUNNING' }));

    // Assess
    expect(result.statusCode).toBe(400);
    expect(bodyOf(result)).toMatchObject({
      error: { code: 'InvalidQuery', message: expect.stringContaining('state') },
    });
    expect(ddb.calls()).toHaveLength(0);
  });

  it('answers 400 InvalidQuery for a __proto__ parameter, which the event carries as an own key', async () => {
    // Prepare: the Lambda runtime parses the event with JSON.parse, as here
    const query = JSON.parse('{"__proto__":"x"}') as Record<string, string>;

    // Act
    const result = await handler(listJobsEvent(query));

    // Assess
    expect(result.statusCode).toBe(400);
    expect(bodyOf(result)).toMatchObject({
      error: { code: 'InvalidQuery', message: expect.stringContaining('__proto__') },
    });
    expect(ddb.calls()).toHaveLength(0);
  });

  it('ignores the SigV4 presign parameters of a presigned list', async () => {
    // Prepare: API Gateway passes a presigned URL's query on as it came.
    const presign = {
      'X-Amz-Algorithm': 'AWS4-HMAC-SHA256',
      'X-Amz-Credential': 'AKIAEXAMPLE/20260105/eu-west-1/execute-api/aws4_request',
      'X-Amz-Date': '20260105T100000Z',
      'X-Amz-Expires': '300',
      'X-Amz-SignedHeaders': 'host',
      'X-Amz-Signature': 'f'.repeat(64),
      'X-Amz-Security-Token': 'token',
    };

    // Act
    const result = await handler(listJobsEvent({ ...presign, limit: '5' }));

    // Assess
    expect(result.statusCode).toBe(200);
    const [query] = ddb.commandCalls(QueryCommand);
    expect(query?.args[0].input.Limit).toBe(5);
  });

  it('still answers 400 InvalidQuery for an unknown parameter beside the presign ones', async () => {
    // Act
    const result = await handler(
      listJobsEvent({ 'X-Amz-Signature': 'f'.repeat(64), 'X-Amz-Other': '1' }),
    );

    // Assess
    expect(result.statusCode).toBe(400);
    expect(bodyOf(result)).toMatchObject({
      error: { code: 'InvalidQuery', message: expect.stringContaining('X-Amz-Other') },
    });
    expect(ddb.calls()).toHaveLength(0);
  });

  it("lists only the caller's own partition", async () => {
    // Act
    await handler(listJobsEvent({}, { userArn: OTHER_USER_ARN }));

    // Assess
    const [query] = ddb.commandCalls(QueryCommand);
    expect(query?.args[0].input.ExpressionAttributeValues?.[':pk']).toEqual({
      S: `OWNER#${OTHER_USER_ARN}`,
    });
  });

  it('answers 403 without an IAM identity', async () => {
    // Act
    const result = await handler(listJobsEvent({}, { userArn: null }));

    // Assess
    expect(result.statusCode).toBe(403);
    expect(ddb.calls()).toHaveLength(0);
  });

  it('answers 500 with a generic message when DynamoDB fails', async () => {
    // Prepare
    ddb.on(QueryCommand).rejects(new Error('ResourceNotFoundException: no table jobs-table'));

    // Act
    const result = await handler(listJobsEvent());

    // Assess
    expect(result.statusCode).toBe(500);
    expect(bodyOf(result)).toEqual({
      error: { code: 'InternalError', message: 'An internal error occurred' },
    });
  });
});
