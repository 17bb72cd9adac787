/**
 * Lambda's asynchronous event queue, with AWS's retry rules (AWS-FACTS, Lambda):
 *
 * - a function error (including a timeout or a crash) is retried up to
 *   `maximumRetryAttempts` times, about 1 minute and then 2 minutes later;
 * - a throttle (no concurrency free) puts the event back with a backoff from
 *   1 s doubling to 5 min, and uses up no retry attempt;
 * - an event older than `maximumEventAgeSeconds` is dropped (`EventAgeExceeded`);
 * - reserved concurrency 0 sends events straight to failure, without retries.
 *
 * Every wait is multiplied by `LocalEnv.timeScale`. The same request id is used
 * for every attempt of one event, as on AWS.
 */
import type { FunctionSpec, LocalEnv } from '../contracts';
import type { RecordCondition } from './destinations';
import type { ThrottleReason } from './errors';
import type { ExecutionResult } from './runtime';

const FIRST_RETRY_DELAY_MS = 60_000;
const SECOND_RETRY_DELAY_MS = 120_000;
const THROTTLE_BACKOFF_START_MS = 1_000;
const THROTTLE_BACKOFF_MAX_MS = 300_000;

export interface AsyncEvent {
  readonly requestId: string;
  readonly spec: FunctionSpec;
  /** JSON text. */
  readonly payload: string;
  readonly invokedFunctionArn: string;
  readonly clientContext?: unknown;
}

export type AttemptOutcome =
  | { readonly kind: 'throttled'; readonly reason: ThrottleReason }
  | { readonly kind: 'ran'; readonly result: ExecutionResult };

export interface FinalOutcome {
  readonly condition: RecordCondition;
  /** Times the function ran (`approximateInvokeCount`). */
  readonly invokeCount: number;
  /** The last run's result, if the function ran. */
  readonly last?: ExecutionResult;
}

export interface AsyncQueueOptions {
  readonly env: LocalEnv;
  /** Tries to run the event once: takes a concurrency slot or reports the throttle. */
  readonly attempt: (event: AsyncEvent) => Promise<AttemptOutcome>;
  /** Called once per event with its final outcome (destinations, DLQ). */
  readonly finish: (event: AsyncEvent, outcome: FinalOutcome) => Promise<void>;
}

interface QueuedEvent {
  readonly event: AsyncEvent;
  readonly expiresAt: number;
  invokeCount: number;
  throttles: number;
  last?: ExecutionResult;
  timer?: NodeJS.Timeout;
  /** The next wake-up is the event's expiry, not an attempt. */
  expireOnWake: boolean;
  running: boolean;
}

export class AsyncQueue {
  readonly #events = new Set<QueuedEvent>();
  readonly #idleWaiters: (() => void)[] = [];
  #closed = false;

  readonly #options: AsyncQueueOptions;

  constructor(options: AsyncQueueOptions) {
    this.#options = options;
  }

  /** Accepts an event; it is first tried on the next turn of the event loop. */
  enqueue(event: AsyncEvent): void {
    if (this.#closed) throw new Error('The local Lambda is closed');
    const maxAgeMs = event.spec.asyncConfig.maximumEventAgeSeconds * 1000 * this.#scale;
    const queued: QueuedEvent = {
      event,
      expiresAt: Date.now() + maxAgeMs,
      invokeCount: 0,
      throttles: 0,
      expireOnWake: false,
      running: false,
    };
    this.#events.add(queued);
    this.#wakeAt(queued, Date.now());
  }

  /** Events accepted and not yet finished, waiting or running. */
  get size(): number {
    return this.#events.size;
  }

  /** Events waiting for their next attempt (not running right now). */
  get waiting(): number {
    let count = 0;
    for (const queued of this.#events) if (!queued.running) count += 1;
    return count;
  }

  /** Resolves when every accepted event has reached its final outcome. */
  whenEmpty(): Promise<void> {
    if (this.#events.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Drops every unfinished event (waiting or running) and stops the timers. Returns how many. */
  close(): number {
    this.#closed = true;
    const dropped = this.#events.size;
    for (const queued of this.#events) clearTimeout(queued.timer);
    this.#events.clear();
    this.#notifyIfEmpty();
    return dropped;
  }

  get #scale(): number {
    return this.#options.env.timeScale;
  }

  #wakeAt(queued: QueuedEvent, at: number): void {
    if (this.#closed) return;
    queued.expireOnWake = at >= queued.expiresAt;
    const when = Math.min(at, queued.expiresAt);
    queued.timer = setTimeout(() => void this.#step(queued), Math.max(0, when - Date.now()));
  }

  async #step(queued: QueuedEvent): Promise<void> {
    if (this.#closed || !this.#events.has(queued)) return;
    const { event } = queued;
    if (event.spec.reservedConcurrency === 0) {
      return this.#finish(queued, 'RetriesExhausted');
    }
    if (queued.expireOnWake || Date.now() >= queued.expiresAt) {
      return this.#finish(queued, 'EventAgeExceeded');
    }

    queued.running = true;
    let outcome: AttemptOutcome | undefined;
    try {
      outcome = await this.#options.attempt(event);
    } catch {
      // Lambda's own failure (a 5xx): backed off like a throttle, as AWS does.
      outcome = undefined;
    } finally {
      queued.running = false;
    }
    if (this.#closed) return;

    if (outcome === undefined || outcome.kind === 'throttled') {
      const backoff = Math.min(
        THROTTLE_BACKOFF_START_MS * 2 ** queued.throttles,
        THROTTLE_BACKOFF_MAX_MS,
      );
      queued.throttles += 1;
      this.#wakeAt(queued, Date.now() + backoff * this.#scale);
      return;
    }

    queued.invokeCount += 1;
    queued.throttles = 0;
    queued.last = outcome.result;
    if (outcome.result.functionError === undefined) {
      return this.#finish(queued, 'Success');
    }
    if (queued.invokeCount > event.spec.asyncConfig.maximumRetryAttempts) {
      return this.#finish(queued, 'RetriesExhausted');
    }
    const delay = queued.invokeCount === 1 ? FIRST_RETRY_DELAY_MS : SECOND_RETRY_DELAY_MS;
    this.#wakeAt(queued, Date.now() + delay * this.#scale);
  }

  async #finish(queued: QueuedEvent, condition: RecordCondition): Promise<void> {
    try {
      await this.#options.finish(queued.event, {
        condition,
        invokeCount: queued.invokeCount,
        last: queued.last,
      });
    } finally {
      this.#events.delete(queued);
      this.#notifyIfEmpty();
    }
  }

  #notifyIfEmpty(): void {
    if (this.#events.size > 0) return;
    for (const resolve of this.#idleWaiters.splice(0)) resolve();
  }
}
