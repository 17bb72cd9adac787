/**
 * Where the dashboard's live updates come from: the lifecycle events, never a
 * polling loop.
 *
 * - **The local cloud**: `GET /events`, the owner's server-sent events
 *   (`devserver/owner-stream.ts`), for the list; `GET /jobs/{name}/events`
 *   for a job's page.
 * - **A deployed stack**: its WebSocket API (`StreamUrl`), which subscribes to
 *   one job at a time (`{"action":"subscribe","name"}`) and has no owner-wide
 *   subscription. So the list follows, one connection each, the jobs that were
 *   QUEUED or RUNNING when the page connected and the jobs replayed from the
 *   dashboard afterwards, at most `MAX_FOLLOWED` at once; a job started elsewhere
 *   appears when the list is loaded again. A job's page subscribes to its job.
 * - **No stream** (a deployed stack without `--stream-url`): nothing is live;
 *   the page says so.
 */

import { setMaxListeners } from 'node:events';
import { type EventSourceFn, followJobEvents, type StreamItem } from '../client/events';
import type { SignedHttp } from '../client/http';
import { ownerSseStream, sseSource } from '../client/sse';
import type { OptionNames } from '../client/target';
import type { JobPage } from '../client/types';
import type { WebSocketConstructor } from '../client/websocket';
import type { JobSummary } from '../core/model';

/** Jobs the list follows over a deployed stack's WebSocket API, one connection each. */
export const MAX_FOLLOWED = 50;

export type LiveKind = 'sse' | 'websocket' | 'none';

export interface LiveFeed {
  readonly kind: LiveKind;
  /** One sentence for the page: what is live and how. */
  readonly description: string;
  /** The owner's events for the list, until `signal` aborts (local: after `lastEventId`). */
  owner(signal: AbortSignal, lastEventId?: string): AsyncIterable<StreamItem>;
  /** A job's events so far and then live, ending after the terminal one; undefined when not live. */
  readonly job?: EventSourceFn;
  /** A job started from the dashboard (a replay): followed by the lists open now and later. */
  started(name: string): void;
}

export interface LiveFeedOptions {
  readonly http: SignedHttp;
  readonly WebSocket?: WebSocketConstructor;
  readonly names: OptionNames;
}

export async function liveFeed(options: LiveFeedOptions): Promise<LiveFeed> {
  const { http } = options;
  const { target } = http;
  if (target.kind === 'local') {
    return {
      kind: 'sse',
      description:
        "Live: the local cloud's server-sent events of all your jobs (GET /events), relayed by the dashboard server.",
      owner: (signal, lastEventId) => ownerSseStream(http, signal, lastEventId),
      job: sseSource(http),
      started: () => undefined,
    };
  }
  if (target.streamUrl === undefined || options.WebSocket === undefined) {
    const why =
      target.streamUrl === undefined
        ? 'no stream URL was given (--stream-url, the stack output StreamUrl)'
        : 'this Node.js has no WebSocket client';
    return {
      kind: 'none',
      description: `Not live: ${why}; reload the list to see changes.`,
      owner: (signal) => idle(signal),
      started: () => undefined,
    };
  }
  const { webSocketSource } = await import('../client/websocket');
  const source = webSocketSource({ target, WebSocket: options.WebSocket, names: options.names });
  const lists = new Set<(name: string) => void>();
  return {
    kind: 'websocket',
    description: `Live: the stack's WebSocket API, one subscription per job, for the jobs that were queued or running when the page connected and the jobs replayed here, at most ${MAX_FOLLOWED} at once; reload the list to see jobs started elsewhere.`,
    owner: (signal) => followActiveJobs(http, source, signal, lists),
    job: source,
    started: (name) => {
      for (const follow of lists) follow(name);
    },
  };
}

/** Nothing, until the signal aborts. */
async function* idle(signal: AbortSignal): AsyncGenerator<StreamItem> {
  await new Promise<void>((resolve) => {
    if (signal.aborted) resolve();
    signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

/**
 * The events of the owner's queued and running jobs over a deployed stack's
 * WebSocket API, one subscription each, plus those of jobs named to `lists`
 * later; until `signal` aborts.
 */
async function* followActiveJobs(
  http: SignedHttp,
  source: EventSourceFn,
  signal: AbortSignal,
  lists: Set<(name: string) => void>,
): AsyncGenerator<StreamItem> {
  // Each followed job's stream listens for the abort: up to MAX_FOLLOWED listeners, no leak.
  setMaxListeners(MAX_FOLLOWED + 10, signal);
  const queue = new ItemQueue(signal);
  const followed = new Set<string>();
  const follow = (name: string) => {
    if (followed.has(name) || followed.size >= MAX_FOLLOWED || signal.aborted) return;
    followed.add(name);
    void (async () => {
      try {
        for await (const event of followJobEvents({ name, source, signal })) queue.push({ event });
      } catch {
        // One job's stream failing (gone, not found) leaves the others followed.
      } finally {
        followed.delete(name);
      }
    })();
  };
  lists.add(follow);
  try {
    for (const status of ['RUNNING', 'QUEUED'] as const) {
      const page = await http.json<JobPage>({
        method: 'GET',
        path: '/jobs',
        query: { status, limit: MAX_FOLLOWED },
        signal,
      });
      page.jobs.forEach((job: JobSummary) => {
        follow(job.jobName);
      });
    }
    yield* queue;
  } finally {
    lists.delete(follow);
  }
}

/** Items pushed from many followers, read by one consumer, until the signal aborts. */
class ItemQueue implements AsyncIterable<StreamItem> {
  readonly #items: StreamItem[] = [];
  #wake: (() => void) | undefined;
  readonly #signal: AbortSignal;

  constructor(signal: AbortSignal) {
    this.#signal = signal;
    signal.addEventListener('abort', () => this.#wake?.(), { once: true });
  }

  push(item: StreamItem): void {
    this.#items.push(item);
    this.#wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<StreamItem> {
    while (!this.#signal.aborted) {
      const item = this.#items.shift();
      if (item !== undefined) {
        yield item;
        continue;
      }
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
      this.#wake = undefined;
    }
  }
}
