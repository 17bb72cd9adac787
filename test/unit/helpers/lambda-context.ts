/**
 * A Lambda `Context` like the one the Node.js runtime passes: real-looking
 * identifiers and a `getRemainingTimeInMillis()` that counts down from the
 * function's timeout on the (possibly faked) clock.
 */
import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';

export interface LambdaContextOptions {
  readonly functionName?: string;
  /** The function's timeout; the countdown starts when the context is built. @default 900_000 */
  readonly timeoutMs?: number;
  readonly memoryLimitInMB?: number;
  readonly region?: string;
  readonly accountId?: string;
}

export function lambdaContext(options: LambdaContextOptions = {}): Context {
  const functionName = options.functionName ?? 'eventjobs-worker';
  const region = options.region ?? 'us-east-1';
  const accountId = options.accountId ?? '123456789012';
  const deadline = Date.now() + (options.timeoutMs ?? 900_000);
  const day = new Date().toISOString().slice(0, 10).replaceAll('-', '/');
  const noCallbacks = () => {
    throw new Error('Callback-style completion is not supported by nodejs22.x and later');
  };
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${region}:${accountId}:function:${functionName}`,
    memoryLimitInMB: String(options.memoryLimitInMB ?? 1024),
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: `${day}/[$LATEST]${randomUUID().replaceAll('-', '')}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: noCallbacks,
    fail: noCallbacks,
    succeed: noCallbacks,
  };
}
