/**
 * Amazon EventBridge Scheduler: the schedules functions create with the SDK
 * (`wire.ts`), in the `default` group or a group of the template, and the
 * template's own `AWS::Scheduler::Schedule`s, created at start. Each fires on
 * a timer by invoking its Lambda target asynchronously with the schedule's
 * `Input` (its context attributes replaced), as Scheduler's Lambda templated
 * target does.
 *
 * - One-time `at()` schedules fire once; then `ActionAfterCompletion: DELETE`
 *   deletes the schedule, `NONE` keeps it, never to fire again. A time already
 *   past fires at once (as soon as `start()` runs, for the schedules read back
 *   from the data directory).
 * - Recurring `rate()`/`cron()` schedules fire at each occurrence
 *   (`expression.ts`) until their EndDate; an occurrence missed while the
 *   process was stalled or down is skipped, not fired late.
 * - A flexible time window delays each firing by a uniformly random time
 *   within it; `<aws.scheduler.scheduled-time>` stays the scheduled time.
 * - Clocks (`clock.ts`): the template's schedules run on the virtual clock of
 *   the schedule scale; those created through the API, on the real one.
 * - Precision: to the millisecond timers give. AWS invokes within the minute
 *   of the time (60-second precision).
 * - Not emulated: targets other than the template's functions (logged when
 *   due), retries, dead-letter queues, KMS.
 */
import type {
  AwsRequest,
  AwsResponse,
  AwsService,
  LambdaInvoker,
  LocalEnv,
  LogSink,
  ScheduleGroupSpec,
  ScheduleSpec,
} from '../contracts';
import { REAL_CLOCK, ScaledClock, type ScheduleClock } from './clock';
import { SchedulerConflictError, SchedulerNotFoundError } from './errors';
import { nextFireTime, parseExpression } from './expression';
import type { ScheduleDefinition, ScheduleState } from './input';
import { errorMessage, invokeTarget } from './invoke';
import { ScheduleStore, type StoredSchedule } from './store';
import { templateDefinition } from './template';
import { serveScheduler } from './wire';

export interface LocalSchedulerOptions {
  readonly env: LocalEnv;
  readonly lambda: LambdaInvoker;
  readonly log: LogSink;
  /** The template's schedule groups; `default` exists besides. */
  readonly groups: readonly ScheduleGroupSpec[];
  /**
   * The template's schedules, created now and never written to `stateFile`
   * (the template is their source). @default - none
   */
  readonly schedules?: readonly ScheduleSpec[];
  /** Where schedules are kept across restarts (`<dataDir>/scheduler.json`). @default - memory only */
  readonly stateFile?: string;
  /** Draws in [0, 1) for flexible time windows. @default Math.random */
  readonly random?: () => number;
}

export interface ScheduleFilter {
  readonly groupName?: string;
  readonly namePrefix?: string;
  readonly state?: ScheduleState;
}

/** setTimeout's ceiling; a schedule further away is waited for in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** The next firing of an armed schedule, on its clock. */
interface Due {
  /** The occurrence it fires for (its `<aws.scheduler.scheduled-time>`). */
  readonly scheduledAt: number;
  /** When it fires: later within a flexible time window. */
  readonly fireAt: number;
  readonly timer: NodeJS.Timeout;
}

export class LocalScheduler implements AwsService {
  readonly signingNames: readonly string[] = ['scheduler'];
  readonly #schedules = new Map<string, StoredSchedule>();
  readonly #due = new Map<string, Due>();
  /** Per recurring schedule: its next occurrence is at or after this time (on its clock). */
  readonly #from = new Map<string, number>();
  /** Keys of the template's schedules, which run on the virtual clock and are not saved. */
  readonly #fromTemplate = new Set<string>();
  readonly #endedLogged = new Set<string>();
  readonly #firing = new Set<Promise<void>>();
  readonly #groups = new Map<string, ScheduleGroupSpec>();
  readonly #created = Date.now();
  readonly #virtualClock: ScaledClock | undefined;
  readonly #store: ScheduleStore;
  #started = false;
  #closed = false;

