/**
 * `LocalLambda.updateFunctionCode`: UpdateFunctionCode for `$LATEST`, as a
 * dev server uses it on save. The handlers are written to temporary
 * directories: each answers its version and the log stream of its execution
 * environment (one per environment), and sleeps when asked so that an
 * invocation can be in flight across the update.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LambdaServiceError } from '../../../../local/contracts';
import { LocalLambda, type LocalLambdaOptions } from '../../../../local/lambda';
import {
  eventually,
  FakeQueues,
  fixtureSpec,
  functionArn,
  QUEUE_ARN,
  RecordingLog,
  TEST_ENV,
} from '../../../fixtures/lambda/harness';

interface Answer {
  readonly version: string;
  readonly environment: string;
}

let root: string;
let v1Dir: string;
let v2Dir: string;
let lambda: LocalLambda | undefined;

function handlerSource(version: string): string {
  return `export const handler = async (event) => {
  if (event.sleepMs) {
    console.log('sleeping ${version}');
    await new Promise((resolve) => setTimeout(resolve, event.sleepMs));
  }
  return { version: '${version}', environment: process.env.AWS_LAMBDA_LOG_STREAM_NAME };
};
`;
}

async function writeHandler(dir: string, version: string): Promise<void> {
  await writeFile(path.join(dir, 'index.mjs'), handlerSource(version));
}

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'local-lambda-update-code-'));
  v1Dir = path.join(root, 'v1');
  v2Dir = path.join(root, 'v2');
  for (const [dir, version] of [
    [v1Dir, 'v1'],
    [v2Dir, 'v2'],
  ] as const) {
    await mkdir(dir);
    await writeHandler(dir, version);
  }
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

afterEach(async () => {
  await lambda?.close();
  lambda = undefined;
});

function start(
  codeDir: string,
  options: Partial<LocalLambdaOptions> & { reservedConcurrency?: number; onSuccess?: string } = {},
): { lambda: LocalLambda; log: RecordingLog } {
  const log = new RecordingLog();
  const spec = fixtureSpec('swap', {
    codeDir,
    timeoutSeconds: 10,
    ...(options.reservedConcurrency !== undefined
      ? { reservedConcurrency: options.reservedConcurrency }
      : {}),
    asyncConfig: options.onSuccess ? { onSuccessArn: options.onSuccess } : {},
  });
  lambda = new LocalLambda({ env: TEST_ENV, functions: [spec], log, ...options });
  return { lambda, log };
}

async function call(target: LocalLambda, event: object = {}): Promise<Answer> {
  const result = await target.invoke('swap', JSON.stringify(event), 'RequestResponse');
  expect(result.functionError).toBeUndefined();
  return JSON.parse(result.payload) as Answer;
}

describe('updateFunctionCode', () => {
  it('runs new invocations on the new code while the one in flight finishes on the old, and reuses no old environment', async () => {
    // Prepare: two warm v1 environments, then one of them busy with a slow invocation.
    const { lambda, log } = start(v1Dir);
    const warm = await Promise.all([
      call(lambda, { sleepMs: 200 }),
      call(lambda, { sleepMs: 200 }),
    ]);
    const v1Environments = new Set(warm.map((answer) => answer.environment));
    expect(v1Environments.size).toBe(2);
    const inFlight = call(lambda, { sleepMs: 1500 });
    await eventually(() => expect(log.textOf('swap')).toContain('sleeping v1'), 5000);

    // Act
    lambda.updateFunctionCode('swap', v2Dir);

    // Assess: the idle v1 environment is stopped at once; the busy one stays until it is done.
    await eventually(() => expect(lambda.stats().workers).toBe(1), 5000);
    const after = await call(lambda);
    expect(after.version).toBe('v2');
    expect(v1Environments.has(after.environment)).toBe(false);
    const old = await inFlight;
    expect(old.version).toBe('v1');
    expect(v1Environments.has(old.environment)).toBe(true);
    // The in-flight environment is retired, not kept warm: only the v2 one is left.
    await eventually(() => expect(lambda.stats().workers).toBe(1), 5000);
    const later = await Promise.all([call(lambda), call(lambda), call(lambda)]);
    for (const answer of later) {
      expect(answer.version).toBe('v2');
      expect(v1Environments.has(answer.environment)).toBe(false);
    }
    expect(lambda.find('swap')?.codeDir).toBe(v2Dir);
    expect(log.textOf('lambda').some((line) => line.includes(`code of swap updated`))).toBe(true);
  });

  it('accepts an ARN, and loads code rewritten in the same directory afresh', async () => {
    const dir = path.join(root, 'rewritten');
    await mkdir(dir);
    await writeHandler(dir, 'v1');
    const { lambda } = start(dir);
    const before = await call(lambda);

    await writeHandler(dir, 'v2');
    lambda.updateFunctionCode(functionArn('swap'), dir);
    const after = await call(lambda);

    expect(before.version).toBe('v1');
    expect(after.version).toBe('v2');
    expect(after.environment).not.toBe(before.environment);
  });

  it('runs an async event queued before the update on the new code', async () => {
    // Reserved concurrency 1 and a slow invocation: the event is throttled and retried later.
    const queues = new FakeQueues();
    const { lambda, log } = start(v1Dir, {
      reservedConcurrency: 1,
      onSuccess: QUEUE_ARN,
      queues,
    });
    const inFlight = call(lambda, { sleepMs: 800 });
    await eventually(() => expect(log.textOf('swap')).toContain('sleeping v1'), 5000);
    await lambda.invoke('swap', '{}', 'Event');
    await eventually(() => expect(lambda.stats().throttles.swap ?? 0).toBeGreaterThan(0), 5000);

    lambda.updateFunctionCode('swap', v2Dir);
    await inFlight;
    await lambda.whenIdle();

    expect(queues.sent).toHaveLength(1);
    const record = JSON.parse(queues.sent[0]?.body ?? '{}') as { responsePayload?: Answer };
    expect(record.responsePayload?.version).toBe('v2');
  });

  it('throws the not-found error of Invoke for an unknown function, and refuses a missing directory', async () => {
    const { lambda } = start(v1Dir);
    const invokeError = await lambda.invoke('nope', '{}', 'RequestResponse').then(
      () => undefined,
      (error: unknown) => error,
    );

    let updateError: unknown;
    try {
      lambda.updateFunctionCode('nope', v2Dir);
    } catch (error) {
      updateError = error;
    }

    expect(updateError).toBeInstanceOf(LambdaServiceError);
    expect(updateError).toMatchObject({
      status: 404,
      code: 'ResourceNotFoundException',
      message: `Function not found: ${functionArn('nope')}`,
    });
    expect(updateError).toMatchObject({
      status: (invokeError as LambdaServiceError).status,
      code: (invokeError as LambdaServiceError).code,
      message: (invokeError as LambdaServiceError).message,
    });
    expect(() => lambda.updateFunctionCode('swap', path.join(root, 'missing'))).toThrow(
      /does not exist/,
    );
    expect((await call(lambda)).version).toBe('v1');
  });
});
