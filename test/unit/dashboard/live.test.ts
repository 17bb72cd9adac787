/**
 * `liveFeed`: where the dashboard's live updates come from, with only the
 * network faked (a fetch stub for the jobs API and a scripted WebSocket that
 * speaks the stack's protocol): a deployed stack's WebSocket API, one
 * subscription per queued or running job (at most `MAX_FOLLOWED`) and per
 * replay; a deployed stack without a stream URL, where nothing is live; and
 * the local cloud's server-sent events.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { StreamItem } from '../../../client/events';
import { type FetchFn, SignedHttp } from '../../../client/http';
import { DEFAULT_OPTION_NAMES, type Target } from '../../../client/target';
import type { JobStatus, JobSummary } from '../../../core/model';
import { type LiveFeed, liveFeed, MAX_FOLLOWED } from '../../../dashboard/live';
import { fakeWebSocket } from '../client/fake-websocket';

const API_URL = 'https://abc123.execute-api.eu-west-1.amazonaws.com';
const STREAM_URL = 'wss://ws456.execute-api.eu-west-1.amazonaws.com/prod';
const CREDENTIALS = { accessKeyId: 'ASIAEXAMPLE000000001', secretAccessKey: 'aws/secret/key' };

function awsTarget(streamUrl?: string): Target {
  return {
    kind: 'aws',
    apiUrl: API_URL,
    region: 'eu-west-1',
    ...(streamUrl === undefined ? {} : { streamUrl }),
    credentials: async () => CREDENTIALS,
    description: 'abc123.execute-api.eu-west-1.amazonaws.com',
  };
}

const LOCAL_TARGET: Target = {
  kind: 'local',
  apiUrl: 'http://127.0.0.1:3999',
  region: 'us-east-1',
  credentials: async () => ({ accessKeyId: 'AKIALOCALALICE000001', secretAccessKey: 'secret' }),
  description: 'the local cloud at http://127.0.0.1:3999',
};

/** A lifecycle event of job `name`, as the stack sends it. */
function started(name: string) {
  return {
    version: '0',
    id: `${name}-started`,
    'detail-type': 'Job Started',
    source: 'eventjobs',
    account: '000000000000',
    time: '2026-01-01T10:00:00Z',
    region: 'eu-west-1',
    resources: [],
    detail: {
      owner: 'arn:aws:iam::000000000000:user/alice',
      jobName: name,
      runId: 'R1',
      type: 'sleep',
      attempt: 1,
      startedAt: '2026-01-01T10:00:00.000Z',
    },
  };
}

function summary(jobName: string, status: JobStatus): JobSummary {
  return { jobName, runId: 'R1', type: 'sleep', status, createdAt: '2026-01-01T10:00:00.000Z' };
}

let calls: URL[] = [];
afterEach(() => {
  calls = [];
});

/** The jobs API: `GET /jobs?status=...` answers `jobs[status]`; anything else is unexpected. */
function jobsApi(jobs: Partial<Record<'RUNNING' | 'QUEUED', string[]>>): FetchFn {
  return async (input) => {
    const url = new URL(input);
    calls.push(url);
    const status = url.searchParams.get('status') as 'RUNNING' | 'QUEUED' | null;
    if (url.pathname !== '/jobs' || status === null) throw new Error(`unexpected request ${input}`);
    const page = { jobs: (jobs[status] ?? []).map((name) => summary(name, status)) };
    return new Response(JSON.stringify(page), {
      status: 200,
      headers: { 'content-type': 'application/json' },
    });
  };
}

/** The stack's WebSocket API: each subscription is answered with one event of its job. */
function stackWebSocket() {
  return fakeWebSocket((name) => [JSON.stringify({ type: 'event', seq: 1, event: started(name) })]);
}

/** The job names of the next `count` items of `iterator`. */
async function nextNames(iterator: AsyncIterator<StreamItem>, count: number): Promise<string[]> {
  const names: string[] = [];
  for (let i = 0; i < count; i++) {
    const next = await iterator.next();
    if (next.done) throw new Error(`the stream ended after ${i} of ${count} items`);
    names.push(next.value.event.detail.jobName);
  }
  return names;
}

