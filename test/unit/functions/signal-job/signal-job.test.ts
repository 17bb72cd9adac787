import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
} from '@aws-sdk/client-dynamodb';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { Defaults } from '../../../../core/config';
import type { ActiveJob } from '../../../../core/model';
import { MAX_STEP_RESULT_BYTES } from '../../../../core/steps';
import type { ApiHandler } from '../../../../functions/shared/http';
import {
  type ApiEventOptions,
  activeItem,
  activeJob,
  apiEvent,
  bodyOf,
  jobOutcome,
  OTHER_USER_ARN,
  outcomeItem,
  USER_ARN,
} from '../../helpers/api-event';
import { capturePowertoolsOutput, type PowertoolsOutput } from '../../helpers/powertools-output';

const NOW = new Date('2025-11-28T12:00:00.000Z');
const RUN_ID = '01JDXR3Y5Q6Z8A9B0C1D2E3F4G';
const ALICE_PK = `JOB#${USER_ARN}#nightly-report`;

const ddb = mockClient(DynamoDBClient);
const lambda = mockClient(LambdaClient);
let handler: ApiHandler;
let output: PowertoolsOutput;

/** `POST /jobs/{name}/signals/{signal}`, as API Gateway delivers it. */
function signalEvent(
  name: string,
  signal: string,
  options: Omit<ApiEventOptions, 'method' | 'path' | 'pathParameters' | 'routeKey'> = {},
) {
  return apiEvent({
    ...options,
    method: 'POST',
    path: `/jobs/${encodeURIComponent(name)}/signals/${encodeURIComponent(signal)}`,
    routeKey: 'POST /jobs/{name}/signals/{signal}',
    pathParameters: { name, signal },
  });
}

/** The active record as GetItem answers it; `waitingFor` is written as the worker would. */
async function givenActive(...jobs: ActiveJob[]) {
  const items = await Promise.all(
    jobs.map(async (job) => ({
      ...(await activeItem(job)),
      ...(job.waitingFor ? { waitingFor: { S: job.waitingFor } } : {}),
      ...(job.leaseId ? { leaseId: { S: job.leaseId } } : {}),
    })),
  );
  const onActive = ddb.on(GetItemCommand, { Key: { pk: { S: ALICE_PK }, sk: { S: 'ACTIVE' } } });
  for (const [index, item] of items.entries()) {
    if (index < items.length - 1) onActive.resolvesOnce({ Item: item });
    else onActive.resolves({ Item: item });
  }
}

/** A signal of that name is stored already: the put's condition fails and returns it. */
function givenStoredSignal(payloadJson: string, receivedAt: string) {
  ddb.on(PutItemCommand).rejects(
    new ConditionalCheckFailedException({
      message: 'The conditional request failed',
      $metadata: {},
      Item: {
        pk: { S: ALICE_PK },
        sk: { S: `SIGNAL#${RUN_ID}#approval` },
        name: { S: 'approval' },
        payloadJson: { S: payloadJson },
        receivedAt: { S: receivedAt },
      },
    }),
  );
}

beforeAll(async () => {
  vi.stubEnv('JOBS_TABLE_NAME', 'jobs-table');
  vi.stubEnv('WORKER_FUNCTION_NAME', 'eventjobs-worker');
  vi.stubEnv('OUTCOME_RETENTION_SECONDS', '');
  ({ handler } = await import('../../../../functions/signal-job/handler'));
});

afterAll(() => {
  vi.unstubAllEnvs();
});

beforeEach(() => {
  ddb.reset();
  lambda.reset();
  ddb.on(GetItemCommand).resolves({});
  ddb.on(PutItemCommand).resolves({});
  ddb.on(QueryCommand).resolves({ Items: [] });
  lambda.on(InvokeCommand).resolves({ StatusCode: 202 });
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(NOW);
  output = capturePowertoolsOutput();
});

afterEach(() => {
  vi.useRealTimers();
  ddb.reset();
  lambda.reset();
});

