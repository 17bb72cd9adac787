import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { MissingCredentialsError } from '../../functions/shared/credentials';
import {
  createLambdaInvoker,
  type HttpRequest,
  LambdaServiceError,
} from '../../functions/shared/lambda-invoke';
import { verifyRequest } from '../../local/sigv4';
import { type LambdaEndpoint, startLambdaEndpoint } from './helpers/lambda-endpoint';

const CREDENTIALS = {
  accessKeyId: 'AKIAINVOKETEST000000',
  secretAccessKey: 'invoke-test-secret',
  sessionToken: 'invoke-test-session',
};
const WORKER_ARN = 'arn:aws:lambda:eu-west-1:123456789012:function:eventjobs-worker';

let lambda: LambdaEndpoint;

beforeAll(async () => {
  lambda = await startLambdaEndpoint();
});

afterAll(async () => {
  await lambda.close();
});

beforeEach(() => {
  lambda.reset();
});

/** An invoker of the stand-in endpoint that retries without waiting. */
function invoker(options: Partial<Parameters<typeof createLambdaInvoker>[0]> = {}) {
  return createLambdaInvoker({
    region: 'eu-west-1',
    endpoint: lambda.url,
    credentials: CREDENTIALS,
    sleep: async () => undefined,
    ...options,
  });
}

