/**
 * A scripted WebSocket API for unit tests: each connection opens, and answers
 * `{"action":"subscribe","name"}` with `replies(name)` (event frames as JSON
 * text, `'close'` or `'error'`), unless it was closed first.
 */
import type { WebSocketEventLike, WebSocketLike } from '../../../client';

export function fakeWebSocket(replies: (name: string) => Array<string | 'close' | 'error'>) {
  const sockets: FakeWebSocket[] = [];
  class FakeWebSocket implements WebSocketLike {
    readonly sent: string[] = [];
    closed = false;
    readonly #listeners = new Map<string, Array<(event: WebSocketEventLike) => void>>();
    constructor(readonly url: string) {
      sockets.push(this);
      setTimeout(() => this.#emit('open', {}), 1);
    }
    addEventListener(type: string, listener: (event: WebSocketEventLike) => void) {
      this.#listeners.set(type, [...(this.#listeners.get(type) ?? []), listener]);
    }
    send(data: string) {
      this.sent.push(data);
      const { name } = JSON.parse(data) as { name: string };
      setTimeout(() => {
        if (this.closed) return;
        for (const reply of replies(name)) {
          if (reply === 'close') this.close(1000);
          else if (reply === 'error') this.#emit('error', { message: 'reset' });
          else this.#emit('message', { data: reply });
        }
      }, 1);
    }
    close(code?: number) {
      if (this.closed) return;
      this.closed = true;
      this.#emit('close', { code });
    }
    #emit(type: string, event: WebSocketEventLike) {
      for (const listener of this.#listeners.get(type) ?? []) listener(event);
    }
  }
  /** The job each connection subscribed to. */
  const subscriptions = () =>
    sockets.flatMap((socket) => socket.sent.map((m) => (JSON.parse(m) as { name: string }).name));
  return { FakeWebSocket, sockets, subscriptions };
}
