/**
 * `at()` read in a time zone, what the Scheduler refuses as an expression,
 * and when recurring schedules fire: cron() on the clocks of a time zone
 * across daylight-saving changes (a skipped time is not fired, a repeated
 * one fires once), rate() from creation or StartDate, and EndDate.
 */
import { describe, expect, it } from 'vitest';
import {
  nextFireTime,
  type ParsedExpression,
  parseExpression,
  type Recurrence,
} from '../../../../local/scheduler/expression';

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

/** The first `count` firing times at or after `from`, as ISO strings. */
function firings(
  expression: string,
  timeZone: string,
  from: string,
  count: number,
  bounds: Partial<Recurrence> = {},
): (string | undefined)[] {
  const parsed = parseExpression(expression, timeZone);
  const recurrence: Recurrence = { timeZone, createdAt: Date.parse(from), ...bounds };
  const out: (string | undefined)[] = [];
  let cursor = Date.parse(from);
  for (let i = 0; i < count; i++) {
    const next = nextFireTime(parsed, cursor, recurrence);
    out.push(iso(next));
    if (next === undefined) break;
    cursor = next + 1;
  }
  return out;
}

describe('parseExpression', () => {
  it.each([
    ['UTC', 'at(2026-12-07T03:40:05)', Date.UTC(2026, 11, 7, 3, 40, 5)],
    ['America/New_York', 'at(2026-12-07T03:40:05)', Date.UTC(2026, 11, 7, 8, 40, 5)], // EST, UTC-5
    ['America/New_York', 'at(2026-07-07T03:40:05)', Date.UTC(2026, 6, 7, 7, 40, 5)], // EDT, UTC-4
    ['Asia/Kolkata', 'at(2026-03-11T10:21:00)', Date.UTC(2026, 2, 11, 4, 51, 0)], // UTC+5:30
    ['Europe/Berlin', 'at(2026-01-01T00:00:00)', Date.UTC(2025, 11, 31, 23, 0, 0)],
  ])('reads at() in %s', (timeZone, expression, expected) => {
    const parsed = parseExpression(expression, timeZone);

    expect(parsed).toEqual({ kind: 'at', at: expected });
    expect(nextFireTime(parsed, Date.now(), { timeZone, createdAt: Date.now() })).toBe(expected);
  });

  it('parses rate() and cron() as recurring', () => {
    const rate = parseExpression('rate(5 minutes)', 'UTC');
    const cron = parseExpression('cron(0 8 1 * ? *)', 'Europe/Paris');

    expect(rate).toMatchObject({
      kind: 'recurring',
      schedule: { kind: 'rate', periodMs: 300_000 },
    });
    expect(cron).toMatchObject({ kind: 'recurring', schedule: { kind: 'cron' } });
  });

  it.each([
    'at(2026-02-29T00:00:00)', // not a leap year
    'at(2026-12-07T24:00:00)',
    'at(2026-12-07 03:40:05)',
    'at(2026-12-07T03:40:05Z)',
    'rate(5 seconds)',
    'cron(0 8 1 * *)',
    'every day',
  ])('refuses %s', (expression) => {
    expect(() => parseExpression(expression, 'UTC')).toThrow(
      expect.objectContaining({ code: 'ValidationException', status: 400 }),
    );
  });

  it('refuses a time zone Intl does not know', () => {
    expect(() => parseExpression('rate(1 hour)', 'Mars/Olympus')).toThrow(
      expect.objectContaining({
        code: 'ValidationException',
        message: 'Invalid time zone Mars/Olympus.',
      }),
    );
  });
});