  readonly #options: LocalSchedulerOptions;

  constructor(options: LocalSchedulerOptions) {
    this.#options = options;
    const { partition, region, accountId } = options.env;
    this.#groups.set('default', {
      name: 'default',
      arn: `arn:${partition}:scheduler:${region}:${accountId}:schedule-group/default`,
    });
    for (const group of options.groups) this.#groups.set(group.name, group);
    const scale = options.env.scheduleScale ?? options.env.timeScale;
    this.#virtualClock = scale === 1 ? undefined : new ScaledClock(scale, this.#created);
    this.#store = new ScheduleStore(options.stateFile, options.log);
    for (const schedule of this.#store.load()) {
      this.#schedules.set(keyOf(schedule.groupName, schedule.name), schedule);
    }
    for (const spec of options.schedules ?? []) this.#createFromTemplate(spec);
  }

  handle(request: AwsRequest): Promise<AwsResponse> {
    return serveScheduler(this, request);
  }

  /**
   * Starts the clocks and arms every schedule's timer (overdue one-time
   * schedules fire at once, and rate() schedules of the template fire their
   * first occurrence); until then schedules are only kept.
   */
  start(): void {
    if (this.#started || this.#closed) return;
    this.#started = true;
    this.#virtualClock?.start();
    for (const [key, schedule] of this.#schedules) {
      // Read back from disk: its occurrences while the local cloud was down are not caught up.
      if (!this.#from.has(key)) this.#from.set(key, this.#clockOf(key).now());
      this.#arm(key, schedule);
    }
  }

  /** Stops the timers; invocations already handed to Lambda are Lambda's. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const key of [...this.#due.keys()]) this.#disarm(key);
    await this.whenIdle();
  }

  /** Resolves when no schedule is being fired. */
  async whenIdle(): Promise<void> {
    while (this.#firing.size > 0) await Promise.all(this.#firing);
  }

  group(name: string): ScheduleGroupSpec {
    const group = this.#groups.get(name);
    if (!group) throw new SchedulerNotFoundError(`Schedule group ${name} does not exist.`);
    return group;
  }

  /** When the schedule groups came to be: the local cloud's start. */
  groupCreationDate(): number {
    return this.#created;
  }

  scheduleArn(schedule: Pick<StoredSchedule, 'groupName' | 'name'>): string {
    const { partition, region, accountId } = this.#options.env;
    return `arn:${partition}:scheduler:${region}:${accountId}:schedule/${schedule.groupName}/${schedule.name}`;
  }

  /**
   * The occurrence a schedule fires for next, on its clock (virtual for the
   * template's schedules when the schedule scale is not 1), or undefined when
   * it is not armed (disabled, done, past its EndDate, or before `start()`).
   */
  nextFireTime(name: string, groupName = 'default'): Date | undefined {
    const due = this.#due.get(keyOf(groupName, name));
    return due === undefined ? undefined : new Date(due.scheduledAt);
  }

  /** The time on the clock of the template's schedules (the real time when the scale is 1). */
  templateClockTime(): Date {
    return new Date((this.#virtualClock ?? REAL_CLOCK).now());
  }

  create(definition: ScheduleDefinition): StoredSchedule {
    this.group(definition.groupName);
    const key = keyOf(definition.groupName, definition.name);
    const existing = this.#schedules.get(key);
    if (existing) {
      // A retried request (same client token) gets the first one's answer.
      if (definition.clientToken !== undefined && existing.clientToken === definition.clientToken) {
        return existing;
      }
      throw new SchedulerConflictError(`Schedule ${definition.name} already exists.`);
    }
    const now = Date.now();
    this.#from.set(key, now);
    return this.#put(key, { ...definition, creationDate: now, lastModificationDate: now });
  }

  /** UpdateSchedule replaces the whole definition, as AWS does (what is left out takes its default). */
  update(definition: ScheduleDefinition): StoredSchedule {
    const existing = this.get(definition.name, definition.groupName);
    const key = keyOf(definition.groupName, definition.name);
    this.#from.set(key, this.#clockOf(key).now());
    this.#endedLogged.delete(key);
    return this.#put(key, {
      ...definition,
      creationDate: existing.creationDate,
      lastModificationDate: Date.now(),
    });
  }

  get(name: string, groupName = 'default'): StoredSchedule {
    this.group(groupName);
    const schedule = this.#schedules.get(keyOf(groupName, name));
    if (!schedule) throw new SchedulerNotFoundError(`Schedule ${name} does not exist.`);
    return schedule;
  }

  delete(name: string, groupName = 'default'): void {
    this.get(name, groupName);
    this.#remove(keyOf(groupName, name));
  }

  /** The schedules matching `filter`, by group and then name. */
  list(filter: ScheduleFilter = {}): StoredSchedule[] {
    if (filter.groupName !== undefined) this.group(filter.groupName);
    return [...this.#schedules.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, schedule]) => schedule)
      .filter(
        (s) =>
          (filter.groupName === undefined || s.groupName === filter.groupName) &&
          (filter.namePrefix === undefined || s.name.startsWith(filter.namePrefix)) &&
          (filter.state === undefined || s.state === filter.state),
      );
  }

  /** A template schedule, created as CloudFormation would create it; one AWS would refuse is logged and left out. */
  #createFromTemplate(spec: ScheduleSpec): void {
    const where = `template schedule ${spec.logicalId} (${spec.groupName}/${spec.name})`;
    let definition: ScheduleDefinition;
    try {
      definition = templateDefinition(spec);
      this.group(definition.groupName);
    } catch (error) {
      this.#options.log.line('scheduler', `${where} is not created: ${errorMessage(error)}`);
      return;
    }
    const key = keyOf(definition.groupName, definition.name);
    const parsed = parseExpression(definition.expression, definition.timezone ?? 'UTC');
    // Read again at every start: one whose time is before this start would fire at each.
    const past = parsed.kind === 'at' && parsed.at < this.#created;
    if (past) {
      this.#options.log.line(
        'scheduler',
        `${where} is not fired: its time ${definition.expression} is before the local cloud's start`,
      );
    }
    if (this.#schedules.has(key)) {
      this.#options.log.line(
        'scheduler',
        `${where} replaces the schedule of the same name read back from the data directory`,
      );
    }
    this.#fromTemplate.add(key);
    this.#from.set(key, this.#created);
    this.#schedules.set(key, {
      ...definition,
      creationDate: this.#created,
      lastModificationDate: this.#created,
      ...(past ? { completedAt: this.#created } : {}),
    });
  }

  #clockOf(key: string): ScheduleClock {
    return this.#fromTemplate.has(key) ? (this.#virtualClock ?? REAL_CLOCK) : REAL_CLOCK;
  }

  #put(key: string, schedule: StoredSchedule): StoredSchedule {
    this.#schedules.set(key, schedule);
    this.#save();
    this.#arm(key, schedule);
    return schedule;
  }

  #remove(key: string): void {
    this.#disarm(key);
    this.#schedules.delete(key);
    this.#from.delete(key);
    this.#fromTemplate.delete(key);
    this.#endedLogged.delete(key);
    this.#save();
  }

  /** Writes the schedules created through the API; the template's come from the template. */
  #save(): void {
    this.#store.save(
      [...this.#schedules].filter(([key]) => !this.#fromTemplate.has(key)).map(([, s]) => s),
    );
  }

  #arm(key: string, schedule: StoredSchedule): void {
    this.#disarm(key);
    if (!this.#started || this.#closed) return;
    if (schedule.state !== 'ENABLED' || schedule.completedAt !== undefined) return;
    const clock = this.#clockOf(key);
    let scheduledAt: number | undefined;
    try {
      const parsed = parseExpression(schedule.expression, schedule.timezone ?? 'UTC');
      scheduledAt = nextFireTime(parsed, this.#from.get(key) ?? clock.now(), {
        timeZone: schedule.timezone ?? 'UTC',
        createdAt: schedule.creationDate,
        startDate: schedule.startDate,
        endDate: schedule.endDate,
      });
    } catch (error) {
      // Only a schedule read back from disk can get here (the API refuses a bad one).
      this.#options.log.line(
        'scheduler',
        `schedule ${key} is not armed: ${schedule.expression} no longer parses (${errorMessage(error)})`,
      );
      return;
    }
    if (scheduledAt === undefined) {
      this.#logEnded(key, schedule);
      return;
    }
    this.#wait(key, scheduledAt, scheduledAt + this.#windowDelay(schedule), clock);
  }

  /** A uniformly random delay within the schedule's flexible time window (0 when it is OFF). */
  #windowDelay(schedule: StoredSchedule): number {
    const { Mode, MaximumWindowInMinutes } = schedule.flexibleTimeWindow;
    if (Mode !== 'FLEXIBLE' || MaximumWindowInMinutes === undefined) return 0;
    return Math.floor((this.#options.random ?? Math.random)() * MaximumWindowInMinutes * 60_000);
  }

  #wait(key: string, scheduledAt: number, fireAt: number, clock: ScheduleClock): void {
    const delay = Math.min(Math.max(0, clock.realDelayUntil(fireAt)), MAX_TIMER_MS);
    const timer = setTimeout(() => {
      this.#due.delete(key);
      // A timer may run a little early; a long wait is taken in steps.
      if (clock.now() < fireAt) this.#wait(key, scheduledAt, fireAt, clock);
      else this.#fireDue(key, scheduledAt, fireAt, clock);
    }, delay);
    timer.unref();
    this.#due.set(key, { scheduledAt, fireAt, timer });
  }

  #disarm(key: string): void {
    const due = this.#due.get(key);
    if (due !== undefined) clearTimeout(due.timer);
    this.#due.delete(key);
  }

  #fireDue(key: string, scheduledAt: number, fireAt: number, clock: ScheduleClock): void {
    const schedule = this.#schedules.get(key);
    if (!schedule || this.#closed) return;
    const recurring = !schedule.expression.startsWith('at(');
    if (recurring) {
      // Armed for the next occurrence before this one is invoked. Occurrences the
      // process missed by being late (beyond the window's own delay) are skipped.
      this.#from.set(key, Math.max(scheduledAt + 1, clock.now() - (fireAt - scheduledAt)));
      this.#arm(key, schedule);
    }
    this.#track(this.#fire(key, schedule, scheduledAt, recurring));
  }

  #track(firing: Promise<void>): void {
    this.#firing.add(firing);
    void firing.finally(() => this.#firing.delete(firing));
  }

  async #fire(
    key: string,
    schedule: StoredSchedule,
    scheduledAt: number,
    recurring: boolean,
  ): Promise<void> {
    const where = `schedule ${schedule.groupName}/${schedule.name}`;
    await invokeTarget(this.#options, schedule, {
      where,
      scheduleArn: this.scheduleArn(schedule),
      scheduledAt,
    });
    // Updated or deleted while its target was being invoked: that change stands.
    if (recurring || this.#schedules.get(key) !== schedule) return;
    if (schedule.actionAfterCompletion === 'DELETE') {
      this.#remove(key);
      this.#options.log.line(
        'scheduler',
        `${where} deleted after completion (ActionAfterCompletion DELETE)`,
      );
    } else {
      this.#schedules.set(key, { ...schedule, completedAt: Date.now() });
      this.#save();
    }
  }

  #logEnded(key: string, schedule: StoredSchedule): void {
    if (this.#endedLogged.has(key)) return;
    this.#endedLogged.add(key);
    this.#options.log.line(
      'scheduler',
      `schedule ${key} (${schedule.expression}) has no occurrence left${schedule.endDate === undefined ? '' : ` before its EndDate ${new Date(schedule.endDate).toISOString()}`}; it is kept and never fires again`,
    );
  }
}

function keyOf(groupName: string, name: string): string {
  return `${groupName}/${name}`;
}
