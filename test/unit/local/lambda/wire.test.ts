/**
 * The Lambda wire API (`service().handle`): requests as the AWS SDK sends
 * them, responses and errors as AWS writes them. The last block runs the real
 * `@aws-sdk/client-lambda` against it through a bare HTTP adapter, to prove
 * the SDK reads what the service writes.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  GetFunctionCommand,
  InvokeCommand,
  LambdaClient,
  ResourceNotFoundException,
  TooManyRequestsException,
} from '@aws-sdk/client-lambda';
import { afterEach, describe, expect, it } from 'vitest';
import type {
  AwsRequest,
  AwsResponse,
  AwsService,
  FunctionSpec,
} from '../../../../local/contracts';
import { LocalLambda } from '../../../../local/lambda';
import { fixtureSpec, functionArn, RecordingLog, TEST_ENV } from '../../../fixtures/lambda/harness';

let lambda: LocalLambda | undefined;
let server: Server | undefined;

afterEach(async () => {
  server?.close();
  server = undefined;
  await lambda?.close();
  lambda = undefined;
});

function start(functions: FunctionSpec[], asyncPayloadLimitBytes?: number): AwsService {
  lambda = new LocalLambda({
    env: TEST_ENV,
    functions,
    log: new RecordingLog(),
    asyncPayloadLimitBytes,
  });
  return lambda.service();
}

interface InvokeRequest {
  readonly name: string;
  readonly body?: string;
  readonly headers?: Record<string, string>;
  readonly query?: string;
}

/** A request shaped like the SDK's: the name percent-encoded in the path. */
function invokeRequest({ name, body = '{}', headers = {}, query = '' }: InvokeRequest): AwsRequest {
  return {
    method: 'POST',
    path: `/2015-03-31/functions/${encodeURIComponent(name)}/invocations`,
    query: new URLSearchParams(query),
    headers: { 'content-type': 'application/octet-stream', ...headers },
    body: Buffer.from(body, 'utf8'),
  };
}

function bodyOf(response: AwsResponse): string {
  return Buffer.isBuffer(response.body) ? response.body.toString('utf8') : (response.body ?? '');
}

function expectError(response: AwsResponse, status: number, code: string, message?: string) {
  expect(response.status).toBe(status);
  expect(response.headers?.['x-amzn-errortype']).toBe(code);
  expect(response.headers?.['content-type']).toBe('application/json');
  const body: unknown = JSON.parse(bodyOf(response));
  expect(body).toMatchObject({ Type: 'User', message: message ?? expect.any(String) });
  return body;
}

describe('Invoke', () => {
  it('answers RequestResponse with 200, the payload and the executed version', async () => {
    // Prepare
    const service = start([fixtureSpec('echo')]);

    // Act
    const response = await service.handle(invokeRequest({ name: 'echo', body: '{"a":1}' }));

    // Assess
    expect(service.signingNames).toEqual(['lambda']);
    expect(response.status).toBe(200);
    expect(bodyOf(response)).toBe('{"a":1}');
    expect(response.headers).toMatchObject({
      'x-amz-executed-version': '$LATEST',
      'x-amzn-requestid': expect.stringMatching(/^[0-9a-f-]{36}$/),
    });
    expect(response.headers).not.toHaveProperty('x-amz-function-error');
  });

  it.each([
    ['name with $LATEST', 'echo:$LATEST', ''],
    ['function ARN', functionArn('echo'), ''],
    ['qualified ARN', `${functionArn('echo')}:$LATEST`, ''],
    ['partial ARN', '123456789012:function:echo', ''],
    ['Qualifier query parameter', 'echo', 'Qualifier=%24LATEST'],
  ])('accepts the function by %s', async (_form, name, query) => {
    const service = start([fixtureSpec('echo')]);

    const response = await service.handle(invokeRequest({ name, query }));

    expect(response.status).toBe(200);
  });

  it('marks a function error with X-Amz-Function-Error: Unhandled', async () => {
    const service = start([fixtureSpec('throws')]);

    const response = await service.handle(invokeRequest({ name: 'throws' }));

    expect(response.status).toBe(200);
    expect(response.headers?.['x-amz-function-error']).toBe('Unhandled');
    expect(JSON.parse(bodyOf(response))).toMatchObject({ errorType: 'ValidationFailed' });
  });

  it('answers Event with 202 and an empty body, then runs the function', async () => {
    const service = start([fixtureSpec('echo')]);

    const response = await service.handle(
      invokeRequest({ name: 'echo', headers: { 'x-amz-invocation-type': 'Event' } }),
    );

    expect(response.status).toBe(202);
    expect(bodyOf(response)).toBe('');
    await lambda?.whenIdle();
    expect(lambda?.stats().invocations).toEqual({ echo: 1 });
  });

  it('answers DryRun with 204 and runs nothing', async () => {
    const service = start([fixtureSpec('echo')]);

    const response = await service.handle(
      invokeRequest({ name: 'echo', headers: { 'x-amz-invocation-type': 'DryRun' } }),
    );

    expect(response.status).toBe(204);
    expect(lambda?.stats().invocations).toEqual({});
  });

  it('returns the log tail in X-Amz-Log-Result when X-Amz-Log-Type is Tail', async () => {
    const service = start([fixtureSpec('echo')]);

    const response = await service.handle(
      invokeRequest({
        name: 'echo',
        body: '{"logged":true}',
        headers: { 'x-amz-log-type': 'Tail' },
      }),
    );

    const tail = Buffer.from(response.headers?.['x-amz-log-result'] ?? '', 'base64').toString();
    expect(tail).toContain(`START RequestId: ${response.headers?.['x-amzn-requestid']}`);
    expect(tail).toContain('echo {"logged":true}');
  });

  it('hands X-Amz-Client-Context to the function as context.clientContext', async () => {
    const service = start([fixtureSpec('context')]);
    const clientContext = Buffer.from('{"client":{"app_title":"cli"}}').toString('base64');

    const response = await service.handle(
      invokeRequest({ name: 'context', headers: { 'x-amz-client-context': clientContext } }),
    );

    expect(JSON.parse(bodyOf(response)).context.clientContext).toEqual({
      client: { app_title: 'cli' },
    });
  });
});

