/**
 * `watch()`: a job's lifecycle events over the local cloud's server-sent
 * events (a fake fetch with a streamed body) and over a deployed stack's
 * WebSocket (a scripted fake socket).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  ApiError,
  ClientOptionError,
  createClient,
  EventStreamEndedError,
  type JobEvent,
  JobNotFoundError,
  UnreachableError,
  UnreadableEventError,
} from '../../../client';
import { DEFAULT_OPTION_NAMES } from '../../../client/target';
import { webSocketSource } from '../../../client/websocket';
import type { LocalCredential } from '../../../local/contracts';
import { verifyRequest } from '../../../local/sigv4';
import { fakeWebSocket } from './fake-websocket';

const LOCAL = { accessKeyId: 'AKIALOCALALICE000001', secretAccessKey: 'local/alice/secret' };
const AWS = {
  accessKeyId: 'ASIAEXAMPLE000000001',
  secretAccessKey: 'aws/secret/key',
  sessionToken: 'FwoGZXIvYXdzEXAMPLEsessiontoken//+==',
};
const API_URL = 'https://abc123.execute-api.eu-west-1.amazonaws.com';
const STREAM_URL = 'wss://ws456.execute-api.eu-west-1.amazonaws.com/prod';

const owner = 'arn:aws:iam::000000000000:user/alice';
function event(id: string, type: string, detail: Record<string, unknown>, runId = 'R1') {
  return {
    version: '0',
    id,
    'detail-type': type,
    source: 'eventjobs',
    account: '000000000000',
    time: '2026-01-01T10:00:00Z',
    region: 'us-east-1',
    resources: [],
    detail: { owner, jobName: 'j1', runId, type: 'sleep', ...detail },
  };
}
const at = '2026-01-01T10:00:00.000Z';
const STARTED = event('e1', 'Job Started', { attempt: 1, startedAt: at });
const PROGRESS = event('e2', 'Job Progress', { attempt: 1, percent: 50, at });
const COMPLETED = event('e3', 'Job Completed', {
  attempt: 1,
  startedAt: at,
  finishedAt: at,
  durationMs: 0,
  result: { value: 42 },
});

function sseMessage(seq: number, value: { 'detail-type': string }): string {
  return `id: ${seq}\nevent: ${value['detail-type']}\ndata: ${JSON.stringify(value)}\n\n`;
}

/** A `text/event-stream` answer: `chunks`, then the end of the stream unless `open`. */
function sse(chunks: string[], options: { open?: boolean; onCancel?: () => void } = {}): Response {
  return new Response(
    new ReadableStream<Uint8Array>({
      start(controller) {
        for (const chunk of chunks) controller.enqueue(new TextEncoder().encode(chunk));
        if (!options.open) controller.close();
      },
      cancel: options.onCancel,
    }),
    { status: 200, headers: { 'content-type': 'text/event-stream' } },
  );
}

let dir: string;
let answers: Response[];
let calls: Array<{ url: string; headers: Record<string, string> }>;
const fetchFn = async (url: string, init?: RequestInit): Promise<Response> => {
  calls.push({ url, headers: init?.headers as Record<string, string> });
  const answer = answers.shift();
  if (answer === undefined) throw new Error(`unexpected request ${url}`);
  return answer;
};

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'eventjobs-watch-'));
  answers = [];
  calls = [];
  mkdirSync(join(dir, '.eventjobs'));
  writeFileSync(
    join(dir, '.eventjobs/local.json'),
    JSON.stringify({
      pid: 4242,
      region: 'us-east-1',
      apiUrl: 'http://127.0.0.1:3999',
      credentials: LOCAL,
    }),
  );
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function localClient() {
  return createClient({ cwd: dir, env: {}, fetch: fetchFn, isAlive: () => true });
}

async function collect(events: AsyncIterable<JobEvent>): Promise<JobEvent[]> {
  const seen: JobEvent[] = [];
  for await (const e of events) seen.push(e);
  return seen;
}

