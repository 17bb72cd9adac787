/**
 * EventBridge Scheduler's `ScheduleExpression`: `at(yyyy-mm-ddThh:mm:ss)` for
 * a one-time schedule, read as a wall-clock time in the schedule's
 * `ScheduleExpressionTimezone` (UTC when none is given); `rate(...)` and
 * `cron(...)` for recurring ones, which have EventBridge's syntax and are
 * parsed by its parser (`../eventbridge/schedule.ts`), and which fire as the
 * Scheduler user guide says:
 *
 * - `rate()` first fires at its StartDate, or at once when it has none (when
 *   it is created), then every period: a fixed duration, so a day is 24 hours
 *   even across a daylight-saving change.
 * - `cron()` names wall-clock minutes of the schedule's time zone. A time that
 *   a daylight-saving change skips is not fired; a time it repeats fires once
 *   (its first occurrence).
 * - StartDate and EndDate bound recurring schedules only: occurrences on or
 *   after the one, before the other.
 */
import {
  type CronSchedule,
  nextCronTime,
  parseScheduleExpression,
  type Schedule,
} from '../eventbridge/schedule';
import { SchedulerValidationError } from './errors';
import { checkTimeZone, instantsAt, wallClockAt, zonedToEpoch } from './zone';

export type ParsedExpression =
  | { readonly kind: 'at' /** Epoch milliseconds. */; readonly at: number }
  | { readonly kind: 'recurring'; readonly schedule: Schedule };

/** What bounds a recurring schedule's occurrences; all times in epoch milliseconds. */
export interface Recurrence {
  /** The zone cron() is read in; IANA, e.g. `Europe/London`. */
  readonly timeZone: string;
  /** When the schedule was created: a rate() without StartDate first fires then. */
  readonly createdAt: number;
  readonly startDate?: number;
  readonly endDate?: number;
}

const AT = /^at\((\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\)$/;

/** Parses `expression` in `timeZone`; throws `ValidationException` for what AWS refuses. */
export function parseExpression(expression: string, timeZone: string): ParsedExpression {
  try {
    checkTimeZone(timeZone);
  } catch (error) {
    throw new SchedulerValidationError(`Invalid time zone ${timeZone}.`, { cause: error });
  }
  if (expression.startsWith('at(')) return { kind: 'at', at: parseAt(expression, timeZone) };
  if (expression.startsWith('rate(') || expression.startsWith('cron(')) {
    try {
      return { kind: 'recurring', schedule: parseScheduleExpression(expression) };
    } catch (error) {
      throw new SchedulerValidationError(invalid(expression), { cause: error });
    }
  }
  throw new SchedulerValidationError(invalid(expression));
}

/**
 * When a schedule is due next, at or after `from`: an `at()` schedule at its
 * time whatever `from` is (whether it already fired is the caller's to know);
 * a recurring one at its first occurrence at or after `from`, or undefined
 * when none is left before its EndDate (or in its cron() years).
 */
export function nextFireTime(
  parsed: ParsedExpression,
  from: number,
  recurrence: Recurrence,
): number | undefined {
  if (parsed.kind === 'at') return parsed.at;
  const { startDate, endDate } = recurrence;
  const earliest = Math.max(from, startDate ?? from);
  const next =
    parsed.schedule.kind === 'rate'
      ? nextOnGrid(startDate ?? recurrence.createdAt, parsed.schedule.periodMs, earliest)
      : nextCronTimeIn(parsed.schedule, recurrence.timeZone, earliest);
  return next === undefined || (endDate !== undefined && next >= endDate) ? undefined : next;
}

/** The first `anchor + k * period` (k >= 0) at or after `from`. */
function nextOnGrid(anchor: number, period: number, from: number): number {
  if (from <= anchor) return anchor;
  return anchor + Math.ceil((from - anchor) / period) * period;
}

/**
 * The first minute at or after `from` that `schedule` names on the clocks of
 * `timeZone`. Wall-clock minutes are walked in order, so a minute that a
 * daylight-saving change repeats is taken once, at its first occurrence.
 */
export function nextCronTimeIn(
  schedule: CronSchedule,
  timeZone: string,
  from: number,
): number | undefined {
  // nextCronTime looks strictly after a time: 1 ms back takes a whole minute `from` itself.
  let after = wallClockAt(from, timeZone) - 1;
  for (;;) {
    const next = nextCronTime(schedule, new Date(after));
    if (next === undefined) return undefined;
    const wallClock = next.getTime();
    const first = instantsAt(wallClock, timeZone)[0];
    // None: skipped by a change to daylight-saving time. Before `from`: a repeated
    // time whose first occurrence is past.
    if (first !== undefined && first >= from) return first;
    after = wallClock;
  }
}

function invalid(expression: string): string {
  return `Invalid Schedule Expression ${expression}.`;
}

function parseAt(expression: string, timeZone: string): number {
  const match = AT.exec(expression);
  if (!match) throw new SchedulerValidationError(invalid(expression));
  const [year, month, day, hour, minute, second] = match.slice(1).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (
    month < 1 ||
    month > 12 ||
    day < 1 ||
    day > daysInMonth ||
    hour > 23 ||
    minute > 59 ||
    second > 59
  ) {
    throw new SchedulerValidationError(invalid(expression));
  }
  return zonedToEpoch(Date.UTC(year, month - 1, day, hour, minute, second), timeZone);
}
