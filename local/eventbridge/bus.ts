/**
 * The local cloud's EventBridge: event buses with their rules, PutEvents with
 * AWS's validation, routing to Lambda, SQS and event-bus targets with AWS's
 * retry policy and dead-letter queues, and scheduled rules.
 *
 * Behaviour worth knowing, each pinned by a test:
 * - PutEvents answers before any target runs; deliveries start on the next
 *   turn of the event loop, as on AWS where delivery is asynchronous.
 * - Lambda targets are invoked with `InvocationType: Event`, as EventBridge
 *   does: once Lambda has accepted the event, the function's own failures are
 *   Lambda's async retries (and its DLQ / OnFailure), not the rule's.
 * - A failed delivery is retried only for errors AWS retries (throttling and
 *   5xx: "EventBridge retries only 5xx and 429"), with exponential backoff and
 *   jitter: retry n waits `min(1 s * 2^(n-1), 5 min)` halved-plus-random-half,
 *   times `LocalEnv.timeScale`. AWS's exact curve is not published; 1 s and
 *   5 min are this emulator's choice. Retries stop at the target's
 *   MaximumRetryAttempts, or when the next one would land past
 *   MaximumEventAgeInSeconds (times timeScale).
 * - Errors AWS does not retry (target gone: NO_RESOURCE, no permission:
 *   NO_PERMISSIONS, other 4xx: INVALID_PARAMETER) go straight to the target's
 *   dead-letter queue. The DLQ message is the event, with the attributes AWS
 *   documents: RULE_ARN, TARGET_ARN, ERROR_CODE, ERROR_MESSAGE, RETRY_ATTEMPTS
 *   and, when a retry limit ended the delivery, EXHAUSTED_RETRY_CONDITION
 *   (`MaximumRetryAttempts` or `MaximumEventAgeInSeconds`). Without a DLQ the
 *   event is logged and dropped, as AWS drops it.
 * - An event-bus target puts a new event (new id, same time, source,
 *   detail-type, resources and detail) on the other bus. As on AWS, an event
 *   that came from another bus is not forwarded to a third one.
 * - Targets of any other kind are not emulated: they are listed by
 *   {@link LocalEventBridge.unsupportedTargets} and count as failed deliveries.
 * - PutEvents to a bus that does not exist: AWS has been seen to accept such
 *   entries and drop them silently; by default this emulator fails the entry
 *   with `ResourceNotFoundException` / `Event bus NAME does not exist.` so a
 *   misspelt bus shows at once (`unknownBus: 'accept'` restores AWS's way).
 */
import { randomUUID } from 'node:crypto';
import type { Chaos } from '../chaos';
import {
  type AwsService,
  type BusSpec,
  type EventPublisher,
  type LambdaInvoker,
  LambdaServiceError,
  type LocalEnv,
  type LogSink,
  type PutEventsEntry,
  type PutEventsResultEntry,
  type QueueSender,
  type RuleSpec,
  type RuleTargetSpec,
} from '../contracts';
import { EventBridgeError, ValidationError } from './errors';
import { compileTargetInput, type TargetInput } from './input';
import { type CompiledPattern, compilePattern } from './pattern';
import {
  checkEntry,
  checkRequest,
  DEFAULT_MAX_ENTRY_BYTES,
  entrySize,
  formatEventTime,
} from './put-events';
import { parseScheduleExpression, ScheduleRunner } from './schedule';
import { createEventBridgeService, type EventBridgeApi } from './wire';

// ---------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------

export interface LocalEventBridgeOptions {
  readonly env: LocalEnv;
  /** Custom buses; the `default` bus always exists in addition. */
  readonly buses?: readonly BusSpec[];
  readonly rules?: readonly RuleSpec[];
  readonly lambda: LambdaInvoker;
  readonly queues: QueueSender;
  readonly log: LogSink;
  /**
   * The PutEvents size limit, on the sum of the entries' sizes.
   * @default 262144 (256 KiB; AWS raised its limit to 1 MB in January 2026)
   */
  readonly maxEntryBytes?: number;
  /**
   * What PutEvents does with an entry for a bus that does not exist.
   * @default 'reject' - fail the entry with ResourceNotFoundException
   */
  readonly unknownBus?: 'reject' | 'accept';
  /** @default 1000 - the first retry's backoff in ms, before timeScale */
  readonly retryBaseMs?: number;
  /** @default 300000 - the backoff ceiling in ms, before timeScale */
  readonly retryMaxDelayMs?: number;
  /** Jitter source in [0, 1). @default Math.random */
  readonly random?: () => number;
  /**
   * Faults to inject: `duplicate` (a target gets an event twice) and
   * `put-events-failure` (an entry of a PutEvents API call fails with
   * InternalFailure). @default - none
   */
  readonly chaos?: Chaos;
}

