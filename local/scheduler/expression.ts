/**
 * EventBridge Scheduler's `ScheduleExpression`: `at(yyyy-mm-ddThh:mm:ss)` for
 * a one-time schedule, read as a wall-clock time in the schedule's
 * `ScheduleExpressionTimezone` (UTC when none is given); `rate(...)` and
 * `cron(...)` for recurring ones, which have EventBridge's syntax and are
 * parsed by its parser (`../eventbridge/schedule.ts`).
 *
 * The local cloud fires one-time schedules only. A recurring schedule is
 * parsed (so a bad one is refused as AWS refuses it) and kept; firing it is
 * `nextFireTime`'s `recurring` case, left for later.
 */
import { parseScheduleExpression, type Schedule } from '../eventbridge/schedule';
import { SchedulerValidationError } from './errors';

export type ParsedExpression =
  | { readonly kind: 'at' /** Epoch milliseconds. */; readonly at: number }
  | { readonly kind: 'recurring'; readonly schedule: Schedule };

const AT = /^at\((\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\)$/;

/** Parses `expression` in `timeZone`; throws `ValidationException` for what AWS refuses. */
export function parseExpression(expression: string, timeZone: string): ParsedExpression {
  checkTimeZone(timeZone);
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
 * When a schedule is due next, or undefined when the local cloud will not
 * fire it: recurring schedules are not fired yet (a `rate`/`cron` runner
 * would compute their next time here).
 */
export function nextFireTime(parsed: ParsedExpression): number | undefined {
  switch (parsed.kind) {
    case 'at':
      return parsed.at;
    case 'recurring':
      return undefined;
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

function checkTimeZone(timeZone: string): void {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
  } catch (error) {
    throw new SchedulerValidationError(`Invalid time zone ${timeZone}.`, { cause: error });
  }
}

/**
 * The instant at which the clocks of `timeZone` read `wallClock` (the
 * wall-clock fields encoded as if UTC). A time skipped by a daylight-saving
 * change lands just after it; a repeated one takes its first occurrence.
 */
function zonedToEpoch(wallClock: number, timeZone: string): number {
  const first = wallClock - offsetAt(wallClock, timeZone);
  const second = wallClock - offsetAt(first, timeZone);
  return Math.min(first, second);
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** How far `timeZone`'s clocks are ahead of UTC at `instant`, in milliseconds. */
function offsetAt(instant: number, timeZone: string): number {
  let format = formatters.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, format);
  }
  const parts = Object.fromEntries(
    format.formatToParts(new Date(instant)).map((part) => [part.type, Number(part.value)]),
  );
  const asUtc = Date.UTC(
    parts.year ?? 1970,
    (parts.month ?? 1) - 1,
    parts.day ?? 1,
    parts.hour ?? 0,
    parts.minute ?? 0,
    parts.second ?? 0,
  );
  return asUtc - Math.floor(instant / 1000) * 1000;
}
