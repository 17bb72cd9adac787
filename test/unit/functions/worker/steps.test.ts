/**
 * StepRunner: `ctx.step` and `ctx.sleep` for one invocation, with an
 * in-memory checkpoint writer and a clock the test moves.
 */
import { describe, expect, it, vi } from 'vitest';
import { RunSuspendedError } from '../../../../core/job-errors';
import {
  DuplicateStepNameError,
  InvalidStepError,
  MAX_STEP_RESULT_BYTES,
  MAX_STEPS_PER_RUN,
  SignalTimeoutError,
  StepKindMismatchError,
  type StepRecord,
  StepResultNotJsonError,
  StepResultTooLargeError,
  TooManyStepsError,
} from '../../../../core/steps';
import { StepRunner } from '../../../../functions/worker/steps';

const T0 = new Date('2026-01-05T10:00:00.000Z');

/** A runner over `records`, whose every save is kept, in order and by name. */
function runner(records: readonly StepRecord[] = []) {
  let clock = T0.getTime();
  const saves: StepRecord[] = [];
  const table = new Map<string, StepRecord>(records.map((record) => [record.name, record]));
  const steps = new StepRunner(records, {
    now: () => new Date(clock),
    writer: {
      save: async (step) => {
        saves.push(step);
        table.set(step.name, step);
      },
    },
  });
  return {
    steps,
    saves,
    table,
    /** Moves the clock on by `ms`. */
    advance: (ms: number) => {
      clock += ms;
    },
    /** A runner of the same run's next invocation, on what this one saved. */
    next: () => runner([...table.values()]),
  };
}

const live = () => new AbortController().signal;

function succeeded(name: string, resultJson?: string): StepRecord {
  return {
    name,
    kind: 'step',
    status: 'SUCCEEDED',
    startedAt: T0.toISOString(),
    endedAt: T0.toISOString(),
    attempts: 1,
    ...(resultJson === undefined ? {} : { resultJson }),
  };
}

describe('StepRunner: a step', () => {
  it('runs its function once, checkpointing RUNNING then SUCCEEDED with the JSON result', async () => {
    // Prepare
    const { steps, saves, advance } = runner();
    const fn = vi.fn(async () => {
      advance(1500);
      return { rows: 42 };
    });

    // Act
    const result = await steps.step('load', fn, live());

    // Assess
    expect(result).toEqual({ rows: 42 });
    expect(fn).toHaveBeenCalledTimes(1);
    expect(fn).toHaveBeenCalledWith({ attempt: 1, signal: expect.any(AbortSignal) });
    expect(saves).toEqual([
      {
        name: 'load',
        kind: 'step',
        status: 'RUNNING',
        startedAt: '2026-01-05T10:00:00.000Z',
        attempts: 1,
      },
      {
        name: 'load',
        kind: 'step',
        status: 'SUCCEEDED',
        startedAt: '2026-01-05T10:00:00.000Z',
        endedAt: '2026-01-05T10:00:01.500Z',
        attempts: 1,
        resultJson: '{"rows":42}',
      },
    ]);
    expect(steps.completedHere).toBe(1);
  });

  it('replays a checkpointed step in a later invocation without calling its function', async () => {
    // Prepare
    const first = runner();
    await first.steps.step('load', async () => ({ rows: [1, 2] }), live());
    const second = first.next();
    const fn = vi.fn(async () => ({ rows: 'not this' }));

    // Act
    const result = await second.steps.step('load', fn, live());

    // Assess
    expect(result).toEqual({ rows: [1, 2] });
    expect(fn).not.toHaveBeenCalled();
    expect(second.saves).toEqual([]);
    expect(second.steps.completedHere).toBe(0);
  });

  it('hands the result back as JSON gives it, the first time too', async () => {
    // Prepare
    const { steps } = runner();
    const value = { kept: 1, dropped: undefined, list: [1, 'a', null], nested: { b: true } };

    // Act
    const result = await steps.step('shape', async () => value, live());

    // Assess
    expect(result).toStrictEqual({ kept: 1, list: [1, 'a', null], nested: { b: true } });
    expect(result).not.toBe(value);
    expect('dropped' in (result as object)).toBe(false);
  });

  it('checkpoints a step that returns undefined without a result, and replays undefined', async () => {
    // Prepare
    const first = runner();

    // Act
    const now = await first.steps.step('side-effect', () => undefined, live());
    const fn = vi.fn();
    const replayed = await first.next().steps.step('side-effect', fn, live());

    // Assess
    expect(now).toBeUndefined();
    expect(replayed).toBeUndefined();
    expect(fn).not.toHaveBeenCalled();
    const saved = first.table.get('side-effect');
    expect(saved?.status).toBe('SUCCEEDED');
    expect(saved && 'resultJson' in saved).toBe(false);
  });

  it('takes a synchronous function', async () => {
    // Prepare
    const { steps } = runner();

    // Act
    const result = await steps.step('sync', () => 7, live());

    // Assess
    expect(result).toBe(7);
  });

  it('refuses something other than a function', async () => {
    // Prepare
    const { steps, saves } = runner();

    // Act
    const running = steps.step('x', 'not a function' as never, live());

    // Assess
    await expect(running).rejects.toThrow(InvalidStepError);
    await expect(running).rejects.toThrow('ctx.step("x") takes a function');
    expect(saves).toEqual([]);
  });
});