/** An event as targets receive it. */
export interface EventEnvelope {
  readonly version: '0';
  readonly id: string;
  readonly 'detail-type': string;
  readonly source: string;
  readonly account: string;
  readonly time: string;
  readonly region: string;
  readonly resources: readonly string[];
  readonly detail: Readonly<Record<string, unknown>>;
}

export interface EventBridgeMetrics {
  /** Entries accepted by PutEvents (scheduled and forwarded events not included). */
  readonly put: number;
  /** Event-rule matches, scheduled firings included. */
  readonly matched: number;
  /** Target deliveries that succeeded. */
  readonly delivered: number;
  /** Target deliveries that finally failed (dead-lettered or dropped), unsupported targets included. */
  readonly failed: number;
  /** Retries scheduled. */
  readonly retried: number;
  /** Failed deliveries sent to a dead-letter queue. */
  readonly deadLettered: number;
  /** Failed deliveries whose dead-letter queue refused them too. */
  readonly deadLetterFailed: number;
}

/** What EventBridge would have billed so far (cumulative): custom events put through the API. */
export interface EventBridgeUsage {
  /** PutEvents API calls (by functions or anyone else). */
  readonly putEventsCalls: number;
  /** Entries of those calls the bus accepted. */
  readonly entries: number;
  /** Entries it answered with an ErrorCode (not billed). */
  readonly failedEntries: number;
  /** Billed events: each accepted entry counts once per started 64 KB of its size. */
  readonly billedEvents: number;
  /** Events put by AWS itself (Lambda destinations): not billed as custom events. */
  readonly internalEntries: number;
}

/** AWS bills a custom event per 64 KB chunk of its entry. */
export const EVENT_CHUNK_BYTES = 64 * 1024;

export interface UnsupportedTarget {
  readonly ruleName: string;
  readonly busName: string;
  readonly targetId: string;
  readonly targetArn: string;
  readonly reason: string;
}

// ---------------------------------------------------------------------------
// Internals
// ---------------------------------------------------------------------------

type TargetKind =
  | { readonly kind: 'lambda' }
  | { readonly kind: 'sqs' }
  | { readonly kind: 'bus'; readonly busArn: string }
  | { readonly kind: 'unsupported'; readonly reason: string };

interface Target {
  readonly spec: RuleTargetSpec;
  readonly kind: TargetKind;
  readonly input: TargetInput;
}

interface Rule {
  readonly spec: RuleSpec;
  readonly pattern?: CompiledPattern;
  readonly targets: readonly Target[];
}

interface Bus {
  readonly name: string;
  readonly arn: string;
  readonly rules: Rule[];
}

interface Delivery {
  readonly rule: Rule;
  readonly target: Target;
  readonly event: EventEnvelope;
  /** When EventBridge received the event (ms), for the event-age limit. */
  readonly receivedAt: number;
  /** Whether the event came onto its bus from another bus. */
  readonly forwarded: boolean;
  retries: number;
}

/** Why a delivery failed, in the terms of AWS's DLQ `ERROR_CODE`s. */
class DeliveryFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = 'DeliveryFailure';
  }
}

