/**
 * A `text/event-stream` parser (the WHATWG "server-sent events" rules):
 * lines end in CRLF, LF or CR, and may be split anywhere across chunks;
 * `data:` lines accumulate (joined with `\n`); lines starting with `:` are
 * comments; a blank line dispatches the message.
 */

export interface SseMessage {
  /** `event:`; `message` when the server named none. */
  readonly event: string;
  readonly data: string;
  /** The last `id:` seen so far (ids persist across messages, as in browsers). */
  readonly id?: string;
}

export class SseParser {
  private buffer = '';
  private started = false;
  /** A chunk ended in CR: a LF at the start of the next one belongs to the same line end. */
  private pendingCr = false;
  private event = '';
  private data: string[] = [];
  private lastId: string | undefined;

  /** Feeds decoded text; answers the messages it completed. */
  push(text: string): SseMessage[] {
    let chunk = text;
    if (!this.started && chunk.length > 0) {
      this.started = true;
      if (chunk.charCodeAt(0) === 0xfeff) chunk = chunk.slice(1);
    }
    if (this.pendingCr && chunk.startsWith('\n')) chunk = chunk.slice(1);
    this.pendingCr = false;
    this.buffer += chunk;

    const messages: SseMessage[] = [];
    let start = 0;
    for (let i = 0; i < this.buffer.length; i++) {
      const char = this.buffer[i];
      if (char !== '\n' && char !== '\r') continue;
      const line = this.buffer.slice(start, i);
      if (char === '\r') {
        if (i + 1 === this.buffer.length) this.pendingCr = true;
        else if (this.buffer[i + 1] === '\n') i++;
      }
      start = i + 1;
      const message = this.line(line);
      if (message) messages.push(message);
    }
    this.buffer = this.buffer.slice(start);
    return messages;
  }

  /** The stream ended: a message without its closing blank line is dropped, as the spec says. */
  end(): SseMessage[] {
    this.buffer = '';
    this.data = [];
    this.event = '';
    return [];
  }

  private line(line: string): SseMessage | undefined {
    if (line === '') return this.dispatch();
    if (line.startsWith(':')) return undefined;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'event':
        this.event = value;
        break;
      case 'data':
        this.data.push(value);
        break;
      case 'id':
        if (!value.includes('\0')) this.lastId = value;
        break;
      default:
        // `retry` and unknown fields: nothing to do for a one-shot client.
        break;
    }
    return undefined;
  }

  private dispatch(): SseMessage | undefined {
    const data = this.data;
    const event = this.event;
    this.data = [];
    this.event = '';
    if (data.length === 0) return undefined;
    return {
      event: event || 'message',
      data: data.join('\n'),
      ...(this.lastId === undefined ? {} : { id: this.lastId }),
    };
  }
}
