/**
 * Schedule expressions of the local EventBridge: AWS's rate and cron syntax
 * (the user guide's tables and examples; the invalid rate cases are the ones
 * LocalStack's suite validated against AWS), next-fire computation, and the
 * runner's timing under a time scale.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ScheduleExpressionError } from '../../../../local/eventbridge/errors';
import {
  type CronSchedule,
  nextCronTime,
  parseScheduleExpression,
  ScheduleRunner,
} from '../../../../local/eventbridge/schedule';

function caught(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  return undefined;
}

function cron(expression: string): CronSchedule {
  const schedule = parseScheduleExpression(expression);
  if (schedule.kind !== 'cron') throw new Error(`${expression} is not a cron expression`);
  return schedule;
}

describe('rate expressions', () => {
  it.each([
    ['rate(1 minute)', 60_000],
    ['rate(5 minutes)', 300_000],
    ['rate(1 hour)', 3_600_000],
    ['rate(2 hours)', 7_200_000],
    ['rate(1 day)', 86_400_000],
    ['rate(7 days)', 604_800_000],
  ])('%s is valid with a period of %i ms', (expression, periodMs) => {
    // Act
    const schedule = parseScheduleExpression(expression);

    // Assess
    expect(schedule).toMatchObject({ kind: 'rate', periodMs });
  });

  it.each([
    'rate(10 seconds)',
    'rate(10 years)',
    'rate(1 minutes)',
    'rate(1 hours)',
    'rate(1 days)',
    'rate(10 minute)',
    'rate(10 hour)',
    'rate(10 day)',
    'rate()',
    'rate(10)',
    'rate(10 minutess)',
    'rate(foo minutes)',
    'rate(0 minutes)',
    'rate(-10 minutes)',
    'rate(10 MINUTES)',
    'rate( 10 minutes )',
    ' rate(10 minutes)',
    'rate(10  minutes)',
    'every 10 minutes',
  ])('%s is refused with AWS ValidationException text', (expression) => {
    // Act
    const error = caught(() => parseScheduleExpression(expression));

    // Assess
    expect(error).toBeInstanceOf(ScheduleExpressionError);
    expect(error).toMatchObject({
      name: 'ValidationException',
      code: 'ValidationException',
      status: 400,
      message: 'Parameter ScheduleExpression is not valid.',
    });
  });
});

describe('cron expressions: validation', () => {
  it.each([
    'cron(0 10 * * ? *)',
    'cron(15 12 * * ? *)',
    'cron(0 18 ? * MON-FRI *)',
    'cron(0 8 1 * ? *)',
    'cron(0/15 * * * ? *)',
    'cron(0/10 * ? * MON-FRI *)',
    'cron(0/5 8-17 ? * MON-FRI *)',
    'cron(0/30 20-2 ? * MON-FRI *)',
    'cron(0 12 * * ? *)',
    'cron(5,35 14 * * ? *)',
    'cron(15 10 ? * 6L 2019-2022)',
    'cron(0 9 L * ? *)',
    'cron(0 9 LW * ? *)',
    'cron(0 9 15W * ? *)',
    'cron(0 12 ? * 3#2 *)',
    'cron(0 12 ? * TUE#1 *)',
    'cron(0 0 1 JAN,JUL ? *)',
    'cron(0 0 ? JAN-MAR SUN *)',
    'cron(*/5 * * * ? *)',
    'cron(0 0 1-15/2 * ? 2030)',
    'cron(0 0 ? * L *)',
    'cron(0 0 ? * sun *)',
  ])('%s is valid', (expression) => {
    // Act
    const schedule = parseScheduleExpression(expression);

    // Assess
    expect(schedule.kind).toBe('cron');
  });

  it.each([
    ['five fields', 'cron(0 10 * * ?)'],
    ['seven fields', 'cron(0 10 * * ? * *)'],
    ['both day fields ?', 'cron(0 10 ? * ? *)'],
    ['neither day field ?', 'cron(0 10 * * * *)'],
    ['day-of-month and day-of-week both given', 'cron(0 10 1 * MON *)'],
    ['? in minutes', 'cron(? 10 * * ? *)'],
    ['minute 60', 'cron(60 10 * * ? *)'],
    ['hour 24', 'cron(0 24 * * ? *)'],
    ['day-of-month 32', 'cron(0 0 32 * ? *)'],
    ['day-of-month 0', 'cron(0 0 0 * ? *)'],
    ['month 13', 'cron(0 0 1 13 ? *)'],
    ['month name misspelt', 'cron(0 0 1 JANUARY ? *)'],
    ['day-of-week 8', 'cron(0 0 ? * 8 *)'],
    ['day-of-week 0', 'cron(0 0 ? * 0 *)'],
    ['year 1969', 'cron(0 0 1 1 ? 1969)'],
    ['year 2200', 'cron(0 0 1 1 ? 2200)'],
    ['two # expressions', 'cron(0 0 ? * 3#1,6#3 *)'],
    ['# sixth week', 'cron(0 0 ? * 3#6 *)'],
    ['# in day-of-month', 'cron(0 0 1#2 * ? *)'],
    ['L in month', 'cron(0 0 1 L ? *)'],
    ['W in day-of-week', 'cron(0 0 ? * 2W *)'],
    ['step 0', 'cron(0/0 * * * ? *)'],
    ['empty list item', 'cron(0,,5 * * * ? *)'],
    ['letters in minutes', 'cron(MON 0 * * ? *)'],
    ['padded inside', 'cron( 0 10 * * ? *)'],
    ['padded outside', ' cron(0 10 * * ? *)'],
    ['upper-case keyword', 'CRON(0 10 * * ? *)'],
    ['empty', 'cron()'],
  ])('%s: %s is refused', (_name, expression) => {
    // Act
    const error = caught(() => parseScheduleExpression(expression));

    // Assess
    expect(error).toBeInstanceOf(ScheduleExpressionError);
    expect((error as Error).message).toBe('Parameter ScheduleExpression is not valid.');
  });
});