async function websocketFeed(jobs: Partial<Record<'RUNNING' | 'QUEUED', string[]>>) {
  const ws = stackWebSocket();
  const feed = await liveFeed({
    http: new SignedHttp(awsTarget(STREAM_URL), jobsApi(jobs)),
    WebSocket: ws.FakeWebSocket,
    names: DEFAULT_OPTION_NAMES,
  });
  return { feed, ...ws };
}

function ownerIterator(feed: LiveFeed, signal: AbortSignal): AsyncIterator<StreamItem> {
  return feed.owner(signal)[Symbol.asyncIterator]();
}

describe('liveFeed over a deployed stack with a stream URL', () => {
  it('is a WebSocket feed that subscribes to each running and queued job', async () => {
    // Prepare
    const { feed, sockets, subscriptions } = await websocketFeed({
      RUNNING: ['run-1', 'run-2'],
      QUEUED: ['queued-1'],
    });
    const controller = new AbortController();

    // Act
    const iterator = ownerIterator(feed, controller.signal);
    const names = await nextNames(iterator, 3);
    controller.abort();

    // Assess
    expect(feed.kind).toBe('websocket');
    expect(feed.description).toContain(`at most ${MAX_FOLLOWED}`);
    expect(feed.job).toBeDefined();
    expect(names.sort()).toEqual(['queued-1', 'run-1', 'run-2']);
    expect(calls.map((url) => url.search)).toEqual([
      `?limit=${MAX_FOLLOWED}&status=RUNNING`,
      `?limit=${MAX_FOLLOWED}&status=QUEUED`,
    ]);
    expect(subscriptions().sort()).toEqual(['queued-1', 'run-1', 'run-2']);
    for (const socket of sockets) {
      const url = new URL(socket.url);
      expect(url.host).toBe('ws456.execute-api.eu-west-1.amazonaws.com');
      expect(url.searchParams.get('X-Amz-Credential')).toContain('/eu-west-1/execute-api/');
    }
    expect(await iterator.next()).toEqual({ done: true, value: undefined });
  });

  it(`follows at most ${MAX_FOLLOWED} jobs`, async () => {
    // Prepare: more running jobs than are followed, and queued ones behind them.
    const running = Array.from({ length: 60 }, (_, i) => `run-${i}`);
    const { feed, sockets, subscriptions } = await websocketFeed({
      RUNNING: running,
      QUEUED: ['queued-1', 'queued-2'],
    });
    const controller = new AbortController();
    const emitWarning = vi.spyOn(process, 'emitWarning');

    // Act: one event from each followed job; every follow was decided before the first.
    const iterator = ownerIterator(feed, controller.signal);
    const names = await nextNames(iterator, MAX_FOLLOWED);
    controller.abort();

    // Assess
    expect(sockets).toHaveLength(MAX_FOLLOWED);
    expect(subscriptions().sort()).toEqual(running.slice(0, MAX_FOLLOWED).sort());
    expect(names.sort()).toEqual(running.slice(0, MAX_FOLLOWED).sort());
    // One listener on the signal per followed job is no leak: no MaxListenersExceededWarning.
    const warnings = emitWarning.mock.calls.map(([warning]) => String(warning));
    expect(warnings.filter((warning) => warning.includes('MaxListeners'))).toEqual([]);
    expect(await iterator.next()).toEqual({ done: true, value: undefined });
  });

  it('started(name) makes an open list follow a job replayed later', async () => {
    // Prepare: a list following one running job.
    const { feed, subscriptions } = await websocketFeed({ RUNNING: ['run-1'] });
    const controller = new AbortController();
    const iterator = ownerIterator(feed, controller.signal);
    const before = await nextNames(iterator, 1);

    // Act
    feed.started('replayed-1');
    const after = await nextNames(iterator, 1);
    controller.abort();

    // Assess
    expect(before).toEqual(['run-1']);
    expect(after).toEqual(['replayed-1']);
    expect(subscriptions()).toEqual(['run-1', 'replayed-1']);
  });

  it('started(name) of a job already followed opens no second subscription', async () => {
    // Prepare
    const { feed, subscriptions } = await websocketFeed({ RUNNING: ['run-1'] });
    const controller = new AbortController();
    const iterator = ownerIterator(feed, controller.signal);
    await nextNames(iterator, 1);

    // Act: the same job again, then another, whose event comes next.
    feed.started('run-1');
    feed.started('replayed-1');
    const after = await nextNames(iterator, 1);
    controller.abort();

    // Assess
    expect(after).toEqual(['replayed-1']);
    expect(subscriptions()).toEqual(['run-1', 'replayed-1']);
  });

  it('aborting the signal ends a pending iteration and closes the sockets', async () => {
    // Prepare: a list that has had each job's event and waits for more.
    const { feed, sockets } = await websocketFeed({ RUNNING: ['run-1'], QUEUED: ['queued-1'] });
    const controller = new AbortController();
    const iterator = ownerIterator(feed, controller.signal);
    await nextNames(iterator, 2);
    const pending = iterator.next();

    // Act
    controller.abort();

    // Assess
    expect(await pending).toEqual({ done: true, value: undefined });
    expect(sockets).toHaveLength(2);
    await vi.waitFor(() => {
      expect(sockets.map((socket) => socket.closed)).toEqual([true, true]);
    });
  });
});