describe('watch over server-sent events (the local cloud)', () => {
  it('yields the events in order and ends after the terminal one', async () => {
    // Prepare: the stream cut at awkward places, and open after the terminal event.
    const text = `: hello\n\n${sseMessage(1, STARTED)}${sseMessage(2, PROGRESS)}${sseMessage(3, COMPLETED)}`;
    answers.push(sse([text.slice(0, 17), text.slice(17, 200), text.slice(200)], { open: true }));

    // Act
    const events = await collect(localClient().watch('j1'));

    // Assess
    expect(events).toEqual([STARTED, PROGRESS, COMPLETED]);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.url).toBe('http://127.0.0.1:3999/jobs/j1/events');
    expect(calls[0]?.headers.accept).toBe('text/event-stream');
    const url = new URL(calls[0]?.url ?? '');
    const stored: LocalCredential = {
      ...LOCAL,
      accountId: '000000000000',
      arn: owner,
      userId: 'AIDA',
      name: 'alice',
    };
    expect(
      await verifyRequest(
        {
          method: 'GET',
          rawPath: url.pathname,
          rawQuery: '',
          headers: { ...calls[0]?.headers, host: url.host },
          body: '',
        },
        { lookup: () => stored },
        { region: 'us-east-1', service: 'execute-api' },
      ),
    ).toMatchObject({ ok: true });
  });

  it('with runId, skips the events of other runs of the same name', async () => {
    // Prepare
    const stale = event('old', 'Job Completed', { result: 'stale' }, 'R0');
    answers.push(sse([sseMessage(1, stale), sseMessage(2, STARTED), sseMessage(3, COMPLETED)]));

    // Act
    const events = await collect(localClient().watch('j1', { runId: 'R1' }));

    // Assess
    expect(events.map((e) => e.id)).toEqual(['e1', 'e3']);
  });

  it('reopens a stream that ends early, and yields each event once', async () => {
    // Prepare
    answers.push(
      sse([sseMessage(1, STARTED)]),
      sse([sseMessage(1, STARTED), sseMessage(2, COMPLETED)]),
    );

    // Act
    const events = await collect(localClient().watch('j1'));

    // Assess
    expect(events.map((e) => e['detail-type'])).toEqual(['Job Started', 'Job Completed']);
    expect(calls).toHaveLength(2);
  });

  it('gives up after maxReconnects with EventStreamEndedError', async () => {
    // Prepare
    answers.push(sse([sseMessage(1, STARTED)]), sse([]));
    const seen: string[] = [];

    // Act
    const error = await (async () => {
      for await (const e of localClient().watch('j1', { maxReconnects: 1 })) seen.push(e.id);
    })().catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(EventStreamEndedError);
    expect(error).toBeInstanceOf(UnreachableError);
    expect(error).toMatchObject({ name: 'EventStreamEndedError', jobName: 'j1' });
    expect(seen).toEqual(['e1']);
    expect(calls).toHaveLength(2);
  });

  it('a 404 is a JobNotFoundError at once, without reconnecting', async () => {
    // Prepare
    answers.push(
      new Response(
        JSON.stringify({ error: { code: 'JobNotFound', message: 'No job named "j1"' } }),
        {
          status: 404,
        },
      ),
    );

    // Act
    const error = await collect(localClient().watch('j1')).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(JobNotFoundError);
    expect(error).toMatchObject({ status: 404, code: 'JobNotFound' });
    expect(calls).toHaveLength(1);
  });

  it('an event that is not JSON is an UnreadableEventError', async () => {
    // Prepare
    answers.push(sse(['event: Job Started\ndata: {nope\n\n']));

    // Act
    const error = await collect(localClient().watch('j1')).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(UnreadableEventError);
    expect((error as Error).message).toBe(
      'the event stream sent an unreadable event: its data is not JSON',
    );
  });

  it('aborting the signal ends the events quietly and lets go of the stream', async () => {
    // Prepare
    const onCancel = vi.fn();
    answers.push(sse([sseMessage(1, STARTED)], { open: true, onCancel }));
    const controller = new AbortController();
    const seen: string[] = [];

    // Act
    for await (const e of localClient().watch('j1', { signal: controller.signal })) {
      seen.push(e.id);
      controller.abort();
    }

    // Assess
    expect(seen).toEqual(['e1']);
    expect(onCancel).toHaveBeenCalled();
  });

  it('breaking out of the loop lets go of the stream', async () => {
    // Prepare
    const onCancel = vi.fn();
    answers.push(sse([sseMessage(1, STARTED), sseMessage(2, PROGRESS)], { open: true, onCancel }));

    // Act
    for await (const e of localClient().watch('j1')) {
      if (e.id === 'e1') break;
    }

    // Assess
    expect(onCancel).toHaveBeenCalled();
  });
});

const frame = (seq: number, value: unknown) => JSON.stringify({ type: 'event', seq, event: value });

