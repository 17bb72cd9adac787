import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  DynamoDBClient,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { workerPayloadSchema } from '../../../../core/event-schemas';
import type { ApiHandler } from '../../../../functions/shared/http';
import { canonicalJson, sha256Hex } from '../../../../functions/shared/json';
import type { LocalCredential } from '../../../../local/contracts';
import { verifyRequest } from '../../../../local/sigv4';
import { activeItem, activeJob, bodyOf, startJobEvent, USER_ARN } from '../../helpers/api-event';
import { lambdaContext } from '../../helpers/lambda-context';
import {
  type LambdaEndpoint,
  type ReceivedInvoke,
  startLambdaEndpoint,
} from '../../helpers/lambda-endpoint';
import { capturePowertoolsOutput, type PowertoolsOutput } from '../../helpers/powertools-output';

const NOW = new Date('2025-11-28T12:00:00.000Z');
const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;

const ddb = mockClient(DynamoDBClient);
/** Lambda's Invoke endpoint, which the handler reaches through AWS_ENDPOINT_URL_LAMBDA. */
let lambda: LambdaEndpoint;

beforeAll(async () => {
  lambda = await startLambdaEndpoint();
});

/** Loads the handler afresh with the given environment, as a cold start would. */
async function loadHandler(env: Record<string, string> = {}): Promise<ApiHandler> {
  vi.resetModules();
  vi.stubEnv('JOBS_TABLE_NAME', 'jobs-table');
  vi.stubEnv('WORKER_FUNCTION_NAME', 'eventjobs-worker');
  vi.stubEnv('MAX_INPUT_BYTES', '');
  vi.stubEnv('AWS_REGION', 'eu-west-1');
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIAUNITTEST00000000');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'unit-test-secret');
  vi.stubEnv('AWS_SESSION_TOKEN', 'unit-test-session');
  vi.stubEnv('AWS_ENDPOINT_URL_LAMBDA', lambda.url);
  for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
  const module = await import('../../../../functions/start-job/handler');
  return module.handler;
}

function payloadOf(invoke: ReceivedInvoke | undefined): unknown {
  return JSON.parse(invoke?.body ?? 'null');
}

/** What DynamoDB throws when the name already has a running job, with that job's item. */
async function nameTaken(existing = activeJob()) {
  return new ConditionalCheckFailedException({
    message: 'The conditional request failed',
    $metadata: {},
    Item: await activeItem(existing),
  });
}

let output: PowertoolsOutput;

beforeEach(() => {
  ddb.reset();
  lambda.reset();
  ddb.on(PutItemCommand).resolves({});
  ddb.on(DeleteItemCommand).resolves({});
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(NOW);
  output = capturePowertoolsOutput();
});

afterEach(() => {
  vi.useRealTimers();
  ddb.reset();
  lambda.reset();
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await lambda.close();
});

