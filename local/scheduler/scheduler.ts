/**
 * Amazon EventBridge Scheduler, for one-time schedules: the schedules that
 * functions create with the SDK (`wire.ts`), in the `default` group or in a
 * group of the template, each fired on a timer at its `at()` time by invoking
 * its Lambda target asynchronously with the schedule's `Input`, as Scheduler's
 * Lambda templated target does. Then `ActionAfterCompletion: DELETE` deletes
 * the schedule; `NONE` keeps it, never to fire again.
 *
 * - A time already past fires at once (as soon as `start()` runs, for the
 *   schedules read back from the data directory).
 * - Precision: to the millisecond timers give. AWS invokes within the minute
 *   of the time (60-second precision), and later within a flexible window.
 * - Not emulated: firing `rate()`/`cron()` schedules (kept, and logged once),
 *   targets other than the template's functions (logged when due), retries,
 *   dead-letter queues, StartDate/EndDate, KMS.
 */
import type {
  AwsRequest,
  AwsResponse,
  AwsService,
  LambdaInvoker,
  LocalEnv,
  LogSink,
  ScheduleGroupSpec,
} from '../contracts';
import { SchedulerConflictError, SchedulerNotFoundError } from './errors';
import { nextFireTime, parseExpression } from './expression';
import type { ScheduleDefinition, ScheduleState } from './input';
import { ScheduleStore, type StoredSchedule } from './store';
import { serveScheduler } from './wire';

export interface LocalSchedulerOptions {
  readonly env: LocalEnv;
  readonly lambda: LambdaInvoker;
  readonly log: LogSink;
  /** The template's schedule groups; `default` exists besides. */
  readonly groups: readonly ScheduleGroupSpec[];
  /** Where schedules are kept across restarts (`<dataDir>/scheduler.json`). @default - memory only */
  readonly stateFile?: string;
}

export interface ScheduleFilter {
  readonly groupName?: string;
  readonly namePrefix?: string;
  readonly state?: ScheduleState;
}

