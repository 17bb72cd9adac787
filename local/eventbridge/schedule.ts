/**
 * EventBridge schedule expressions (`rate(...)`, `cron(...)`) for the local
 * cloud: parsing with AWS's validation, next-fire computation, and a runner
 * that fires scheduled rules on timers.
 *
 * The syntax follows the EventBridge user guide ("Creating a rule that runs on
 * a schedule"); cases AWS has been seen to refuse (LocalStack's AWS-validated
 * suite) are refused the same way, all with AWS's single message
 * `Parameter ScheduleExpression is not valid.`
 *
 * Timing: rate schedules are multiplied by `LocalEnv.timeScale` (a rate that
 * AWS imposes, so a 1-minute sweeper runs every 0.6 s at 0.01); cron schedules
 * name wall-clock minutes in UTC and so run in real time whatever the scale.
 */
import { ScheduleExpressionError } from './errors';

// ---------------------------------------------------------------------------
// Parsed forms
// ---------------------------------------------------------------------------

export type RateUnit = 'minute' | 'hour' | 'day';

export interface RateSchedule {
  readonly kind: 'rate';
  readonly expression: string;
  readonly value: number;
  readonly unit: RateUnit;
  /** The period in real milliseconds, before any time scale. */
  readonly periodMs: number;
}

interface DayOfMonthRule {
  /** Plain days 1..31. */
  readonly days: ReadonlySet<number>;
  /** `L`: the last day of the month. */
  readonly last: boolean;
  /** `LW`: the last weekday (Mon-Fri) of the month. */
  readonly lastWeekday: boolean;
  /** `nW`: the weekday nearest day n, within the month. */
  readonly nearestWeekday?: number;
}

interface DayOfWeekRule {
  /** Plain days, 1 = SUN .. 7 = SAT. */
  readonly days: ReadonlySet<number>;
  /** `nL`: the last day-of-week n of the month. */
  readonly lastOfMonth?: number;
  /** `n#k`: the k-th day-of-week n of the month. */
  readonly nth?: { readonly day: number; readonly n: number };
}

export interface CronSchedule {
  readonly kind: 'cron';
  readonly expression: string;
  readonly minutes: ReadonlySet<number>;
  readonly hours: ReadonlySet<number>;
  /** `undefined` for `?`. */
  readonly dayOfMonth?: DayOfMonthRule;
  /** `undefined` for `?`. */
  readonly dayOfWeek?: DayOfWeekRule;
  readonly months: ReadonlySet<number>;
  readonly years: ReadonlySet<number>;
}

export type Schedule = RateSchedule | CronSchedule;

// ---------------------------------------------------------------------------
// rate(value unit)
// ---------------------------------------------------------------------------

const MINUTE_MS = 60_000;
const UNIT_MS: Readonly<Record<RateUnit, number>> = {
  minute: MINUTE_MS,
  hour: 60 * MINUTE_MS,
  day: 24 * 60 * MINUTE_MS,
};

// Exactly one space, lower-case unit, no padding: AWS refuses `rate( 10 minutes )`,
// `rate(10 MINUTES)`, ` rate(10 minutes)`, `rate(10 seconds)`, `rate(0 minutes)`.
const RATE = /^rate\(([1-9]\d*) (minute|minutes|hour|hours|day|days)\)$/;

function parseRate(expression: string): RateSchedule {
  const match = RATE.exec(expression);
  if (match === null) throw new ScheduleExpressionError('not rate(value unit)');
  const value = Number(match[1]);
  const word = match[2] ?? '';
  const plural = word.endsWith('s');
  // AWS: a value of 1 takes the singular unit, anything else the plural.
  if (plural !== (value !== 1)) {
    throw new ScheduleExpressionError(`${value} needs the ${value === 1 ? 'singular' : 'plural'}`);
  }
  const unit = (plural ? word.slice(0, -1) : word) as RateUnit;
  if (!Number.isSafeInteger(value * UNIT_MS[unit])) {
    throw new ScheduleExpressionError('rate too large');
  }
  return { kind: 'rate', expression, value, unit, periodMs: value * UNIT_MS[unit] };
}

// ---------------------------------------------------------------------------
// cron(minutes hours day-of-month month day-of-week year)
// ---------------------------------------------------------------------------

interface FieldDef {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  readonly names?: readonly string[];
}