describe('Invoke errors', () => {
  it('answers an unknown function with 404 ResourceNotFoundException', async () => {
    const service = start([fixtureSpec('echo')]);

    const response = await service.handle(invokeRequest({ name: 'nope' }));

    expectError(
      response,
      404,
      'ResourceNotFoundException',
      `Function not found: ${functionArn('nope')}`,
    );
  });

  it('answers a version other than $LATEST with 404 naming the qualified ARN', async () => {
    const service = start([fixtureSpec('echo')]);

    const byName = await service.handle(invokeRequest({ name: 'echo:1' }));
    const byQuery = await service.handle(invokeRequest({ name: 'echo', query: 'Qualifier=live' }));

    expectError(
      byName,
      404,
      'ResourceNotFoundException',
      `Function not found: ${functionArn('echo')}:1`,
    );
    expectError(
      byQuery,
      404,
      'ResourceNotFoundException',
      `Function not found: ${functionArn('echo')}:live`,
    );
  });

  it('answers qualifiers that disagree with 400 InvalidParameterValueException', async () => {
    const service = start([fixtureSpec('echo')]);

    const response = await service.handle(
      invokeRequest({ name: 'echo:$LATEST', query: 'Qualifier=live' }),
    );

    expectError(response, 400, 'InvalidParameterValueException');
  });

  it('answers a bad invocation type with 400 InvalidParameterValueException', async () => {
    const service = start([fixtureSpec('echo')]);

    const response = await service.handle(
      invokeRequest({ name: 'echo', headers: { 'x-amz-invocation-type': 'Later' } }),
    );

    expectError(response, 400, 'InvalidParameterValueException');
    expect(bodyOf(response)).toContain("Value 'Later' at 'invocationType'");
  });

  it('answers a payload that is not JSON with 400 InvalidRequestContentException', async () => {
    const service = start([fixtureSpec('echo')]);

    const response = await service.handle(invokeRequest({ name: 'echo', body: '{"unclosed":' }));

    const body = expectError(response, 400, 'InvalidRequestContentException');
    expect(body).toMatchObject({
      message: expect.stringMatching(/^Could not parse request body into json/),
    });
  });

  it('answers a client context that is not base64 JSON with 400', async () => {
    const service = start([fixtureSpec('echo')]);

    const response = await service.handle(
      invokeRequest({ name: 'echo', headers: { 'x-amz-client-context': 'bm90IGpzb24=' } }),
    );

    expectError(response, 400, 'InvalidRequestContentException');
  });

  it('answers payloads over the limits with 413 RequestEntityTooLargeException', async () => {
    const service = start([fixtureSpec('echo')], 2048);
    const big = JSON.stringify({ d: 'x'.repeat(4096) });
    const huge = JSON.stringify({ d: 'x'.repeat(6 * 1024 * 1024) });

    const asyncResponse = await service.handle(
      invokeRequest({ name: 'echo', body: big, headers: { 'x-amz-invocation-type': 'Event' } }),
    );
    const syncResponse = await service.handle(invokeRequest({ name: 'echo', body: huge }));

    expectError(asyncResponse, 413, 'RequestEntityTooLargeException');
    expectError(syncResponse, 413, 'RequestEntityTooLargeException');
  });

  it('answers a throttle with 429 TooManyRequestsException and its Reason', async () => {
    const service = start([fixtureSpec('cold-starts', { reservedConcurrency: 1 })]);
    const holding = service.handle(invokeRequest({ name: 'cold-starts', body: '{"holdMs":300}' }));

    const response = await service.handle(invokeRequest({ name: 'cold-starts' }));

    const body = expectError(response, 429, 'TooManyRequestsException', 'Rate Exceeded.');
    expect(body).toMatchObject({ Reason: 'ReservedFunctionConcurrentInvocationLimitExceeded' });
    expect((await holding).status).toBe(200);
  });

  it('answers an unknown path with 404 UnknownOperationException', async () => {
    const service = start([fixtureSpec('echo')]);

    const response = await service.handle({
      ...invokeRequest({ name: 'echo' }),
      path: '/2015-03-31/functions/echo/policy/extra',
    });

    expectError(response, 404, 'UnknownOperationException');
  });
});