describe('StepRunner: names', () => {
  it('refuses a second step of the same name in one attempt', async () => {
    // Prepare
    const { steps } = runner();
    await steps.step('fetch', async () => 1, live());
    const fn = vi.fn();

    // Act
    const running = steps.step('fetch', fn, live());

    // Assess
    await expect(running).rejects.toThrow(DuplicateStepNameError);
    await expect(running).rejects.toThrow(/names must be unique within a run/);
    expect(fn).not.toHaveBeenCalled();
  });

  it('refuses a sleep with the name of a step of the same attempt', async () => {
    // Prepare
    const { steps } = runner();
    await steps.step('wait', async () => 1, live());

    // Act
    const running = steps.sleep('wait', 5, live());

    // Assess
    await expect(running).rejects.toThrow(DuplicateStepNameError);
  });

  it('lets a new attempt use the same names again, replaying what finished', async () => {
    // Prepare
    const { steps } = runner();
    await steps.step('fetch', async () => 1, live());
    const fn = vi.fn(async () => 2);

    // Act
    steps.newAttempt();
    const result = await steps.step('fetch', fn, live());

    // Assess
    expect(result).toBe(1);
    expect(fn).not.toHaveBeenCalled();
  });

  it.each([
    ['empty', ''],
    ['with a #', 'a#b'],
    ['with a newline', 'a\nb'],
    ['with a control character', 'a\u0007b'],
    ['of 129 characters', 'x'.repeat(129)],
    ['not a string', 42],
  ])('refuses a name %s', async (_what, name) => {
    // Prepare
    const { steps, saves } = runner();
    const fn = vi.fn();

    // Act
    const step = steps.step(name as string, fn, live());
    const sleep = steps.sleep(name as string, 1, live());

    // Assess
    await expect(step).rejects.toThrow(InvalidStepError);
    await expect(step).rejects.toThrow(/ctx\.step needs a name of 1 to 128 characters/);
    await expect(sleep).rejects.toThrow(/ctx\.sleep needs a name of 1 to 128 characters/);
    expect(fn).not.toHaveBeenCalled();
    expect(saves).toEqual([]);
  });

  it.each([
    ['of 128 characters', 'x'.repeat(128)],
    ['with spaces and punctuation', 'step 1: load (a/b) – ünïcode'],
  ])('accepts a name %s', async (_what, name) => {
    // Prepare
    const { steps } = runner();

    // Act
    const result = await steps.step(name, () => 'ok', live());

    // Assess
    expect(result).toBe('ok');
  });
});