describe('liveFeed over a deployed stack without a stream', () => {
  it('without a stream URL is not live, says why, and its list ends when the signal aborts', async () => {
    // Prepare
    const { FakeWebSocket, sockets } = stackWebSocket();
    const feed = await liveFeed({
      http: new SignedHttp(awsTarget(), jobsApi({ RUNNING: ['run-1'] })),
      WebSocket: FakeWebSocket,
      names: DEFAULT_OPTION_NAMES,
    });
    const controller = new AbortController();

    // Act
    const pending = ownerIterator(feed, controller.signal).next();
    controller.abort();

    // Assess
    expect(feed.kind).toBe('none');
    expect(feed.description).toBe(
      'Not live: no stream URL was given (--stream-url, the stack output StreamUrl); reload the list to see changes.',
    );
    expect(feed.job).toBeUndefined();
    expect(await pending).toEqual({ done: true, value: undefined });
    expect(calls).toEqual([]);
    expect(sockets).toEqual([]);
  });

  it('without a WebSocket client in this Node.js is not live, and says why', async () => {
    // Prepare
    const http = new SignedHttp(awsTarget(STREAM_URL), jobsApi({}));

    // Act
    const feed = await liveFeed({ http, names: DEFAULT_OPTION_NAMES });

    // Assess
    expect(feed.kind).toBe('none');
    expect(feed.description).toContain('this Node.js has no WebSocket client');
    expect(feed.job).toBeUndefined();
  });

  it('an already aborted signal ends the list at once', async () => {
    // Prepare
    const feed = await liveFeed({
      http: new SignedHttp(awsTarget(), jobsApi({})),
      names: DEFAULT_OPTION_NAMES,
    });

    // Act
    const next = await ownerIterator(feed, AbortSignal.abort()).next();

    // Assess
    expect(next).toEqual({ done: true, value: undefined });
  });
});

describe('liveFeed over the local cloud', () => {
  it("is the owner's server-sent events (GET /events)", async () => {
    // Prepare: the local cloud's owner stream, with one event and left open.
    const requests: Array<{ url: string; accept: string | undefined }> = [];
    const fetchFn: FetchFn = async (input, init) => {
      const headers = init?.headers as Record<string, string> | undefined;
      requests.push({ url: input, accept: headers?.accept });
      const text = `id: 7\nevent: Job Started\ndata: ${JSON.stringify(started('local-1'))}\n\n`;
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new TextEncoder().encode(text));
        },
      });
      return new Response(body, { status: 200, headers: { 'content-type': 'text/event-stream' } });
    };
    const { FakeWebSocket, sockets } = stackWebSocket();
    const feed = await liveFeed({
      http: new SignedHttp(LOCAL_TARGET, fetchFn),
      WebSocket: FakeWebSocket,
      names: DEFAULT_OPTION_NAMES,
    });
    const controller = new AbortController();

    // Act
    const iterator = ownerIterator(feed, controller.signal);
    const first = await iterator.next();
    controller.abort();

    // Assess
    expect(feed.kind).toBe('sse');
    expect(feed.description).toContain('GET /events');
    expect(feed.job).toBeDefined();
    expect(first.value).toEqual({ seq: 7, event: started('local-1') });
    expect(requests).toEqual([
      { url: 'http://127.0.0.1:3999/events', accept: 'text/event-stream' },
    ]);
    expect(sockets).toEqual([]);
    expect(await iterator.next()).toEqual({ done: true, value: undefined });
  });
});