const MINUTES: FieldDef = { name: 'minutes', min: 0, max: 59 };
const HOURS: FieldDef = { name: 'hours', min: 0, max: 23 };
const DAY_OF_MONTH: FieldDef = { name: 'day-of-month', min: 1, max: 31 };
const MONTH: FieldDef = {
  name: 'month',
  min: 1,
  max: 12,
  names: ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'],
};
const DAY_OF_WEEK: FieldDef = {
  name: 'day-of-week',
  min: 1,
  max: 7,
  names: ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'],
};
/** The user guide's year range. */
const YEAR: FieldDef = { name: 'year', min: 1970, max: 2199 };

function invalid(field: FieldDef, text: string, why: string): never {
  throw new ScheduleExpressionError(`${field.name} '${text}': ${why}`);
}

function value(field: FieldDef, text: string): number {
  let n: number;
  if (/^\d+$/.test(text)) {
    n = Number(text);
  } else {
    const index = field.names?.indexOf(text.toUpperCase()) ?? -1;
    if (index < 0) invalid(field, text, 'not a value');
    n = field.min + index;
  }
  if (n < field.min || n > field.max) invalid(field, text, `outside ${field.min}-${field.max}`);
  return n;
}

/** Adds `from..to` (wrapping past the maximum, as `20-2` hours does) by `step`. */
function addRange(out: Set<number>, field: FieldDef, from: number, to: number, step: number) {
  const span = field.max - field.min + 1;
  const length = to >= from ? to - from : to + span - from;
  for (let offset = 0; offset <= length; offset += step) {
    out.add(((from - field.min + offset) % span) + field.min);
  }
}

/** A list of `*`, `n`, `a-b`, with an optional `/step` on `*`, `n` or `a-b`. */
function parseList(field: FieldDef, text: string): Set<number> {
  const out = new Set<number>();
  for (const item of text.split(',')) {
    if (item === '') invalid(field, text, 'empty list item');
    const [base = '', stepText, extra] = item.split('/');
    if (extra !== undefined) invalid(field, item, 'more than one /');
    let step = 1;
    if (stepText !== undefined) {
      if (!/^\d+$/.test(stepText)) invalid(field, item, 'step is not a number');
      step = Number(stepText);
      if (step < 1 || step > field.max - field.min + 1) invalid(field, item, 'step out of range');
    }
    if (base === '*') {
      addRange(out, field, field.min, field.max, step);
      continue;
    }
    const [fromText = '', toText, more] = base.split('-');
    if (more !== undefined) invalid(field, item, 'more than one -');
    const from = value(field, fromText);
    if (toText !== undefined) {
      addRange(out, field, from, value(field, toText), step);
    } else if (stepText !== undefined) {
      // `a/s`: from a up to the maximum, every s (`0/15` minutes).
      addRange(out, field, from, field.max, step);
    } else {
      out.add(from);
    }
  }
  return out;
}

function parseDayOfMonth(text: string): DayOfMonthRule {
  const none = new Set<number>();
  if (text === 'L') return { days: none, last: true, lastWeekday: false };
  if (text === 'LW') return { days: none, last: false, lastWeekday: true };
  const weekday = /^(\d+)W$/.exec(text);
  if (weekday !== null) {
    return {
      days: none,
      last: false,
      lastWeekday: false,
      nearestWeekday: value(DAY_OF_MONTH, weekday[1] ?? ''),
    };
  }
  if (/[LW]/.test(text)) invalid(DAY_OF_MONTH, text, 'L and W stand alone');
  return { days: parseList(DAY_OF_MONTH, text), last: false, lastWeekday: false };
}