function classify(error: unknown): DeliveryFailure {
  if (error instanceof DeliveryFailure) return error;
  const message = error instanceof Error ? error.message : String(error);
  const fields =
    typeof error === 'object' && error !== null ? (error as Record<string, unknown>) : {};
  // A target that is gone, whatever status its service gives it (SQS answers 400
  // QueueDoesNotExist, Lambda 404 ResourceNotFoundException).
  const names = [fields.name, fields.code, fields.type, message].filter(
    (v) => typeof v === 'string',
  );
  if (
    /NonExistentQueue|QueueDoesNotExist|ResourceNotFound|does not exist|not found/i.test(
      names.join(' '),
    )
  ) {
    return new DeliveryFailure('NO_RESOURCE', message, false);
  }
  const status =
    error instanceof LambdaServiceError ? error.status : (fields.status ?? fields.statusCode);
  if (typeof status === 'number') {
    if (status === 429) return new DeliveryFailure('THROTTLING', message, true);
    if (status >= 500) return new DeliveryFailure('INTERNAL_ERROR', message, true);
    if (status === 403) return new DeliveryFailure('NO_PERMISSIONS', message, false);
    return new DeliveryFailure('INVALID_PARAMETER', message, false);
  }
  // Anything else (a local fault) is treated like a 5xx: retried.
  return new DeliveryFailure('INTERNAL_ERROR', message, true);
}

function targetKind(arn: string): TargetKind {
  const [prefix, , service, , , ...rest] = arn.split(':');
  const resource = rest.join(':');
  if (prefix !== 'arn' || service === undefined) {
    return { kind: 'unsupported', reason: 'not an ARN' };
  }
  if (service === 'lambda' && resource.startsWith('function:')) return { kind: 'lambda' };
  if (service === 'sqs' && resource !== '') return { kind: 'sqs' };
  if (service === 'events' && resource.startsWith('event-bus/'))
    return { kind: 'bus', busArn: arn };
  return { kind: 'unsupported', reason: `${service} targets are not emulated` };
}

// ---------------------------------------------------------------------------
// The service
// ---------------------------------------------------------------------------