describe('cron expressions: next fire time (UTC)', () => {
  it.each([
    [
      'daily at 10:00, before',
      'cron(0 10 * * ? *)',
      '2026-03-01T09:59:30Z',
      '2026-03-01T10:00:00Z',
    ],
    [
      'daily at 10:00, exactly then',
      'cron(0 10 * * ? *)',
      '2026-03-01T10:00:00Z',
      '2026-03-02T10:00:00Z',
    ],
    ['every 15 minutes', 'cron(0/15 * * * ? *)', '2026-03-01T10:07:00Z', '2026-03-01T10:15:00Z'],
    [
      'every 15 minutes, hour rollover',
      'cron(0/15 * * * ? *)',
      '2026-03-01T10:45:10Z',
      '2026-03-01T11:00:00Z',
    ],
    [
      '1/10 starts at minute 1',
      'cron(1/10 * * * ? *)',
      '2026-03-01T10:02:00Z',
      '2026-03-01T10:11:00Z',
    ],
    [
      'weekdays, Friday evening to Monday',
      'cron(0 18 ? * MON-FRI *)',
      '2026-03-06T18:00:00Z',
      '2026-03-09T18:00:00Z',
    ],
    ['list of minutes', 'cron(5,35 14 * * ? *)', '2026-03-01T14:06:00Z', '2026-03-01T14:35:00Z'],
    [
      'wrapping hour range',
      'cron(0/30 20-2 ? * MON-FRI *)',
      '2026-03-03T02:30:00Z',
      '2026-03-03T20:00:00Z',
    ],
    [
      'last day of a leap February',
      'cron(0 8 L * ? *)',
      '2024-02-10T00:00:00Z',
      '2024-02-29T08:00:00Z',
    ],
    [
      '15W on a Saturday is Friday 14th',
      'cron(0 9 15W * ? *)',
      '2026-08-01T00:00:00Z',
      '2026-08-14T09:00:00Z',
    ],
    [
      '1W on a Saturday is Monday 3rd',
      'cron(0 9 1W * ? *)',
      '2026-07-31T12:00:00Z',
      '2026-08-03T09:00:00Z',
    ],
    [
      '31W on a last-day Sunday is Friday 29th',
      'cron(0 9 31W * ? *)',
      '2026-05-01T00:00:00Z',
      '2026-05-29T09:00:00Z',
    ],
    [
      'last weekday of October 2026',
      'cron(0 9 LW * ? *)',
      '2026-10-01T00:00:00Z',
      '2026-10-30T09:00:00Z',
    ],
    ['second Tuesday', 'cron(0 12 ? * 3#2 *)', '2026-03-01T00:00:00Z', '2026-03-10T12:00:00Z'],
    [
      'last Friday, 2019-2022',
      'cron(15 10 ? * 6L 2019-2022)',
      '2022-12-01T00:00:00Z',
      '2022-12-30T10:15:00Z',
    ],
    ['29 February only', 'cron(0 0 29 2 ? *)', '2025-01-01T00:00:00Z', '2028-02-29T00:00:00Z'],
    ['a future year', 'cron(0 0 1 JAN ? 2030)', '2026-06-01T00:00:00Z', '2030-01-01T00:00:00Z'],
    ['Sundays by number', 'cron(30 6 ? * 1 *)', '2026-03-02T00:00:00Z', '2026-03-08T06:30:00Z'],
  ])('%s: %s after %s is %s', (_name, expression, after, expected) => {
    // Act
    const next = nextCronTime(cron(expression), new Date(after));

    // Assess
    expect(next?.toISOString()).toBe(new Date(expected).toISOString());
  });

  it('returns undefined once every year the expression names is past', () => {
    // Act
    const next = nextCronTime(
      cron('cron(15 10 ? * 6L 2019-2022)'),
      new Date('2022-12-31T00:00:00Z'),
    );

    // Assess
    expect(next).toBeUndefined();
  });
});