describe('GetFunction', () => {
  it('describes the function, leaving its credentials out', async () => {
    const service = start([
      fixtureSpec('echo', {
        environment: { TABLE: 't', AWS_ACCESS_KEY_ID: 'AKIA', AWS_SECRET_ACCESS_KEY: 'secret' },
      }),
    ]);

    const response = await service.handle({
      method: 'GET',
      path: `/2015-03-31/functions/${encodeURIComponent(functionArn('echo'))}`,
      query: new URLSearchParams(),
      headers: {},
      body: Buffer.alloc(0),
    });

    expect(response.status).toBe(200);
    const body = JSON.parse(bodyOf(response));
    expect(body.Configuration).toMatchObject({
      FunctionName: 'echo',
      FunctionArn: functionArn('echo'),
      Runtime: 'nodejs24.x',
      Handler: 'index.handler',
      Timeout: 3,
      MemorySize: 128,
      Version: '$LATEST',
      State: 'Active',
      Environment: { Variables: { TABLE: 't' } },
    });
  });
});

describe('through the AWS SDK', () => {
  /** A bare HTTP front for the service, as the local cloud's endpoint will be. */
  async function sdkClient(service: AwsService): Promise<LambdaClient> {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', async () => {
        const url = new URL(req.url ?? '/', 'http://localhost');
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(req.headers)) {
          if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(',') : value;
        }
        const response = await service.handle({
          method: req.method ?? 'GET',
          path: url.pathname,
          query: url.searchParams,
          headers,
          body: Buffer.concat(chunks),
        });
        res.writeHead(response.status, response.headers);
        res.end(response.body);
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    return new LambdaClient({
      region: 'us-east-1',
      endpoint: `http://127.0.0.1:${port}`,
      credentials: { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local' },
      maxAttempts: 1,
    });
  }

  it('reads results, function errors, log tails and 202s', async () => {
    // Prepare
    const client = await sdkClient(start([fixtureSpec('echo'), fixtureSpec('throws')]));

    // Act
    const ok = await client.send(
      new InvokeCommand({
        FunctionName: functionArn('echo'),
        Payload: Buffer.from('{"via":"sdk"}'),
        LogType: 'Tail',
      }),
    );
    const failed = await client.send(new InvokeCommand({ FunctionName: 'throws' }));
    const queued = await client.send(
      new InvokeCommand({
        FunctionName: 'echo',
        InvocationType: 'Event',
        Payload: Buffer.from('{}'),
      }),
    );

    // Assess
    expect(ok.StatusCode).toBe(200);
    expect(ok.ExecutedVersion).toBe('$LATEST');
    expect(ok.FunctionError).toBeUndefined();
    expect(Buffer.from(ok.Payload ?? []).toString()).toBe('{"via":"sdk"}');
    expect(Buffer.from(ok.LogResult ?? '', 'base64').toString()).toContain('echo {"via":"sdk"}');
    expect(failed.FunctionError).toBe('Unhandled');
    expect(JSON.parse(Buffer.from(failed.Payload ?? []).toString())).toMatchObject({
      errorType: 'ValidationFailed',
    });
    expect(queued.StatusCode).toBe(202);
  });

  it('raises the modelled exceptions', async () => {
    // Prepare
    const client = await sdkClient(start([fixtureSpec('cold-starts', { reservedConcurrency: 1 })]));
    const holding = client.send(
      new InvokeCommand({ FunctionName: 'cold-starts', Payload: Buffer.from('{"holdMs":400}') }),
    );
    await new Promise((resolve) => setTimeout(resolve, 100));

    // Act
    const missing = client.send(new InvokeCommand({ FunctionName: 'nope' }));
    const throttled = client.send(new InvokeCommand({ FunctionName: 'cold-starts' }));

    // Assess
    await expect(missing).rejects.toBeInstanceOf(ResourceNotFoundException);
    await expect(missing).rejects.toMatchObject({
      message: `Function not found: ${functionArn('nope')}`,
      Type: 'User',
    });
    await expect(throttled).rejects.toBeInstanceOf(TooManyRequestsException);
    await expect(throttled).rejects.toMatchObject({
      Reason: 'ReservedFunctionConcurrentInvocationLimitExceeded',
    });
    expect((await holding).StatusCode).toBe(200);
    const described = await client.send(new GetFunctionCommand({ FunctionName: 'cold-starts' }));
    expect(described.Concurrency?.ReservedConcurrentExecutions).toBe(1);
  });
});
