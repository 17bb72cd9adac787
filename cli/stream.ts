/**
 * A job's lifecycle events, live: from the local cloud's server-sent events
 * (`GET /jobs/{name}/events`) or from a deployed stack's WebSocket API
 * (presigned URL, then `{"action":"subscribe","name"}`). Both yield the full
 * EventBridge events, in order, and end after the terminal one.
 */
import type {
  JobCancelledDetail,
  JobCompletedDetail,
  JobEventType,
  JobFailedDetail,
  JobProgressDetail,
  JobStartedDetail,
  JobTimedOutDetail,
} from '../functions/shared/events';
import { presignUrl } from '../local/sigv4';
import { ApiError, CliError, ExitCode, UnreachableError } from './errors';
import { type ApiClient, apiErrorFrom, jobPath, unreachable } from './http';
import { SseParser } from './sse';
import type { Target } from './target';

interface EventDetails {
  'Job Started': JobStartedDetail;
  'Job Progress': JobProgressDetail;
  'Job Completed': JobCompletedDetail;
  'Job Failed': JobFailedDetail;
  'Job Cancelled': JobCancelledDetail;
  'Job Timed Out': JobTimedOutDetail;
}

interface EventEnvelope<T extends JobEventType> {
  readonly version: string;
  readonly id: string;
  readonly 'detail-type': T;
  readonly source: string;
  readonly account: string;
  readonly time: string;
  readonly region: string;
  readonly resources: readonly string[];
  readonly detail: EventDetails[T];
}

/** One lifecycle event as EventBridge delivers it. */
export type JobEvent = { [T in JobEventType]: EventEnvelope<T> }[JobEventType];

export interface StreamItem {
  /** The server's sequence number (SSE `id:`, WebSocket `seq`), when it sent one. */
  readonly seq?: number;
  readonly event: JobEvent;
}

/** Opens one connection to a job's event stream. */
export type EventSourceFn = (name: string, signal: AbortSignal) => AsyncIterable<StreamItem>;

const DETAIL_TYPES: ReadonlySet<string> = new Set<JobEventType>([
  'Job Started',
  'Job Progress',
  'Job Completed',
  'Job Failed',
  'Job Cancelled',
  'Job Timed Out',
]);

/** Checks the envelope just enough that rendering cannot trip over it. */
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

function badEvent(reason: string): CliError {
  return new CliError(`the event stream sent an unreadable event: ${reason}`, ExitCode.ApiError);
}

// ------------------------------------------------------------------- SSE