describe('POST /jobs: starting a job', () => {
  it('claims the name, invokes the worker asynchronously and answers 202 with a Location', async () => {
    // Prepare
    const handler = await loadHandler();
    const input = { value: { b: 2, a: [1, 'x'] } };

    // Act
    const result = await handler(startJobEvent({ type: 'echo', name: 'greeting', input }));

    // Assess: the response
    expect(result.statusCode).toBe(202);
    expect(result.headers?.location).toBe('/jobs/greeting');
    const body = bodyOf(result);
    expect(body).toEqual({
      jobName: 'greeting',
      runId: expect.stringMatching(ULID),
      status: 'RUNNING',
      statusUrl: 'https://abc123defg.execute-api.eu-west-1.amazonaws.com/jobs/greeting',
    });

    // Assess: the record, written only if the name is free, under the caller's key
    const [put] = ddb.commandCalls(PutItemCommand);
    expect(put?.args[0].input).toMatchObject({
      TableName: 'jobs-table',
      ConditionExpression: 'attribute_not_exists(pk)',
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      Item: {
        pk: { S: `JOB#${USER_ARN}#greeting` },
        sk: { S: 'ACTIVE' },
        owner: { S: USER_ARN },
        jobName: { S: 'greeting' },
        runId: { S: body.runId },
        type: { S: 'echo' },
        status: { S: 'RUNNING' },
        input: { S: JSON.stringify(input) },
        inputHash: { S: sha256Hex(canonicalJson(input)) },
        createdAt: { S: NOW.toISOString() },
        updatedAt: { S: NOW.toISOString() },
      },
    });

    // Assess: the worker gets a well-formed payload, fire and forget
    const [invoke] = lambda.received;
    expect(invoke).toMatchObject({
      method: 'POST',
      functionName: 'eventjobs-worker',
      invocationType: 'Event',
    });
    expect(invoke?.headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIAUNITTEST00000000\/\d{8}\/eu-west-1\/lambda\/aws4_request, /,
    );
    expect(invoke?.headers['x-amz-security-token']).toBe('unit-test-session');
    const payload = workerPayloadSchema.parse(payloadOf(invoke));
    expect(payload).toEqual({
      owner: USER_ARN,
      jobName: 'greeting',
      runId: body.runId,
      type: 'echo',
      input,
      submittedAt: NOW.toISOString(),
    });
    expect(ddb.commandCalls(DeleteItemCommand)).toHaveLength(0);
  });

  it("signs the Invoke so that the local cloud's verifier accepts it", async () => {
    // Prepare
    const handler = await loadHandler();
    const role: LocalCredential = {
      name: 'start-job',
      accessKeyId: 'AKIAUNITTEST00000000',
      secretAccessKey: 'unit-test-secret',
      sessionToken: 'unit-test-session',
      accountId: '123456789012',
      arn: 'arn:aws:sts::123456789012:assumed-role/StartJob/start-job',
      userId: 'AROAUNITTEST:start-job',
    };

    // Act
    await handler(startJobEvent({ type: 'echo', name: 'greeting', input: { value: 'héllo' } }));

    // Assess: the SDK's signature over the request as it arrived, for lambda in the region
    const [invoke] = lambda.received;
    const verified = await verifyRequest(
      {
        method: invoke?.method ?? '',
        rawPath: invoke?.rawPath ?? '',
        rawQuery: '',
        headers: invoke?.headers ?? {},
        body: invoke?.body ?? '',
      },
      { lookup: (id) => (id === role.accessKeyId ? role : undefined) },
      { region: 'eu-west-1', service: 'lambda' },
    );
    expect(verified).toMatchObject({ ok: true, service: 'lambda', region: 'eu-west-1' });
  });

  it('generates a name that sorts by start time when none is given', async () => {
    // Prepare
    const handler = await loadHandler();
    const request = { type: 'sleep', input: { seconds: 1 } };

    // Act
    const first = bodyOf(await handler(startJobEvent(request)));
    vi.setSystemTime(new Date(NOW.getTime() + 1));
    const second = bodyOf(await handler(startJobEvent(request)));

    // Assess
    expect(first.jobName).toMatch(ULID);
    expect(second.jobName).toMatch(ULID);
    expect(String(first.jobName) < String(second.jobName)).toBe(true);
    expect(first.jobName).not.toBe(first.runId);
  });

  it('puts the stage in the Location and status URL when the API is not on $default', async () => {
    // Prepare
    const handler = await loadHandler();

    // Act
    const result = await handler(
      startJobEvent({ type: 'echo', name: 'staged', input: { value: 1 } }, { stage: 'prod' }),
    );

    // Assess
    expect(result.headers?.location).toBe('/prod/jobs/staged');
    expect(bodyOf(result).statusUrl).toBe(
      'https://abc123defg.execute-api.eu-west-1.amazonaws.com/prod/jobs/staged',
    );
  });

  it('accepts a base64-encoded body', async () => {
    // Prepare
    const handler = await loadHandler();

    // Act
    const result = await handler(
      startJobEvent({ type: 'echo', name: 'b64', input: { value: 'ü' } }, { base64: true }),
    );

    // Assess
    expect(result.statusCode).toBe(202);
    expect(payloadOf(lambda.received[0])).toMatchObject({
      input: { value: 'ü' },
    });
  });

  it.each([
    'application/json; charset=utf-8',
    'Application/JSON',
    'application/vnd.eventjobs+json',
  ])('accepts content-type %s', async (contentType) => {
    // Prepare
    const handler = await loadHandler();

    // Act
    const result = await handler(
      startJobEvent(
        { type: 'echo', name: 'ct', input: { value: 1 } },
        { headers: { 'content-type': contentType } },
      ),
    );

    // Assess
    expect(result.statusCode).toBe(202);
  });

  it('keys an assumed role by the role, so its sessions share their jobs', async () => {
    // Prepare
    const handler = await loadHandler();
    const session = 'arn:aws:sts::123456789012:assumed-role/ci-deployer/run-4711';

    // Act
    await handler(
      startJobEvent({ type: 'echo', name: 'ci', input: { value: 1 } }, { userArn: session }),
    );

    // Assess
    const role = 'arn:aws:sts::123456789012:assumed-role/ci-deployer';
    const [put] = ddb.commandCalls(PutItemCommand);
    expect(put?.args[0].input.Item?.pk).toEqual({ S: `JOB#${role}#ci` });
    expect(payloadOf(lambda.received[0])).toMatchObject({ owner: role });
  });
});

