/**
 * The dashboard server's API, from the page: every request carries the
 * start's token in a header (not a cookie), which another site's page cannot
 * send without a preflight the server never allows.
 */
const TOKEN = new URLSearchParams(location.search).get('token') ?? '';
const TOKEN_HEADER = 'x-dashboard-token';

/** An error answer: its status and the JSON body as the API (or the dashboard) sent it. */
export class ApiFailure extends Error {
  readonly status: number;
  readonly body: unknown;

  constructor(status: number, body: unknown) {
    const error = (body as { error?: { code?: string; message?: string } } | null)?.error;
    super(error?.message ?? `HTTP ${status}`);
    this.name = 'ApiFailure';
    this.status = status;
    this.body = body;
  }
}

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(path, {
    method,
    headers: {
      [TOKEN_HEADER]: TOKEN,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text === '' ? {} : JSON.parse(text);
  } catch {
    parsed = { error: { code: 'NotJson', message: text.slice(0, 200) } };
  }
  if (!response.ok) throw new ApiFailure(response.status, parsed);
  return parsed as T;
}

export interface StreamHandlers {
  /** Each lifecycle event, as EventBridge delivered it. */
  onEvent(event: JobEvent): void;
  /** The stream is open (again). */
  onOpen?(): void;
  /** The server ended the stream (a job's: after its terminal event). */
  onEnd?(): void;
  /** The stream failed; `retrying` when it is opened again. */
  onError?(error: ApiFailure | Error, retrying: boolean): void;
}

export interface JobEvent {
  readonly id: string;
  readonly 'detail-type': string;
  readonly time: string;
  readonly detail: {
    readonly owner?: string;
    readonly jobName: string;
    readonly runId: string;
    readonly type?: string;
    readonly [key: string]: unknown;
  };
}

/**
 * Reads a server-sent event stream with `fetch` (so that the token goes in a
 * header, which `EventSource` cannot send). With `reconnect`, a broken stream
 * is opened again after 1, 2, 4 ... 30 s with `Last-Event-ID`: that is a
 * reconnect, not a polling loop. Returns the function that closes it.
 */
export function openStream(path: string, handlers: StreamHandlers, reconnect: boolean): () => void {
  const controller = new AbortController();
  let lastId: string | undefined;
  let failures = 0;
  const run = async (): Promise<void> => {
    while (!controller.signal.aborted) {
      let ended = false;
      try {
        const response = await fetch(path, {
          headers: {
            [TOKEN_HEADER]: TOKEN,
            accept: 'text/event-stream',
            ...(lastId === undefined ? {} : { 'last-event-id': lastId }),
          },
          signal: controller.signal,
        });
        if (!response.ok || !response.body) {
          const body: unknown = await response.json().catch(() => ({}));
          throw new ApiFailure(response.status, body);
        }
        failures = 0;
        handlers.onOpen?.();
        ended = await readEvents(response.body, handlers, (id) => {
          lastId = id;
        });
        if (ended) handlers.onEnd?.();
      } catch (error) {
        if (controller.signal.aborted) return;
        const permanent = error instanceof ApiFailure && error.status < 500;
        handlers.onError?.(error as Error, reconnect && !permanent);
        if (permanent) return;
      }
      // A job's stream ends for good; the owner's is opened again whatever ended it.
      if (!reconnect) return;
      failures += 1;
      await new Promise((resolve) =>
        setTimeout(resolve, Math.min(30_000, 1000 * 2 ** (failures - 1))),
      );
    }
  };
  void run();
  return () => controller.abort();
}

/** Parses the stream (LF, CRLF or CR line ends); true when the server sent `event: end`. */
async function readEvents(
  body: ReadableStream<Uint8Array>,
  handlers: StreamHandlers,
  onId: (id: string) => void,
): Promise<boolean> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let type = 'message';
  let data: string[] = [];
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return false;
    buffer += decoder.decode(value, { stream: true });
    const lines = buffer.split(/\r\n|\r|\n/);
    buffer = lines.pop() ?? '';
    for (const line of lines) {
      if (line === '') {
        if (data.length > 0) {
          const text = data.join('\n');
          if (type === 'end') return true;
          if (type === 'failed') {
            const failure = JSON.parse(text) as { status?: number };
            throw new ApiFailure(failure.status ?? 502, failure);
          }
          if (type === 'job') handlers.onEvent(JSON.parse(text) as JobEvent);
        }
        type = 'message';
        data = [];
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const raw = colon < 0 ? '' : line.slice(colon + 1);
      const text = raw.startsWith(' ') ? raw.slice(1) : raw;
      if (field === 'event') type = text;
      else if (field === 'data') data.push(text);
      else if (field === 'id') onId(text);
    }
  }
}
