/**
 * A job's lifecycle events as EventBridge delivers them, and following them
 * to the end: a stream that breaks is reopened a few times (the server replays
 * the run's events, and repeats are recognised by their EventBridge id), and
 * the events end with the terminal one.
 */
import type * as Events from '../core/events';
import { JobEventType, type JobOutcomeEventType } from '../core/events';
import type { TerminalStatus } from '../core/model';
import { EventStreamEndedError, UnreachableError, UnreadableEventError } from './errors';

/** The `detail` of each lifecycle event. */
export interface JobEventDetails {
  'Job Queued': Events.JobQueuedDetail;
  'Job Started': Events.JobStartedDetail;
  'Job Progress': Events.JobProgressDetail;
  'Job Completed': Events.JobCompletedDetail;
  'Job Failed': Events.JobFailedDetail;
  'Job Cancelled': Events.JobCancelledDetail;
  'Job Timed Out': Events.JobTimedOutDetail;
}

/** An EventBridge event carrying one detail-type. */
export interface JobEventEnvelope<T extends JobEventType> {
  readonly version: string;
  readonly id: string;
  readonly 'detail-type': T;
  readonly source: string;
  readonly account: string;
  readonly time: string;
  readonly region: string;
  readonly resources: readonly string[];
  readonly detail: JobEventDetails[T];
}

/** One lifecycle event as EventBridge delivers it; `detail-type` tells the `detail` apart. */
export type JobEvent = { [T in JobEventType]: JobEventEnvelope<T> }[JobEventType];

/** The events that end a run: Completed, Failed, Cancelled, Timed Out. */
export type TerminalJobEvent = Extract<JobEvent, { readonly 'detail-type': JobOutcomeEventType }>;

/** One event off a stream. */
export interface StreamItem {
  /** The server's sequence number (SSE `id:`, WebSocket `seq`), when it sent one. */
  readonly seq?: number;
  readonly event: JobEvent;
}

/** Opens one connection to a job's event stream; ends when the connection does. */
export type EventSourceFn = (name: string, signal: AbortSignal) => AsyncIterable<StreamItem>;

const DETAIL_TYPES: ReadonlySet<string> = new Set<JobEventType>(Object.values(JobEventType));

/** The status each terminal event ends its run with. */
const STATUS_OF_TERMINAL_TYPE: ReadonlyMap<string, TerminalStatus> = new Map<
  JobOutcomeEventType,
  TerminalStatus
>([
  ['Job Completed', 'SUCCEEDED'],
  ['Job Failed', 'FAILED'],
  ['Job Cancelled', 'CANCELLED'],
  ['Job Timed Out', 'TIMED_OUT'],
]);

export function isTerminalEvent(event: JobEvent): event is TerminalJobEvent {
  return STATUS_OF_TERMINAL_TYPE.has(event['detail-type']);
}

/** The status a run ends with, by its terminal event's detail-type; undefined for Started and Progress. */
export function terminalStatusOf(type: JobEventType): TerminalStatus | undefined {
  return STATUS_OF_TERMINAL_TYPE.get(type);
}

/** Checks the envelope just enough that a consumer cannot trip over it. */
export function toJobEvent(value: unknown, fallbackType?: string): JobEvent {
  if (typeof value !== 'object' || value === null) throw badEvent('not a JSON object');
  const record = value as Record<string, unknown>;
  const detailType = record['detail-type'] ?? fallbackType;
  if (typeof detailType !== 'string' || !DETAIL_TYPES.has(detailType)) {
    throw badEvent(`unknown detail-type ${JSON.stringify(detailType)}`);
  }
  if (typeof record.detail !== 'object' || record.detail === null) {
    throw badEvent(`${detailType} has no detail`);
  }
  return { ...record, 'detail-type': detailType } as JobEvent;
}

export function badEvent(reason: string): UnreadableEventError {
  return new UnreadableEventError(`the event stream sent an unreadable event: ${reason}`);
}

export interface FollowParams {
  readonly name: string;
  /** Only this run's events (a name is reused by later runs). */
  readonly runId?: string;
  readonly source: EventSourceFn;
  /** Aborting ends the events quietly, without an error. */
  readonly signal?: AbortSignal;
  /** How often a broken or ended stream is reopened before giving up. @default 3 */
  readonly maxReconnects?: number;
  /** @default - a real timer, cut short by `signal` */
  readonly sleep?: (ms: number) => Promise<void>;
}

/**
 * A job's events, each once, ending after the terminal one. A stream that
 * cannot be reached or ends early is reopened up to `maxReconnects` times
 * (after 0.5 s, 1 s, 1.5 s...); then the last `UnreachableError`, or an
 * `EventStreamEndedError`, is thrown. Any other error (a 404, an unreadable
 * event) is thrown at once.
 */
export async function* followJobEvents(params: FollowParams): AsyncGenerator<JobEvent, void> {
  const signal = params.signal ?? new AbortController().signal;
  const maxReconnects = params.maxReconnects ?? 3;
  const sleep = params.sleep ?? ((ms: number) => delay(ms, signal));
  const seen = new Set<string>();
  for (let reconnects = 0; ; reconnects++) {
    try {
      for await (const { event } of params.source(params.name, signal)) {
        if (params.runId !== undefined && event.detail.runId !== params.runId) continue;
        if (seen.has(event.id)) continue;
        seen.add(event.id);
        yield event;
        if (isTerminalEvent(event)) return;
      }
    } catch (error) {
      if (signal.aborted) return;
      if (!(error instanceof UnreachableError) || reconnects >= maxReconnects) throw error;
    }
    if (signal.aborted) return;
    if (reconnects >= maxReconnects) {
      throw new EventStreamEndedError(params.name, {
        hint: 'see where it stands with get(), or watch it again',
      });
    }
    await sleep(500 * (reconnects + 1));
  }
}

/** Waits `ms`, or less if `signal` aborts first. */
function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