describe('POST /jobs: a name that already has a running job', () => {
  it('answers 200 with the running job when the same type and input are retried', async () => {
    // Prepare: the running job was started with the same input, keys in another order
    const handler = await loadHandler();
    const existing = activeJob({
      jobName: 'greeting',
      type: 'echo',
      input: { value: { a: 1, b: 2 } },
      inputHash: sha256Hex(canonicalJson({ value: { b: 2, a: 1 } })),
      startedAt: '2025-11-28T10:00:01.000Z',
    });
    ddb.on(PutItemCommand).rejects(await nameTaken(existing));

    // Act
    const result = await handler(
      startJobEvent({ type: 'echo', name: 'greeting', input: { value: { b: 2, a: 1 } } }),
    );

    // Assess
    expect(result.statusCode).toBe(200);
    expect(result.headers?.location).toBe('/jobs/greeting');
    expect(bodyOf(result)).toEqual({
      jobName: 'greeting',
      runId: existing.runId,
      status: 'RUNNING',
      statusUrl: 'https://abc123defg.execute-api.eu-west-1.amazonaws.com/jobs/greeting',
    });
    expect(lambda.received).toHaveLength(0);
    expect(ddb.commandCalls(DeleteItemCommand)).toHaveLength(0);
  });

  it('invokes the worker again for a retried start whose run no worker has begun', async () => {
    // Prepare: the first start wrote the record and died before (or while) invoking the worker
    const handler = await loadHandler();
    const existing = activeJob({
      jobName: 'greeting',
      type: 'echo',
      input: { value: 'hello' },
      inputHash: sha256Hex(canonicalJson({ value: 'hello' })),
    });
    ddb.on(PutItemCommand).rejects(await nameTaken(existing));

    // Act
    const result = await handler(
      startJobEvent({ type: 'echo', name: 'greeting', input: { value: 'hello' } }),
    );

    // Assess: the same run, handed to the worker again; the record is kept
    expect(result.statusCode).toBe(200);
    expect(bodyOf(result)).toMatchObject({ jobName: 'greeting', runId: existing.runId });
    const calls = lambda.received;
    expect(calls).toHaveLength(1);
    expect(calls[0]?.invocationType).toBe('Event');
    expect(workerPayloadSchema.parse(payloadOf(calls[0]))).toEqual({
      owner: USER_ARN,
      jobName: 'greeting',
      runId: existing.runId,
      type: 'echo',
      input: { value: 'hello' },
      submittedAt: existing.createdAt,
    });
    expect(ddb.commandCalls(DeleteItemCommand)).toHaveLength(0);
  });

  it('answers 503 and keeps the record when that second invoke fails too', async () => {
    // Prepare
    const handler = await loadHandler();
    const existing = activeJob({
      jobName: 'greeting',
      type: 'echo',
      input: { value: 'hello' },
      inputHash: sha256Hex(canonicalJson({ value: 'hello' })),
    });
    ddb.on(PutItemCommand).rejects(await nameTaken(existing));
    lambda.answer({ status: 429, errorType: 'TooManyRequestsException' });

    // Act
    const result = await handler(
      startJobEvent({ type: 'echo', name: 'greeting', input: { value: 'hello' } }),
    );

    // Assess
    expect(result.statusCode).toBe(503);
    expect(bodyOf(result)).toMatchObject({ error: { code: 'ServiceUnavailable' } });
    expect(ddb.commandCalls(DeleteItemCommand)).toHaveLength(0);
  });

  it.each([
    ['a different input', { type: 'echo', input: { value: 'other' } }],
    ['a different type', { type: 'fail', input: { message: 'hello' } }],
  ])('answers 409 JobNameInUse with the running job for %s', async (_, request) => {
    // Prepare
    const handler = await loadHandler();
    const existing = activeJob({
      jobName: 'greeting',
      type: 'echo',
      input: { value: 'hello' },
      inputHash: sha256Hex(canonicalJson({ value: 'hello' })),
    });
    ddb.on(PutItemCommand).rejects(await nameTaken(existing));

    // Act
    const result = await handler(startJobEvent({ ...request, name: 'greeting' }));

    // Assess
    expect(result.statusCode).toBe(409);
    expect(bodyOf(result)).toEqual({
      error: { code: 'JobNameInUse', message: expect.stringContaining('greeting') },
      job: {
        jobName: 'greeting',
        runId: existing.runId,
        type: 'echo',
        status: 'RUNNING',
        createdAt: existing.createdAt,
        updatedAt: existing.updatedAt,
        input: { value: 'hello' },
      },
    });
    expect(lambda.received).toHaveLength(0);
    expect(ddb.commandCalls(DeleteItemCommand)).toHaveLength(0);
  });
});

