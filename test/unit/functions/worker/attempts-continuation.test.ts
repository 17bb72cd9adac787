/**
 * The attempts loop at the invocation's end: `atInvocationEnd` chooses between
 * a continuation (suspended), a timeout, and a failure no retry can mend.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { JobTimeoutError, RunSuspendedError } from '../../../../core/job-errors';
import { defineJobType, type JobContext, type JobType } from '../../../../core/job-type';
import { NonRetryableError, StepTooLongError } from '../../../../core/steps';
import {
  type AttemptsRun,
  armStop,
  runAttempts,
  type StopLimits,
} from '../../../../functions/worker/attempts';

const START = new Date('2026-01-05T10:00:00.000Z');
const quiet = { info: () => undefined, warn: () => undefined };
const RETRY = { maxAttempts: 3, initialBackoffMs: 0, multiplier: 1, maxBackoffMs: 0 };

afterEach(() => {
  vi.useRealTimers();
});

function jobType(
  run: (input: unknown, ctx: JobContext) => Promise<unknown>,
  retry = RETRY,
): JobType {
  return defineJobType({
    name: 'test',
    description: 'A test type',
    input: z.unknown(),
    run,
    retry,
  });
}

/** A job that runs until its signal aborts, then throws the reason. */
function untilStopped(calls: { count: number }) {
  return jobType(async (_input, ctx) => {
    calls.count += 1;
    await new Promise((_resolve, reject) => {
      ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason), { once: true });
    });
  });
}

function attemptsRun(type: JobType, limits: StopLimits): AttemptsRun {
  return {
    jobType: type,
    input: {},
    jobName: 'job-1',
    runId: 'run-1',
    type: type.name,
    firstAttempt: 1,
    controller: new AbortController(),
    limits,
    remainingTimeMs: () => 1000,
    now: () => new Date(),
    random: () => 0,
    log: quiet,
  };
}

/** Runs to the outcome, moving the fake clock past the invocation's end. */
async function settle(run: AttemptsRun, ms = 1000) {
  const running = runAttempts(run);
  await vi.advanceTimersByTimeAsync(ms);
  return running;
}

describe('armStop: at the invocation end', () => {
  it("aborts with what atInvocationEnd returns at the invocation's end, less the margin", async () => {
    // Prepare
    vi.useFakeTimers({ now: START });
    const controller = new AbortController();
    const suspension = new RunSuspendedError('continue');
    const atInvocationEnd = vi.fn(() => suspension);

    // Act
    const stopAt = armStop(
      controller,
      { remainingMs: 10_000, marginMs: 2000, atInvocationEnd },
      START.getTime(),
    );
    await vi.advanceTimersByTimeAsync(7999);
    const early = controller.signal.aborted;
    await vi.advanceTimersByTimeAsync(1);

    // Assess
    expect(stopAt).toBe(START.getTime() + 8000);
    expect(early).toBe(false);
    expect(controller.signal.reason).toBe(suspension);
    expect(atInvocationEnd).toHaveBeenCalledTimes(1);
  });

  it('aborts with JobTimeoutError when atInvocationEnd returns undefined', async () => {
    // Prepare
    vi.useFakeTimers({ now: START });
    const controller = new AbortController();

    // Act
    armStop(
      controller,
      { remainingMs: 10_000, marginMs: 0, atInvocationEnd: () => undefined },
      START.getTime(),
    );
    await vi.advanceTimersByTimeAsync(10_000);

    // Assess
    expect(controller.signal.reason).toBeInstanceOf(JobTimeoutError);
    expect(controller.signal.reason.message).toContain("worker's time limit");
  });

  it('does not ask atInvocationEnd when the deadline comes first', async () => {
    // Prepare
    vi.useFakeTimers({ now: START });
    const controller = new AbortController();
    const atInvocationEnd = vi.fn(() => new RunSuspendedError('continue'));

    // Act
    armStop(
      controller,
      {
        remainingMs: 10_000,
        marginMs: 0,
        deadlineAt: new Date(START.getTime() + 5000).toISOString(),
        atInvocationEnd,
      },
      START.getTime(),
    );
    await vi.advanceTimersByTimeAsync(10_000);

    // Assess
    expect(controller.signal.reason).toBeInstanceOf(JobTimeoutError);
    expect(controller.signal.reason.message).toContain('deadline');
    expect(atInvocationEnd).not.toHaveBeenCalled();
  });
});

