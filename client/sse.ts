/**
 * Server-sent events: the local cloud's `GET /jobs/{name}/events`. The parser
 * follows the WHATWG rules: lines end in CRLF, LF or CR, and may be split
 * anywhere across chunks; `data:` lines accumulate (joined with `\n`); lines
 * starting with `:` are comments; a blank line dispatches the message.
 */
import { badEvent, type EventSourceFn, type StreamItem, toJobEvent } from './events';
import { jobPath, type SignedHttp } from './http';

export interface SseMessage {
  /** `event:`; `message` when the server named none. */
  readonly event: string;
  readonly data: string;
  /** The last `id:` seen so far (ids persist across messages, as in browsers). */
  readonly id?: string;
}

export class SseParser {
  #buffer = '';
  #started = false;
  /** A chunk ended in CR: a LF at the start of the next one belongs to the same line end. */
  #pendingCr = false;
  #event = '';
  #data: string[] = [];
  #lastId: string | undefined;

  /** Feeds decoded text; answers the messages it completed. */
  push(text: string): SseMessage[] {
    let chunk = text;
    if (!this.#started && chunk.length > 0) {
      this.#started = true;
      if (chunk.charCodeAt(0) === 0xfeff) chunk = chunk.slice(1);
    }
    if (this.#pendingCr && chunk.startsWith('\n')) chunk = chunk.slice(1);
    this.#pendingCr = false;
    this.#buffer += chunk;

    const messages: SseMessage[] = [];
    let start = 0;
    for (let i = 0; i < this.#buffer.length; i++) {
      const char = this.#buffer[i];
      if (char !== '\n' && char !== '\r') continue;
      const line = this.#buffer.slice(start, i);
      if (char === '\r') {
        if (i + 1 === this.#buffer.length) this.#pendingCr = true;
        else if (this.#buffer[i + 1] === '\n') i++;
      }
      start = i + 1;
      const message = this.#line(line);
      if (message) messages.push(message);
    }
    this.#buffer = this.#buffer.slice(start);
    return messages;
  }

  /** The stream ended: a message without its closing blank line is dropped, as the spec says. */
  end(): SseMessage[] {
    this.#buffer = '';
    this.#data = [];
    this.#event = '';
    return [];
  }

  #line(line: string): SseMessage | undefined {
    if (line === '') return this.#dispatch();
    if (line.startsWith(':')) return undefined;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'event':
        this.#event = value;
        break;
      case 'data':
        this.#data.push(value);
        break;
      case 'id':
        if (!value.includes('\0')) this.#lastId = value;
        break;
      default:
        // `retry` and unknown fields: nothing to do for a client that reconnects on its own terms.
        break;
    }
    return undefined;
  }

  #dispatch(): SseMessage | undefined {
    const data = this.#data;
    const event = this.#event;
    this.#data = [];
    this.#event = '';
    if (data.length === 0) return undefined;
    return {
      event: event || 'message',
      data: data.join('\n'),
      ...(this.#lastId === undefined ? {} : { id: this.#lastId }),
    };
  }
}

/** The local cloud's `text/event-stream` for a job, through the signed client. */
export function sseSource(http: SignedHttp): EventSourceFn {
  return async function* (name, signal) {
    const response = await http.send({
      method: 'GET',
      path: jobPath(name, '/events'),
      accept: 'text/event-stream',
      signal,
      stream: true,
    });
    if (!response.ok) throw http.apiError(response.status, await response.text());
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
  };
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
