/**
 * Bad requests to POST /jobs: each gets a clear 4xx JSON error and changes
 * nothing (no write to DynamoDB, no worker invoked).
 */
import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { Defaults } from '../../../../core/config';
import type { ApiHandler } from '../../../../functions/shared/http';
import { jobTypeNames } from '../../../../functions/shared/job-registry';
import type { LookupAll } from '../../../../functions/shared/ssrf';
import type { JobStore } from '../../../../functions/shared/store';
import {
  CALLBACK_LOOKUP_TIMEOUT_MS,
  MAX_INPUT_DEPTH,
  type StartJobDeps,
  startJob,
} from '../../../../functions/start-job/service';
import { apiEvent, bodyOf, startJobEvent } from '../../helpers/api-event';
import { type LambdaEndpoint, startLambdaEndpoint } from '../../helpers/lambda-endpoint';

const ddb = mockClient(DynamoDBClient);
/** Lambda's Invoke endpoint, which the handler reaches through AWS_ENDPOINT_URL_LAMBDA. */
let lambda: LambdaEndpoint;
let handler: ApiHandler;

beforeAll(async () => {
  lambda = await startLambdaEndpoint();
  vi.resetModules();
  vi.stubEnv('JOBS_TABLE_NAME', 'jobs-table');
  vi.stubEnv('WORKER_FUNCTION_NAME', 'eventjobs-worker');
  vi.stubEnv('EVENT_BUS_NAME', 'eventjobs-bus');
  vi.stubEnv('MAX_INPUT_BYTES', '');
  vi.stubEnv('AWS_REGION', 'eu-west-1');
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIAUNITTEST00000000');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'unit-test-secret');
  vi.stubEnv('AWS_ENDPOINT_URL_LAMBDA', lambda.url);
  ({ handler } = await import('../../../../functions/start-job/handler'));
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await lambda.close();
});

beforeEach(() => {
  ddb.reset();
  lambda.reset();
  ddb.on(PutItemCommand).resolves({});
  vi.spyOn(console, 'log').mockImplementation(() => undefined);
  vi.spyOn(console, 'error').mockImplementation(() => undefined);
});

afterEach(() => {
  ddb.reset();
  lambda.reset();
});

function expectNothingChanged() {
  expect(ddb.calls()).toHaveLength(0);
  expect(lambda.received).toHaveLength(0);
}