describe('runAttempts: at the invocation end', () => {
  it("ends 'suspended', without a wake time, when atInvocationEnd returns a RunSuspendedError", async () => {
    // Prepare
    vi.useFakeTimers({ now: START });
    const calls = { count: 0 };
    const run = attemptsRun(untilStopped(calls), {
      remainingMs: 1000,
      marginMs: 0,
      atInvocationEnd: () => new RunSuspendedError('continues in a fresh invocation'),
    });

    // Act
    const { outcome, failures } = await settle(run);

    // Assess
    expect(outcome).toEqual({
      kind: 'suspended',
      reason: 'continues in a fresh invocation',
      attempt: 1,
    });
    expect(outcome && 'wakeAt' in outcome).toBe(false);
    expect(failures).toEqual([]);
    expect(calls.count).toBe(1);
  });

  it('times out as before when atInvocationEnd returns undefined', async () => {
    // Prepare
    vi.useFakeTimers({ now: START });
    const calls = { count: 0 };
    const run = attemptsRun(untilStopped(calls), {
      remainingMs: 1000,
      marginMs: 0,
      atInvocationEnd: () => undefined,
    });

    // Act
    const { outcome } = await settle(run);

    // Assess
    expect(outcome).toMatchObject({ kind: 'timedOut', attempt: 1 });
    expect(outcome?.kind === 'timedOut' && outcome.reason).toContain("worker's time limit");
    expect(calls.count).toBe(1);
  });

  it('times out as before with no atInvocationEnd at all', async () => {
    // Prepare
    vi.useFakeTimers({ now: START });
    const run = attemptsRun(untilStopped({ count: 0 }), { remainingMs: 1000, marginMs: 0 });

    // Act
    const { outcome } = await settle(run);

    // Assess
    expect(outcome?.kind).toBe('timedOut');
  });

  it('fails without a retry when atInvocationEnd returns StepTooLongError', async () => {
    // Prepare: the type would retry twice more
    vi.useFakeTimers({ now: START });
    const calls = { count: 0 };
    const run = attemptsRun(untilStopped(calls), {
      remainingMs: 1000,
      marginMs: 0,
      atInvocationEnd: () => new StepTooLongError('Step "load" did not finish'),
    });

    // Act
    const { outcome, failures } = await settle(run, 5000);

    // Assess
    expect(outcome).toMatchObject({
      kind: 'failed',
      attempt: 1,
      error: { name: 'StepTooLongError', message: 'Step "load" did not finish' },
    });
    expect(failures).toHaveLength(1);
    expect(calls.count).toBe(1);
  });
});

describe('runAttempts: errors no retry can mend', () => {
  it('ends FAILED at once when the job throws a NonRetryableError, whatever the policy', async () => {
    // Prepare
    class QuotaGone extends NonRetryableError {}
    let calls = 0;
    const type = jobType(async () => {
      calls += 1;
      throw new QuotaGone('the quota is gone');
    });
    const run = attemptsRun(type, { marginMs: 0 });

    // Act
    const { outcome, failures } = await runAttempts(run);

    // Assess
    expect(outcome).toMatchObject({ kind: 'failed', error: { name: 'QuotaGone' }, attempt: 1 });
    expect(failures).toHaveLength(1);
    expect(calls).toBe(1);
  });

  it('still retries an ordinary error by the policy', async () => {
    // Prepare
    let calls = 0;
    const type = jobType(async () => {
      calls += 1;
      throw new Error('flaky');
    });
    const run = attemptsRun(type, { marginMs: 0 });

    // Act
    const { outcome, failures } = await runAttempts(run);

    // Assess
    expect(outcome).toMatchObject({ kind: 'failed', attempt: 3 });
    expect(failures).toHaveLength(3);
    expect(calls).toBe(3);
  });
});

describe('runAttempts: a sleep', () => {
  it("ends 'suspended' with the sleep's wake time and name, and runs nothing after it", async () => {
    // Prepare
    vi.useFakeTimers({ now: START });
    let after = false;
    const type = jobType(async (_input, ctx) => {
      await ctx.sleep('nap', { hours: 1 });
      after = true;
    });

    // Act
    const { outcome } = await runAttempts(attemptsRun(type, { marginMs: 0 }));

    // Assess
    expect(outcome).toEqual({
      kind: 'suspended',
      reason: 'Sleeping in "nap" until 2026-01-05T11:00:00.000Z',
      attempt: 1,
      wakeAt: '2026-01-05T11:00:00.000Z',
      sleepName: 'nap',
    });
    expect(after).toBe(false);
  });

  it('suspends even when the job catches the suspension', async () => {
    // Prepare
    vi.useFakeTimers({ now: START });
    const type = jobType(async (_input, ctx) => {
      try {
        await ctx.sleep('nap', 60);
      } catch {
        // The job swallows it and would return.
      }
      return 'returned anyway';
    });

    // Act
    const { outcome } = await runAttempts(attemptsRun(type, { marginMs: 0 }));

    // Assess
    expect(outcome).toMatchObject({ kind: 'suspended', sleepName: 'nap' });
  });
});