describe('POST /jobs/{name}/signals/{signal}: storing', () => {
  it("stores the signal in the run's partition and answers 202 with when it was received", async () => {
    // Prepare
    const deadlineAt = '2025-11-28T13:00:00.000Z';
    await givenActive(activeJob({ deadlineAt }));

    // Act
    const result = await handler(
      signalEvent('nightly-report', 'approval', { body: { approved: true, by: 'carol' } }),
    );

    // Assess
    expect(result.statusCode).toBe(202);
    expect(bodyOf(result)).toEqual({
      jobName: 'nightly-report',
      runId: RUN_ID,
      signal: 'approval',
      receivedAt: NOW.toISOString(),
    });
    const [put] = ddb.commandCalls(PutItemCommand);
    expect(put?.args[0].input).toMatchObject({
      TableName: 'jobs-table',
      Item: {
        pk: { S: ALICE_PK },
        sk: { S: `SIGNAL#${RUN_ID}#approval` },
        payloadJson: { S: '{"approved":true,"by":"carol"}' },
        receivedAt: { S: NOW.toISOString() },
        // The run's deadline plus the outcome retention, as its steps.
        expiresAt: {
          N: String(Date.parse(deadlineAt) / 1000 + Defaults.outcomeRetentionSeconds),
        },
      },
      ConditionExpression: 'attribute_not_exists(pk)',
    });
  });

  it('takes an empty body as the payload null', async () => {
    // Prepare
    await givenActive(activeJob());

    // Act
    const result = await handler(signalEvent('nightly-report', 'approval'));

    // Assess
    expect(result.statusCode).toBe(202);
    const [put] = ddb.commandCalls(PutItemCommand);
    expect(put?.args[0].input.Item?.payloadJson).toEqual({ S: 'null' });
  });

  it('keeps a signal for a queued run, which has no deadline yet, as long as the run can last', async () => {
    // Prepare
    await givenActive(activeJob({ status: 'QUEUED', timeoutSeconds: 3600 }));

    // Act
    const result = await handler(signalEvent('nightly-report', 'approval', { body: 'true' }));

    // Assess
    expect(result.statusCode).toBe(202);
    const [put] = ddb.commandCalls(PutItemCommand);
    expect(put?.args[0].input.Item?.expiresAt).toEqual({
      N: String(NOW.getTime() / 1000 + 3600 + Defaults.outcomeRetentionSeconds),
    });
  });

  it('answers 202 duplicate with the first receivedAt when the same payload comes again', async () => {
    // Prepare: stored with its keys in another order; canonical JSON makes them equal
    await givenActive(activeJob());
    givenStoredSignal('{"by":"carol","approved":true}', '2025-11-28T11:00:00.000Z');

    // Act
    const result = await handler(
      signalEvent('nightly-report', 'approval', { body: { approved: true, by: 'carol' } }),
    );

    // Assess
    expect(result.statusCode).toBe(202);
    expect(bodyOf(result)).toEqual({
      jobName: 'nightly-report',
      runId: RUN_ID,
      signal: 'approval',
      receivedAt: '2025-11-28T11:00:00.000Z',
      duplicate: true,
    });
  });

  it('answers 409 SignalConflict with the first receivedAt when a different payload comes', async () => {
    // Prepare
    await givenActive(activeJob());
    givenStoredSignal('{"approved":true}', '2025-11-28T11:00:00.000Z');

    // Act
    const result = await handler(
      signalEvent('nightly-report', 'approval', { body: { approved: false } }),
    );

    // Assess
    expect(result.statusCode).toBe(409);
    expect(bodyOf(result)).toMatchObject({
      error: { code: 'SignalConflict' },
      receivedAt: '2025-11-28T11:00:00.000Z',
    });
    expect(lambda.commandCalls(InvokeCommand)).toHaveLength(0);
  });
});

describe('POST /jobs/{name}/signals/{signal}: which job', () => {
  it('answers 404 NotFound when no job of that name is running or retained', async () => {
    // Act
    const result = await handler(signalEvent('nightly-report', 'approval', { body: '{}' }));

    // Assess
    expect(result.statusCode).toBe(404);
    expect(bodyOf(result)).toMatchObject({ error: { code: 'NotFound' } });
    expect(ddb.commandCalls(PutItemCommand)).toHaveLength(0);
  });

  it('answers 409 JobFinished with the job when it has finished', async () => {
    // Prepare
    const outcome = jobOutcome({ status: 'SUCCEEDED' });
    ddb.on(QueryCommand).resolves({ Items: [await outcomeItem(outcome)] });

    // Act
    const result = await handler(signalEvent('nightly-report', 'approval', { body: '{}' }));

    // Assess
    expect(result.statusCode).toBe(409);
    expect(bodyOf(result)).toMatchObject({
      error: { code: 'JobFinished' },
      job: { jobName: 'nightly-report', runId: outcome.runId, status: 'SUCCEEDED' },
    });
    expect(ddb.commandCalls(PutItemCommand)).toHaveLength(0);
  });

  it("answers 404 for another caller's job of the same name: the key is per owner", async () => {
    // Prepare: only alice's record exists
    await givenActive(activeJob({ owner: USER_ARN }));

    // Act
    const asBob = await handler(
      signalEvent('nightly-report', 'approval', { body: '{}', userArn: OTHER_USER_ARN }),
    );

    // Assess
    expect(asBob.statusCode).toBe(404);
    const [get] = ddb.commandCalls(GetItemCommand);
    expect(get?.args[0].input.Key?.pk).toEqual({ S: `JOB#${OTHER_USER_ARN}#nightly-report` });
    expect(ddb.commandCalls(PutItemCommand)).toHaveLength(0);
  });
});