describe('POST /jobs: when the worker cannot be invoked', () => {
  it.each([
    ['Lambda cannot be reached', () => lambda.answer('drop')],
    [
      'Invoke is throttled on every attempt',
      () => lambda.answer({ status: 429, errorType: 'TooManyRequestsException' }),
    ],
    [
      'Invoke is refused',
      () => lambda.answer({ status: 404, errorType: 'ResourceNotFoundException' }),
    ],
    ['Invoke answers 500', () => lambda.answer({ status: 500, errorType: 'ServiceException' })],
    ['Invoke answers 200 instead of 202', () => lambda.answer({ status: 200 })],
    [
      'Invoke reports a function error',
      () => lambda.answer({ status: 202, functionError: 'Unhandled' }),
    ],
  ])('removes the run it just wrote and answers 503 when %s', async (_, failInvoke) => {
    // Prepare
    const handler = await loadHandler();
    failInvoke();

    // Act
    const result = await handler(
      startJobEvent({ type: 'echo', name: 'greeting', input: { value: 1 } }),
    );

    // Assess
    expect(result.statusCode).toBe(503);
    expect(bodyOf(result)).toEqual({
      error: { code: 'ServiceUnavailable', message: expect.any(String) },
    });
    const runId = ddb.commandCalls(PutItemCommand)[0]?.args[0].input.Item?.runId?.S;
    const deletes = ddb.commandCalls(DeleteItemCommand);
    expect(deletes).toHaveLength(1);
    expect(deletes[0]?.args[0].input).toMatchObject({
      TableName: 'jobs-table',
      Key: { pk: { S: `JOB#${USER_ARN}#greeting` }, sk: { S: 'ACTIVE' } },
      ConditionExpression: 'runId = :runId',
      ExpressionAttributeValues: { ':runId': { S: runId } },
    });
    expect(output.logs()).toContainEqual(
      expect.objectContaining({
        level: 'ERROR',
        message: 'The worker could not be invoked; removing the job record',
        runId,
      }),
    );
    // No run was started, so none is counted.
    expect(output.emf()).toEqual([]);
  });

  it('retries a throttled, failed or dropped Invoke and starts the job when a retry gets through', async () => {
    // Prepare
    const handler = await loadHandler();
    lambda.answer({ status: 429, errorType: 'TooManyRequestsException' }, 'drop', { status: 202 });

    // Act
    const result = await handler(
      startJobEvent({ type: 'echo', name: 'greeting', input: { value: 1 } }),
    );

    // Assess: three attempts with the same payload, the job started and its record kept
    expect(result.statusCode).toBe(202);
    expect(lambda.received).toHaveLength(3);
    expect(new Set(lambda.received.map((invoke) => invoke.body)).size).toBe(1);
    expect(ddb.commandCalls(DeleteItemCommand)).toHaveLength(0);
  });

  it('does not retry an Invoke that Lambda refuses', async () => {
    // Prepare: the real clock, or the SDK would retry once to correct its skew from the server's
    vi.useRealTimers();
    const handler = await loadHandler();
    lambda.answer({ status: 404, errorType: 'ResourceNotFoundException' });

    // Act
    const result = await handler(
      startJobEvent({ type: 'echo', name: 'greeting', input: { value: 1 } }),
    );

    // Assess
    expect(result.statusCode).toBe(503);
    expect(lambda.received).toHaveLength(1);
  });

  it('still answers 503, and logs the orphaned record loudly, when removing it fails too', async () => {
    // Prepare
    const handler = await loadHandler();
    lambda.answer({ status: 500, errorType: 'ServiceException' });
    ddb.on(DeleteItemCommand).rejects(new Error('ProvisionedThroughputExceededException'));

    // Act
    const result = await handler(
      startJobEvent({ type: 'echo', name: 'greeting', input: { value: 1 } }),
    );

    // Assess
    expect(result.statusCode).toBe(503);
    expect(result.body).not.toContain('Exception');
    const orphan = output.logs().find((line) => line.message.startsWith('ORPHANED JOB RECORD'));
    expect(orphan).toMatchObject({
      level: 'ERROR',
      function: 'start-job',
      owner: USER_ARN,
      jobName: 'greeting',
      errorMessage: 'ProvisionedThroughputExceededException',
    });
  });

  it('answers 503 when the record was already removed by someone else', async () => {
    // Prepare: the conditional delete finds no record of this run
    const handler = await loadHandler();
    lambda.answer({ status: 500, errorType: 'ServiceException' });
    ddb
      .on(DeleteItemCommand)
      .rejects(new ConditionalCheckFailedException({ message: 'failed', $metadata: {} }));

    // Act
    const result = await handler(
      startJobEvent({ type: 'echo', name: 'greeting', input: { value: 1 } }),
    );

    // Assess
    expect(result.statusCode).toBe(503);
  });
});

