import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { JobCancelledError } from '../../../../core/job-errors';
import type { JobContext } from '../../../../core/job-type';
import { echo } from '../../../../functions/jobs/echo';
import { fail } from '../../../../functions/jobs/fail';
import { hash } from '../../../../functions/jobs/hash';
import { sleep } from '../../../../functions/jobs/sleep';
import { getJobType, jobTypeNames } from '../../../../functions/shared/job-registry';
import { validate } from '../../../../functions/shared/validate';

interface ProgressCall {
  readonly percent: number;
  readonly message?: string;
  /** Milliseconds since the context was built, on the (possibly faked) clock. */
  readonly atMs: number;
}

/** A JobContext that records progress instead of writing it. */
function jobContext(
  options: { signal?: AbortSignal; progress?: (percent: number) => Promise<void> } = {},
) {
  const calls: ProgressCall[] = [];
  const builtAt = Date.now();
  const signal = options.signal ?? new AbortController().signal;
  const ctx: JobContext = {
    jobName: 'job-1',
    runId: '01JDXR3Y5Q6Z8A9B0C1D2E3F4G',
    type: 'test',
    attempt: 1,
    signal,
    remainingTimeMs: () => 900_000,
    async progress(percent, message) {
      calls.push({ percent, message, atMs: Date.now() - builtAt });
      await options.progress?.(percent);
    },
    // The built-in types below use no steps; a step here just runs once, a sleep returns.
    invocation: 1,
    step: async (_name, fn) => fn({ attempt: 1, signal }),
    sleep: async () => undefined,
    waitForSignal: async () => undefined as never,
  };
  return { ctx, calls };
}

/** 1 MiB whose byte i is i mod 256, built differently from the job's own data. */
function referenceMebibyte(): Buffer {
  const block = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  return Buffer.concat(Array.from({ length: 4096 }, () => block));
}

afterEach(() => {
  vi.useRealTimers();
});

describe('registry', () => {
  it('finds every built-in type by its name', () => {
    // Act
    const names = jobTypeNames();

    // Assess
    expect(names).toEqual(['echo', 'fail', 'flaky', 'hash', 'pipeline', 'sleep']);
    for (const name of names) expect(getJobType(name)?.name).toBe(name);
  });

  it.each(['nope', '', 'Sleep', 'toString', 'constructor', '__proto__', 'hasOwnProperty'])(
    'has no type called "%s"',
    (name) => {
      // Act
      const found = getJobType(name);

      // Assess
      expect(found).toBeUndefined();
    },
  );

  it('gives every type a description', () => {
    for (const name of jobTypeNames()) {
      expect(getJobType(name)?.description.length).toBeGreaterThan(10);
    }
  });
});

/** Whether a job type's schema accepts an input. */
function accepts(type: string, input: unknown): boolean {
  const jobType = getJobType(type);
  if (!jobType) throw new Error(`No job type ${type}`);
  return validate(jobType.input, input).success;
}

describe('input schemas', () => {
  it.each([
    ['sleep', { seconds: 0 }],
    ['sleep', { seconds: 900 }],
    ['sleep', { seconds: 0.25 }],
    ['echo', { value: null }],
    ['echo', { value: { nested: [1, 'two', true, null] } }],
    ['fail', { message: 'x' }],
    ['fail', { message: 'm'.repeat(1000) }],
    ['fail', { message: 'x', hangSeconds: 1 }],
    ['fail', { message: 'x', hangSeconds: 900 }],
    ['hash', { megabytes: 1 }],
    ['hash', { megabytes: 1024 }],
  ])('%s accepts %j', (type, input) => {
    expect(accepts(type, input)).toBe(true);
  });

  it.each([
    ['sleep', { seconds: -1 }],
    ['sleep', { seconds: 901 }],
    ['sleep', { seconds: '5' }],
    ['sleep', {}],
    ['sleep', { seconds: 1, extra: true }],
    ['echo', {}],
    ['echo', { value: 1, extra: true }],
    ['fail', { message: '' }],
    ['fail', { message: 'm'.repeat(1001) }],
    ['fail', { message: 'boom', extra: 1 }],
    ['fail', { message: 'boom', hangSeconds: 0 }],
    ['fail', { message: 'boom', hangSeconds: 901 }],
    ['fail', { message: 'boom', hangSeconds: 1.5 }],
    ['hash', { megabytes: 0 }],
    ['hash', { megabytes: 1025 }],
    ['hash', { megabytes: 1.5 }],
    ['hash', { megabytes: 1, extra: 1 }],
  ])('%s rejects %j', (type, input) => {
    expect(accepts(type, input)).toBe(false);
  });
});

