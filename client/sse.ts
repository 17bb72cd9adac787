/**
 * Server-sent events: the local cloud's `GET /jobs/{name}/events`. Parsing is
 * `eventsource-parser`'s (the WHATWG rules: CRLF, LF or CR line ends split
 * anywhere across chunks, a leading BOM, comments, multi-line `data`); this
 * module adds what a browser's `EventSource` would: the default event type
 * `message`, and the last event id kept for the messages that follow.
 */
import { createParser, type EventSourceMessage, type EventSourceParser } from 'eventsource-parser';
import { badEvent, type EventSourceFn, type StreamItem, toJobEvent } from './events';
import { type ApiRequest, jobPath, type SignedHttp } from './http';

export interface SseMessage {
  /** `event:`; `message` when the server named none. */
  readonly event: string;
  readonly data: string;
  /** The last `id:` seen so far (ids persist across messages, as in browsers). */
  readonly id?: string;
}

/** A push-style wrapper around `eventsource-parser`: text in, completed messages out. */
export class SseParser {
  #lastId: string | undefined;
  #completed: SseMessage[] = [];
  readonly #parser: EventSourceParser = createParser({
    // Called for every block that carries an id, before its message (if it has one).
    onId: (id) => {
      this.#lastId = id;
    },
    onEvent: (message: EventSourceMessage) => {
      this.#completed.push({
        event: message.event ?? 'message',
        data: message.data,
        ...(this.#lastId === undefined ? {} : { id: this.#lastId }),
      });
    },
    // `retry` and unknown fields are ignored: the client reconnects on its own terms.
  });

  /** Feeds decoded text; answers the messages it completed. */
  push(text: string): SseMessage[] {
    this.#parser.feed(text);
    const completed = this.#completed;
    this.#completed = [];
    return completed;
  }

  /** The stream ended: a message without its closing blank line is dropped, as the spec says. */
  end(): SseMessage[] {
    this.#parser.reset();
    this.#completed = [];
    return [];
  }
}

/** The local cloud's `text/event-stream` for a job, through the signed client. */
export function sseSource(http: SignedHttp): EventSourceFn {
  return (name, signal) =>
    sseStream(http, { method: 'GET', path: jobPath(name, '/events'), signal });
}

/**
 * The local cloud's `GET /events`: the lifecycle events of all of the
 * caller's jobs, live (after `lastEventId`, the ones still kept first). It
 * ends only when the connection does.
 */
export function ownerSseStream(
  http: SignedHttp,
  signal: AbortSignal,
  lastEventId?: string,
): AsyncGenerator<StreamItem> {
  return sseStream(http, {
    method: 'GET',
    path: '/events',
    signal,
    ...(lastEventId === undefined ? {} : { headers: { 'last-event-id': lastEventId } }),
  });
}

/** One `text/event-stream` request, its events as they come, until the connection ends. */
async function* sseStream(
  http: SignedHttp,
  request: ApiRequest & { readonly signal: AbortSignal },
): AsyncGenerator<StreamItem> {
  const { signal } = request;
  const { response, attempts } = await http.exchange({
    ...request,
    accept: 'text/event-stream',
    stream: true,
  });
  if (!response.ok) throw http.apiError(response.status, await response.text(), attempts);
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
        throw http.unreachable(error);
      }
      if (chunk.done) break;
      for (const message of parser.push(decoder.decode(chunk.value, { stream: true }))) {
        yield sseItem(message);
      }
    }
    for (const message of parser.push(decoder.decode())) yield sseItem(message);
  } finally {
    signal.removeEventListener('abort', onAbort);
    await reader.cancel().catch(() => undefined);
  }
}

function sseItem(message: SseMessage): StreamItem {
  let parsed: unknown;
  try {
    parsed = JSON.parse(message.data);
  } catch {
    throw badEvent('its data is not JSON');
  }
  const id = message.id;
  const seq = id !== undefined && /^\d+$/.test(id) ? Number(id) : undefined;
  return { ...(seq === undefined ? {} : { seq }), event: toJobEvent(parsed, message.event) };
}