describe('POST /jobs: when DynamoDB fails', () => {
  it('answers 500 with a generic message and never invokes the worker', async () => {
    // Prepare
    const handler = await loadHandler();
    const failure = new Error('InternalServerError: the table is on fire');
    ddb.on(PutItemCommand).rejects(failure);

    // Act
    const result = await handler(
      startJobEvent({ type: 'echo', name: 'greeting', input: { value: 1 } }),
    );

    // Assess
    expect(result.statusCode).toBe(500);
    expect(bodyOf(result)).toEqual({
      error: { code: 'InternalError', message: 'An internal error occurred' },
    });
    expect(result.body).not.toContain('fire');
    expect(result.body).not.toContain(String(failure.stack).split('\n')[1]?.trim());
    expect(lambda.received).toHaveLength(0);
  });
});

describe('POST /jobs: metrics and log keys', () => {
  it('counts a new run as JobsStarted, by type, in one EMF line per invocation', async () => {
    // Prepare
    const handler = await loadHandler();
    const context = lambdaContext({ functionName: 'eventjobs-start-job' });

    // Act
    const result = await handler(
      startJobEvent({ type: 'echo', name: 'greeting', input: { value: 1 } }),
      context,
    );

    // Assess: the EMF line
    expect(result.statusCode).toBe(202);
    expect(output.emf()).toEqual([
      {
        _aws: {
          Timestamp: NOW.getTime(),
          CloudWatchMetrics: [
            {
              Namespace: 'eventjobs',
              Dimensions: [['type']],
              Metrics: [{ Name: 'JobsStarted', Unit: 'Count' }],
            },
          ],
        },
        type: 'echo',
        JobsStarted: 1,
      },
    ]);
    // Assess: the log line names the function, the run and the request
    expect(output.logs()).toEqual([
      expect.objectContaining({
        level: 'INFO',
        message: 'Job started',
        service: 'eventjobs',
        function: 'start-job',
        function_request_id: context.awsRequestId,
        owner: USER_ARN,
        jobName: 'greeting',
        runId: bodyOf(result).runId,
      }),
    ]);
  });

  it('does not count a retried start of a run that is already running', async () => {
    // Prepare
    const handler = await loadHandler();
    const existing = activeJob({
      jobName: 'greeting',
      type: 'echo',
      input: { value: 1 },
      inputHash: sha256Hex(canonicalJson({ value: 1 })),
      startedAt: '2025-11-28T10:00:01.000Z',
    });
    ddb.on(PutItemCommand).rejects(await nameTaken(existing));

    // Act
    const result = await handler(
      startJobEvent({ type: 'echo', name: 'greeting', input: { value: 1 } }),
    );

    // Assess
    expect(result.statusCode).toBe(200);
    expect(output.emf()).toEqual([]);
  });

  it("drops one invocation's job keys before the next one logs", async () => {
    // Prepare: a start that logs with its keys, then a request that fails before naming a job
    const handler = await loadHandler();
    await handler(startJobEvent({ type: 'echo', name: 'greeting', input: { value: 1 } }));
    ddb.on(PutItemCommand).rejects(new Error('InternalServerError'));

    // Act
    await handler(startJobEvent({ type: 'echo', name: 'other', input: { value: 1 } }));

    // Assess: the second invocation's error line carries its own job, not the first one's run
    const unhandled = output.logs().find((line) => line.message === 'Unhandled error');
    expect(unhandled).toMatchObject({ jobName: 'other' });
    const [first] = output.logs();
    expect(unhandled?.runId).not.toBe(first?.runId);
  });
});

