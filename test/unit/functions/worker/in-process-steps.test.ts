/**
 * `eventjobs/testing` with steps and durable sleeps: the checkpoints live in
 * memory across the run's invocations, and each sleep is skipped on the clock.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import * as z from 'zod/mini';
import { defineJobType, type JobContext, type RetryPolicy } from '../../../../core/job-type';
import { PIPELINE_STEP_DONE, pipeline } from '../../../../functions/jobs/pipeline';
import { runJob } from '../../../../functions/worker/in-process';

const T0 = new Date('2026-01-05T10:00:00.000Z');
/** A clock that stands still: every ms of a run's duration is a skipped sleep. */
const frozen = () => new Date(T0);

function testType<R>(
  run: (input: unknown, ctx: JobContext) => Promise<R>,
  extra: { retry?: RetryPolicy; defaultTimeoutSeconds?: number } = {},
) {
  return defineJobType({
    name: 'test',
    description: 'A job type the test defines',
    input: z.unknown(),
    run,
    ...extra,
  });
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('runJob: steps and sleeps', () => {
  it('runs each step once across the invocations its sleeps make, and lists them', async () => {
    // Prepare
    const calls: Record<string, number> = {};
    const invocations: number[] = [];
    const count = (name: string) => {
      calls[name] = (calls[name] ?? 0) + 1;
    };
    const type = testType(async (_input, ctx) => {
      invocations.push(ctx.invocation);
      const a = await ctx.step('fetch', () => {
        count('fetch');
        return { rows: 2 };
      });
      await ctx.sleep('cool-off', 30);
      const b = await ctx.step('transform', () => {
        count('transform');
        return a.rows * 10;
      });
      await ctx.sleep('again', { minutes: 1 });
      return { total: b };
    });

    // Act
    const outcome = await runJob(type, {}, { now: frozen });

    // Assess
    expect(outcome.status).toBe('SUCCEEDED');
    expect(outcome.result).toEqual({ total: 20 });
    expect(outcome.invocations).toBe(3);
    expect(invocations).toEqual([1, 2, 3]);
    expect(calls).toEqual({ fetch: 1, transform: 1 });
    expect(outcome.durationMs).toBe(90_000);
    expect(outcome.steps).toEqual([
      {
        name: 'fetch',
        kind: 'step',
        status: 'SUCCEEDED',
        startedAt: '2026-01-05T10:00:00.000Z',
        endedAt: '2026-01-05T10:00:00.000Z',
        attempts: 1,
      },
      {
        name: 'cool-off',
        kind: 'sleep',
        status: 'SUCCEEDED',
        startedAt: '2026-01-05T10:00:00.000Z',
        endedAt: '2026-01-05T10:00:30.000Z',
        attempts: 1,
        wakeAt: '2026-01-05T10:00:30.000Z',
      },
      {
        name: 'transform',
        kind: 'step',
        status: 'SUCCEEDED',
        startedAt: '2026-01-05T10:00:30.000Z',
        endedAt: '2026-01-05T10:00:30.000Z',
        attempts: 1,
      },
      {
        name: 'again',
        kind: 'sleep',
        status: 'SUCCEEDED',
        startedAt: '2026-01-05T10:00:30.000Z',
        endedAt: '2026-01-05T10:01:30.000Z',
        attempts: 1,
        wakeAt: '2026-01-05T10:01:30.000Z',
      },
    ]);
  });

  it('shows no result in the steps it lists', async () => {
    // Prepare
    const type = testType(async (_input, ctx) => ctx.step('secret', () => 'large data'));

    // Act
    const outcome = await runJob(type, {});

    // Assess
    expect(outcome.steps).toHaveLength(1);
    expect(outcome.steps[0]).not.toHaveProperty('resultJson');
    expect(JSON.stringify(outcome.steps)).not.toContain('large data');
  });

  it('takes one invocation for a run without sleeps, and one for a sleep of 0', async () => {
    // Prepare
    const type = testType(async (_input, ctx) => {
      await ctx.step('a', () => 1);
      await ctx.sleep('none', 0);
      return 'done';
    });

    // Act
    const outcome = await runJob(type, {});

    // Assess
    expect(outcome).toMatchObject({ status: 'SUCCEEDED', result: 'done', invocations: 1 });
  });

  it('times out a run whose sleep ends after its deadline, naming the sleep', async () => {
    // Prepare
    let after = false;
    const type = testType(async (_input, ctx) => {
      await ctx.step('first', () => 1);
      await ctx.sleep('long-nap', { minutes: 2 });
      after = true;
    });

    // Act
    const outcome = await runJob(type, {}, { now: frozen, timeoutMs: 60_000 });

    // Assess
    expect(outcome.status).toBe('TIMED_OUT');
    expect(outcome.reason).toBe(
      'The run\'s deadline (2026-01-05T10:01:00.000Z) came while it slept in "long-nap", which was to end at 2026-01-05T10:02:00.000Z',
    );
    expect(outcome.durationMs).toBe(60_000);
    expect(outcome.invocations).toBe(1);
    expect(after).toBe(false);
    expect(outcome.steps.map((step) => [step.name, step.status])).toEqual([
      ['first', 'SUCCEEDED'],
      ['long-nap', 'SLEEPING'],
    ]);
  });

  it("uses the type's default timeout as the deadline a sleep must end by", async () => {
    // Prepare
    const type = testType(
      async (_input, ctx) => {
        await ctx.sleep('nap', 11);
      },
      { defaultTimeoutSeconds: 10 },
    );

    // Act
    const outcome = await runJob(type, {}, { now: frozen });

    // Assess
    expect(outcome.status).toBe('TIMED_OUT');
    expect(outcome.reason).toContain('"nap"');
  });

  it('re-runs only the failed step when the retry policy runs the job again', async () => {
    // Prepare
    const calls = { load: 0, flaky: 0, save: 0 };
    const type = testType(
      async (_input, ctx) => {
        await ctx.step('load', () => {
          calls.load += 1;
        });
        const tries = await ctx.step('flaky', ({ attempt }) => {
          calls.flaky += 1;
          if (attempt === 1) throw new Error('first try fails');
          return attempt;
        });
        await ctx.step('save', () => {
          calls.save += 1;
        });
        return { tries };
      },
      { retry: { maxAttempts: 3, initialBackoffMs: 0, multiplier: 1, maxBackoffMs: 0 } },
    );

    // Act
    const outcome = await runJob(type, {}, { random: () => 0 });

    // Assess
    expect(outcome).toMatchObject({ status: 'SUCCEEDED', result: { tries: 2 }, attempts: 2 });
    expect(calls).toEqual({ load: 1, flaky: 2, save: 1 });
    expect(outcome.failedAttempts).toEqual([
      expect.objectContaining({ attempt: 1, error: { name: 'Error', message: 'first try fails' } }),
    ]);
    expect(outcome.steps.find((step) => step.name === 'flaky')).toMatchObject({
      status: 'SUCCEEDED',
      attempts: 2,
    });
    expect(outcome.invocations).toBe(1);
  });

  it('fails with DuplicateStepNameError, without retries, for a name used twice', async () => {
    // Prepare
    let runs = 0;
    const type = testType(
      async (_input, ctx) => {
        runs += 1;
        await ctx.step('same', () => 1);
        await ctx.step('same', () => 2);
      },
      { retry: { maxAttempts: 3, initialBackoffMs: 0, multiplier: 1, maxBackoffMs: 0 } },
    );

    // Act
    const outcome = await runJob(type, {}, { random: () => 0 });

    // Assess
    expect(outcome.status).toBe('FAILED');
    expect(outcome.error?.name).toBe('DuplicateStepNameError');
    expect(outcome.error?.message).toContain('ctx.step("same")');
    expect(outcome.attempts).toBe(1);
    expect(outcome.failedAttempts).toHaveLength(1);
    expect(runs).toBe(1);
  });

  it('keeps the failed step FAILED in the list when the run fails', async () => {
    // Prepare
    const type = testType(async (_input, ctx) => {
      await ctx.step('broken', () => {
        throw new TypeError('nope');
      });
    });

    // Act
    const outcome = await runJob(type, {});

    // Assess
    expect(outcome).toMatchObject({ status: 'FAILED', error: { name: 'TypeError' } });
    expect(outcome.steps).toEqual([
      expect.objectContaining({
        name: 'broken',
        status: 'FAILED',
        attempts: 1,
        error: { name: 'TypeError', message: 'nope' },
      }),
    ]);
  });
});

describe('runJob: the pipeline type', () => {
  it('runs 3 steps with sleeps between them, each step once', async () => {
    // Prepare: the type logs a line per finished step
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);

    // Act
    const outcome = await runJob(
      pipeline,
      { steps: 3, stepSeconds: 0, sleepSeconds: 5 },
      { now: frozen },
    );

    // Assess
    expect(outcome.status).toBe('SUCCEEDED');
    expect(outcome.result).toEqual({ stepsRun: 3 });
    expect(outcome.invocations).toBe(3);
    expect(outcome.durationMs).toBe(10_000);
    expect(outcome.steps.map((step) => step.name)).toEqual([
      'step-1',
      'sleep-1',
      'step-2',
      'sleep-2',
      'step-3',
    ]);
    const done = log.mock.calls
      .map(([line]) => JSON.parse(String(line)) as { message: string; step: number })
      .filter((line) => line.message === PIPELINE_STEP_DONE);
    expect(done.map((line) => line.step)).toEqual([1, 2, 3]);
    // Progress is reported inside each step: a replay does not report it again.
    expect(outcome.progress.map((report) => report.percent)).toEqual([33, 67, 100]);
  });

  it('fails a run whose names repeat, at once', async () => {
    // Prepare
    vi.spyOn(console, 'log').mockImplementation(() => undefined);

    // Act
    const outcome = await runJob(pipeline, { steps: 2, stepSeconds: 0, names: ['a', 'a'] });

    // Assess
    expect(outcome.status).toBe('FAILED');
    expect(outcome.error?.name).toBe('DuplicateStepNameError');
    expect(outcome.attempts).toBe(1);
  });

  it('carries the attempt count and the failed attempts across a sleep: a sleep is no new attempt', async () => {
    const seen: number[] = [];
    let tries = 0;
    const type = defineJobType({
      name: 'retry-then-sleep',
      description: 'step a fails once, then the run sleeps',
      input: z.unknown(),
      retry: { maxAttempts: 2, initialBackoffMs: 0, multiplier: 1, maxBackoffMs: 0 },
      async run(_input, ctx) {
        seen.push(ctx.attempt);
        await ctx.step('a', () => {
          tries += 1;
          if (tries === 1) throw new Error('first try fails');
          return 'ok';
        });
        await ctx.sleep('s', 5);
        return 'done';
      },
    });
    const outcome = await runJob(type, {}, { random: () => 0 });
    expect(outcome.status).toBe('SUCCEEDED');
    // Attempt 1 fails in step a; attempt 2 sleeps; the wake goes on as attempt 2.
    expect(seen).toEqual([1, 2, 2]);
    expect(outcome.attempts).toBe(2);
    expect(outcome.failedAttempts.map((failure) => failure.attempt)).toEqual([1]);
  });

  it('waits for a signal: the payload given in `signals` is what waitForSignal returns', async () => {
    const outcome = await runJob(
      pipeline,
      { steps: 2, stepSeconds: 0, signal: { name: 'approve' } },
      { signals: { approve: { by: 'alice' } } },
    );
    expect(outcome.status).toBe('SUCCEEDED');
    expect(outcome.result).toEqual({ stepsRun: 2, signal: { by: 'alice' } });
    expect(outcome.steps.map((step) => [step.name, step.kind, step.status])).toEqual([
      ['step-1', 'step', 'SUCCEEDED'],
      ['approve', 'signal', 'SUCCEEDED'],
      ['step-2', 'step', 'SUCCEEDED'],
    ]);
  });

  it('a signal that never comes: FAILED SignalTimeoutError at its timeout, TIMED_OUT at the deadline without one', async () => {
    const timedOut = await runJob(pipeline, {
      steps: 2,
      stepSeconds: 0,
      signal: { name: 'approve', timeoutSeconds: 60 },
    });
    expect(timedOut.status).toBe('FAILED');
    expect(timedOut.error?.name).toBe('SignalTimeoutError');
    expect(timedOut.attempts).toBe(1);

    const deadline = await runJob(
      pipeline,
      { steps: 2, stepSeconds: 0, signal: { name: 'approve' } },
      { timeoutMs: 5000 },
    );
    expect(deadline.status).toBe('TIMED_OUT');
    expect(deadline.reason).toContain('"approve"');
  });
});