describe('cron() in a time zone', () => {
  it('names wall-clock minutes of the zone, whose offset to UTC changes with daylight saving', () => {
    expect(firings('cron(0 8 * * ? *)', 'America/New_York', '2026-03-07T00:00:00Z', 2)).toEqual([
      '2026-03-07T13:00:00.000Z', // 08:00 EST
      '2026-03-08T12:00:00.000Z', // 08:00 EDT
    ]);
    expect(firings('cron(0 8 * * ? *)', 'UTC', '2026-03-07T00:00:00Z', 1)).toEqual([
      '2026-03-07T08:00:00.000Z',
    ]);
  });

  it('counts a whole minute at `from` itself, and nothing earlier', () => {
    expect(firings('cron(0 8 * * ? *)', 'UTC', '2026-03-07T08:00:00Z', 1)).toEqual([
      '2026-03-07T08:00:00.000Z',
    ]);
    expect(firings('cron(0 8 * * ? *)', 'UTC', '2026-03-07T08:00:00.001Z', 1)).toEqual([
      '2026-03-08T08:00:00.000Z',
    ]);
  });

  it('skips a time that does not exist when America/New_York springs forward (2:00 EST -> 3:00 EDT)', () => {
    expect(firings('cron(30 2 * * ? *)', 'America/New_York', '2026-03-07T00:00:00Z', 2)).toEqual([
      '2026-03-07T07:30:00.000Z', // 02:30 EST on the 7th
      '2026-03-09T06:30:00.000Z', // 02:30 EDT on the 9th; the 8th has no 02:30
    ]);
  });

  it('fires a time that America/New_York repeats when it falls back (2:00 EDT -> 1:00 EST) once', () => {
    expect(firings('cron(30 1 * * ? *)', 'America/New_York', '2026-10-31T12:00:00Z', 2)).toEqual([
      '2026-11-01T05:30:00.000Z', // 01:30 EDT, the first of the two
      '2026-11-02T06:30:00.000Z', // 01:30 EST the next day
    ]);
  });

  it('skips a time that does not exist when Europe/London springs forward (1:00 GMT -> 2:00 BST)', () => {
    expect(firings('cron(30 1 * * ? *)', 'Europe/London', '2026-03-28T00:00:00Z', 2)).toEqual([
      '2026-03-28T01:30:00.000Z', // 01:30 GMT
      '2026-03-30T00:30:00.000Z', // 01:30 BST; the 29th has no 01:30
    ]);
  });

  it('walks Europe/London wall clock past its repeated hour once when it falls back (2:00 BST -> 1:00 GMT)', () => {
    // Every 15 minutes from 01:40 BST: 01:45 BST, then the wall clock's next quarter is
    // 02:00 GMT; the repeated 01:00-01:59 GMT quarters already fired as BST.
    expect(firings('cron(0/15 * * * ? *)', 'Europe/London', '2026-10-25T00:40:00Z', 3)).toEqual([
      '2026-10-25T00:45:00.000Z',
      '2026-10-25T02:00:00.000Z',
      '2026-10-25T02:15:00.000Z',
    ]);
    expect(firings('cron(30 1 * * ? *)', 'Europe/London', '2026-10-24T12:00:00Z', 2)).toEqual([
      '2026-10-25T00:30:00.000Z', // 01:30 BST
      '2026-10-26T01:30:00.000Z', // 01:30 GMT
    ]);
  });

  it('stops after the last year the expression names', () => {
    expect(firings('cron(0 0 1 1 ? 2026)', 'Asia/Tokyo', '2025-06-01T00:00:00Z', 2)).toEqual([
      '2025-12-31T15:00:00.000Z',
      undefined,
    ]);
  });
});

describe('rate()', () => {
  it('fires when it is created, then every period as a fixed duration (a day is 24 hours across DST)', () => {
    expect(firings('rate(1 day)', 'America/New_York', '2026-03-07T15:00:00Z', 3)).toEqual([
      '2026-03-07T15:00:00.000Z',
      '2026-03-08T15:00:00.000Z',
      '2026-03-09T15:00:00.000Z',
    ]);
  });

  it('counts its periods from its creation, whenever it is asked', () => {
    const parsed = parseExpression('rate(5 minutes)', 'UTC');
    const createdAt = Date.parse('2026-05-01T10:00:07Z');

    const next = nextFireTime(parsed, Date.parse('2026-05-01T10:12:00Z'), {
      timeZone: 'UTC',
      createdAt,
    });

    expect(iso(next)).toBe('2026-05-01T10:15:07.000Z');
  });

  it('first fires at its StartDate, and counts from there', () => {
    expect(
      firings('rate(1 hour)', 'UTC', '2026-05-01T10:00:00Z', 2, {
        startDate: Date.parse('2026-05-01T12:30:00Z'),
      }),
    ).toEqual(['2026-05-01T12:30:00.000Z', '2026-05-01T13:30:00.000Z']);
  });
});

describe('StartDate and EndDate', () => {
  it('fire a cron() on or after StartDate and before EndDate only', () => {
    expect(
      firings('cron(0 * * * ? *)', 'UTC', '2026-05-01T00:00:00Z', 4, {
        startDate: Date.parse('2026-05-01T05:30:00Z'),
        endDate: Date.parse('2026-05-01T08:00:00Z'),
      }),
    ).toEqual(['2026-05-01T06:00:00.000Z', '2026-05-01T07:00:00.000Z', undefined]);
  });

  it('end a rate() before its EndDate', () => {
    expect(
      firings('rate(30 minutes)', 'UTC', '2026-05-01T00:00:00Z', 4, {
        endDate: Date.parse('2026-05-01T01:00:00Z'),
      }),
    ).toEqual(['2026-05-01T00:00:00.000Z', '2026-05-01T00:30:00.000Z', undefined]);
  });

  it('are ignored by a one-time schedule', () => {
    const parsed: ParsedExpression = parseExpression('at(2026-05-01T09:00:00)', 'UTC');

    const next = nextFireTime(parsed, 0, {
      timeZone: 'UTC',
      createdAt: 0,
      startDate: Date.parse('2026-06-01T00:00:00Z'),
      endDate: Date.parse('2026-06-02T00:00:00Z'),
    });

    expect(iso(next)).toBe('2026-05-01T09:00:00.000Z');
  });
});