export class LocalEventBridge implements EventPublisher, EventBridgeApi {
  readonly #env: LocalEnv;
  readonly #lambda: LambdaInvoker;
  readonly #queues: QueueSender;
  readonly #log: LogSink;
  readonly #maxEntryBytes: number;
  readonly #unknownBus: 'reject' | 'accept';
  readonly #retryBaseMs: number;
  readonly #retryMaxDelayMs: number;
  readonly #random: () => number;
  readonly #chaos: Chaos | undefined;
  readonly #buses = new Map<string, Bus>();
  readonly #unsupported: UnsupportedTarget[] = [];
  readonly #scheduled = new Map<string, Rule>();
  readonly #observers = new Set<(busName: string, event: EventEnvelope) => void>();
  readonly #scheduler: ScheduleRunner;
  /** Cancels for the deliveries waiting on a timer. */
  readonly #timers = new Set<() => void>();
  readonly #idleWaiters: (() => void)[] = [];
  #pending = 0;
  #closed = false;
  #service: AwsService | undefined;
  readonly #usage = {
    putEventsCalls: 0,
    entries: 0,
    failedEntries: 0,
    billedEvents: 0,
    internalEntries: 0,
  };
  readonly #metrics = {
    put: 0,
    matched: 0,
    delivered: 0,
    failed: 0,
    retried: 0,
    deadLettered: 0,
    deadLetterFailed: 0,
  };

  /**
   * Builds the buses and compiles every rule. Throws for a rule AWS would
   * refuse: an invalid pattern (`InvalidEventPatternException`), an invalid
   * schedule, a schedule off the default bus, neither pattern nor schedule,
   * a bus that does not exist, or a target whose input is invalid.
   */
  constructor(options: LocalEventBridgeOptions) {
    this.#env = options.env;
    this.#lambda = options.lambda;
    this.#queues = options.queues;
    this.#log = options.log;
    this.#maxEntryBytes = options.maxEntryBytes ?? DEFAULT_MAX_ENTRY_BYTES;
    this.#unknownBus = options.unknownBus ?? 'reject';
    this.#retryBaseMs = options.retryBaseMs ?? 1000;
    this.#retryMaxDelayMs = options.retryMaxDelayMs ?? 300_000;
    this.#random = options.random ?? Math.random;
    this.#chaos = options.chaos;

    const { partition, region, accountId } = options.env;
    const defaultArn = `arn:${partition}:events:${region}:${accountId}:event-bus/default`;
    for (const spec of [{ name: 'default', arn: defaultArn }, ...(options.buses ?? [])]) {
      this.#buses.set(spec.name, { name: spec.name, arn: spec.arn, rules: [] });
    }
    for (const spec of options.rules ?? []) this.#addRule(spec);

    this.#scheduler = new ScheduleRunner({
      timeScale: options.env.scheduleScale ?? options.env.timeScale,
      onFire: (name, at) => this.#fireSchedule(name, at),
    });
    for (const [name, rule] of this.#scheduled) {
      const expression = rule.spec.scheduleExpression;
      if (rule.spec.enabled && expression !== undefined) {
        this.#scheduler.add(name, parseScheduleExpression(expression));
      }
    }
  }

  #addRule(spec: RuleSpec): void {
    const bus = this.#buses.get(spec.busName);
    if (bus === undefined) {
      throw new EventBridgeError(
        'ResourceNotFoundException',
        `Event bus ${spec.busName} does not exist.`,
      );
    }
    if (spec.eventPattern === undefined && spec.scheduleExpression === undefined) {
      throw new ValidationError(
        'Parameter(s) ScheduleExpression or EventPattern must be specified.',
      );
    }
    if (spec.scheduleExpression !== undefined) {
      if (bus.name !== 'default') {
        throw new ValidationError('ScheduleExpression is supported only on the default event bus.');
      }
      parseScheduleExpression(spec.scheduleExpression); // throws when invalid
    }
    const targets = spec.targets.map((target): Target => {
      const kind = targetKind(target.arn);
      if (kind.kind === 'unsupported') {
        this.#unsupported.push({
          ruleName: spec.name,
          busName: bus.name,
          targetId: target.id,
          targetArn: target.arn,
          reason: kind.reason,
        });
      }
      if (kind.kind === 'bus' && hasInputOverride(target)) {
        this.#log.line(
          'eventbridge',
          `rule ${spec.name} target ${target.id}: input overrides are not applied to event-bus targets`,
        );
      }
      return { spec: target, kind, input: compileTargetInput(target) };
    });
    const rule: Rule = {
      spec,
      pattern: spec.eventPattern === undefined ? undefined : compilePattern(spec.eventPattern),
      targets,
    };
    bus.rules.push(rule);
    if (spec.scheduleExpression !== undefined) this.#scheduled.set(spec.name, rule);
  }

  // ------------------------------------------------------------- PutEvents

  /**
   * PutEvents, with AWS's validation; throws {@link EventBridgeError} for
   * request-level refusals. `fromApi` marks a call of the PutEvents API (the
   * only calls chaos fails; Lambda's destinations are AWS-internal).
   */
  async putEvents(
    entries: readonly PutEventsEntry[],
    options: { readonly fromApi?: boolean } = {},
  ): Promise<{ readonly FailedEntryCount: number; readonly Entries: PutEventsResultEntry[] }> {
    checkRequest(entries, this.#maxEntryBytes);
    const receivedAt = Date.now();
    const results: PutEventsResultEntry[] = [];
    let failed = 0;
    for (const entry of entries) {
      const result =
        options.fromApi && this.#chaos?.inject('put-events-failure', { name: 'PutEvents' })
          ? { ErrorCode: 'InternalFailure', ErrorMessage: 'Internal Failure' }
          : this.#putEntry(entry, receivedAt);
      if (result.ErrorCode !== undefined) failed += 1;
      else if (options.fromApi) {
        this.#usage.entries += 1;
        this.#usage.billedEvents += Math.max(1, Math.ceil(entrySize(entry) / EVENT_CHUNK_BYTES));
      } else this.#usage.internalEntries += 1;
      results.push(result);
    }
    if (options.fromApi) {
      this.#usage.putEventsCalls += 1;
      this.#usage.failedEntries += failed;
    }
    return { FailedEntryCount: failed, Entries: results };
  }

  #putEntry(entry: PutEventsEntry, receivedAt: number): PutEventsResultEntry {
    const check = checkEntry(entry, receivedAt);
    if (!check.ok) return check.result;
    const busRef = entry.EventBusName ?? 'default';
    const bus = this.#findBus(busRef);
    const { source, detailType, detail, resources, timeMs } = check.entry;
    const id = randomUUID();
    if (bus === undefined) {
      if (this.#unknownBus === 'reject') {
        const name = busRef.startsWith('arn:') ? (busRef.split('event-bus/')[1] ?? busRef) : busRef;
        return {
          ErrorCode: 'ResourceNotFoundException',
          ErrorMessage: `Event bus ${name} does not exist.`,
        };
      }
      this.#log.line('eventbridge', `event ${id} put on unknown bus ${busRef}: dropped`);
      return { EventId: id };
    }
    this.#metrics.put += 1;
    const event = this.#envelope(id, source, detailType, resources, detail, timeMs);
    this.#route(bus, event, receivedAt, false);
    return { EventId: id };
  }

  #envelope(
    id: string,
    source: string,
    detailType: string,
    resources: readonly string[],
    detail: Readonly<Record<string, unknown>>,
    timeMs: number,
  ): EventEnvelope {
    return {
      version: '0',
      id,
      'detail-type': detailType,
      source,
      account: this.#env.accountId,
      time: formatEventTime(timeMs),
      region: this.#env.region,
      resources,
      detail,
    };
  }

  /** A bus by name or ARN. */
  #findBus(ref: string): Bus | undefined {
    if (!ref.startsWith('arn:')) return this.#buses.get(ref);
    for (const bus of this.#buses.values()) if (bus.arn === ref) return bus;
    return undefined;
  }

  /**
   * Calls `listener` with every event a bus accepts, in the order accepted, before
   * any rule's target runs (local tooling, such as a live event stream, observes the
   * bus with it). Returns the function that removes it.
   */
  observe(listener: (busName: string, event: EventEnvelope) => void): () => void {
    this.#observers.add(listener);
    return () => this.#observers.delete(listener);
  }

  #route(bus: Bus, event: EventEnvelope, receivedAt: number, forwarded: boolean): void {
    for (const observer of this.#observers) {
      try {
        observer(bus.name, event);
      } catch (error) {
        this.#log.line('eventbridge', `an observer of ${bus.name} failed: ${String(error)}`);
      }
    }
    let matched = 0;
    for (const rule of bus.rules) {
      if (!rule.spec.enabled || rule.pattern === undefined || !rule.pattern.matches(event)) {
        continue;
      }
      matched += 1;
      this.#metrics.matched += 1;
      for (const target of rule.targets) {
        this.#dispatch({ rule, target, event, receivedAt, forwarded, retries: 0 });
      }
    }
    this.#log.line(
      'eventbridge',
      `event ${event.id} ${event.source} "${event['detail-type']}" on ${bus.name}: ${matched} rule(s) matched`,
    );
  }

  // ------------------------------------------------------------- schedules

  #fireSchedule(ruleName: string, at: Date): void {
    const rule = this.#scheduled.get(ruleName);
    if (rule === undefined || !rule.spec.enabled || this.#closed) return;
    const event = this.#envelope(
      randomUUID(),
      'aws.events',
      'Scheduled Event',
      [rule.spec.arn],
      {},
      at.getTime(),
    );
    this.#metrics.matched += 1;
    this.#log.line('eventbridge', `schedule ${ruleName} fired: event ${event.id}`);
    for (const target of rule.targets) {
      this.#dispatch({ rule, target, event, receivedAt: Date.now(), forwarded: false, retries: 0 });
    }
  }

  /** Fires an enabled scheduled rule now, off its schedule (for tests and tools). */
  fireNow(ruleName: string): boolean {
    const rule = this.#scheduled.get(ruleName);
    if (rule === undefined || !rule.spec.enabled) return false;
    return this.#scheduler.fireNow(ruleName);
  }

  /** When a scheduled rule fires next. */
  nextFireTime(ruleName: string): Date | undefined {
    return this.#scheduler.nextFireTime(ruleName);
  }

  // ------------------------------------------------------------- delivery

  #dispatch(delivery: Delivery): void {
    const { kind } = delivery.target;
    if (kind.kind === 'unsupported') {
      this.#metrics.failed += 1;
      this.#log.line(
        'eventbridge',
        `rule ${delivery.rule.spec.name} target ${delivery.target.spec.id} (${delivery.target.spec.arn}) not emulated: event ${delivery.event.id} not delivered`,
      );
      return;
    }
    if (this.#closed) return;
    this.#pending += 1;
    this.#later(0, () => this.#attempt(delivery));
    if (this.#chaos?.inject('duplicate', { name: delivery.target.spec.arn })) {
      // EventBridge delivers at least once: the same event (same id) to the same target again.
      this.#log.line(
        'eventbridge',
        `chaos: rule ${delivery.rule.spec.name} target ${delivery.target.spec.id} gets event ${delivery.event.id} twice`,
      );
      this.#pending += 1;
      this.#later(0, () => this.#attempt({ ...delivery, retries: 0 }));
    }
  }

  #later(ms: number, action: () => Promise<void>): void {
    let cancel: () => void;
    const run = () => {
      this.#timers.delete(cancel);
      void action();
    };
    if (ms <= 0) {
      const handle = setImmediate(run).unref();
      cancel = () => clearImmediate(handle);
    } else {
      const handle = setTimeout(run, ms).unref();
      cancel = () => clearTimeout(handle);
    }
    this.#timers.add(cancel);
  }

  async #attempt(delivery: Delivery): Promise<void> {
    try {
      await this.#send(delivery);
      this.#metrics.delivered += 1;
      this.#settle();
    } catch (error) {
      if (this.#closed) return;
      await this.#failed(delivery, classify(error));
    }
  }

  async #send(delivery: Delivery): Promise<void> {
    const { rule, target, event } = delivery;
    const { kind, spec } = target;
    if (kind.kind === 'bus') {
      const bus = this.#findBus(kind.busArn);
      if (bus === undefined) {
        const name = kind.busArn.split('event-bus/')[1] ?? kind.busArn;
        throw new DeliveryFailure('NO_RESOURCE', `Event bus ${name} does not exist.`, false);
      }
      if (delivery.forwarded) {
        throw new DeliveryFailure(
          'INVALID_PARAMETER',
          'An event received from another event bus is not routed to a third bus.',
          false,
        );
      }
      const copy = { ...event, id: randomUUID() };
      this.#route(bus, copy, Date.now(), true);
      return;
    }
    const input = target.input.render(event as unknown as Record<string, unknown>, {
      ruleArn: rule.spec.arn,
      ruleName: rule.spec.name,
      ingestionTime: new Date(delivery.receivedAt).toISOString(),
    });
    if (kind.kind === 'lambda') await this.#lambda.invoke(spec.arn, input, 'Event');
    else await this.#queues.send(spec.arn, input);
  }

  #backoffMs(retry: number): number {
    const ceiling = Math.min(this.#retryBaseMs * 2 ** (retry - 1), this.#retryMaxDelayMs);
    return (ceiling / 2 + (this.#random() * ceiling) / 2) * this.#env.timeScale;
  }

  async #failed(delivery: Delivery, failure: DeliveryFailure): Promise<void> {
    const { retryPolicy } = delivery.target.spec;
    const where = `rule ${delivery.rule.spec.name} target ${delivery.target.spec.id}`;
    let exhausted: 'MaximumRetryAttempts' | 'MaximumEventAgeInSeconds' | undefined;
    if (failure.retryable) {
      if (delivery.retries >= retryPolicy.maximumRetryAttempts) {
        exhausted = 'MaximumRetryAttempts';
      } else {
        const wait = this.#backoffMs(delivery.retries + 1);
        const maxAgeMs = retryPolicy.maximumEventAgeSeconds * 1000 * this.#env.timeScale;
        if (Date.now() + wait - delivery.receivedAt > maxAgeMs) {
          exhausted = 'MaximumEventAgeInSeconds';
        } else {
          delivery.retries += 1;
          this.#metrics.retried += 1;
          this.#log.line(
            'eventbridge',
            `${where}: ${failure.code} ${failure.message}; retry ${delivery.retries} in ${Math.round(wait)} ms`,
          );
          this.#later(wait, () => this.#attempt(delivery));
          return;
        }
      }
    }
    await this.#deadLetter(delivery, failure, exhausted);
    this.#settle();
  }

  async #deadLetter(
    delivery: Delivery,
    failure: DeliveryFailure,
    exhausted: string | undefined,
  ): Promise<void> {
    this.#metrics.failed += 1;
    const { spec } = delivery.target;
    const where = `rule ${delivery.rule.spec.name} target ${spec.id}: event ${delivery.event.id}`;
    const why = `${failure.code} ${failure.message}${exhausted ? ` (${exhausted})` : ''}`;
    if (spec.deadLetterArn === undefined) {
      this.#log.line('eventbridge', `${where} dropped after ${delivery.retries} retries: ${why}`);
      return;
    }
    const attribute = (StringValue: string) => ({ DataType: 'String', StringValue });
    try {
      await this.#queues.send(spec.deadLetterArn, JSON.stringify(delivery.event), {
        RULE_ARN: attribute(delivery.rule.spec.arn),
        TARGET_ARN: attribute(spec.arn),
        ERROR_CODE: attribute(failure.code),
        ERROR_MESSAGE: attribute(failure.message),
        RETRY_ATTEMPTS: attribute(String(delivery.retries)),
        ...(exhausted === undefined ? {} : { EXHAUSTED_RETRY_CONDITION: attribute(exhausted) }),
      });
      this.#metrics.deadLettered += 1;
      this.#log.line('eventbridge', `${where} sent to dead-letter queue: ${why}`);
    } catch (error) {
      this.#metrics.deadLetterFailed += 1;
      const reason = error instanceof Error ? error.message : String(error);
      this.#log.line(
        'eventbridge',
        `${where} lost: ${why}; dead-letter queue refused it: ${reason}`,
      );
    }
  }

  #settle(): void {
    if (this.#closed) return;
    this.#pending -= 1;
    if (this.#pending > 0) return;
    for (const resolve of this.#idleWaiters.splice(0)) resolve();
  }

  // ------------------------------------------------------------- the rest

  /** Resolves when no delivery is under way or waiting to retry. */
  whenIdle(): Promise<void> {
    if (this.#pending === 0 || this.#closed) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Targets whose kind is not emulated, for the orchestrator to print at start-up. */
  unsupportedTargets(): readonly UnsupportedTarget[] {
    return [...this.#unsupported];
  }

  metrics(): EventBridgeMetrics {
    return { ...this.#metrics };
  }

  /** PutEvents calls, entries and billed 64 KB events so far (plain JSON). */
  usage(): EventBridgeUsage {
    return { ...this.#usage };
  }

  /** The JSON 1.1 wire API (`X-Amz-Target: AWSEvents.<Operation>`). */
  service(): AwsService {
    this.#service ??= createEventBridgeService({
      putEvents: (entries) => this.putEvents(entries, { fromApi: true }),
      describeBus: (ref) => this.describeBus(ref),
      listBuses: () => this.listBuses(),
      listRules: (ref) => this.listRules(ref),
    });
    return this.#service;
  }

  /** Stops schedules and pending retries; deliveries not yet made are abandoned. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#scheduler.close();
    for (const cancel of this.#timers) cancel();
    this.#timers.clear();
    this.#pending = 0;
    for (const resolve of this.#idleWaiters.splice(0)) resolve();
  }

  // ------------------------------------------------------------- EventBridgeApi (read side)

  describeBus(ref: string | undefined): BusSpec | undefined {
    const bus = this.#findBus(ref ?? 'default');
    return bus === undefined ? undefined : { name: bus.name, arn: bus.arn };
  }

  listBuses(): readonly BusSpec[] {
    return [...this.#buses.values()].map(({ name, arn }) => ({ name, arn }));
  }

  listRules(busRef: string | undefined): readonly RuleSpec[] | undefined {
    return this.#findBus(busRef ?? 'default')?.rules.map((rule) => rule.spec);
  }
}

function hasInputOverride(target: RuleTargetSpec): boolean {
  return (
    target.input !== undefined ||
    target.inputPath !== undefined ||
    target.inputTransformer !== undefined
  );
}