describe('POST /jobs/{name}/signals/{signal}: resuming the run', () => {
  it('invokes the worker with resume "signal" when the run waits for this signal with no lease', async () => {
    // Prepare
    await givenActive(
      activeJob({ waitingFor: 'approval', deadlineAt: '2025-11-28T13:00:00.000Z' }),
    );

    // Act
    const result = await handler(signalEvent('nightly-report', 'approval', { body: '{}' }));

    // Assess
    expect(result.statusCode).toBe(202);
    const invokes = lambda.commandCalls(InvokeCommand);
    expect(invokes).toHaveLength(1);
    expect(invokes[0]?.args[0].input).toMatchObject({
      FunctionName: 'eventjobs-worker',
      InvocationType: 'Event',
    });
    const payload = JSON.parse(String(invokes[0]?.args[0].input.Payload));
    expect(payload).toMatchObject({
      owner: USER_ARN,
      jobName: 'nightly-report',
      runId: RUN_ID,
      type: 'echo',
      resume: 'signal',
    });
  });

  it('reads the record again after the put: a run that suspended meanwhile is resumed', async () => {
    // Prepare: running when first read, waiting for the signal when read after the put
    await givenActive(activeJob({ leaseId: 'lease-1' }), activeJob({ waitingFor: 'approval' }));

    // Act
    const result = await handler(signalEvent('nightly-report', 'approval', { body: '{}' }));

    // Assess
    expect(result.statusCode).toBe(202);
    expect(lambda.commandCalls(InvokeCommand)).toHaveLength(1);
  });

  it.each([
    ['the run is running (it holds a lease)', { waitingFor: 'approval', leaseId: 'lease-1' }],
    ['the run waits for another signal', { waitingFor: 'review' }],
    ['the run waits for nothing', {}],
    ['the run is queued', { status: 'QUEUED' as const }],
  ])('does not invoke the worker when %s', async (_why, overrides) => {
    // Prepare
    await givenActive(activeJob(overrides));

    // Act
    const result = await handler(signalEvent('nightly-report', 'approval', { body: '{}' }));

    // Assess
    expect(result.statusCode).toBe(202);
    expect(lambda.commandCalls(InvokeCommand)).toHaveLength(0);
  });

  it('does not invoke the worker for a newer run of the name than the one signalled', async () => {
    // Prepare
    await givenActive(
      activeJob(),
      activeJob({ runId: '01JDXR3Y5Q6Z8A9B0C1D2E3F4H', waitingFor: 'approval' }),
    );

    // Act
    const result = await handler(signalEvent('nightly-report', 'approval', { body: '{}' }));

    // Assess
    expect(result.statusCode).toBe(202);
    expect(lambda.commandCalls(InvokeCommand)).toHaveLength(0);
  });

  it('still answers 202 when the worker cannot be invoked: the sweeper re-drives the run', async () => {
    // Prepare
    await givenActive(activeJob({ waitingFor: 'approval' }));
    lambda.on(InvokeCommand).rejects(new Error('Rate exceeded'));

    // Act
    const result = await handler(signalEvent('nightly-report', 'approval', { body: '{}' }));

    // Assess
    expect(result.statusCode).toBe(202);
    expect(lambda.commandCalls(InvokeCommand)).toHaveLength(1);
    expect(output.logs()).toContainEqual(
      expect.objectContaining({ level: 'WARN', errorMessage: 'Rate exceeded', signal: 'approval' }),
    );
  });

  it('resumes a waiting run on a duplicate too: the first invoke may have been lost', async () => {
    // Prepare
    await givenActive(activeJob({ waitingFor: 'approval' }));
    givenStoredSignal('{}', '2025-11-28T11:00:00.000Z');

    // Act
    const result = await handler(signalEvent('nightly-report', 'approval', { body: '{}' }));

    // Assess
    expect(bodyOf(result)).toMatchObject({ duplicate: true });
    expect(lambda.commandCalls(InvokeCommand)).toHaveLength(1);
  });
});

