/** `at()` read in a time zone, and what the Scheduler refuses as an expression. */
import { describe, expect, it } from 'vitest';
import { nextFireTime, parseExpression } from '../../../../local/scheduler/expression';

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
    expect(nextFireTime(parsed)).toBe(expected);
  });

  it('parses rate() and cron() as recurring, which the local cloud does not fire yet', () => {
    const rate = parseExpression('rate(5 minutes)', 'UTC');
    const cron = parseExpression('cron(0 8 1 * ? *)', 'Europe/Paris');

    expect(rate.kind).toBe('recurring');
    expect(cron.kind).toBe('recurring');
    expect(nextFireTime(rate)).toBeUndefined();
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
});