describe('StepRunner: results it cannot checkpoint', () => {
  it('refuses a result over MAX_STEP_RESULT_BYTES, and says to put large data in S3', async () => {
    // Prepare: one byte over, counting the quotes of the JSON string
    const { steps, table } = runner();
    const big = 'x'.repeat(MAX_STEP_RESULT_BYTES - 1);

    // Act
    const running = steps.step('big', () => big, live());

    // Assess
    await expect(running).rejects.toThrow(StepResultTooLargeError);
    await expect(running).rejects.toThrow(
      `Step "big" returned ${MAX_STEP_RESULT_BYTES + 1} bytes of JSON; a step's result may be at most ${MAX_STEP_RESULT_BYTES} bytes. Put large data in S3 and return its key`,
    );
    expect(table.get('big')?.status).not.toBe('SUCCEEDED');
  });

  it('accepts a result of exactly MAX_STEP_RESULT_BYTES', async () => {
    // Prepare
    const { steps } = runner();
    const fits = 'x'.repeat(MAX_STEP_RESULT_BYTES - 2);

    // Act
    const result = await steps.step('fits', () => fits, live());

    // Assess
    expect(result).toBe(fits);
  });

  it('counts bytes, not characters', async () => {
    // Prepare: 'é' is two bytes of UTF-8
    const { steps } = runner();
    const accents = 'é'.repeat(MAX_STEP_RESULT_BYTES / 2);

    // Act
    const running = steps.step('accents', () => accents, live());

    // Assess
    await expect(running).rejects.toThrow(StepResultTooLargeError);
  });

  it.each<[string, () => unknown, RegExp]>([
    ['a Date', () => new Date(0), /result is a Date/],
    ['NaN', () => ({ n: Number.NaN }), /result\.n is NaN/],
    ['a Map', () => new Map(), /result is a Map/],
    ['a bigint', () => 1n, /result is a bigint/],
  ])('refuses %s with StepResultNotJsonError', async (_what, fn, why) => {
    // Prepare
    const { steps, table } = runner();

    // Act
    const running = steps.step('odd', fn, live());

    // Assess
    await expect(running).rejects.toThrow(StepResultNotJsonError);
    await expect(running).rejects.toThrow(why);
    await expect(running).rejects.toThrow(/^Step "odd" returned a value that is not JSON/);
    expect(table.get('odd')?.status).not.toBe('SUCCEEDED');
  });
});

describe('StepRunner: limits and determinism', () => {
  it(`refuses step ${MAX_STEPS_PER_RUN + 1} of a run`, async () => {
    // Prepare: a run that checkpointed the most steps it may
    const records = Array.from({ length: MAX_STEPS_PER_RUN }, (_, i) =>
      succeeded(`s-${i}`, String(i)),
    );
    const { steps, saves } = runner(records);
    const fn = vi.fn();

    // Act
    const replayed = await steps.step('s-999', fn, live());
    const running = steps.step('one-too-many', fn, live());
    const sleeping = steps.sleep('one-too-many-sleep', 1, live());

    // Assess: the stored ones still replay; a new one is refused
    expect(replayed).toBe(999);
    await expect(running).rejects.toThrow(TooManyStepsError);
    await expect(running).rejects.toThrow(
      `would be step ${MAX_STEPS_PER_RUN + 1} of the run; a run may have at most ${MAX_STEPS_PER_RUN}`,
    );
    await expect(sleeping).rejects.toThrow(TooManyStepsError);
    expect(fn).not.toHaveBeenCalled();
    expect(saves).toEqual([]);
  });

  it(`allows step ${MAX_STEPS_PER_RUN}`, async () => {
    // Prepare
    const records = Array.from({ length: MAX_STEPS_PER_RUN - 1 }, (_, i) => succeeded(`s-${i}`));
    const { steps } = runner(records);

    // Act
    const result = await steps.step('last', () => 'ok', live());

    // Assess
    expect(result).toBe('ok');
  });

  it('refuses a step where an earlier invocation slept, and a sleep where it ran a step', async () => {
    // Prepare
    const { steps } = runner([
      succeeded('was-a-step'),
      {
        name: 'was-a-sleep',
        kind: 'sleep',
        status: 'SUCCEEDED',
        startedAt: T0.toISOString(),
        attempts: 1,
        wakeAt: T0.toISOString(),
      },
    ]);

    // Act
    const step = steps.step('was-a-sleep', () => 1, live());
    const sleep = steps.sleep('was-a-step', 1, live());

    // Assess
    await expect(step).rejects.toThrow(StepKindMismatchError);
    await expect(step).rejects.toThrow('"was-a-sleep" was a sleep in an earlier invocation');
    await expect(sleep).rejects.toThrow(StepKindMismatchError);
  });
});