describe('ScheduleRunner', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('fires a 1-minute rate every 0.6 s at timeScale 0.01, first one period after it starts', async () => {
    // Prepare
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const fired: number[] = [];
    const runner = new ScheduleRunner({
      timeScale: 0.01,
      onFire: (_name, at) => fired.push(at.getTime()),
    });
    const start = Date.now();
    runner.add('sweeper', parseScheduleExpression('rate(1 minute)'));

    // Act
    await vi.advanceTimersByTimeAsync(599);
    const beforeFirst = fired.length;
    await vi.advanceTimersByTimeAsync(3000 - 599);
    runner.close();
    await vi.advanceTimersByTimeAsync(3000);

    // Assess
    expect(beforeFirst).toBe(0);
    expect(fired.map((at) => at - start)).toEqual([600, 1200, 1800, 2400, 3000]);
  });

  it('reports the next fire time and fires on demand without moving the schedule', async () => {
    // Prepare
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const fired: string[] = [];
    const runner = new ScheduleRunner({ timeScale: 1, onFire: (name) => fired.push(name) });
    const start = Date.now();
    runner.add('hourly', parseScheduleExpression('rate(1 hour)'));

    // Act
    const next = runner.nextFireTime('hourly');
    const firedNow = runner.fireNow('hourly');
    const unknown = runner.fireNow('nope');

    // Assess
    expect(next?.getTime()).toBe(start + 3_600_000);
    expect(firedNow).toBe(true);
    expect(unknown).toBe(false);
    expect(fired).toEqual(['hourly']);
    expect(runner.nextFireTime('hourly')?.getTime()).toBe(start + 3_600_000);
    runner.close();
  });

  it('runs cron schedules on the wall clock, whatever the time scale', async () => {
    // Prepare
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    vi.setSystemTime(new Date('2026-03-01T10:07:30Z'));
    const fired: string[] = [];
    const runner = new ScheduleRunner({
      timeScale: 0.01,
      onFire: (_name, at) => fired.push(at.toISOString()),
    });
    runner.add('quarter', parseScheduleExpression('cron(0/15 * * * ? *)'));

    // Act
    await vi.advanceTimersByTimeAsync(7 * 60_000);
    const afterSevenMinutes = [...fired];
    await vi.advanceTimersByTimeAsync(16 * 60_000);
    runner.close();

    // Assess
    expect(afterSevenMinutes).toEqual([]);
    expect(fired).toEqual(['2026-03-01T10:15:00.000Z', '2026-03-01T10:30:00.000Z']);
  });

  it('stops firing once closed', async () => {
    // Prepare
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    let count = 0;
    const runner = new ScheduleRunner({ timeScale: 0.01, onFire: () => (count += 1) });
    runner.add('sweeper', parseScheduleExpression('rate(1 minute)'));

    // Act
    runner.close();
    await vi.advanceTimersByTimeAsync(10_000);

    // Assess
    expect(count).toBe(0);
    expect(runner.fireNow('sweeper')).toBe(false);
  });
});
