/**
 * POST /jobs/batch with fair-share limits, on the local cloud's DynamoDB:
 * entries over the owner's limit are queued (with their place), and one
 * over the queue's cap fails on its own with QueueFull, which is not the
 * sender's fault and says when to try again.
 */
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ApiHandler } from '../../../../functions/shared/http';
import { QUEUE_FULL_RETRY_AFTER_SECONDS } from '../../../../functions/start-job/service';
import { apiEvent, bodyOf, USER_ARN } from '../../helpers/api-event';
import { lambdaContext } from '../../helpers/lambda-context';
import { type LambdaEndpoint, startLambdaEndpoint } from '../../helpers/lambda-endpoint';
import { type LocalTable, startLocalJobsTable } from '../../helpers/local-dynamodb';

const eventBridge = mockClient(EventBridgeClient);
let table: LocalTable;
let lambda: LambdaEndpoint;
let handler: ApiHandler;

beforeAll(async () => {
  table = await startLocalJobsTable();
  lambda = await startLambdaEndpoint();
  const endpoint = await table.client.config.endpoint?.();
  if (!endpoint) throw new Error('The local table has no endpoint');
  vi.resetModules();
  vi.stubEnv('JOBS_TABLE_NAME', table.tableName);
  vi.stubEnv('WORKER_FUNCTION_NAME', 'eventjobs-worker');
  vi.stubEnv('EVENT_BUS_NAME', 'eventjobs-bus');
  vi.stubEnv('OWNER_CONCURRENCY', '1');
  vi.stubEnv('MAX_QUEUED_PER_OWNER', '1');
  vi.stubEnv('MAX_INPUT_BYTES', '');
  vi.stubEnv('AWS_REGION', 'eu-west-1');
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIAUNITTEST00000000');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'unit-test-secret');
  vi.stubEnv('AWS_ENDPOINT_URL_LAMBDA', lambda.url);
  vi.stubEnv('AWS_ENDPOINT_URL_DYNAMODB', `http://${endpoint.hostname}:${endpoint.port}`);
  ({ handler } = await import('../../../../functions/start-job/handler'));
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await lambda.close();
  await table.close();
});

beforeEach(() => {
  eventBridge.reset();
  eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e1' }] });
  lambda.reset();
  vi.spyOn(console, 'log').mockImplementation(() => undefined);
  vi.spyOn(console, 'warn').mockImplementation(() => undefined);
  vi.spyOn(console, 'error').mockImplementation(() => undefined);
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe('POST /jobs/batch over the owner’s limits', () => {
  it('runs one, queues one (without counting its place), and refuses the third with QueueFull', async () => {
    // Prepare
    const jobs = ['a', 'b', 'c'].map((id) => ({
      id,
      type: 'echo',
      name: `limited-${id}`,
      input: { value: id },
    }));

    // Act
    const result = await handler(
      apiEvent({
        method: 'POST',
        path: '/jobs/batch',
        routeKey: 'POST /jobs/batch',
        body: { jobs },
        userArn: `${USER_ARN}-batch`,
      }),
      lambdaContext({ timeoutMs: 29_000 }),
    );

    // Assess: which entry gets the slot is a race; what each kind of entry answers is not
    expect(result.statusCode).toBe(200);
    const body = bodyOf(result) as {
      successful: { id: string; status: string; queue?: { position: number } }[];
      failed: { id: string; code: string; senderFault: boolean; retryAfterSeconds?: number }[];
    };
    const statuses = body.successful.map((s) => s.status).sort();
    expect(statuses).toEqual(['QUEUED', 'RUNNING']);
    // A batch does not count a queued entry's place (GET /jobs/{name} does).
    expect(body.successful.find((s) => s.status === 'QUEUED')?.queue).toBeUndefined();
    expect(body.successful.find((s) => s.status === 'RUNNING')?.queue).toBeUndefined();
    expect(body.failed).toEqual([
      {
        id: expect.any(String),
        code: 'QueueFull',
        message: expect.any(String),
        senderFault: false,
        retryAfterSeconds: QUEUE_FULL_RETRY_AFTER_SECONDS,
      },
    ]);
    expect(lambda.received).toHaveLength(1);
  });
});