describe('StepRunner: a step that throws or is stopped', () => {
  it('saves FAILED with its attempts and error, and rethrows', async () => {
    // Prepare
    const { steps, table, advance } = runner();
    const boom = new TypeError('the API said no');

    // Act
    const running = steps.step(
      'call',
      async () => {
        advance(250);
        throw boom;
      },
      live(),
    );

    // Assess
    await expect(running).rejects.toBe(boom);
    expect(table.get('call')).toEqual({
      name: 'call',
      kind: 'step',
      status: 'FAILED',
      startedAt: '2026-01-05T10:00:00.000Z',
      endedAt: '2026-01-05T10:00:00.250Z',
      attempts: 1,
      error: { name: 'TypeError', message: 'the API said no' },
    });
    expect(steps.completedHere).toBe(0);
  });

  it('counts attempt 2 when a failed step runs again, keeping its first start', async () => {
    // Prepare
    const first = runner();
    await expect(
      first.steps.step(
        'call',
        () => {
          throw new Error('once');
        },
        live(),
      ),
    ).rejects.toThrow('once');
    const second = first.next();
    second.advance(10_000);
    const fn = vi.fn(async ({ attempt }: { attempt: number }) => `attempt ${attempt}`);

    // Act
    const result = await second.steps.step('call', fn, live());

    // Assess
    expect(result).toBe('attempt 2');
    expect(fn).toHaveBeenCalledWith(expect.objectContaining({ attempt: 2 }));
    expect(second.saves.map((save) => [save.status, save.attempts])).toEqual([
      ['RUNNING', 2],
      ['SUCCEEDED', 2],
    ]);
    expect(second.table.get('call')?.startedAt).toBe('2026-01-05T10:00:00.000Z');
  });

  it('counts attempts in the same runner after a new attempt, too', async () => {
    // Prepare
    const { steps } = runner();
    await expect(
      steps.step(
        'call',
        () => {
          throw new Error('once');
        },
        live(),
      ),
    ).rejects.toThrow('once');
    steps.newAttempt();

    // Act
    const attempt = await steps.step('call', ({ attempt }) => attempt, live());

    // Assess
    expect(attempt).toBe(2);
  });

  it('records a thrown non-error as an Error with its text', async () => {
    // Prepare
    const { steps, table } = runner();

    // Act
    const running = steps.step(
      'odd',
      () => {
        throw 'just a string';
      },
      live(),
    );

    // Assess
    await expect(running).rejects.toBe('just a string');
    expect(table.get('odd')?.error).toEqual({ name: 'Error', message: 'just a string' });
  });

  it('leaves a step stopped by its signal RUNNING, not FAILED', async () => {
    // Prepare
    const { steps, table } = runner();
    const controller = new AbortController();
    const stop = new Error('cancelled');

    // Act
    const running = steps.step(
      'long',
      async ({ signal }) => {
        controller.abort(stop);
        signal.throwIfAborted();
      },
      controller.signal,
    );

    // Assess
    await expect(running).rejects.toBe(stop);
    expect(table.get('long')?.status).toBe('RUNNING');
    expect(steps.running).toBe('long');
  });

  it('does not checkpoint a step whose job ignored its signal and returned after the stop', async () => {
    // Prepare
    const { steps, saves } = runner();
    const controller = new AbortController();
    const stop = new Error('deadline');

    // Act
    const running = steps.step(
      'ignores',
      async () => {
        controller.abort(stop);
        return 'late';
      },
      controller.signal,
    );

    // Assess
    await expect(running).rejects.toBe(stop);
    expect(saves.map((save) => save.status)).toEqual(['RUNNING']);
    expect(steps.completedHere).toBe(0);
  });

  it('does not start a new step once the signal has aborted', async () => {
    // Prepare
    const { steps, saves } = runner();
    const controller = new AbortController();
    controller.abort(new Error('stopped'));
    const fn = vi.fn();

    // Act
    const running = steps.step('late', fn, controller.signal);

    // Assess
    await expect(running).rejects.toThrow('stopped');
    expect(fn).not.toHaveBeenCalled();
    expect(saves).toEqual([]);
  });

  it('replays a finished step even after the signal aborted', async () => {
    // Prepare
    const { steps } = runner([succeeded('done', '"kept"')]);
    const controller = new AbortController();
    controller.abort(new Error('stopped'));

    // Act
    const result = await steps.step('done', vi.fn(), controller.signal);

    // Assess
    expect(result).toBe('kept');
  });

  it('does not record a step whose checkpoint write failed, and the write error propagates', async () => {
    // Prepare
    const failing = new Error('the table refused');
    const steps = new StepRunner([], {
      now: () => T0,
      writer: {
        save: async () => {
          throw failing;
        },
      },
    });
    const fn = vi.fn();

    // Act
    const running = steps.step('x', fn, live());

    // Assess
    await expect(running).rejects.toBe(failing);
    expect(fn).not.toHaveBeenCalled();
    expect(steps.records()).toEqual([]);
  });
});

