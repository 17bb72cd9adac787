import { createHash } from 'node:crypto';
import { defineJobType, delay, JobCancelledError, JobTimeoutError } from 'eventjobs';
import {
  type CompletedRun,
  type JobContext,
  JobInputError,
  type ProgressReport,
  runJob,
  runOnComplete,
  startJob,
} from 'eventjobs/testing';
import { describe, expect, it, vi } from 'vitest';
import * as z from 'zod/mini';
import { AppError } from '../../../../core/errors';
import { echo } from '../../../../functions/jobs/echo';
import { fail } from '../../../../functions/jobs/fail';
import { FlakyError, flaky } from '../../../../functions/jobs/flaky';
import { HASH_CHUNK_BYTES, hash } from '../../../../functions/jobs/hash';
import { sleep } from '../../../../functions/jobs/sleep';
import { backoffMs } from '../../../../functions/worker/attempts';

/** A job type whose `run` is the test's; its input is any object with an optional `n`. */
function testType<R>(
  run: (input: { n?: number }, ctx: JobContext) => Promise<R>,
  extra: { defaultTimeoutSeconds?: number } = {},
) {
  return defineJobType({
    name: 'test',
    description: 'A job type the test defines',
    input: z.object({ n: z.optional(z.number()) }),
    run,
    ...extra,
  });
}

/** A job that waits on its signal until it aborts, and remembers the reason. */
function waitingType() {
  const seen: { reason?: unknown } = {};
  let markStarted: () => void = () => undefined;
  const started = new Promise<void>((resolve) => {
    markStarted = resolve;
  });
  const type = testType(async (_input, ctx) => {
    markStarted();
    try {
      await delay(60_000, ctx.signal);
    } catch (error) {
      seen.reason = error;
      throw error;
    }
    return 'never';
  });
  return { type, seen, started };
}

class DiskFullError extends Error {
  override name = 'DiskFullError';
}