describe('POST /jobs/{name}/signals/{signal}: bad input changes nothing', () => {
  it.each([
    ['empty', ''],
    ['only dots', '..'],
    ['129 characters', 'a'.repeat(129)],
    ['a slash', 'a/b'],
    ['a hash', 'a#b'],
    ['a space', 'a b'],
  ])('answers 400 InvalidSignalName for a signal name with %s', async (_what, signal) => {
    // Prepare
    await givenActive(activeJob());

    // Act
    const result = await handler(signalEvent('nightly-report', signal, { body: '{}' }));

    // Assess
    expect(result.statusCode).toBe(400);
    expect(bodyOf(result)).toMatchObject({ error: { code: 'InvalidSignalName' } });
    expect(ddb.commandCalls(PutItemCommand)).toHaveLength(0);
  });

  it('accepts a signal name of 128 characters', async () => {
    // Prepare
    await givenActive(activeJob());

    // Act
    const result = await handler(signalEvent('nightly-report', 'a'.repeat(128), { body: '{}' }));

    // Assess
    expect(result.statusCode).toBe(202);
  });

  it('answers 400 InvalidJobName for a malformed job name', async () => {
    // Act
    const result = await handler(signalEvent('..', 'approval', { body: '{}' }));

    // Assess
    expect(result.statusCode).toBe(400);
    expect(bodyOf(result)).toMatchObject({ error: { code: 'InvalidJobName' } });
  });

  it.each([
    ['not JSON', { body: '{"approved":' }],
    ['a byte order mark before the JSON', { body: '\uFEFF{}' }],
  ])('answers 400 InvalidJson for a body that is %s', async (_what, options) => {
    // Prepare
    await givenActive(activeJob());

    // Act
    const result = await handler(signalEvent('nightly-report', 'approval', options));

    // Assess
    expect(result.statusCode).toBe(400);
    expect(bodyOf(result)).toMatchObject({ error: { code: 'InvalidJson' } });
    expect(ddb.commandCalls(PutItemCommand)).toHaveLength(0);
  });

  it('answers 400 InvalidJson for a base64 body that is not UTF-8', async () => {
    // Prepare
    await givenActive(activeJob());
    const event = signalEvent('nightly-report', 'approval', { body: '{}' });
    const notUtf8 = {
      ...event,
      body: Buffer.from([0x22, 0xff, 0x22]).toString('base64'),
      isBase64Encoded: true,
    };

    // Act
    const result = await handler(notUtf8);

    // Assess
    expect(result.statusCode).toBe(400);
    expect(bodyOf(result)).toMatchObject({ error: { code: 'InvalidJson' } });
  });

  it('answers 415 for a body that is not declared JSON', async () => {
    // Act
    const result = await handler(
      signalEvent('nightly-report', 'approval', {
        body: '{}',
        headers: { 'content-type': 'text/plain' },
      }),
    );

    // Assess
    expect(result.statusCode).toBe(415);
  });

  it('answers 413 PayloadTooLarge for a payload over 32 KiB of JSON, and accepts one of exactly 32 KiB', async () => {
    // Prepare: a JSON string of n bytes is n - 2 characters between its quotes
    await givenActive(activeJob());
    const exactly = JSON.stringify('x'.repeat(MAX_STEP_RESULT_BYTES - 2));
    const over = JSON.stringify('x'.repeat(MAX_STEP_RESULT_BYTES - 1));

    // Act
    const tooLarge = await handler(signalEvent('nightly-report', 'approval', { body: over }));
    const fits = await handler(signalEvent('nightly-report', 'approval', { body: exactly }));

    // Assess
    expect(tooLarge.statusCode).toBe(413);
    expect(bodyOf(tooLarge)).toMatchObject({ error: { code: 'PayloadTooLarge' } });
    expect(fits.statusCode).toBe(202);
    expect(ddb.commandCalls(PutItemCommand)).toHaveLength(1);
  });

  it('answers 413 for a body far over the limit before parsing it', async () => {
    // Act
    const result = await handler(
      signalEvent('nightly-report', 'approval', { body: `[${'1,'.repeat(40_000)}1]` }),
    );

    // Assess
    expect(result.statusCode).toBe(413);
    expect(ddb.commandCalls(GetItemCommand)).toHaveLength(0);
  });

  it('answers 400 InvalidPayload for a number beyond a double', async () => {
    // Prepare
    await givenActive(activeJob());

    // Act
    const result = await handler(
      signalEvent('nightly-report', 'approval', { body: '{"amount":1e400}' }),
    );

    // Assess
    expect(result.statusCode).toBe(400);
    expect(bodyOf(result)).toMatchObject({ error: { code: 'InvalidPayload' } });
    expect(ddb.commandCalls(PutItemCommand)).toHaveLength(0);
  });

  it('answers 400 InvalidPayload for a payload nested deeper than a job input may be', async () => {
    // Prepare
    await givenActive(activeJob());

    // Act
    const result = await handler(
      signalEvent('nightly-report', 'approval', { body: `${'['.repeat(65)}${']'.repeat(65)}` }),
    );

    // Assess
    expect(result.statusCode).toBe(400);
    expect(bodyOf(result)).toMatchObject({ error: { code: 'InvalidPayload' } });
  });
});