describe('StepRunner: a sleep', () => {
  it('saves SLEEPING with its wake time and suspends the run', async () => {
    // Prepare
    const { steps, saves } = runner();

    // Act
    const sleeping = steps.sleep('cool-off', { minutes: 5 }, live());

    // Assess
    const error = await sleeping.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RunSuspendedError);
    expect(error).toMatchObject({
      wakeAt: '2026-01-05T10:05:00.000Z',
      sleepName: 'cool-off',
      message: 'Sleeping in "cool-off" until 2026-01-05T10:05:00.000Z',
    });
    expect(saves).toEqual([
      {
        name: 'cool-off',
        kind: 'sleep',
        status: 'SLEEPING',
        startedAt: '2026-01-05T10:00:00.000Z',
        attempts: 1,
        wakeAt: '2026-01-05T10:05:00.000Z',
      },
    ]);
    expect(steps.completedHere).toBe(0);
  });

  it('suspends again, with the same wake time, when replayed before it', async () => {
    // Prepare
    const first = runner();
    await expect(first.steps.sleep('nap', 60, live())).rejects.toThrow(RunSuspendedError);
    const early = first.next();
    early.advance(59_999);

    // Act
    const error = await early.steps.sleep('nap', 60, live()).catch((caught: unknown) => caught);

    // Assess
    expect(error).toBeInstanceOf(RunSuspendedError);
    expect(error).toMatchObject({ wakeAt: '2026-01-05T10:01:00.000Z', sleepName: 'nap' });
    expect(early.saves).toEqual([]);
  });

  it('keeps the first wake time even if the duration changed on replay', async () => {
    // Prepare
    const first = runner();
    await expect(first.steps.sleep('nap', 60, live())).rejects.toThrow(RunSuspendedError);
    const later = first.next();
    later.advance(30_000);

    // Act
    const error = await later.steps.sleep('nap', 3600, live()).catch((caught: unknown) => caught);

    // Assess
    expect(error).toMatchObject({ wakeAt: '2026-01-05T10:01:00.000Z' });
  });

  it('ends, saving SUCCEEDED, when replayed at or after its wake time', async () => {
    // Prepare
    const first = runner();
    await expect(first.steps.sleep('nap', 60, live())).rejects.toThrow(RunSuspendedError);
    const woken = first.next();
    woken.advance(60_000);

    // Act
    const result = await woken.steps.sleep('nap', 60, live());

    // Assess
    expect(result).toBeUndefined();
    expect(woken.saves).toEqual([
      {
        name: 'nap',
        kind: 'sleep',
        status: 'SUCCEEDED',
        startedAt: '2026-01-05T10:00:00.000Z',
        endedAt: '2026-01-05T10:01:00.000Z',
        attempts: 1,
        wakeAt: '2026-01-05T10:01:00.000Z',
      },
    ]);
    expect(woken.steps.completedHere).toBe(1);
  });

  it('returns at once, saving nothing, for a sleep that already ended', async () => {
    // Prepare
    const first = runner();
    await expect(first.steps.sleep('nap', 1, live())).rejects.toThrow(RunSuspendedError);
    const woken = first.next();
    woken.advance(1000);
    await woken.steps.sleep('nap', 1, live());
    const third = woken.next();

    // Act
    await third.steps.sleep('nap', 1, live());

    // Assess
    expect(third.saves).toEqual([]);
  });

  it.each([0, { seconds: 0 }, {}])(
    'returns at once for a sleep of %j, checkpointing it',
    async (duration) => {
      // Prepare
      const { steps, saves } = runner();

      // Act
      const result = await steps.sleep('none', duration, live());

      // Assess
      expect(result).toBeUndefined();
      expect(saves).toEqual([
        {
          name: 'none',
          kind: 'sleep',
          status: 'SUCCEEDED',
          startedAt: '2026-01-05T10:00:00.000Z',
          endedAt: '2026-01-05T10:00:00.000Z',
          attempts: 1,
          wakeAt: '2026-01-05T10:00:00.000Z',
        },
      ]);
      expect(steps.completedHere).toBe(1);
    },
  );

  it('accepts a sleep of exactly 30 days', async () => {
    // Prepare
    const { steps } = runner();

    // Act
    const error = await steps
      .sleep('month', { days: 30 }, live())
      .catch((caught: unknown) => caught);

    // Assess
    expect(error).toMatchObject({ wakeAt: '2026-02-04T10:00:00.000Z' });
  });

  it('refuses a sleep over 30 days', async () => {
    // Prepare
    const { steps, saves } = runner();

    // Act
    const running = steps.sleep('too-long', { days: 30, seconds: 1 }, live());

    // Assess
    await expect(running).rejects.toThrow(InvalidStepError);
    await expect(running).rejects.toThrow(
      'ctx.sleep("too-long") of 2592001 s is longer than any run may last (2592000 s, 30 days)',
    );
    expect(saves).toEqual([]);
  });

  it.each([
    [-1, /finite number of seconds/],
    [Number.NaN, /finite number of seconds/],
    [{ weeks: 1 }, /no unit "weeks"/],
  ])('refuses a duration of %j', async (duration, why) => {
    // Prepare
    const { steps, saves } = runner();

    // Act
    const running = steps.sleep('bad', duration as never, live());

    // Assess
    await expect(running).rejects.toThrow(InvalidStepError);
    await expect(running).rejects.toThrow(why);
    expect(saves).toEqual([]);
  });

  it('does not begin a sleep once the signal has aborted', async () => {
    // Prepare
    const { steps, saves } = runner();
    const controller = new AbortController();
    controller.abort(new Error('stopped'));

    // Act
    const running = steps.sleep('nap', 5, controller.signal);

    // Assess
    await expect(running).rejects.toThrow('stopped');
    expect(saves).toEqual([]);
  });
});

