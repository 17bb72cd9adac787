/**
 * POST /jobs with fair-share limits, through the handler, on the local cloud's
 * DynamoDB (real conditions and transactions): a start over the owner's limit
 * is queued and announced, one over the queue cap is refused with 429, and
 * the idempotency and input checks hold on the real table too.
 */
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { ownerKeyId } from '../../../../core/limits';
import type { ApiHandler } from '../../../../functions/shared/http';
import { SlotStore } from '../../../../functions/shared/slots';
import { JobStore } from '../../../../functions/shared/store';
import { bodyOf, startJobEvent, USER_ARN } from '../../helpers/api-event';
import { type LambdaEndpoint, startLambdaEndpoint } from '../../helpers/lambda-endpoint';
import { type LocalTable, startLocalJobsTable } from '../../helpers/local-dynamodb';

const LIMITS = { perOwner: 1, maxQueuedPerOwner: 1, perType: {} };

const eventBridge = mockClient(EventBridgeClient);
let table: LocalTable;
let lambda: LambdaEndpoint;
let handler: ApiHandler;
/** The table as the functions see it, to read what a request left behind. */
let store: JobStore;
let test = 0;
/** A caller of this test's own, so no counter or queue carries over between tests. */
let caller: string;

beforeAll(async () => {
  table = await startLocalJobsTable();
  lambda = await startLambdaEndpoint();
  const endpoint = await table.client.config.endpoint?.();
  if (!endpoint) throw new Error('The local table has no endpoint');
  vi.resetModules();
  vi.stubEnv('JOBS_TABLE_NAME', table.tableName);
  vi.stubEnv('WORKER_FUNCTION_NAME', 'eventjobs-worker');
  vi.stubEnv('EVENT_BUS_NAME', 'eventjobs-bus');
  vi.stubEnv('OWNER_CONCURRENCY', String(LIMITS.perOwner));
  vi.stubEnv('MAX_QUEUED_PER_OWNER', String(LIMITS.maxQueuedPerOwner));
  vi.stubEnv('MAX_INPUT_BYTES', '');
  vi.stubEnv('AWS_REGION', 'eu-west-1');
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIAUNITTEST00000000');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'unit-test-secret');
  vi.stubEnv('AWS_ENDPOINT_URL_LAMBDA', lambda.url);
  vi.stubEnv('AWS_ENDPOINT_URL_DYNAMODB', `http://${endpoint.hostname}:${endpoint.port}`);
  ({ handler } = await import('../../../../functions/start-job/handler'));
  store = new JobStore(
    table.client,
    table.tableName,
    new SlotStore(table.client, table.tableName, LIMITS),
  );
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await lambda.close();
  await table.close();
});

beforeEach(() => {
  test += 1;
  caller = `${USER_ARN}-${test}`;
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

function start(name: string, input: unknown = { value: name }) {
  return handler(startJobEvent({ type: 'echo', name, input }, { userArn: caller }));
}

/** A start whose body is exactly this JSON text. */
function startText(body: string) {
  return handler(startJobEvent(body, { userArn: caller }));
}

describe('POST /jobs over the owner limit', () => {
  it('answers 202 QUEUED with its queue position, announces Job Queued, and invokes no worker', async () => {
    // Prepare
    await start('first');

    // Act
    const result = await start('second');

    // Assess
    expect(result.statusCode).toBe(202);
    expect(result.headers?.location).toBe('/jobs/second');
    const body = bodyOf(result);
    expect(body).toMatchObject({ jobName: 'second', status: 'QUEUED', queue: { position: 1 } });
    expect(lambda.received).toHaveLength(1);
    const stored = await store.getActive(caller, 'second');
    expect(stored).toMatchObject({ status: 'QUEUED', runId: body.runId });
    const entries = eventBridge
      .commandCalls(PutEventsCommand)
      .flatMap((call) => call.args[0].input.Entries ?? []);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      EventBusName: 'eventjobs-bus',
      Source: 'eventjobs',
      DetailType: 'Job Queued',
    });
    expect(JSON.parse(entries[0]?.Detail ?? 'null')).toEqual({
      owner: caller,
      jobName: 'second',
      runId: body.runId,
      type: 'echo',
      queuedAt: stored?.createdAt,
      position: 1,
    });
  });

  it('answers 429 QueueFull with retry-after: 30 beyond maxQueuedPerOwner, and stores nothing', async () => {
    // Prepare
    await start('running');
    await start('waiting');

    // Act
    const result = await start('one-too-many');

    // Assess
    expect(result.statusCode).toBe(429);
    expect(result.headers?.['retry-after']).toBe('30');
    expect(bodyOf(result)).toEqual({
      error: { code: 'QueueFull', message: expect.stringMatching(/\S/) },
    });
    expect(await store.getActive(caller, 'one-too-many')).toBeUndefined();
    const counters = await store.slots?.readCounters([ownerKeyId(caller)]);
    expect(counters?.get(ownerKeyId(caller))).toMatchObject({ running: 1, queued: 1 });
    expect(lambda.received).toHaveLength(1);
  });
});

describe('POST /jobs on the real table: inputs', () => {
  it('answers 409 to echo inputs that differ only under a nested __proto__ key', async () => {
    // Act
    const first = await startText(
      '{"type":"echo","name":"proto","input":{"value":{"__proto__":{"a":1}}}}',
    );
    const second = await startText(
      '{"type":"echo","name":"proto","input":{"value":{"__proto__":{"b":2}}}}',
    );

    // Assess
    expect(first.statusCode).toBe(202);
    expect(second.statusCode).toBe(409);
    expect(bodyOf(second)).toMatchObject({ error: { code: 'JobNameInUse' } });
    expect(lambda.received).toHaveLength(1);
  });

  it('answers 400 InvalidInput to a number beyond a double (1e400), and stores nothing', async () => {
    // Act
    const result = await startText('{"type":"echo","name":"huge","input":{"value":1e400}}');

    // Assess
    expect(result.statusCode).toBe(400);
    expect(bodyOf(result)).toMatchObject({ error: { code: 'InvalidInput' } });
    expect(await store.getActive(caller, 'huge')).toBeUndefined();
    expect(lambda.received).toHaveLength(0);
  });
});