/** The local cloud's `text/event-stream`, through the signed client. */
export function sseSource(client: ApiClient): EventSourceFn {
  return async function* (name, signal) {
    const response = await client.send({
      method: 'GET',
      path: jobPath(name, '/events'),
      accept: 'text/event-stream',
      signal,
    });
    if (!response.ok) {
      throw apiErrorFrom(response.status, await response.text(), client.target);
    }
    if (!response.body) return;
    const parser = new SseParser();
    const decoder = new TextDecoder();
    const reader = response.body.getReader();
    // Cancelling ends a pending read at once, whatever the fetch does with its own signal.
    const onAbort = () => void reader.cancel().catch(() => undefined);
    signal.addEventListener('abort', onAbort);
    try {
      for (;;) {
        let chunk: Awaited<ReturnType<typeof reader.read>>;
        try {
          chunk = await reader.read();
        } catch (error) {
          if (signal.aborted) return;
          throw unreachable(client.target, error);
        }
        if (chunk.done) break;
        for (const message of parser.push(decoder.decode(chunk.value, { stream: true }))) {
          yield sseItem(message.data, message.event, message.id);
        }
      }
      for (const message of parser.push(decoder.decode())) {
        yield sseItem(message.data, message.event, message.id);
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
      await reader.cancel().catch(() => undefined);
    }
  };
}

function sseItem(data: string, event: string, id: string | undefined): StreamItem {
  let parsed: unknown;
  try {
    parsed = JSON.parse(data);
  } catch {
    throw badEvent('its data is not JSON');
  }
  const seq = id !== undefined && /^\d+$/.test(id) ? Number(id) : undefined;
  return { ...(seq === undefined ? {} : { seq }), event: toJobEvent(parsed, event) };
}

// ------------------------------------------------------------- WebSocket

/** What the CLI needs of a WebSocket: the WHATWG API that Node 22 has as a global. */
export interface WebSocketLike {
  addEventListener(type: string, listener: (event: WebSocketEventLike) => void): void;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export interface WebSocketEventLike {
  readonly data?: unknown;
  readonly code?: number;
  readonly reason?: string;
  readonly message?: string;
}

export type WebSocketConstructor = new (url: string) => WebSocketLike;

/** The global WebSocket (Node 22+, or Node 20 with --experimental-websocket), if there is one. */
export function globalWebSocket(): WebSocketConstructor | undefined {
  return (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
}

const PRESIGN_SECONDS = 60;

type Entry =
  | { readonly kind: 'item'; readonly item: StreamItem }
  | { readonly kind: 'error'; readonly error: Error }
  | { readonly kind: 'done' };

/** A deployed stack's WebSocket stream: presigned connect, subscribe, one JSON message per event. */
export function webSocketSource(
  target: Target,
  WebSocketClass: WebSocketConstructor,
  now: () => number = Date.now,
): EventSourceFn {
  return async function* (name, signal) {
    const streamUrl = target.streamUrl;
    if (streamUrl === undefined) throw new Error('webSocketSource needs target.streamUrl');
    const url = presignUrl({
      method: 'GET',
      url: streamUrl,
      credentials: await target.credentials(),
      region: target.region,
      service: 'execute-api',
      expiresIn: PRESIGN_SECONDS,
      now: now(),
    });
    const host = new URL(streamUrl).host;
    const queue: Entry[] = [];
    let wake: (() => void) | undefined;
    const push = (entry: Entry) => {
      queue.push(entry);
      wake?.();
      wake = undefined;
    };
    let opened = false;

    const socket = new WebSocketClass(url);
    socket.addEventListener('open', () => {
      opened = true;
      socket.send(JSON.stringify({ action: 'subscribe', name }));
    });
    socket.addEventListener('message', (event) => {
      try {
        const item = webSocketItem(event.data);
        if (item) push({ kind: 'item', item });
      } catch (error) {
        push({ kind: 'error', error: error as Error });
      }
    });
    socket.addEventListener('error', (event) => {
      const reason = event.message ? `: ${event.message}` : '';
      push({
        kind: 'error',
        error: new UnreachableError(
          opened
            ? `the event stream at ${host} failed${reason}`
            : `cannot open the event stream at ${host}${reason}`,
          {
            hint: opened
              ? undefined
              : 'check --stream-url (the stack output StreamUrl), your AWS credentials and the region',
          },
        ),
      });
    });
    socket.addEventListener('close', () => push({ kind: 'done' }));
    const onAbort = () => push({ kind: 'done' });
    signal.addEventListener('abort', onAbort);

    try {
      for (;;) {
        while (queue.length === 0) {
          await new Promise<void>((resolve) => {
            wake = resolve;
          });
        }
        const entry = queue.shift() as Entry;
        if (entry.kind === 'done') return;
        if (entry.kind === 'error') throw entry.error;
        yield entry.item;
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
      socket.close(1000);
    }
  };
}

/** One incoming message: an event, an error (thrown), or something to ignore. */
function webSocketItem(data: unknown): StreamItem | undefined {
  const text =
    typeof data === 'string'
      ? data
      : data instanceof ArrayBuffer || ArrayBuffer.isView(data)
        ? Buffer.from(data as ArrayBuffer).toString('utf8')
        : undefined;
  if (text === undefined) throw badEvent('a binary message');
  let message: unknown;
  try {
    message = JSON.parse(text);
  } catch {
    throw badEvent('a message that is not JSON');
  }
  if (typeof message !== 'object' || message === null) throw badEvent('not a JSON object');
  const record = message as Record<string, unknown>;
  if (record.type === 'error') {
    const code = typeof record.code === 'string' ? record.code : 'StreamError';
    const text = typeof record.message === 'string' ? record.message : 'the event stream failed';
    const notFound = /notfound/i.test(code);
    return throwError(
      new ApiError(notFound ? 404 : 0, code, text, {
        body: record,
        hint: notFound ? 'no job by that name is running or retained' : undefined,
      }),
    );
  }
  if (record.type !== 'event') return undefined;
  const seq = typeof record.seq === 'number' ? record.seq : undefined;
  return { ...(seq === undefined ? {} : { seq }), event: toJobEvent(record.event) };
}

function throwError(error: Error): never {
  throw error;
}