/** setTimeout's ceiling; a schedule further away is waited for in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class LocalScheduler implements AwsService {
  readonly signingNames: readonly string[] = ['scheduler'];
  readonly #schedules = new Map<string, StoredSchedule>();
  readonly #timers = new Map<string, NodeJS.Timeout>();
  readonly #firing = new Set<Promise<void>>();
  readonly #groups = new Map<string, ScheduleGroupSpec>();
  readonly #created = Date.now();
  readonly #store: ScheduleStore;
  #started = false;
  #closed = false;
  #recurringLogged = false;

  readonly #options: LocalSchedulerOptions;

  constructor(options: LocalSchedulerOptions) {
    this.#options = options;
    const { partition, region, accountId } = options.env;
    this.#groups.set('default', {
      name: 'default',
      arn: `arn:${partition}:scheduler:${region}:${accountId}:schedule-group/default`,
    });
    for (const group of options.groups) this.#groups.set(group.name, group);
    this.#store = new ScheduleStore(options.stateFile, options.log);
    for (const schedule of this.#store.load()) {
      this.#schedules.set(keyOf(schedule.groupName, schedule.name), schedule);
    }
  }

  handle(request: AwsRequest): Promise<AwsResponse> {
    return serveScheduler(this, request);
  }

  /** Arms every schedule's timer (overdue ones fire at once); until then schedules are only kept. */
  start(): void {
    if (this.#started || this.#closed) return;
    this.#started = true;
    for (const [key, schedule] of this.#schedules) this.#arm(key, schedule);
  }

  /** Stops the timers; invocations already handed to Lambda are Lambda's. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
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
    return this.#put(key, { ...definition, creationDate: now, lastModificationDate: now });
  }

  /** UpdateSchedule replaces the whole definition, as AWS does (what is left out takes its default). */
  update(definition: ScheduleDefinition): StoredSchedule {
    const existing = this.get(definition.name, definition.groupName);
    const key = keyOf(definition.groupName, definition.name);
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

  #put(key: string, schedule: StoredSchedule): StoredSchedule {
    this.#schedules.set(key, schedule);
    this.#store.save(this.#schedules.values());
    this.#arm(key, schedule);
    return schedule;
  }

  #remove(key: string): void {
    this.#disarm(key);
    this.#schedules.delete(key);
    this.#store.save(this.#schedules.values());
  }

  #arm(key: string, schedule: StoredSchedule): void {
    this.#disarm(key);
    if (!this.#started || this.#closed) return;
    if (schedule.state !== 'ENABLED' || schedule.completedAt !== undefined) return;
    let at: number | undefined;
    try {
      at = nextFireTime(parseExpression(schedule.expression, schedule.timezone ?? 'UTC'));
    } catch (error) {
      // Only a schedule read back from disk can get here (the API refuses a bad one).
      this.#options.log.line(
        'scheduler',
        `schedule ${key} is not armed: ${schedule.expression} no longer parses (${String(error)})`,
      );
      return;
    }
    if (at === undefined) {
      this.#logRecurringOnce(schedule);
      return;
    }
    this.#wait(key, at);
  }

  #wait(key: string, at: number): void {
    const delay = Math.min(Math.max(0, at - Date.now()), MAX_TIMER_MS);
    const timer = setTimeout(() => {
      this.#timers.delete(key);
      // A timer may run a little early; a long wait is taken in steps.
      if (Date.now() < at) this.#wait(key, at);
      else this.#track(this.#fire(key, at));
    }, delay);
    timer.unref();
    this.#timers.set(key, timer);
  }

  #disarm(key: string): void {
    const timer = this.#timers.get(key);
    if (timer !== undefined) clearTimeout(timer);
    this.#timers.delete(key);
  }

  #track(firing: Promise<void>): void {
    this.#firing.add(firing);
    void firing.finally(() => this.#firing.delete(firing));
  }

  async #fire(key: string, at: number): Promise<void> {
    const schedule = this.#schedules.get(key);
    if (!schedule || this.#closed) return;
    const late = Date.now() - at;
    const where = `schedule ${schedule.groupName}/${schedule.name}`;
    await this.#invoke(schedule, where, late);
    // Updated or deleted while its target was being invoked: that change stands.
    if (this.#schedules.get(key) !== schedule) return;
    if (schedule.actionAfterCompletion === 'DELETE') {
      this.#remove(key);
      this.#options.log.line(
        'scheduler',
        `${where} deleted after completion (ActionAfterCompletion DELETE)`,
      );
    } else {
      this.#schedules.set(key, { ...schedule, completedAt: Date.now() });
      this.#store.save(this.#schedules.values());
    }
  }

  async #invoke(schedule: StoredSchedule, where: string, late: number): Promise<void> {
    const { log, lambda } = this.#options;
    const { Arn: arn, Input: input } = schedule.target;
    const fn = isLambdaArn(arn) ? lambda.find(arn) : undefined;
    if (!fn) {
      log.line(
        'scheduler',
        `${where} is due but its target ${arn} is not emulated (only Lambda functions of the template are invoked); nothing was invoked`,
      );
      return;
    }
    try {
      // Scheduler's Lambda target: Invoke with InvocationType Event, the Input as the payload.
      await lambda.invoke(arn, input ?? '{}', 'Event');
      const lateness = late > 1000 ? ` (${Math.round(late / 1000)} s after its time)` : '';
      log.line('scheduler', `${where} fired: invoked ${fn.name} asynchronously${lateness}`);
    } catch (error) {
      log.line(
        'scheduler',
        `${where} fired but invoking ${fn.name} failed: ${String(error)} (retries and dead-letter queues are not emulated)`,
      );
    }
  }

  #logRecurringOnce(schedule: StoredSchedule): void {
    if (this.#recurringLogged) return;
    this.#recurringLogged = true;
    this.#options.log.line(
      'scheduler',
      `schedule ${schedule.groupName}/${schedule.name} (${schedule.expression}) is kept but not fired: the local cloud does not fire recurring rate()/cron() schedules yet (logged once)`,
    );
  }
}

function keyOf(groupName: string, name: string): string {
  return `${groupName}/${name}`;
}

function isLambdaArn(arn: string): boolean {
  return /^arn:[^:]+:lambda:[^:]*:[^:]*:function:/.test(arn);
}