describe('start-job configuration', () => {
  it.each(['JOBS_TABLE_NAME', 'WORKER_FUNCTION_NAME'])(
    'fails to load, naming the variable, when %s is not set',
    async (name) => {
      // Act
      const loading = loadHandler({ [name]: '' });

      // Assess
      await expect(loading).rejects.toThrow(new RegExp(name));
    },
  );

  it('fails to load when MAX_INPUT_BYTES is not a positive integer', async () => {
    // Act
    const loading = loadHandler({ MAX_INPUT_BYTES: '64k' });

    // Assess
    await expect(loading).rejects.toThrow(/MAX_INPUT_BYTES/);
  });

  it('applies MAX_INPUT_BYTES to the input', async () => {
    // Prepare
    const handler = await loadHandler({ MAX_INPUT_BYTES: '100' });

    // Act
    const small = await handler(startJobEvent({ type: 'echo', name: 'a', input: { value: 'x' } }));
    const large = await handler(
      startJobEvent({ type: 'echo', name: 'b', input: { value: 'x'.repeat(100) } }),
    );

    // Assess
    expect(small.statusCode).toBe(202);
    expect(large.statusCode).toBe(413);
  });
});

describe('POST /jobs: a timeout for the run', () => {
  it('stores a requested timeoutSeconds on the job record', async () => {
    // Prepare
    const handler = await loadHandler({ WORKER_TIMEOUT_SECONDS: '60' });

    // Act
    const result = await handler(
      startJobEvent({ type: 'echo', name: 'timed', input: { value: 1 }, timeoutSeconds: 60 }),
    );

    // Assess
    expect(result.statusCode).toBe(202);
    const put = ddb.commandCalls(PutItemCommand)[0]?.args[0].input;
    expect(put?.Item?.timeoutSeconds).toEqual({ N: '60' });
  });

  it("accepts a timeoutSeconds above the worker's timeout: a run with steps continues past it", async () => {
    // Prepare
    const handler = await loadHandler({ WORKER_TIMEOUT_SECONDS: '60' });

    // Act
    const result = await handler(
      startJobEvent({ type: 'echo', name: 'long', input: { value: 1 }, timeoutSeconds: 2_592_000 }),
    );

    // Assess
    expect(result.statusCode).toBe(202);
    const put = ddb.commandCalls(PutItemCommand)[0]?.args[0].input;
    expect(put?.Item?.timeoutSeconds).toEqual({ N: '2592000' });
  });

  it('answers 400 InvalidTimeout for a timeoutSeconds above 30 days, naming the limit', async () => {
    // Prepare
    const handler = await loadHandler({ WORKER_TIMEOUT_SECONDS: '60' });

    // Act
    const result = await handler(
      startJobEvent({
        type: 'echo',
        name: 'timed',
        input: { value: 1 },
        timeoutSeconds: 2_592_001,
      }),
    );

    // Assess
    expect(result.statusCode).toBe(400);
    expect(bodyOf(result)).toMatchObject({
      error: {
        code: 'InvalidTimeout',
        message: expect.stringContaining('at most 2592000 (30 days)'),
      },
    });
    expect(ddb.commandCalls(PutItemCommand)).toHaveLength(0);
    expect(lambda.received).toHaveLength(0);
  });

  it.each([
    ['zero', 0, 'InvalidBody'],
    ['a fraction', 1.5, 'InvalidBody'],
    ['a string', '30', 'InvalidBody'],
  ])('answers 400 for a timeoutSeconds %s and writes nothing', async (_, timeoutSeconds, code) => {
    // Prepare
    const handler = await loadHandler({ WORKER_TIMEOUT_SECONDS: '60' });

    // Act
    const result = await handler(
      startJobEvent({ type: 'echo', name: 'timed', input: { value: 1 }, timeoutSeconds }),
    );

    // Assess
    expect(result.statusCode).toBe(400);
    expect(bodyOf(result)).toMatchObject({ error: { code } });
    expect(ddb.commandCalls(PutItemCommand)).toHaveLength(0);
    expect(lambda.received).toHaveLength(0);
  });

  it('treats a retry with another timeout as a different request (409)', async () => {
    // Prepare
    const handler = await loadHandler({ WORKER_TIMEOUT_SECONDS: '60' });
    const existing = activeJob({
      jobName: 'timed',
      type: 'echo',
      input: { value: 1 },
      inputHash: sha256Hex(canonicalJson({ value: 1 })),
    });
    ddb.on(PutItemCommand).rejects(await nameTaken(existing));

    // Act
    const result = await handler(
      startJobEvent({ type: 'echo', name: 'timed', input: { value: 1 }, timeoutSeconds: 30 }),
    );

    // Assess
    expect(result.statusCode).toBe(409);
    expect(bodyOf(result)).toMatchObject({ error: { code: 'JobNameInUse' } });
  });
});