describe('POST /jobs: the body', () => {
  it('answers 400 InvalidJson for a body that is not JSON', async () => {
    // Act
    const result = await handler(startJobEvent('{"type": "echo",'));

    // Assess
    expect(result.statusCode).toBe(400);
    expect(bodyOf(result)).toEqual({
      error: { code: 'InvalidJson', message: 'The request body is not valid JSON' },
    });
    expectNothingChanged();
  });

  it('answers 400 InvalidJson for base64 that does not decode to JSON', async () => {
    // Act
    const result = await handler(startJobEvent('not json at all', { base64: true }));

    // Assess
    expect(result.statusCode).toBe(400);
    expect(bodyOf(result)).toMatchObject({ error: { code: 'InvalidJson' } });
    expectNothingChanged();
  });

  it('answers 400 InvalidJson for a body whose bytes are not UTF-8, never storing U+FFFD', async () => {
    // Prepare: "Müller" in Latin-1, inside an otherwise valid start request.
    const bytes = Buffer.from(
      '{"type":"echo","name":"latin1","input":{"value":"Müller"}}',
      'latin1',
    );
    const event = { ...startJobEvent('{}'), body: bytes.toString('base64'), isBase64Encoded: true };

    // Act
    const result = await handler(event);

    // Assess
    expect(result.statusCode).toBe(400);
    expect(bodyOf(result)).toEqual({
      error: {
        code: 'InvalidJson',
        message: 'The request body is not valid UTF-8; JSON must be encoded in UTF-8',
      },
    });
    expectNothingChanged();
  });

  it('answers 400 InvalidBody for a request without a body', async () => {
    // Act
    const result = await handler(apiEvent({ method: 'POST', path: '/jobs' }));

    // Assess
    expect(result.statusCode).toBe(400);
    expect(bodyOf(result)).toMatchObject({ error: { code: 'InvalidBody' } });
    expectNothingChanged();
  });

  it.each([
    ['an array', '[]'],
    ['a string', '"echo"'],
    ['a number', '42'],
    ['null', 'null'],
    ['a boolean', 'true'],
  ])('answers 400 InvalidBody when the body is %s', async (_, text) => {
    // Act
    const result = await handler(startJobEvent(text));

    // Assess
    expect(result.statusCode).toBe(400);
    expect(bodyOf(result)).toEqual({
      error: {
        code: 'InvalidBody',
        message: expect.any(String),
        details: [{ message: expect.stringContaining('expected object') }],
      },
    });
    expectNothingChanged();
  });

  it.each([
    ['type is a number', { type: 42 }, 'type'],
    ['type is null', { type: null }, 'type'],
    ['type is missing', { input: { value: 1 } }, 'type'],
    ['name is a number', { type: 'echo', name: 7, input: { value: 1 } }, 'name'],
    ['name is null', { type: 'echo', name: null, input: { value: 1 } }, 'name'],
  ])('answers 400 InvalidBody with the field when %s', async (_, body, path) => {
    // Act
    const result = await handler(startJobEvent(body));

    // Assess
    expect(result.statusCode).toBe(400);
    expect(bodyOf(result)).toMatchObject({
      error: { code: 'InvalidBody', details: [{ path, message: expect.any(String) }] },
    });
    expectNothingChanged();
  });

  it('answers 400 InvalidBody naming an unknown top-level key', async () => {
    // Act
    const result = await handler(
      startJobEvent({ type: 'echo', input: { value: 1 }, priority: 'high' }),
    );

    // Assess
    expect(result.statusCode).toBe(400);
    expect(bodyOf(result)).toMatchObject({
      error: { code: 'InvalidBody', details: [{ message: expect.stringContaining('priority') }] },
    });
    expectNothingChanged();
  });

  it.each([
    ['text/plain', 'text/plain'],
    ['a form', 'application/x-www-form-urlencoded'],
    ['JSON lookalike', 'application/jsonp'],
    ['multipart', 'multipart/form-data; boundary=x'],
  ])('answers 415 for a %s content type', async (_, contentType) => {
    // Act
    const result = await handler(
      startJobEvent(
        { type: 'echo', input: { value: 1 } },
        { headers: { 'content-type': contentType } },
      ),
    );

    // Assess
    expect(result.statusCode).toBe(415);
    expect(bodyOf(result)).toMatchObject({ error: { code: 'UnsupportedMediaType' } });
    expectNothingChanged();
  });

  it('answers 413 for a body far over the limit before trying to parse it', async () => {
    // Prepare: not even JSON, so a 413 shows it was never parsed
    const text = 'x'.repeat(Defaults.maxInputBytes + 16 * 1024 + 1);

    // Act
    const result = await handler(startJobEvent(text));

    // Assess
    expect(result.statusCode).toBe(413);
    expect(bodyOf(result)).toMatchObject({ error: { code: 'PayloadTooLarge' } });
    expectNothingChanged();
  });

  it('answers 403 when the request carries no IAM identity', async () => {
    // Act
    const result = await handler(
      startJobEvent({ type: 'echo', input: { value: 1 } }, { userArn: null }),
    );

    // Assess
    expect(result.statusCode).toBe(403);
    expect(bodyOf(result)).toEqual({
      error: { code: 'Forbidden', message: 'The request carries no IAM identity' },
    });
    expectNothingChanged();
  });
});

describe('POST /jobs: the job type', () => {
  it.each(['nope', '', 'ECHO', '__proto__', 'toString', 'constructor'])(
    'answers 400 UnknownJobType listing the known types for type %j',
    async (type) => {
      // Act
      const result = await handler(startJobEvent({ type, input: {} }));

      // Assess
      expect(result.statusCode).toBe(400);
      expect(bodyOf(result)).toEqual({
        error: {
          code: 'UnknownJobType',
          message: expect.stringContaining(jobTypeNames().join(', ')),
        },
      });
      expectNothingChanged();
    },
  );
});

