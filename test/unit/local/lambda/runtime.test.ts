/**
 * The local Lambda's execution: worker-thread environments running fixture
 * handlers (test/fixtures/lambda), with Lambda's context, environment,
 * errors, timeouts, warm reuse and concurrency limits.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { type FunctionSpec, LambdaServiceError } from '../../../../local/contracts';
import {
  LocalLambda,
  type LocalLambdaOptions,
  TooManyRequestsError,
} from '../../../../local/lambda';
import {
  eventually,
  FIXTURES_DIR,
  fixtureSpec,
  functionArn,
  RecordingLog,
  TEST_ENV,
} from '../../../fixtures/lambda/harness';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');

let lambda: LocalLambda | undefined;

afterEach(async () => {
  await lambda?.close();
  lambda = undefined;
});

function start(
  functions: FunctionSpec[],
  options: Partial<LocalLambdaOptions> = {},
): { lambda: LocalLambda; log: RecordingLog } {
  const log = new RecordingLog();
  lambda = new LocalLambda({ env: TEST_ENV, functions, log, ...options });
  return { lambda, log };
}

function parse(payload: string): Record<string, unknown> {
  const value: unknown = JSON.parse(payload);
  if (typeof value !== 'object' || value === null) throw new Error(`not an object: ${payload}`);
  return value as Record<string, unknown>;
}

describe('results and function errors', () => {
  it('returns the handler result as JSON text with status 200', async () => {
    // Prepare
    const { lambda } = start([fixtureSpec('echo')]);

    // Act
    const result = await lambda.invoke('echo', '{"hello":"world","n":[1,2]}', 'RequestResponse');

    // Assess
    expect(result).toEqual({
      statusCode: 200,
      payload: '{"hello":"world","n":[1,2]}',
      executedVersion: '$LATEST',
    });
  });

  it('turns an empty payload into the event {}', async () => {
    const { lambda } = start([fixtureSpec('echo')]);

    const result = await lambda.invoke('echo', '', 'RequestResponse');

    expect(result.payload).toBe('{}');
  });

  it('runs a CommonJS handler found by the .cjs lookup', async () => {
    const { lambda } = start([fixtureSpec('commonjs')]);

    const result = await lambda.invoke('commonjs', '{}', 'RequestResponse');

    expect(parse(result.payload)).toEqual({ module: 'commonjs' });
  });

  it('answers a thrown error as {errorType, errorMessage, trace} with functionError Unhandled', async () => {
    // Prepare
    const { lambda, log } = start([fixtureSpec('throws')]);

    // Act
    const result = await lambda.invoke('throws', '{"id":7}', 'RequestResponse');

    // Assess
    expect(result.statusCode).toBe(200);
    expect(result.functionError).toBe('Unhandled');
    const error = parse(result.payload);
    expect(Object.keys(error)).toEqual(['errorType', 'errorMessage', 'trace']);
    expect(error.errorType).toBe('ValidationFailed');
    expect(error.errorMessage).toBe('bad input: {"id":7}');
    expect(error.trace).toEqual(
      expect.arrayContaining([
        'ValidationFailed: bad input: {"id":7}',
        expect.stringContaining('throws/index.mjs'),
      ]),
    );
    expect(log.textOf('throws').some((line) => line.includes('ERROR\tInvoke Error'))).toBe(true);
  });

  it('keeps the environment after a thrown error (the next call is warm)', async () => {
    const { lambda } = start([fixtureSpec('throws')]);

    await lambda.invoke('throws', '{}', 'RequestResponse');
    await lambda.invoke('throws', '{}', 'RequestResponse');

    expect(lambda.stats().coldStarts).toEqual({ throws: 1 });
  });

  it('answers a response over 6 MB with Function.ResponseSizeTooLarge', async () => {
    const { lambda } = start([fixtureSpec('big-payload', { memoryMb: 256 })]);

    const fits = await lambda.invoke('big-payload', '{"bytes":1000}', 'RequestResponse');
    const tooBig = await lambda.invoke('big-payload', '{"bytes":6291600}', 'RequestResponse');

    expect(fits.functionError).toBeUndefined();
    expect(tooBig.functionError).toBe('Unhandled');
    expect(parse(tooBig.payload)).toEqual({
      errorType: 'Function.ResponseSizeTooLarge',
      errorMessage: 'Response payload size exceeded maximum allowed payload size (6291556 bytes).',
    });
  });

  it('supports callback handlers on nodejs22.x and refuses them on nodejs24.x', async () => {
    const { lambda } = start([
      fixtureSpec('callback', { name: 'callback22', runtime: 'nodejs22.x' }),
      fixtureSpec('callback', { name: 'callback24', runtime: 'nodejs24.x' }),
    ]);

    const on22 = await lambda.invoke('callback22', '{"a":1}', 'RequestResponse');
    const on24 = await lambda.invoke('callback24', '{"a":1}', 'RequestResponse');

    expect(parse(on22.payload)).toEqual({ via: 'callback', event: { a: 1 } });
    expect(on24.functionError).toBe('Unhandled');
    expect(parse(on24.payload).errorType).toBe('Runtime.CallbackHandlerDeprecated');
  });
});

describe('init errors', () => {
  it('reports a module that is not there as Runtime.ImportModuleError', async () => {
    const { lambda } = start([fixtureSpec('echo', { handler: 'missing.handler' })]);

    const result = await lambda.invoke('echo', '{}', 'RequestResponse');

    expect(result.functionError).toBe('Unhandled');
    const error = parse(result.payload);
    expect(error.errorType).toBe('Runtime.ImportModuleError');
    expect(error.errorMessage).toMatch(/^Error: Cannot find module 'missing'/);
  });

  it('reports an export that is not there as Runtime.HandlerNotFound', async () => {
    const { lambda } = start([fixtureSpec('echo', { handler: 'index.nope' })]);

    const result = await lambda.invoke('echo', '{}', 'RequestResponse');

    expect(parse(result.payload)).toMatchObject({
      errorType: 'Runtime.HandlerNotFound',
      errorMessage: 'index.nope is undefined or not exported',
    });
  });

  it('reports an error thrown while loading, and loads again on the next call', async () => {
    const { lambda } = start([fixtureSpec('init-error')]);

    const first = await lambda.invoke('init-error', '{}', 'RequestResponse');
    const second = await lambda.invoke('init-error', '{}', 'RequestResponse');

    expect(first.functionError).toBe('Unhandled');
    expect(parse(first.payload)).toMatchObject({
      errorType: 'Error',
      errorMessage: 'cannot start: missing configuration',
    });
    expect(parse(second.payload).errorMessage).toBe('cannot start: missing configuration');
    expect(lambda.stats().coldStarts).toEqual({ 'init-error': 2 });
  });
});

describe('timeouts and crashes', () => {
  it('stops a function at its timeout with Sandbox.Timedout and discards the environment', async () => {
    // Prepare
    const { lambda, log } = start([fixtureSpec('sleeps', { timeoutSeconds: 1 })]);

    // Act
    const { result, requestId } = await lambda.invokeWithDetails(
      'sleeps',
      '{"ms":60000}',
      'RequestResponse',
    );

    // Assess
    expect(result.functionError).toBe('Unhandled');
    expect(parse(result.payload)).toEqual({
      errorType: 'Sandbox.Timedout',
      errorMessage: `RequestId: ${requestId} Error: Task timed out after 1.00 seconds`,
    });
    expect(log.textOf('sleeps').some((line) => line.includes(`${requestId} Task timed out`))).toBe(
      true,
    );
    await eventually(() => expect(lambda.stats().workers).toBe(0));
  });

  it('stops a busy loop at the timeout too', async () => {
    const { lambda } = start([fixtureSpec('busy-loop', { timeoutSeconds: 1 })]);

    const result = await lambda.invoke('busy-loop', '{}', 'RequestResponse');

    expect(parse(result.payload).errorType).toBe('Sandbox.Timedout');
    await eventually(() => expect(lambda.stats().workers).toBe(0));
  });

  it('starts a new environment after a timeout', async () => {
    const { lambda } = start([fixtureSpec('sleeps', { timeoutSeconds: 1 })]);

    await lambda.invoke('sleeps', '{"ms":5000}', 'RequestResponse');
    const after = await lambda.invoke('sleeps', '{"ms":1}', 'RequestResponse');

    expect(after.payload).toBe('"woke up"');
    expect(lambda.stats().coldStarts).toEqual({ sleeps: 2 });
  });

  it('answers process.exit with Runtime.ExitError and the exit status', async () => {
    const { lambda } = start([fixtureSpec('exits')]);

    const { result, requestId } = await lambda.invokeWithDetails(
      'exits',
      '{"code":3}',
      'RequestResponse',
    );

    expect(result.functionError).toBe('Unhandled');
    expect(parse(result.payload)).toEqual({
      errorType: 'Runtime.ExitError',
      errorMessage: `RequestId: ${requestId} Error: Runtime exited with error: exit status 3`,
    });
  });

  it('answers an uncaught exception with Runtime.ExitError (status 129) and logs the exception', async () => {
    const { lambda, log } = start([fixtureSpec('uncaught')]);

    const result = await lambda.invoke('uncaught', '{}', 'RequestResponse');

    expect(parse(result.payload)).toMatchObject({
      errorType: 'Runtime.ExitError',
      errorMessage: expect.stringMatching(/exit status 129$/),
    });
    expect(
      log
        .textOf('uncaught')
        .some(
          (line) => line.startsWith('Uncaught Exception') && line.includes('thrown from a timer'),
        ),
    ).toBe(true);
  });

  it('answers a function that runs out of memory with Runtime.OutOfMemory', async () => {
    const { lambda } = start([fixtureSpec('memory-hog', { memoryMb: 32 })]);

    const result = await lambda.invoke('memory-hog', '{}', 'RequestResponse');

    expect(parse(result.payload).errorType).toBe('Runtime.OutOfMemory');
  });
});

describe('context and environment', () => {
  it('gives the handler a Lambda context whose remaining time goes down', async () => {
    // Prepare
    const { lambda } = start([fixtureSpec('context', { timeoutSeconds: 5, memoryMb: 192 })]);
    const clientContext = Buffer.from(JSON.stringify({ custom: { tenant: 'a' } })).toString(
      'base64',
    );

    // Act
    const { result, requestId } = await lambda.invokeWithDetails(
      'context',
      '{"waitMs":100}',
      'RequestResponse',
      { clientContext },
    );

    // Assess
    const seen = parse(result.payload);
    expect(seen.context).toEqual({
      awsRequestId: requestId,
      functionName: 'context',
      functionVersion: '$LATEST',
      invokedFunctionArn: functionArn('context'),
      memoryLimitInMB: '192',
      logGroupName: '/aws/lambda/context',
      logStreamName: expect.stringMatching(/^\d{4}\/\d{2}\/\d{2}\/\[\$LATEST\][0-9a-f]{32}$/),
      callbackWaitsForEmptyEventLoop: true,
      clientContext: { custom: { tenant: 'a' } },
    });
    const before = Number(seen.remainingBefore);
    const after = Number(seen.remainingAfter);
    expect(before).toBeLessThanOrEqual(5000);
    expect(before).toBeGreaterThan(0);
    expect(after).toBeLessThan(before);
    expect(after).toBeGreaterThanOrEqual(0);
  });

  it('passes the qualified ARN when the function was invoked by it', async () => {
    const { lambda } = start([fixtureSpec('context')]);

    const result = await lambda.invoke(
      `${functionArn('context')}:$LATEST`,
      '{}',
      'RequestResponse',
    );

    expect(parse(result.payload).context).toMatchObject({
      invokedFunctionArn: `${functionArn('context')}:$LATEST`,
    });
  });

  it("sets Lambda's variables under the function's own and isolates functions from each other and from the host", async () => {
    // Prepare
    process.env.LOCAL_LAMBDA_TEST_HOST_ONLY = 'host';
    const { lambda } = start([
      fixtureSpec('context', {
        name: 'first',
        environment: { SHARED_NAME: 'first', AWS_ENDPOINT_URL: 'http://127.0.0.1:4566' },
      }),
      fixtureSpec('context', { name: 'second', environment: { SHARED_NAME: 'second' } }),
    ]);

    try {
      // Act
      const [first, second] = await Promise.all([
        lambda.invoke('first', '{}', 'RequestResponse'),
        lambda.invoke('second', '{}', 'RequestResponse'),
      ]);

      // Assess
      const firstEnv = parse(first.payload).env;
      const secondEnv = parse(second.payload).env;
      expect(firstEnv).toMatchObject({
        SHARED_NAME: 'first',
        AWS_ENDPOINT_URL: 'http://127.0.0.1:4566',
        AWS_REGION: 'us-east-1',
        AWS_DEFAULT_REGION: 'us-east-1',
        AWS_LAMBDA_FUNCTION_NAME: 'first',
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '128',
        AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
        AWS_LAMBDA_LOG_GROUP_NAME: '/aws/lambda/first',
        AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
        _HANDLER: 'index.handler',
        LAMBDA_TASK_ROOT: path.join(FIXTURES_DIR, 'context'),
        TZ: ':UTC',
      });
      expect(firstEnv).toHaveProperty(
        'AWS_LAMBDA_LOG_STREAM_NAME',
        (parse(first.payload).context as Record<string, unknown>).logStreamName,
      );
      expect(secondEnv).toMatchObject({
        SHARED_NAME: 'second',
        AWS_LAMBDA_FUNCTION_NAME: 'second',
      });
      expect(secondEnv).not.toHaveProperty('AWS_ENDPOINT_URL');
      expect(firstEnv).not.toHaveProperty('LOCAL_LAMBDA_TEST_HOST_ONLY');
      expect(secondEnv).not.toHaveProperty('LOCAL_LAMBDA_TEST_HOST_ONLY');
    } finally {
      delete process.env.LOCAL_LAMBDA_TEST_HOST_ONLY;
    }
  });
});

describe('warm reuse and cold starts', () => {
  it('reuses an idle environment: module state survives, init runs once', async () => {
    const { lambda } = start([fixtureSpec('cold-starts')]);

    const first = parse((await lambda.invoke('cold-starts', '{}', 'RequestResponse')).payload);
    const second = parse((await lambda.invoke('cold-starts', '{}', 'RequestResponse')).payload);

    expect(second.instance).toBe(first.instance);
    expect([first.invocations, second.invocations]).toEqual([1, 2]);
    expect(lambda.stats().coldStarts).toEqual({ 'cold-starts': 1 });
    expect(lambda.stats().invocations).toEqual({ 'cold-starts': 2 });
  });

  it('starts a second environment for a concurrent invocation', async () => {
    const { lambda } = start([fixtureSpec('cold-starts')]);

    const results = await Promise.all([
      lambda.invoke('cold-starts', '{"holdMs":200}', 'RequestResponse'),
      lambda.invoke('cold-starts', '{"holdMs":200}', 'RequestResponse'),
    ]);

    const instances = new Set(results.map((result) => parse(result.payload).instance));
    expect(instances.size).toBe(2);
    expect(lambda.stats().coldStarts).toEqual({ 'cold-starts': 2 });
    expect(lambda.stats().workers).toBe(2);
  });

  it('writes START, END and REPORT (with Init Duration on a cold start) around the output', async () => {
    const { lambda, log } = start([fixtureSpec('echo')]);

    const { requestId } = await lambda.invokeWithDetails('echo', '{"x":1}', 'RequestResponse');

    const lines = log.textOf('echo');
    expect(lines[0]).toBe(`START RequestId: ${requestId} Version: $LATEST`);
    expect(lines).toContain('echo {"x":1}');
    expect(lines).toContain('echo to stderr');
    expect(lines.at(-2)).toBe(`END RequestId: ${requestId}`);
    expect(lines.at(-1)).toMatch(
      new RegExp(
        `^REPORT RequestId: ${requestId}\\tDuration: [\\d.]+ ms\\tBilled Duration: \\d+ ms\\tMemory Size: 128 MB\\tInit Duration: [\\d.]+ ms$`,
      ),
    );
  });

  it("attributes all of an invocation's output to it, however much it writes just before returning", async () => {
    // Prepare: worker output and its result travel on different channels.
    const { lambda, log } = start([fixtureSpec('chatty')]);

    // Act
    const { requestId, logResult } = await lambda.invokeWithDetails(
      'chatty',
      '{"lines":2000}',
      'RequestResponse',
      { logType: 'Tail' },
    );

    // Assess
    const lines = log.textOf('chatty');
    const end = lines.indexOf(`END RequestId: ${requestId}`);
    expect(lines.indexOf('out 2000')).toBeGreaterThan(0);
    expect(lines.indexOf('out 2000')).toBeLessThan(end);
    expect(lines.indexOf('err 2000')).toBeLessThan(end);
    const tail = Buffer.from(logResult ?? '', 'base64').toString('utf8');
    expect(tail).toMatch(
      /err 2000\n(out 2000\n)?END RequestId|out 2000\n(err 2000\n)?END RequestId/,
    );
  });

  it('returns the invocation log tail (START to REPORT) when asked', async () => {
    const { lambda } = start([fixtureSpec('echo')]);

    const { logResult, requestId } = await lambda.invokeWithDetails(
      'echo',
      '{"t":1}',
      'RequestResponse',
      {
        logType: 'Tail',
      },
    );

    const tail = Buffer.from(logResult ?? '', 'base64').toString('utf8');
    expect(tail).toContain(`START RequestId: ${requestId}`);
    expect(tail).toContain('echo {"t":1}');
    expect(tail).toContain(`REPORT RequestId: ${requestId}`);
  });
});

describe('concurrency', () => {
  it('throttles a sync invoke beyond reserved concurrency with 429 TooManyRequestsException', async () => {
    // Prepare
    const { lambda } = start([fixtureSpec('cold-starts', { reservedConcurrency: 1 })]);
    const running = lambda.invoke('cold-starts', '{"holdMs":300}', 'RequestResponse');

    // Act
    const second = lambda.invoke('cold-starts', '{}', 'RequestResponse');

    // Assess
    await expect(second).rejects.toBeInstanceOf(TooManyRequestsError);
    await expect(second).rejects.toMatchObject({
      status: 429,
      code: 'TooManyRequestsException',
      message: 'Rate Exceeded.',
      reason: 'ReservedFunctionConcurrentInvocationLimitExceeded',
    });
    expect((await running).functionError).toBeUndefined();
    expect(lambda.stats().throttles).toEqual({ 'cold-starts': 1 });
  });

  it('throttles when the account limit is reached, across functions', async () => {
    const { lambda } = start([fixtureSpec('cold-starts'), fixtureSpec('echo')], {
      accountConcurrency: 1,
    });
    const running = lambda.invoke('cold-starts', '{"holdMs":300}', 'RequestResponse');

    const other = lambda.invoke('echo', '{}', 'RequestResponse');

    await expect(other).rejects.toMatchObject({
      status: 429,
      reason: 'ConcurrentInvocationLimitExceeded',
    });
    await running;
    await expect(lambda.invoke('echo', '{}', 'RequestResponse')).resolves.toMatchObject({
      statusCode: 200,
    });
  });

  it('refuses every sync invoke of a function with reserved concurrency 0', async () => {
    const { lambda } = start([fixtureSpec('echo', { reservedConcurrency: 0 })]);

    await expect(lambda.invoke('echo', '{}', 'RequestResponse')).rejects.toMatchObject({
      status: 429,
      reason: 'ReservedFunctionConcurrentInvocationLimitExceeded',
    });
    expect(lambda.stats().invocations).toEqual({});
  });
});

describe('request validation', () => {
  it('refuses a sync payload over 6 MB with 413 RequestEntityTooLargeException', async () => {
    const { lambda } = start([fixtureSpec('echo')]);
    const payload = JSON.stringify({ data: 'x'.repeat(6 * 1024 * 1024) });

    const call = lambda.invoke('echo', payload, 'RequestResponse');

    await expect(call).rejects.toBeInstanceOf(LambdaServiceError);
    await expect(call).rejects.toMatchObject({
      status: 413,
      code: 'RequestEntityTooLargeException',
      message: 'Request must be smaller than 6291456 bytes for the InvokeFunction operation',
    });
  });

  it('refuses a payload that is not JSON with 400 InvalidRequestContentException', async () => {
    const { lambda } = start([fixtureSpec('echo')]);

    await expect(lambda.invoke('echo', 'not json', 'RequestResponse')).rejects.toMatchObject({
      status: 400,
      code: 'InvalidRequestContentException',
      message: expect.stringMatching(/^Could not parse request body into json/),
    });
  });

  it('refuses an unknown function with 404 ResourceNotFoundException naming its ARN', async () => {
    const { lambda } = start([fixtureSpec('echo')]);

    await expect(lambda.invoke('nope', '{}', 'RequestResponse')).rejects.toMatchObject({
      status: 404,
      code: 'ResourceNotFoundException',
      message: `Function not found: ${functionArn('nope')}`,
    });
  });

  it('finds functions by name, ARN, qualified ARN and partial ARN, and only $LATEST', () => {
    const { lambda } = start([fixtureSpec('echo')]);

    expect(lambda.find('echo')?.name).toBe('echo');
    expect(lambda.find('echo:$LATEST')?.name).toBe('echo');
    expect(lambda.find(functionArn('echo'))?.name).toBe('echo');
    expect(lambda.find(`${functionArn('echo')}:$LATEST`)?.name).toBe('echo');
    expect(lambda.find('123456789012:function:echo')?.name).toBe('echo');
    expect(lambda.find('echo:1')).toBeUndefined();
    expect(lambda.find('arn:aws:lambda:eu-west-1:123456789012:function:echo')).toBeUndefined();
    expect(lambda.find('999999999999:function:echo')).toBeUndefined();
    expect(lambda.find('arn:aws:sqs:us-east-1:123456789012:echo')).toBeUndefined();
  });

  it('runs nothing for DryRun and answers 204', async () => {
    const { lambda } = start([fixtureSpec('echo')]);

    const result = await lambda.invoke('echo', '{}', 'DryRun');

    expect(result.statusCode).toBe(204);
    expect(lambda.stats().invocations).toEqual({});
  });
});

describe('close', () => {
  it('terminates every worker, ends running invocations, and refuses new ones', async () => {
    // Prepare
    const { lambda } = start([fixtureSpec('sleeps', { timeoutSeconds: 30 }), fixtureSpec('echo')]);
    await lambda.invoke('echo', '{}', 'RequestResponse');
    const sleeping = lambda.invoke('sleeps', '{"ms":60000}', 'RequestResponse');
    await eventually(() => expect(lambda.stats().inFlight).toBe(1));

    // Act
    await lambda.close();

    // Assess
    expect(lambda.stats().workers).toBe(0);
    expect((await sleeping).functionError).toBe('Unhandled');
    await expect(lambda.invoke('echo', '{}', 'RequestResponse')).rejects.toBeInstanceOf(
      LambdaServiceError,
    );
  });

  it('lets the process exit once closed', async () => {
    // Prepare: a script that warms two functions, queues an event, then closes.
    const dir = await mkdtemp(path.join(tmpdir(), 'local-lambda-'));
    const script = path.join(dir, 'close.mts');
    await writeFile(
      script,
      [
        `import { LocalLambda } from ${JSON.stringify(path.join(REPO_ROOT, 'local/lambda/index.ts'))};`,
        `import { fixtureSpec, TEST_ENV } from ${JSON.stringify(path.join(FIXTURES_DIR, 'harness.ts'))};`,
        'const lambda = new LocalLambda({ env: TEST_ENV, log: { line() {} }, functions: [fixtureSpec("echo"), fixtureSpec("sleeps")] });',
        'await lambda.invoke("echo", "{}", "RequestResponse");',
        'await lambda.invoke("sleeps", \'{"ms":60000}\', "Event");',
        'await new Promise((resolve) => setTimeout(resolve, 200));',
        'await lambda.close();',
        'console.log("closed");',
      ].join('\n'),
    );

    try {
      // Act
      const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', script], {
        cwd: REPO_ROOT,
        timeout: 60_000,
      });

      // Assess: it printed and exited on its own, well before the sleeping event would end.
      expect(stdout.trim()).toBe('closed');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