describe('sleep', () => {
  it('sleeps for the given time and reports progress about once a second', async () => {
    // Prepare
    vi.useFakeTimers();
    const { ctx, calls } = jobContext();
    let settled = false;
    const running = sleep.run({ seconds: 3.5 }, ctx).finally(() => {
      settled = true;
    });

    // Act
    await vi.advanceTimersByTimeAsync(3499);
    const settledEarly = settled;
    await vi.advanceTimersByTimeAsync(1);

    // Assess
    expect(settledEarly).toBe(false);
    await expect(running).resolves.toEqual({ sleptSeconds: 3.5 });
    expect(calls.map((c) => c.atMs)).toEqual([1000, 2000, 3000]);
    expect(calls.map((c) => Math.round(c.percent))).toEqual([29, 57, 86]);
    expect(calls[0]?.message).toBe('Slept 1 of 3.5 seconds');
  });

  it('finishes at once for zero seconds, without progress', async () => {
    // Prepare
    const { ctx, calls } = jobContext();

    // Act
    const result = await sleep.run({ seconds: 0 }, ctx);

    // Assess
    expect(result).toEqual({ sleptSeconds: 0 });
    expect(calls).toEqual([]);
  });

  it('stops promptly with the signal reason when aborted', async () => {
    // Prepare
    vi.useFakeTimers();
    const controller = new AbortController();
    const { ctx, calls } = jobContext({ signal: controller.signal });
    const running = sleep.run({ seconds: 900 }, ctx);
    const outcome = running.then(
      () => 'resolved',
      (error: unknown) => error,
    );
    await vi.advanceTimersByTimeAsync(2500);
    const reason = new JobCancelledError('Cancel requested');

    // Act
    controller.abort(reason);

    // Assess
    expect(await outcome).toBe(reason);
    expect(calls).toHaveLength(2);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('rejects at once when the signal is already aborted', async () => {
    // Prepare
    const controller = new AbortController();
    const reason = new JobCancelledError('Cancelled before start');
    controller.abort(reason);
    const { ctx } = jobContext({ signal: controller.signal });

    // Act
    const running = sleep.run({ seconds: 10 }, ctx);

    // Assess
    await expect(running).rejects.toBe(reason);
  });

  it('stops when reporting progress throws (a cancel request)', async () => {
    // Prepare
    vi.useFakeTimers();
    const cancelled = new JobCancelledError('Cancel requested at 2026-01-05T10:00:01.000Z');
    const { ctx } = jobContext({
      progress: async () => {
        throw cancelled;
      },
    });
    const outcome = sleep.run({ seconds: 60 }, ctx).then(
      () => 'resolved',
      (error: unknown) => error,
    );

    // Act
    await vi.advanceTimersByTimeAsync(1000);

    // Assess
    expect(await outcome).toBe(cancelled);
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('echo', () => {
  it('returns its input value as the result', async () => {
    // Prepare
    const value = { a: [1, 'two', null], b: { c: true } };

    // Act
    const result = await echo.run({ value }, jobContext().ctx);

    // Assess
    expect(result).toEqual({ value });
  });
});

describe('fail', () => {
  it('fails with the given message', async () => {
    // Act
    const running = fail.run({ message: 'disk full' }, jobContext().ctx);

    // Assess
    await expect(running).rejects.toThrow(new Error('disk full'));
  });

  it('blocks its event loop for hangSeconds before failing, so no timer can fire', async () => {
    // Prepare
    let timerFired = false;
    const timer = setTimeout(() => {
      timerFired = true;
    }, 10);
    const startedAt = Date.now();

    // Act
    const running = fail.run({ message: 'stuck', hangSeconds: 1 }, jobContext().ctx);

    // Assess
    expect(timerFired).toBe(false);
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(1000);
    await expect(running).rejects.toThrow(new Error('stuck'));
    clearTimeout(timer);
  });
});

describe('hash', () => {
  it('gives the SHA-256 of the documented data (byte i is i mod 256)', async () => {
    // Prepare
    const data = referenceMebibyte();
    const expected = createHash('sha256').update(data).update(data).digest('hex');

    // Act
    const result = await hash.run({ megabytes: 2 }, jobContext().ctx);

    // Assess
    expect(result).toEqual({ megabytes: 2, sha256: expected });
  });

  it('is deterministic: the same input gives the same digest, another input another', async () => {
    // Act
    const first = await hash.run({ megabytes: 3 }, jobContext().ctx);
    const second = await hash.run({ megabytes: 3 }, jobContext().ctx);
    const other = await hash.run({ megabytes: 1 }, jobContext().ctx);

    // Assess
    expect(first.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(second.sha256).toBe(first.sha256);
    expect(other.sha256).not.toBe(first.sha256);
  });

  it('reports progress while it works, not for every chunk', async () => {
    // Prepare: every clock reading is 400 ms later than the one before.
    let clock = 0;
    vi.spyOn(Date, 'now').mockImplementation(() => {
      clock += 400;
      return clock;
    });
    const { ctx, calls } = jobContext();

    // Act
    await hash.run({ megabytes: 20 }, ctx);

    // Assess
    expect(calls.length).toBeGreaterThan(1);
    expect(calls.length).toBeLessThan(20);
    const percents = calls.map((c) => c.percent);
    expect(percents).toEqual([...percents].sort((a, b) => a - b));
    expect(Math.max(...percents)).toBeLessThan(100);
  });

  it('stops between chunks with the signal reason when aborted', async () => {
    // Prepare
    const controller = new AbortController();
    const { ctx } = jobContext({ signal: controller.signal });
    const reason = new JobCancelledError('Cancel requested');
    setTimeout(() => controller.abort(reason), 5);

    // Act
    const running = hash.run({ megabytes: 1024 }, ctx);

    // Assess
    await expect(running).rejects.toBe(reason);
  });
});