describe('createLambdaInvoker', () => {
  it('sends a SigV4-signed Invoke that the local cloud verifies, and answers with the status', async () => {
    // Prepare
    const payload = JSON.stringify({ jobName: 'greeting', input: { text: 'héllo' } });

    // Act
    const output = await invoker().invoke({
      functionName: WORKER_ARN,
      invocationType: 'Event',
      payload,
    });

    // Assess: what Lambda answered
    expect(output).toEqual({ statusCode: 202, payload: '' });

    // Assess: Lambda's REST path (the ARN encoded), the invocation type and the body as sent
    const [received] = lambda.received;
    expect(received).toMatchObject({
      method: 'POST',
      rawPath: `/2015-03-31/functions/${encodeURIComponent(WORKER_ARN)}/invocations`,
      functionName: WORKER_ARN,
      invocationType: 'Event',
      body: payload,
    });

    // Assess: the signature holds for service lambda in the region, with the session token
    const verified = verifyRequest(
      {
        method: received?.method ?? '',
        rawPath: received?.rawPath ?? '',
        rawQuery: '',
        headers: received?.headers ?? {},
        body: received?.body ?? '',
      },
      {
        lookup: (accessKeyId) =>
          accessKeyId === CREDENTIALS.accessKeyId
            ? {
                ...CREDENTIALS,
                name: 'worker-invoker',
                accountId: '123456789012',
                arn: 'arn:aws:sts::123456789012:assumed-role/StartJob/start-job',
                userId: 'AROATEST:start-job',
              }
            : undefined,
      },
      { region: 'eu-west-1', service: 'lambda' },
    );
    expect(verified).toMatchObject({ ok: true, service: 'lambda', region: 'eu-west-1' });
  });

  it('returns the payload and function error of a synchronous invoke', async () => {
    // Prepare
    lambda.answer({ status: 200, functionError: 'Unhandled' });

    // Act
    const output = await invoker().invoke({
      functionName: 'eventjobs-worker',
      invocationType: 'RequestResponse',
      payload: '{}',
    });

    // Assess
    expect(output).toEqual({ statusCode: 200, functionError: 'Unhandled', payload: '' });
    expect(lambda.received[0]?.invocationType).toBe('RequestResponse');
  });

  it('retries throttling, 5xx and dropped connections with growing, jittered waits', async () => {
    // Prepare
    lambda.answer(
      { status: 429, errorType: 'TooManyRequestsException' },
      { status: 503, errorType: 'ServiceException' },
      'drop',
      { status: 202 },
    );
    const sleep = vi.fn(async (_ms: number) => undefined);

    // Act
    const output = await invoker({ sleep, random: () => 0.5, maxAttempts: 4 }).invoke({
      functionName: 'eventjobs-worker',
      invocationType: 'Event',
      payload: '{}',
    });

    // Assess: four attempts; waits of half of 100, 200 and 400 ms
    expect(output.statusCode).toBe(202);
    expect(lambda.received).toHaveLength(4);
    expect(sleep.mock.calls.map(([ms]) => ms)).toEqual([50, 100, 200]);
  });

  it('gives up after the last attempt with Lambda error type, status and message', async () => {
    // Prepare
    lambda.answer({ status: 429, errorType: 'TooManyRequestsException' });

    // Act
    const invoking = invoker().invoke({
      functionName: 'eventjobs-worker',
      invocationType: 'Event',
      payload: '{}',
    });

    // Assess
    const error = await invoking.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(LambdaServiceError);
    expect(error).toMatchObject({
      name: 'LambdaServiceError',
      code: 'TooManyRequestsException',
      statusCode: 429,
      message: expect.stringContaining('TooManyRequestsException.'),
    });
    expect(lambda.received).toHaveLength(3);
  });

  it.each([
    [400, 'InvalidRequestContentException'],
    [403, 'AccessDeniedException'],
    [404, 'ResourceNotFoundException'],
    [413, 'RequestTooLargeException'],
  ])('does not retry a %i %s', async (status, errorType) => {
    // Prepare
    lambda.answer({ status, errorType });

    // Act
    const invoking = invoker().invoke({
      functionName: 'eventjobs-worker',
      invocationType: 'Event',
      payload: '{}',
    });

    // Assess
    await expect(invoking).rejects.toMatchObject({ code: errorType, statusCode: status });
    expect(lambda.received).toHaveLength(1);
  });

  it('fails an attempt that takes longer than its time limit', async () => {
    // Prepare: a transport that never answers
    const send = vi.fn((request: HttpRequest) => {
      return new Promise<never>((_, reject) => {
        setTimeout(() => reject(new Error(`timed out after ${request.timeoutMs} ms`)), 5);
      });
    });

    // Act
    const invoking = invoker({ send, timeoutMs: 1, maxAttempts: 2 }).invoke({
      functionName: 'eventjobs-worker',
      invocationType: 'Event',
      payload: '{}',
    });

    // Assess: each attempt had the limit; both were tried
    await expect(invoking).rejects.toThrow('timed out after 1 ms');
    expect(send).toHaveBeenCalledTimes(2);
  });

  it('times out a real request the endpoint does not answer in time', async () => {
    // Prepare: a server that accepts the request and never answers
    const { createServer } = await import('node:http');
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const address = silent.address();
    const port = typeof address === 'object' && address ? address.port : 0;

    try {
      // Act
      const invoking = invoker({
        endpoint: `http://127.0.0.1:${port}`,
        timeoutMs: 50,
        maxAttempts: 1,
      }).invoke({ functionName: 'eventjobs-worker', invocationType: 'Event', payload: '{}' });

      // Assess
      await expect(invoking).rejects.toThrow(/timed out after 50 ms/);
    } finally {
      silent.closeAllConnections();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it('signs with the credentials in the environment, and fails clearly without them', async () => {
    // Prepare
    const env = {
      AWS_ACCESS_KEY_ID: 'AKIAFROMENVIRONMENT0',
      AWS_SECRET_ACCESS_KEY: 'from-env',
      AWS_ENDPOINT_URL_LAMBDA: lambda.url,
    };

    // Act
    await createLambdaInvoker({ region: 'eu-west-1', env }).invoke({
      functionName: 'eventjobs-worker',
      invocationType: 'Event',
      payload: '{}',
    });
    const withoutCredentials = createLambdaInvoker({
      region: 'eu-west-1',
      env: { AWS_ENDPOINT_URL_LAMBDA: lambda.url },
    }).invoke({ functionName: 'eventjobs-worker', invocationType: 'Event', payload: '{}' });

    // Assess: signed with the environment's key, no session token; nothing sent without one
    expect(lambda.received[0]?.headers.authorization).toContain('Credential=AKIAFROMENVIRONMENT0/');
    expect(lambda.received[0]?.headers['x-amz-security-token']).toBeUndefined();
    await expect(withoutCredentials).rejects.toBeInstanceOf(MissingCredentialsError);
    expect(lambda.received).toHaveLength(1);
  });

  it.each([
    [
      'AWS_ENDPOINT_URL_LAMBDA first',
      { AWS_ENDPOINT_URL_LAMBDA: 'http://lambda.local:1', AWS_ENDPOINT_URL: 'http://all.local:2' },
      'eu-west-1',
      'http://lambda.local:1/2015-03-31/functions/f/invocations',
    ],
    [
      'then AWS_ENDPOINT_URL',
      { AWS_ENDPOINT_URL: 'http://all.local:2/' },
      'eu-west-1',
      'http://all.local:2/2015-03-31/functions/f/invocations',
    ],
    [
      "then the region's endpoint",
      {},
      'eu-west-1',
      'https://lambda.eu-west-1.amazonaws.com/2015-03-31/functions/f/invocations',
    ],
    [
      'in China, amazonaws.com.cn',
      {},
      'cn-north-1',
      'https://lambda.cn-north-1.amazonaws.com.cn/2015-03-31/functions/f/invocations',
    ],
  ])('picks the endpoint: %s', async (_, endpointEnv, region, expected) => {
    // Prepare
    const send = vi.fn(async (_request: HttpRequest) => ({ status: 202, headers: {}, body: '' }));

    // Act
    await createLambdaInvoker({
      region,
      env: { ...endpointEnv, AWS_ACCESS_KEY_ID: 'AKIA', AWS_SECRET_ACCESS_KEY: 's' },
      send,
    }).invoke({ functionName: 'f', invocationType: 'Event', payload: '{}' });

    // Assess
    expect(send.mock.calls[0]?.[0].url.href).toBe(expected);
  });
});