describe('POST /jobs: the input', () => {
  it.each([
    [
      'a wrong type for a field',
      'sleep',
      { seconds: 'ten' },
      [{ path: 'input.seconds', message: expect.any(String) }],
    ],
    [
      'a value out of range',
      'sleep',
      { seconds: 901 },
      [{ path: 'input.seconds', message: expect.any(String) }],
    ],
    ['a missing field', 'hash', {}, [{ path: 'input.megabytes', message: expect.any(String) }]],
    [
      'an unknown field',
      'fail',
      { message: 'x', extra: true },
      [{ path: 'input', message: expect.stringContaining('extra') }],
    ],
    ['null', 'echo', null, [{ path: 'input', message: expect.any(String) }]],
    ['an array', 'echo', [1], [{ path: 'input', message: expect.any(String) }]],
  ])('answers 400 InvalidInput with details for %s', async (_, type, input, details) => {
    // Act
    const result = await handler(startJobEvent({ type, input }));

    // Assess
    expect(result.statusCode).toBe(400);
    expect(bodyOf(result)).toEqual({
      error: { code: 'InvalidInput', message: expect.stringContaining(type), details },
    });
    expectNothingChanged();
  });

  it('validates an absent input as {}', async () => {
    // Act: sleep needs `seconds`, so {} is invalid
    const result = await handler(startJobEvent({ type: 'sleep' }));

    // Assess
    expect(result.statusCode).toBe(400);
    expect(bodyOf(result)).toMatchObject({
      error: { code: 'InvalidInput', details: [{ path: 'input.seconds' }] },
    });
    expectNothingChanged();
  });

  it('answers 413 for an input over MAX_INPUT_BYTES of JSON', async () => {
    // Prepare: {"value":"xxx…"} is 12 bytes more than the string
    const input = { value: 'x'.repeat(Defaults.maxInputBytes - 11) };

    // Act
    const result = await handler(startJobEvent({ type: 'echo', name: 'big', input }));

    // Assess
    expect(result.statusCode).toBe(413);
    expect(bodyOf(result)).toEqual({
      error: {
        code: 'PayloadTooLarge',
        message: expect.stringContaining(String(Defaults.maxInputBytes)),
      },
    });
    expectNothingChanged();
  });

  it('accepts an input of exactly MAX_INPUT_BYTES, counting UTF-8 bytes', async () => {
    // Prepare: 'é' is two bytes in UTF-8
    const input = { value: 'é'.repeat((Defaults.maxInputBytes - 12) / 2) };

    // Act
    const result = await handler(startJobEvent({ type: 'echo', name: 'exact', input }));

    // Assess
    expect(result.statusCode).toBe(202);
  });

  it.each([
    ['arrays', (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`],
    ['objects', (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`],
  ])(
    'answers 400 InvalidInput for %s nested deeper than MAX_INPUT_DEPTH, even far deeper than the stack allows',
    async (_, nested) => {
      for (const depth of [MAX_INPUT_DEPTH, 13_000]) {
        // Prepare: the echo input object is one level, its value the rest
        const body = `{"type":"echo","name":"deep","input":{"value":${nested(depth)}}}`;

        // Act
        const result = await handler(startJobEvent(body));

        // Assess
        expect(result.statusCode).toBe(400);
        expect(bodyOf(result)).toEqual({
          error: {
            code: 'InvalidInput',
            message: expect.stringContaining(`${MAX_INPUT_DEPTH} levels`),
          },
        });
        expectNothingChanged();
      }
    },
  );

  it('accepts an input nested exactly MAX_INPUT_DEPTH levels deep', async () => {
    // Prepare
    const value = `${'['.repeat(MAX_INPUT_DEPTH - 1)}${']'.repeat(MAX_INPUT_DEPTH - 1)}`;
    const body = `{"type":"echo","name":"deep","input":{"value":${value}}}`;

    // Act
    const result = await handler(startJobEvent(body));

    // Assess
    expect(result.statusCode).toBe(202);
  });
});

describe('POST /jobs: the name', () => {
  it.each([
    ['too long', 'n'.repeat(129)],
    ['empty', ''],
    ['only dots', '..'],
    ['a single dot', '.'],
    ['a slash', 'a/b'],
    ['a space', 'my job'],
    ['unicode', 'jöb'],
    ['an emoji', 'job-🚀'],
    ['a newline', 'job\n'],
    ['a NUL', 'job\u0000'],
    ['a tab', '\tjob'],
    ['a hash', 'a#b'],
  ])('answers 400 InvalidJobName for a name with %s', async (_, name) => {
    // Act
    const result = await handler(startJobEvent({ type: 'echo', name, input: { value: 1 } }));

    // Assess
    expect(result.statusCode).toBe(400);
    expect(bodyOf(result)).toMatchObject({ error: { code: 'InvalidJobName' } });
    expectNothingChanged();
  });

  it.each(['n'.repeat(128), 'a', 'v1.2.3', '...a', '-_.', 'Report_2025-11-28'])(
    'accepts the name %j',
    async (name) => {
      // Act
      const result = await handler(startJobEvent({ type: 'echo', name, input: { value: 1 } }));

      // Assess
      expect(result.statusCode).toBe(202);
      expect(bodyOf(result)).toMatchObject({ jobName: name });
    },
  );
});

describe('POST /jobs: the callback host', () => {
  /** The service's dependencies, with a store and a Lambda client that fail if anything reaches them. */
  function untouchedDeps(overrides: Partial<StartJobDeps>): StartJobDeps {
    const untouched = new Proxy(
      {},
      {
        get: (_target, property) => {
          throw new Error(`nothing may be called on a bad request, got ${String(property)}`);
        },
      },
    );
    return {
      store: untouched as JobStore,
      lambda: untouched as StartJobDeps['lambda'],
      workerFunctionName: 'eventjobs-worker',
      maxInputBytes: Defaults.maxInputBytes,
      now: () => new Date('2025-11-28T12:00:00.000Z'),
      ...overrides,
    };
  }

  const request = {
    type: 'echo',
    name: 'hooked',
    input: { value: 1 },
    callback: { url: 'https://hooks.slow.example/cb' },
  };

  it('answers 400 InvalidCallback when the host does not resolve before the deadline, abandoning the lookup', async () => {
    // Prepare: a name server that never answers.
    let lookups = 0;
    const lookup: LookupAll = () => {
      lookups++;
      return new Promise(() => undefined);
    };

    // Act
    const act = startJob('owner', request, untouchedDeps({ lookup, callbackLookupTimeoutMs: 50 }));

    // Assess
    await expect(act).rejects.toMatchObject({
      statusCode: 400,
      code: 'InvalidCallback',
      message: 'The callback host hooks.slow.example did not resolve within 50 ms.',
    });
    expect(lookups).toBe(1);
  });

  it('has a lookup deadline of a few seconds by default', () => {
    // Assess: well inside API Gateway's 30 s, long enough for a healthy resolver.
    expect(CALLBACK_LOOKUP_TIMEOUT_MS).toBeGreaterThanOrEqual(1000);
    expect(CALLBACK_LOOKUP_TIMEOUT_MS).toBeLessThanOrEqual(5000);
  });

  it('still refuses a host that resolves in time to a blocked address', async () => {
    // Prepare
    const lookup: LookupAll = async () => [{ address: '192.88.99.1', family: 4 }];

    // Act
    const act = startJob('owner', request, untouchedDeps({ lookup, callbackLookupTimeoutMs: 50 }));

    // Assess
    await expect(act).rejects.toMatchObject({
      statusCode: 400,
      code: 'InvalidCallback',
      message: expect.stringContaining('192.88.99.0/24'),
    });
  });
});