describe('StepRunner: what it tells the worker', () => {
  it('is unused with no checkpoints, and used once it saved one or was given one', async () => {
    // Prepare
    const fresh = runner();
    const given = runner([succeeded('a')]);

    // Act
    const before = fresh.steps.used;
    await fresh.steps.step('a', () => 1, live());

    // Assess
    expect(before).toBe(false);
    expect(fresh.steps.used).toBe(true);
    expect(given.steps.used).toBe(true);
  });

  it('counts only what finished in this invocation, not replays', async () => {
    // Prepare
    const { steps } = runner([succeeded('a'), succeeded('b')]);

    // Act
    await steps.step('a', () => 1, live());
    await steps.step('b', () => 1, live());
    await steps.step('c', () => 1, live());
    await steps.sleep('d', 0, live());

    // Assess
    expect(steps.completedHere).toBe(2);
  });

  it('names the step that is running, and none once it ended', async () => {
    // Prepare
    const { steps } = runner();
    let during: string | undefined;

    // Act
    const before = steps.running;
    await steps.step(
      'work',
      () => {
        during = steps.running;
      },
      live(),
    );

    // Assess
    expect(before).toBeUndefined();
    expect(during).toBe('work');
    expect(steps.running).toBeUndefined();
  });

  it('names a step an earlier invocation left RUNNING', () => {
    // Prepare
    const { steps } = runner([
      succeeded('a'),
      { name: 'b', kind: 'step', status: 'RUNNING', startedAt: T0.toISOString(), attempts: 1 },
    ]);

    // Assess
    expect(steps.running).toBe('b');
  });

  it('lists its records, the given ones and the new ones', async () => {
    // Prepare
    const { steps } = runner([succeeded('a')]);

    // Act
    await steps.step('b', () => 2, live());

    // Assess
    expect(steps.records().map((record) => [record.name, record.status])).toEqual([
      ['a', 'SUCCEEDED'],
      ['b', 'SUCCEEDED'],
    ]);
  });
});

