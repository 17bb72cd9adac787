/**
 * The account's concurrency as AWS keeps it: 1,000 by default, shared by the
 * functions that reserve none, with at least 100 always unreserved.
 */
import { resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startLocalCloud } from '../../../../local/cloud';
import {
  ConcurrencyLimiter,
  ConcurrencySettingError,
  DEFAULT_ACCOUNT_CONCURRENCY,
} from '../../../../local/lambda/concurrency';
import { LocalLambda } from '../../../../local/lambda/local-lambda';
import { fixtureSpec, RecordingLog, TEST_ENV } from '../../../fixtures/lambda/harness';

const started: LocalLambda[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((lambda) => lambda.close()));
});

function lambdaWith(functions: Parameters<typeof fixtureSpec>[], accountConcurrency?: number) {
  const lambda = new LocalLambda({
    env: TEST_ENV,
    functions: functions.map((args) => fixtureSpec(...args)),
    log: new RecordingLog(),
    ...(accountConcurrency === undefined ? {} : { accountConcurrency }),
  });
  started.push(lambda);
  return lambda;
}

describe('the account limit', () => {
  it("is AWS's default of 1,000, shared by the functions that reserve nothing", () => {
    // Prepare
    const shared = fixtureSpec('echo');
    const limiter = new ConcurrencyLimiter(DEFAULT_ACCOUNT_CONCURRENCY, [shared]);

    // Act
    const taken = Array.from({ length: 1000 }, () => limiter.tryAcquire(shared));
    const over = limiter.tryAcquire(shared);

    // Assess
    expect(taken.every((reason) => reason === undefined)).toBe(true);
    expect(over).toBe('ConcurrentInvocationLimitExceeded');
    expect(limiter.inFlight).toBe(1000);
  });

  it('keeps a reservation out of the shared pool, and the rest to the others', () => {
    // Prepare
    const worker = fixtureSpec('cold-starts', { reservedConcurrency: 900 });
    const api = fixtureSpec('echo');
    const limiter = new ConcurrencyLimiter(DEFAULT_ACCOUNT_CONCURRENCY, [worker, api]);

    // Act
    const apiTaken = Array.from({ length: 100 }, () => limiter.tryAcquire(api));
    const apiOver = limiter.tryAcquire(api);
    const workerTaken = limiter.tryAcquire(worker);

    // Assess
    expect(apiTaken.every((reason) => reason === undefined)).toBe(true);
    expect(apiOver).toBe('ConcurrentInvocationLimitExceeded');
    expect(workerTaken).toBeUndefined();
  });
});

describe('reservations AWS would refuse', () => {
  it('refuses reservations that leave fewer than 100 unreserved, naming the functions and numbers', () => {
    // Act
    const starting = () =>
      lambdaWith([
        ['cold-starts', { name: 'worker', reservedConcurrency: 850 }],
        ['echo', { name: 'completion', reservedConcurrency: 51 }],
        ['echo', { name: 'api' }],
      ]);

    // Assess
    expect(starting).toThrow(ConcurrencySettingError);
    expect(starting).toThrow(
      "The functions reserve 901 concurrent executions (worker 850, completion 51) of the account's 1000, " +
        'leaving 99 unreserved; AWS keeps at least 100 unreserved and would refuse these reservations.',
    );
  });

  it('takes reservations that leave exactly 100, against the default or a set limit', () => {
    // Act
    const atDefault = () => lambdaWith([['echo', { reservedConcurrency: 900 }]]);
    const atSetLimit = () => lambdaWith([['echo', { reservedConcurrency: 100 }]], 200);
    const overSetLimit = () => lambdaWith([['echo', { reservedConcurrency: 101 }]], 200);

    // Assess
    expect(atDefault).not.toThrow();
    expect(atSetLimit).not.toThrow();
    expect(overSetLimit).toThrow(/leaving 99 unreserved/);
  });

  it('takes a small account limit when nothing is reserved, or only 0 (a stopped function)', () => {
    // Act
    const nothingReserved = () => lambdaWith([['echo', {}]], 1);
    const stopped = () => lambdaWith([['echo', { reservedConcurrency: 0 }]], 10);

    // Assess
    expect(nothingReserved).not.toThrow();
    expect(stopped).not.toThrow();
  });

  it.each([
    [0, /account concurrency must be a whole number of at least 1, got 0/],
    [2.5, /account concurrency must be a whole number of at least 1, got 2.5/],
  ])('refuses an account limit of %s', (limit, message) => {
    expect(() => lambdaWith([['echo', {}]], limit)).toThrow(message);
  });

  it('refuses a reservation that is not a whole number of 0 or more', () => {
    expect(() => lambdaWith([['echo', { reservedConcurrency: -1 }]])).toThrow(
      /echo \(echo\) reserves -1 concurrent executions: ReservedConcurrentExecutions must be a whole number of 0 or more/,
    );
  });

  it('stops the local cloud from starting, before any service runs', async () => {
    // Act
    const starting = startLocalCloud({
      assemblyDir: resolve(import.meta.dirname, '../../../fixtures/assembly/dlq'),
      apiPort: 0,
      awsPort: 0,
      log: new RecordingLog(),
      accountConcurrency: 0,
    });

    // Assess
    await expect(starting).rejects.toBeInstanceOf(ConcurrencySettingError);
  });
});