describe('runJob: a run that succeeds', () => {
  it('resolves SUCCEEDED with the result and every progress report, clamped and rounded', async () => {
    // Prepare
    const type = testType(async ({ n = 0 }, ctx) => {
      await ctx.progress(10, 'started');
      await ctx.progress(50.6);
      await ctx.progress(150, 'too far');
      return { doubled: n * 2 };
    });
    const seen: ProgressReport[] = [];

    // Act
    const outcome = await runJob(type, { n: 21 }, { onProgress: (report) => seen.push(report) });

    // Assess
    expect(outcome).toMatchObject({
      status: 'SUCCEEDED',
      result: { doubled: 42 },
      attempts: 1,
      failedAttempts: [],
    });
    expect(outcome.error).toBeUndefined();
    expect(outcome.progress.map((p) => [p.percent, p.message, p.attempt])).toEqual([
      [10, 'started', 1],
      [51, undefined, 1],
      [100, 'too far', 1],
    ]);
    expect(seen).toEqual(outcome.progress);
    expect(Date.parse(outcome.progress[0]?.at ?? '')).not.toBeNaN();
    expect(outcome.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('gives the job the identity it is told, and defaults otherwise', async () => {
    // Prepare
    const type = testType(async (_input, ctx) => ({
      jobName: ctx.jobName,
      runId: ctx.runId,
      type: ctx.type,
      attempt: ctx.attempt,
    }));

    // Act
    const named = await runJob(type, {}, { jobName: 'nightly', runId: 'run-7' });
    const unnamed = await runJob(type, {});

    // Assess
    expect(named.result).toEqual({ jobName: 'nightly', runId: 'run-7', type: 'test', attempt: 1 });
    expect(unnamed.result).toMatchObject({ jobName: 'test-job', type: 'test' });
    expect(unnamed.result?.runId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('hands the job its input as the schema parsed it (a zod/mini schema)', async () => {
    // Prepare
    const type = defineJobType({
      name: 'greet',
      description: 'Greets, loudly',
      input: z.object({
        name: z.pipe(
          z.string(),
          z.transform((name: string) => name.toUpperCase()),
        ),
        times: z._default(z.int(), 2),
      }),
      async run({ name, times }) {
        return Array.from({ length: times }, () => `HELLO ${name}`).join(' ');
      },
    });

    // Act
    const outcome = await runJob(type, { name: 'ada', ignored: true });

    // Assess
    expect(outcome).toMatchObject({ status: 'SUCCEEDED', result: 'HELLO ADA HELLO ADA' });
  });

  it('returns the result as callers get it: through JSON, nothing as null', async () => {
    // Prepare
    const at = new Date('2026-01-05T10:00:00.000Z');
    const dated = testType(async () => ({ at, gone: undefined }));
    const nothing = testType(async () => undefined);

    // Act
    const withDate = await runJob(dated, {});
    const empty = await runJob(nothing, {});

    // Assess
    expect(withDate.result).toEqual({ at: '2026-01-05T10:00:00.000Z' });
    expect(empty).toMatchObject({ status: 'SUCCEEDED', result: null });
  });
});

describe('runJob: a run that fails', () => {
  it('resolves FAILED with the error name and message, never the stack', async () => {
    // Prepare
    const type = testType(async () => {
      throw new DiskFullError('no space left on /tmp');
    });

    // Act
    const outcome = await runJob(type, {});

    // Assess
    expect(outcome.status).toBe('FAILED');
    expect(outcome.error).toEqual({ name: 'DiskFullError', message: 'no space left on /tmp' });
    expect(outcome.failedAttempts).toEqual([
      { attempt: 1, error: outcome.error, at: expect.any(String) },
    ]);
    expect(outcome.result).toBeUndefined();
  });

  it('fails a run whose result JSON cannot carry, as the worker reports it', async () => {
    // Prepare
    const big = testType(async () => ({ count: 10n }));
    const fn = testType(async () => () => 'a function');

    // Act
    const withBigInt = await runJob(big, {});
    const withFunction = await runJob(fn, {});

    // Assess
    expect(withBigInt.status).toBe('FAILED');
    expect(withBigInt.error?.name).toBe('ResultNotSerializableError');
    expect(withBigInt.error?.message).toMatch(/^The result cannot be converted to JSON: .*BigInt/);
    expect(withFunction.error).toEqual({
      name: 'ResultNotSerializableError',
      message: 'The result cannot be converted to JSON: JSON has no form for a function',
    });
  });

  it('fails a job that reports progress that is not a number with a TypeError', async () => {
    // Prepare
    const type = testType(async (_input, ctx) => {
      await ctx.progress(Number.NaN);
      return 'unreachable';
    });

    // Act
    const outcome = await runJob(type, {});

    // Assess
    expect(outcome.status).toBe('FAILED');
    expect(outcome.error?.name).toBe('TypeError');
    expect(outcome.progress).toEqual([]);
  });
});

describe('runJob: retries', () => {
  it('retries by the type policy and tells the job which attempt it is', async () => {
    // Prepare
    const attempts: number[] = [];
    const type = defineJobType({
      name: 'retried',
      description: 'Fails twice, then succeeds',
      input: z.object({}),
      retry: { maxAttempts: 4, initialBackoffMs: 1000, multiplier: 2, maxBackoffMs: 5000 },
      async run(_input, ctx) {
        attempts.push(ctx.attempt);
        await ctx.progress(ctx.attempt * 10);
        if (ctx.attempt < 3) throw new Error(`attempt ${ctx.attempt} failed`);
        return { attempt: ctx.attempt };
      },
    });

    const random = vi.fn(() => 0);

    // Act: no jitter, so the backoffs of up to a second take no time at all.
    const outcome = await runJob(type, {}, { random });

    // Assess
    expect(attempts).toEqual([1, 2, 3]);
    expect(outcome).toMatchObject({ status: 'SUCCEEDED', result: { attempt: 3 }, attempts: 3 });
    expect(outcome.failedAttempts.map((f) => [f.attempt, f.error.message])).toEqual([
      [1, 'attempt 1 failed'],
      [2, 'attempt 2 failed'],
    ]);
    expect(outcome.progress.map((p) => [p.attempt, p.percent])).toEqual([
      [1, 10],
      [2, 20],
      [3, 30],
    ]);
    expect(random).toHaveBeenCalledTimes(2);
    expect(outcome.durationMs).toBeLessThan(1000);
  });

  it('waits the full-jitter backoff between attempts', async () => {
    // Prepare: random 0.5 of the 40 ms first backoff is 20 ms.
    const policy = { maxAttempts: 2, initialBackoffMs: 40, multiplier: 1, maxBackoffMs: 40 };
    const type = {
      ...testType(async (_input, ctx) => {
        if (ctx.attempt === 1) throw new Error('once');
        return 'ok';
      }),
      retry: policy,
    };

    // Act
    const outcome = await runJob(type, {}, { random: () => 0.5 });

    // Assess
    expect(backoffMs(policy, 1, () => 0.5)).toBe(20);
    expect(outcome).toMatchObject({ status: 'SUCCEEDED', attempts: 2 });
    // Timers may fire a millisecond early on some platforms.
    expect(outcome.durationMs).toBeGreaterThanOrEqual(19);
  });

  it('ends FAILED with every attempt listed when the retries run out', async () => {
    // Act
    const outcome = await runJob(flaky, { failures: 5 }, { random: () => 0 });

    // Assess
    expect(outcome.status).toBe('FAILED');
    expect(outcome.attempts).toBe(3);
    expect(outcome.error).toEqual({ name: 'FlakyError', message: 'Attempt 3 failed on purpose' });
    expect(outcome.failedAttempts.map((f) => f.attempt)).toEqual([1, 2, 3]);
  });

  it('does not retry when the backoff would not fit before the deadline', async () => {
    // Prepare: a 5 s backoff and a 200 ms deadline.
    const calls: number[] = [];
    const type = {
      ...testType(async (_input, ctx) => {
        calls.push(ctx.attempt);
        throw new Error('nope');
      }),
      retry: { maxAttempts: 5, initialBackoffMs: 5000, multiplier: 1, maxBackoffMs: 5000 },
    };

    // Act
    const outcome = await runJob(type, {}, { timeoutMs: 200, random: () => 0.999 });

    // Assess
    expect(calls).toEqual([1]);
    expect(outcome).toMatchObject({ status: 'FAILED', attempts: 1, error: { message: 'nope' } });
  });

  it('counts the attempts the attempt option stands for against the policy', async () => {
    // Act
    const third = await runJob(flaky, { failures: 2 }, { attempt: 3, random: () => 0 });
    const last = await runJob(flaky, { failures: 5 }, { attempt: 3, random: () => 0 });

    // Assess
    expect(third).toMatchObject({ status: 'SUCCEEDED', result: { attempt: 3 }, attempts: 3 });
    expect(third.failedAttempts).toEqual([]);
    expect(last).toMatchObject({ status: 'FAILED', attempts: 3 });
    expect(last.failedAttempts.map((f) => f.attempt)).toEqual([3]);
  });
});

describe('startJob and runJob: cancellation', () => {
  it('ends CANCELLED when the handle cancels, and the job sees JobCancelledError', async () => {
    // Prepare
    const { type, seen, started } = waitingType();
    const handle = startJob(type, {});
    await started;

    // Act
    handle.cancel('The user changed their mind');
    const outcome = await handle.outcome;

    // Assess
    expect(outcome).toMatchObject({
      status: 'CANCELLED',
      reason: 'The user changed their mind',
      attempts: 1,
    });
    expect(seen.reason).toBeInstanceOf(JobCancelledError);
    expect(outcome.durationMs).toBeLessThan(1000);
  });

  it('lets a test cancel from a progress report; ctx.progress then throws the cancel', async () => {
    // Prepare
    const type = testType(async (_input, ctx) => {
      for (let percent = 10; percent <= 100; percent += 10) await ctx.progress(percent);
      return 'finished';
    });

    // Act
    const handle = startJob(
      type,
      {},
      {
        onProgress: (report) => {
          if (report.percent >= 30) handle.cancel();
        },
      },
    );
    const outcome = await handle.outcome;

    // Assess
    expect(outcome).toMatchObject({ status: 'CANCELLED', reason: 'Cancel requested' });
    expect(handle.progress.map((p) => p.percent)).toEqual([10, 20, 30]);
    expect(outcome.progress).toEqual(handle.progress);
  });

  it('cancels after cancelAfterMs (the built-in sleep type)', async () => {
    // Act
    const outcome = await runJob(sleep, { seconds: 10 }, { cancelAfterMs: 20 });

    // Assess
    expect(outcome.status).toBe('CANCELLED');
    expect(outcome.reason).toBe('Cancelled by the test after 20 ms');
    expect(outcome.durationMs).toBeLessThan(1000);
  });

  it('cancels when an outside signal aborts, also one that had aborted already', async () => {
    // Prepare
    const { type, started } = waitingType();
    const outside = new AbortController();
    const running = runJob(type, {}, { signal: outside.signal });
    await started;
    let ran = false;
    const never = testType(async () => {
      ran = true;
      return 'ran';
    });

    // Act
    outside.abort(new Error('the suite is over'));
    const outcome = await running;
    const early = await runJob(never, {}, { signal: outside.signal });

    // Assess
    expect(outcome).toMatchObject({
      status: 'CANCELLED',
      reason: 'The outside signal aborted: the suite is over',
    });
    expect(early.status).toBe('CANCELLED');
    expect(ran).toBe(false);
  });

  it('ignores a cancel after the run ended', async () => {
    // Prepare
    const handle = startJob(echo, { value: 1 });
    const outcome = await handle.outcome;

    // Act
    handle.cancel();

    // Assess
    expect(outcome.status).toBe('SUCCEEDED');
    expect(await handle.outcome).toBe(outcome);
  });
});

describe('runJob: deadlines and the time left', () => {
  it('ends TIMED_OUT at timeoutMs, aborting the signal with JobTimeoutError', async () => {
    // Prepare
    const { type, seen } = waitingType();

    // Act
    const outcome = await runJob(type, {}, { timeoutMs: 30 });

    // Assess
    expect(outcome.status).toBe('TIMED_OUT');
    expect(outcome.reason).toMatch(/^The run did not finish by its deadline \(.+Z\)$/);
    expect(seen.reason).toBeInstanceOf(JobTimeoutError);
    expect(outcome.durationMs).toBeGreaterThanOrEqual(25);
    expect(outcome.durationMs).toBeLessThan(1000);
  });

  it('still ends a job that ignores its signal at the deadline', async () => {
    // Prepare
    const stubborn = testType(() => new Promise<string>(() => undefined));

    // Act
    const outcome = await runJob(stubborn, {}, { timeoutMs: 30 });

    // Assess
    expect(outcome).toMatchObject({ status: 'TIMED_OUT', attempts: 1 });
  });

  it("answers remainingTimeMs from the deadline: the type's default timeout, else 15 minutes", async () => {
    // Prepare
    const left = async (_input: unknown, ctx: JobContext) => ctx.remainingTimeMs();
    const typed = testType(left, { defaultTimeoutSeconds: 2 });
    const untyped = testType(left);

    // Act
    const fromType = await runJob(typed, {});
    const fromDefault = await runJob(untyped, {});
    const fromOption = await runJob(untyped, {}, { timeoutMs: 500 });

    // Assess
    expect(fromType.result).toBeGreaterThan(1900);
    expect(fromType.result).toBeLessThanOrEqual(2000);
    expect(fromDefault.result).toBeGreaterThan(15 * 60 * 1000 - 100);
    expect(fromOption.result).toBeLessThanOrEqual(500);
    expect(fromOption.result).toBeGreaterThan(400);
  });

  it('answers remainingTimeMs with the number or the function it is given', async () => {
    // Prepare
    const type = testType(async (_input, ctx) => [ctx.remainingTimeMs(), ctx.remainingTimeMs()]);
    let calls = 0;

    // Act
    const fixed = await runJob(type, {}, { remainingTimeMs: 1234 });
    const counted = await runJob(type, {}, { remainingTimeMs: () => 100 - ++calls });

    // Assess
    expect(fixed.result).toEqual([1234, 1234]);
    expect(counted.result).toEqual([99, 98]);
  });
});

describe('runJob: input', () => {
  it('rejects input the schema refuses with JobInputError listing the issues, without running', async () => {
    // Prepare
    let ran = false;
    const type = defineJobType({
      name: 'strict',
      description: 'Takes a positive count',
      input: z.strictObject({ count: z.int().check(z.gte(1)) }),
      async run() {
        ran = true;
      },
    });

    // Act
    const error = await runJob(type, { count: 0, extra: true }).then(
      () => undefined,
      (reason: unknown) => reason,
    );

    // Assess
    expect(error).toBeInstanceOf(JobInputError);
    expect(error).toBeInstanceOf(AppError);
    const inputError = error as JobInputError;
    expect(inputError.name).toBe('JobInputError');
    expect(inputError.message).toMatch(/^The input is not valid for job type "strict": count: /);
    expect(inputError.issues.map((issue) => issue.path)).toContainEqual(['count']);
    expect(inputError.issues.length).toBeGreaterThanOrEqual(2);
    expect(ran).toBe(false);
  });

  it('rejects options that make no sense with a RangeError', async () => {
    // Act and assess
    await expect(runJob(echo, { value: 1 }, { attempt: 0 })).rejects.toThrow(RangeError);
    await expect(runJob(echo, { value: 1 }, { timeoutMs: 0 })).rejects.toThrow(RangeError);
    await expect(runJob(echo, { value: 1 }, { cancelAfterMs: -1 })).rejects.toThrow(RangeError);
  });
});

describe('runJob: the built-in job types', () => {
  it('runs sleep', async () => {
    // Act
    const outcome = await runJob(sleep, { seconds: 0.05 });

    // Assess
    expect(outcome).toMatchObject({ status: 'SUCCEEDED', result: { sleptSeconds: 0.05 } });
    expect(outcome.durationMs).toBeGreaterThanOrEqual(45);
  });

  it('runs echo', async () => {
    // Prepare
    const value = { a: [1, 'two', null], b: { c: true } };

    // Act
    const outcome = await runJob(echo, { value });

    // Assess
    expect(outcome).toMatchObject({ status: 'SUCCEEDED', result: { value } });
  });

  it('runs fail', async () => {
    // Act
    const outcome = await runJob(fail, { message: 'disk full' });

    // Assess
    expect(outcome).toMatchObject({
      status: 'FAILED',
      error: { name: 'Error', message: 'disk full' },
    });
  });

  it('runs flaky, retrying it by its own policy', async () => {
    // Act
    const outcome = await runJob(flaky, { failures: 1 }, { random: () => 0 });

    // Assess
    expect(outcome).toMatchObject({ status: 'SUCCEEDED', result: { attempt: 2 }, attempts: 2 });
    expect(outcome.failedAttempts[0]?.error.name).toBe(new FlakyError('x').name);
  });

  it('runs hash', async () => {
    // Prepare
    const data = Buffer.alloc(HASH_CHUNK_BYTES);
    for (let i = 0; i < data.length; i++) data[i] = i % 256;
    const expected = createHash('sha256').update(data).digest('hex');

    // Act
    const outcome = await runJob(hash, { megabytes: 1 });

    // Assess
    expect(outcome).toMatchObject({
      status: 'SUCCEEDED',
      result: { megabytes: 1, sha256: expected },
    });
  });

  it('validates the built-in types input', async () => {
    // Act and assess
    await expect(runJob(sleep, { seconds: -1 })).rejects.toThrow(JobInputError);
  });
});

describe('runOnComplete', () => {
  const completedRun: CompletedRun<{ n?: number }, string> = {
    jobName: 'nightly',
    runId: 'run-1',
    type: 'test',
    status: 'SUCCEEDED',
    input: { n: 1 },
    result: 'done',
  };

  it("calls the type's onComplete hook with the run", async () => {
    // Prepare
    const received: CompletedRun<{ n?: number }, string>[] = [];
    const type = {
      ...testType(async () => 'done'),
      onComplete: async (run: CompletedRun<{ n?: number }, string>) => {
        received.push(run);
      },
    };

    // Act
    const called = await runOnComplete(type, completedRun);

    // Assess
    expect(called).toBe(true);
    expect(received).toEqual([completedRun]);
  });

  it('resolves false for a type without a hook', async () => {
    // Act
    const called = await runOnComplete(
      testType(async () => 'done'),
      completedRun,
    );

    // Assess
    expect(called).toBe(false);
  });

  it('rejects with what the hook throws', async () => {
    // Prepare
    const type = {
      ...testType(async () => 'done'),
      onComplete: async () => {
        throw new Error('the mail server is down');
      },
    };

    // Act
    const called = runOnComplete(type, completedRun);

    // Assess
    await expect(called).rejects.toThrow('the mail server is down');
  });
});