function parseDayOfWeek(text: string): DayOfWeekRule {
  if (text.includes('#')) {
    // The guide: with `#` the field holds exactly one expression.
    const match = /^([^#,]+)#([1-5])$/.exec(text);
    if (match === null) invalid(DAY_OF_WEEK, text, 'n#k takes one day and k in 1-5');
    return {
      days: new Set(),
      nth: { day: value(DAY_OF_WEEK, match[1] ?? ''), n: Number(match[2]) },
    };
  }
  if (text === 'L') return { days: new Set([7]) };
  const last = /^([^,L-]+)L$/.exec(text);
  if (last !== null) return { days: new Set(), lastOfMonth: value(DAY_OF_WEEK, last[1] ?? '') };
  if (text.includes('L')) invalid(DAY_OF_WEEK, text, 'L stands alone or after one day');
  return { days: parseList(DAY_OF_WEEK, text) };
}

function parseCron(expression: string): CronSchedule {
  const match = /^cron\((\S(?:.*\S)?)\)$/.exec(expression);
  if (match === null) throw new ScheduleExpressionError('not cron(fields)');
  const fields = (match[1] ?? '').split(/\s+/);
  if (fields.length !== 6) throw new ScheduleExpressionError(`${fields.length} fields, not 6`);
  const [minutes = '', hours = '', dom = '', month = '', dow = '', year = ''] = fields;
  // Exactly one of the two day fields is `?`.
  if ((dom === '?') === (dow === '?')) {
    throw new ScheduleExpressionError('one of day-of-month and day-of-week must be ?');
  }
  for (const [field, text] of [
    [MINUTES, minutes],
    [HOURS, hours],
    [MONTH, month],
    [YEAR, year],
  ] as const) {
    if (text.includes('?')) invalid(field, text, '? is for the day fields');
  }
  return {
    kind: 'cron',
    expression,
    minutes: parseList(MINUTES, minutes),
    hours: parseList(HOURS, hours),
    dayOfMonth: dom === '?' ? undefined : parseDayOfMonth(dom),
    dayOfWeek: dow === '?' ? undefined : parseDayOfWeek(dow),
    months: parseList(MONTH, month),
    years: parseList(YEAR, year),
  };
}

/**
 * Parses a `ScheduleExpression`. Throws {@link ScheduleExpressionError}
 * (`ValidationException: Parameter ScheduleExpression is not valid.`) for
 * anything EventBridge would refuse.
 */
export function parseScheduleExpression(expression: string): Schedule {
  if (expression.startsWith('rate(')) return parseRate(expression);
  if (expression.startsWith('cron(')) return parseCron(expression);
  throw new ScheduleExpressionError('neither rate(...) nor cron(...)');
}

// ---------------------------------------------------------------------------
// Next fire time
// ---------------------------------------------------------------------------

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** 1 = SUN .. 7 = SAT, as cron counts. */
function dayOfWeekOf(year: number, month: number, day: number): number {
  return new Date(Date.UTC(year, month - 1, day)).getUTCDay() + 1;
}

function isWeekday(dow: number): boolean {
  return dow >= 2 && dow <= 6;
}

function nearestWeekday(year: number, month: number, target: number): number | undefined {
  const last = daysInMonth(year, month);
  if (target > last) return undefined;
  const dow = dayOfWeekOf(year, month, target);
  if (isWeekday(dow)) return target;
  if (dow === 7) return target === 1 ? 3 : target - 1; // Saturday: Friday, or Monday the 3rd
  return target === last ? target - 2 : target + 1; // Sunday: Monday, or Friday before
}

function dayOfMonthMatches(rule: DayOfMonthRule, year: number, month: number, day: number) {
  const last = daysInMonth(year, month);
  if (rule.last) return day === last;
  if (rule.lastWeekday) {
    let candidate = last;
    while (!isWeekday(dayOfWeekOf(year, month, candidate))) candidate -= 1;
    return day === candidate;
  }
  if (rule.nearestWeekday !== undefined) {
    return nearestWeekday(year, month, rule.nearestWeekday) === day;
  }
  return rule.days.has(day);
}

function dayOfWeekMatches(rule: DayOfWeekRule, year: number, month: number, day: number) {
  const dow = dayOfWeekOf(year, month, day);
  if (rule.nth !== undefined) {
    return dow === rule.nth.day && Math.ceil(day / 7) === rule.nth.n;
  }
  if (rule.lastOfMonth !== undefined) {
    return dow === rule.lastOfMonth && day + 7 > daysInMonth(year, month);
  }
  return rule.days.has(dow);
}

function dayMatches(schedule: CronSchedule, year: number, month: number, day: number): boolean {
  if (schedule.dayOfMonth !== undefined) {
    return dayOfMonthMatches(schedule.dayOfMonth, year, month, day);
  }
  if (schedule.dayOfWeek !== undefined) {
    return dayOfWeekMatches(schedule.dayOfWeek, year, month, day);
  }
  return false;
}

function sorted(values: ReadonlySet<number>): number[] {
  return [...values].sort((a, b) => a - b);
}

/**
 * The first minute strictly after `after` that `schedule` names (UTC), or
 * `undefined` when it names none (every listed year is past).
 */
export function nextCronTime(schedule: CronSchedule, after: Date): Date | undefined {
  const start = new Date(Math.floor(after.getTime() / MINUTE_MS) * MINUTE_MS + MINUTE_MS);
  const hours = sorted(schedule.hours);
  const minutes = sorted(schedule.minutes);
  const lastYear = Math.max(...schedule.years);
  let year = start.getUTCFullYear();
  let month = start.getUTCMonth() + 1;
  let day = start.getUTCDate();
  let fromHour = start.getUTCHours();
  let fromMinute = start.getUTCMinutes();
  while (year <= lastYear) {
    if (!schedule.years.has(year)) {
      [year, month, day, fromHour, fromMinute] = [year + 1, 1, 1, 0, 0];
      continue;
    }
    if (!schedule.months.has(month)) {
      [month, day, fromHour, fromMinute] = [month + 1, 1, 0, 0];
      if (month > 12) [year, month] = [year + 1, 1];
      continue;
    }
    if (dayMatches(schedule, year, month, day)) {
      for (const hour of hours) {
        if (hour < fromHour) continue;
        const minute = minutes.find((m) => hour > fromHour || m >= fromMinute);
        if (minute !== undefined) return new Date(Date.UTC(year, month - 1, day, hour, minute));
      }
    }
    [day, fromHour, fromMinute] = [day + 1, 0, 0];
    if (day > daysInMonth(year, month)) {
      [month, day] = [month + 1, 1];
      if (month > 12) [year, month] = [year + 1, 1];
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------
// Runner
// ---------------------------------------------------------------------------

/** setTimeout's ceiling; longer waits (a yearly cron) are taken in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface ScheduleRunnerOptions {
  /** Multiplies rate periods (not cron times). */
  readonly timeScale: number;
  /** Called when a rule's schedule comes due, with the time it was due. */
  readonly onFire: (ruleName: string, scheduledTime: Date) => void;
}

interface Entry {
  readonly schedule: Schedule;
  next?: number;
  timer?: NodeJS.Timeout;
}

/**
 * Fires named schedules on unref'd timers. A rate schedule first fires one
 * period after it is added (AWS: "starts when you create the rule") and then
 * every period, counted from the start so timer lateness does not accumulate.
 */
export class ScheduleRunner {
  readonly #options: ScheduleRunnerOptions;
  readonly #entries = new Map<string, Entry>();
  #closed = false;

  constructor(options: ScheduleRunnerOptions) {
    this.#options = options;
  }

  /** Starts `ruleName`'s schedule (replacing any earlier one under that name). */
  add(ruleName: string, schedule: Schedule): void {
    this.remove(ruleName);
    if (this.#closed) return;
    const entry: Entry = { schedule };
    this.#entries.set(ruleName, entry);
    if (schedule.kind === 'rate') {
      const period = this.#ratePeriod(schedule);
      this.#arm(ruleName, entry, Date.now() + period);
    } else {
      this.#arm(ruleName, entry, nextCronTime(schedule, new Date())?.getTime());
    }
  }

  remove(ruleName: string): void {
    const entry = this.#entries.get(ruleName);
    if (entry?.timer !== undefined) clearTimeout(entry.timer);
    this.#entries.delete(ruleName);
  }

  /** When `ruleName` fires next, if it is scheduled and will fire again. */
  nextFireTime(ruleName: string): Date | undefined {
    const next = this.#entries.get(ruleName)?.next;
    return next === undefined ? undefined : new Date(next);
  }

  /** Fires `ruleName` now, off schedule (its regular schedule is unaffected). */
  fireNow(ruleName: string): boolean {
    if (this.#closed || !this.#entries.has(ruleName)) return false;
    this.#options.onFire(ruleName, new Date());
    return true;
  }

  close(): void {
    this.#closed = true;
    for (const name of [...this.#entries.keys()]) this.remove(name);
  }

  #ratePeriod(schedule: RateSchedule): number {
    return Math.max(1, schedule.periodMs * this.#options.timeScale);
  }

  #arm(ruleName: string, entry: Entry, at: number | undefined): void {
    entry.next = at;
    if (at === undefined || this.#closed) return;
    const wait = Math.min(Math.max(0, at - Date.now()), MAX_TIMER_MS);
    entry.timer = setTimeout(() => this.#due(ruleName, entry), wait);
    entry.timer.unref();
  }

  #due(ruleName: string, entry: Entry): void {
    const at = entry.next;
    if (at === undefined || this.#entries.get(ruleName) !== entry) return;
    if (Date.now() < at) {
      this.#arm(ruleName, entry, at); // a long wait taken in steps
      return;
    }
    const { schedule } = entry;
    let next: number | undefined;
    if (schedule.kind === 'rate') {
      // Periods missed while the process was stalled are skipped, not fired in a burst.
      const period = this.#ratePeriod(schedule);
      next = at + period;
      while (next <= Date.now()) next += period;
    } else {
      next = nextCronTime(schedule, new Date(Math.max(at, Date.now())))?.getTime();
    }
    this.#arm(ruleName, entry, next);
    this.#options.onFire(ruleName, new Date(at));
  }
}