describe('watch over the WebSocket stream (a deployed stack)', () => {
  it('connects with a presigned URL, subscribes, and ends after the terminal event', async () => {
    // Prepare
    const { FakeWebSocket, sockets } = fakeWebSocket(() => [
      frame(1, STARTED),
      JSON.stringify({ type: 'subscribed' }),
      frame(2, COMPLETED),
      frame(3, PROGRESS),
    ]);
    const client = createClient({
      url: API_URL,
      streamUrl: STREAM_URL,
      credentials: AWS,
      env: {},
      WebSocket: FakeWebSocket,
    });

    // Act
    const events = await collect(client.watch('j1'));

    // Assess
    expect(events).toEqual([STARTED, COMPLETED]);
    const socket = sockets[0];
    expect(socket?.sent).toEqual([JSON.stringify({ action: 'subscribe', name: 'j1' })]);
    const url = new URL(socket?.url ?? '');
    expect(url.host).toBe('ws456.execute-api.eu-west-1.amazonaws.com');
    expect(url.searchParams.get('X-Amz-Expires')).toBe('60');
    expect(url.searchParams.get('X-Amz-Security-Token')).toBe(AWS.sessionToken);
    expect(url.searchParams.get('X-Amz-Credential')).toContain('/eu-west-1/execute-api/');
    expect(socket?.closed).toBe(true);
  });

  it.each([
    ['JobNotFound', JobNotFoundError, 404],
    ['Forbidden', ApiError, 0],
  ])('an error message %s ends the events with an ApiError', async (code, ErrorClass, status) => {
    // Prepare
    const { FakeWebSocket } = fakeWebSocket(() => [
      JSON.stringify({ type: 'error', code, message: 'no' }),
      'close',
    ]);
    const client = createClient({
      url: API_URL,
      streamUrl: STREAM_URL,
      credentials: AWS,
      env: {},
      WebSocket: FakeWebSocket,
    });

    // Act
    const error = await collect(client.watch('j1')).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(ErrorClass);
    expect(error).toMatchObject({ code, status, message: 'no' });
  });

  it('aborted while its credentials are awaited, opens no socket and ends', async () => {
    // Prepare: credentials that arrive only after the caller has aborted
    const { FakeWebSocket, sockets } = fakeWebSocket(() => [frame(1, STARTED)]);
    const controller = new AbortController();
    const source = webSocketSource({
      target: {
        kind: 'aws',
        apiUrl: API_URL,
        streamUrl: STREAM_URL,
        region: 'eu-west-1',
        description: 'a deployed stack',
        credentials: async () => {
          controller.abort();
          return AWS;
        },
      },
      WebSocket: FakeWebSocket,
      names: DEFAULT_OPTION_NAMES,
    });

    // Act
    const first = await source('j1', controller.signal)[Symbol.asyncIterator]().next();

    // Assess
    expect(first.done).toBe(true);
    expect(sockets).toHaveLength(0);
  });

  it('without streamUrl, watch and assertCanWatch throw ClientOptionError before connecting', async () => {
    // Prepare
    const { FakeWebSocket, sockets } = fakeWebSocket(() => []);
    const client = createClient({
      url: API_URL,
      credentials: AWS,
      env: {},
      WebSocket: FakeWebSocket,
    });

    // Act
    const fromWatch = await collect(client.watch('j1')).catch((e: unknown) => e);
    const fromCheck = await client.assertCanWatch().catch((e: unknown) => e);

    // Assess
    expect(fromWatch).toBeInstanceOf(ClientOptionError);
    expect(fromWatch).toMatchObject({ option: 'streamUrl' });
    expect((fromWatch as Error).message).toContain('pass the streamUrl option wss://...');
    expect(fromCheck).toBeInstanceOf(ClientOptionError);
    expect(sockets).toEqual([]);
  });

  it('without a WebSocket in this Node.js, says how to get one', async () => {
    // Prepare
    vi.stubGlobal('WebSocket', undefined);
    const client = createClient({ url: API_URL, streamUrl: STREAM_URL, credentials: AWS, env: {} });

    try {
      // Act
      const error = await client.assertCanWatch().catch((e: unknown) => e);

      // Assess
      expect(error).toBeInstanceOf(UnreachableError);
      expect((error as UnreachableError).hint).toContain('--experimental-websocket');
    } finally {
      vi.unstubAllGlobals();
    }
  });
});
