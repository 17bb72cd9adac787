/**
 * A deployed stack's event stream: its WebSocket API, opened with a
 * SigV4-presigned URL, then `{"action":"subscribe","name"}`; one JSON message
 * per event. Only a deployed stack needs it, so the client loads this module
 * with a dynamic `import()`.
 */
import { presignUrl } from '../functions/shared/signer';
import { ApiError, JobNotFoundError, UnreachableError } from './errors';
import { badEvent, type EventSourceFn, type StreamItem, toJobEvent } from './events';
import type { OptionNames, Target } from './target';

/** What the client needs of a WebSocket: the WHATWG API that Node 22 has as a global. */
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

/** How long a presigned URL is valid: long enough to connect, short enough not to be worth stealing. */
const PRESIGN_SECONDS = 60;

export interface WebSocketSourceParams {
  readonly target: Target;
  readonly WebSocket: WebSocketConstructor;
  readonly names: OptionNames;
  /** @default Date.now */
  readonly now?: () => number;
}

type Entry =
  | { readonly kind: 'item'; readonly item: StreamItem }
  | { readonly kind: 'error'; readonly error: Error }
  | { readonly kind: 'done' };

/** Each call opens one connection and yields its events until it closes. */
export function webSocketSource(params: WebSocketSourceParams): EventSourceFn {
  const { target, names } = params;
  const now = params.now ?? Date.now;
  return async function* (name, signal) {
    const streamUrl = target.streamUrl;
    if (streamUrl === undefined) throw new Error('webSocketSource needs target.streamUrl');
    const url = await presignUrl({
      method: 'GET',
      url: streamUrl,
      credentials: await target.credentials(),
      region: target.region,
      service: 'execute-api',
      expiresIn: PRESIGN_SECONDS,
      now: now(),
    });
    // Aborted while the credentials or the signature were awaited: open nothing (a
    // listener added to an aborted signal never fires, and the socket would stay open).
    if (signal.aborted) return;
    const host = new URL(streamUrl).host;
    // Socket callbacks push; the generator pulls. `wake` resumes a pull that found nothing.
    const queue: Entry[] = [];
    let wake: (() => void) | undefined;
    const push = (entry: Entry) => {
      queue.push(entry);
      wake?.();
      wake = undefined;
    };
    let opened = false;

    const socket = new params.WebSocket(url);
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
              : `check ${names.streamUrl} (the stack output StreamUrl), your AWS credentials and the region`,
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

/** One incoming message: an event, an error (thrown), or something to ignore (undefined). */
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
    if (/notfound/i.test(code)) {
      throw new JobNotFoundError(404, code, text, {
        body: record,
        hint: 'no job by that name is running or retained',
      });
    }
    // Not an HTTP answer, so no status: 0.
    throw new ApiError(0, code, text, { body: record });
  }
  if (record.type !== 'event') return undefined;
  const seq = typeof record.seq === 'number' ? record.seq : undefined;
  return { ...(seq === undefined ? {} : { seq }), event: toJobEvent(record.event) };
}