describe('StepRunner: a wait for a signal', () => {
  function waiter(records: readonly StepRecord[], signals: Record<string, string>, at = T0) {
    const saves: StepRecord[] = [];
    const steps = new StepRunner(records, {
      now: () => at,
      writer: { save: async (step) => void saves.push(step) },
      readSignal: async (name) => signals[name],
    });
    return { steps, saves };
  }

  it('returns a signal already sent at once, and checkpoints it', async () => {
    const { steps, saves } = waiter([], { approve: '{"ok":true}' });
    await expect(steps.waitForSignal('approve', undefined, live())).resolves.toEqual({ ok: true });
    expect(saves.map((step) => [step.kind, step.status, step.resultJson])).toEqual([
      ['signal', 'SUCCEEDED', '{"ok":true}'],
    ]);
    expect(steps.completedHere).toBe(1);
  });

  it('suspends the run when the signal has not come: WAITING, with its timeout as wakeAt', async () => {
    const { steps, saves } = waiter([], {});
    const error = await steps
      .waitForSignal('approve', { timeout: { minutes: 5 } }, live())
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RunSuspendedError);
    expect(error).toMatchObject({ signalName: 'approve', wakeAt: '2026-01-05T10:05:00.000Z' });
    expect(saves.map((step) => [step.status, step.wakeAt])).toEqual([
      ['WAITING', '2026-01-05T10:05:00.000Z'],
    ]);
  });

  it('a replay after the timeout without the signal: FAILED, SignalTimeoutError', async () => {
    const waiting: StepRecord = {
      name: 'approve',
      kind: 'signal',
      status: 'WAITING',
      startedAt: T0.toISOString(),
      attempts: 1,
      wakeAt: '2026-01-05T10:05:00.000Z',
    };
    const late = new Date('2026-01-05T10:05:01.000Z');
    const { steps, saves } = waiter([waiting], {}, late);
    await expect(steps.waitForSignal('approve', undefined, live())).rejects.toThrow(
      SignalTimeoutError,
    );
    expect(saves.map((step) => step.status)).toEqual(['FAILED']);
    // The signal, had it come in time, would have won over the timeout.
    const inTime = waiter([waiting], { approve: '1' }, late);
    await expect(inTime.steps.waitForSignal('approve', undefined, live())).resolves.toBe(1);
  });

  it('refuses a name a URL path cannot carry as it is', async () => {
    const { steps } = waiter([], {});
    await expect(steps.waitForSignal('a/b', undefined, live())).rejects.toThrow(InvalidStepError);
    await expect(steps.waitForSignal('..', undefined, live())).rejects.toThrow(InvalidStepError);
  });
});