describe('POST /jobs: a webhook callback', () => {
  it('stores an https callback whose host is a public address', async () => {
    // Prepare
    const handler = await loadHandler();

    // Act
    const result = await handler(
      startJobEvent({
        type: 'echo',
        name: 'hooked',
        input: { value: 1 },
        callback: { url: 'https://93.184.216.34/hooks/eventjobs?team=a' },
      }),
    );

    // Assess
    expect(result.statusCode).toBe(202);
    const put = ddb.commandCalls(PutItemCommand)[0]?.args[0].input;
    expect(put?.Item?.callbackUrl).toEqual({ S: 'https://93.184.216.34/hooks/eventjobs?team=a' });
  });

  it.each([
    ['plain http to a public host', 'http://93.184.216.34/hook'],
    ['http to localhost outside the local cloud', 'http://127.0.0.1:8080/hook'],
    ['the instance metadata address', 'https://169.254.169.254/latest/meta-data/'],
    ['a private address', 'https://10.0.0.7/hook'],
    ['loopback in decimal form', 'https://2130706433/hook'],
    ['an IPv4-mapped loopback', 'https://[::ffff:127.0.0.1]/hook'],
    ['a user name in the URL', 'https://user:pass@93.184.216.34/hook'],
    ['a non-http scheme', 'ftp://93.184.216.34/hook'],
    ['not a URL', 'not a url'],
  ])('answers 400 InvalidCallback for %s and writes nothing', async (_, url) => {
    // Prepare
    const handler = await loadHandler();

    // Act
    const result = await handler(
      startJobEvent({ type: 'echo', name: 'hooked', input: { value: 1 }, callback: { url } }),
    );

    // Assess
    expect(result.statusCode).toBe(400);
    expect(bodyOf(result)).toMatchObject({
      error: { code: 'InvalidCallback', message: expect.any(String) },
    });
    expect(ddb.commandCalls(PutItemCommand)).toHaveLength(0);
    expect(lambda.received).toHaveLength(0);
  });

  it.each([
    ['a callback without a url', { href: 'https://93.184.216.34/' }],
    ['a url that is not a string', { url: 42 }],
    ['a callback that is a string', 'https://93.184.216.34/'],
  ])('answers 400 InvalidBody for %s', async (_, callback) => {
    const handler = await loadHandler();

    const result = await handler(
      startJobEvent({ type: 'echo', name: 'hooked', input: { value: 1 }, callback }),
    );

    expect(result.statusCode).toBe(400);
    expect(bodyOf(result)).toMatchObject({ error: { code: 'InvalidBody' } });
    expect(ddb.commandCalls(PutItemCommand)).toHaveLength(0);
  });

  it('accepts http to localhost in the local cloud only', async () => {
    const handler = await loadHandler({ AWS_LOCAL_CLOUD: 'true' });

    const result = await handler(
      startJobEvent({
        type: 'echo',
        name: 'hooked',
        input: { value: 1 },
        callback: { url: 'http://127.0.0.1:8080/hook' },
      }),
    );

    expect(result.statusCode).toBe(202);
    const put = ddb.commandCalls(PutItemCommand)[0]?.args[0].input;
    expect(put?.Item?.callbackUrl).toEqual({ S: 'http://127.0.0.1:8080/hook' });
  });

  it('treats a retry with another callback as a different request (409)', async () => {
    const handler = await loadHandler();
    const existing = activeJob({
      jobName: 'hooked',
      type: 'echo',
      input: { value: 1 },
      inputHash: sha256Hex(canonicalJson({ value: 1 })),
      callbackUrl: 'https://93.184.216.34/a',
    });
    ddb.on(PutItemCommand).rejects(await nameTaken(existing));

    const result = await handler(
      startJobEvent({
        type: 'echo',
        name: 'hooked',
        input: { value: 1 },
        callback: { url: 'https://93.184.216.34/b' },
      }),
    );

    expect(result.statusCode).toBe(409);
  });
});
