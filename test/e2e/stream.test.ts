/**
 * The live event stream of the local cloud: `GET /jobs/{name}/events`
 * (Server-Sent Events). In AWS the same documents come over the WebSocket API,
 * which the local cloud does not run, so this file runs against the local cloud.
 */
import { describe, expect, inject, it } from 'vitest';
import { SseParser } from '../../client/sse';
import { type SigV4Credentials, signRequest } from '../../functions/shared/signer';
import { callApi, eventually, uniqueName } from './client';

const target = inject('e2e');

interface StreamedEvent {
  readonly id: string | undefined;
  readonly type: string;
  readonly event: {
    readonly id: string;
    readonly 'detail-type': string;
    readonly source: string;
    readonly detail: { readonly runId: string; readonly jobName: string };
  };
}

interface Stream {
  readonly status: number;
  readonly contentType: string | null;
  readonly events: StreamedEvent[];
  /** The JSON body of a refusal. */
  readonly body?: unknown;
  /** Whether the server ended the stream (rather than the test's time limit). */
  readonly ended: boolean;
}

/** Reads the stream until the server closes it, or `timeoutMs` passes. */
async function readStream(
  name: string,
  who: SigV4Credentials = target.alice,
  timeoutMs = 30_000,
): Promise<Stream> {
  const url = `${target.apiUrl}/jobs/${name}/events`;
  const signed = await signRequest({
    method: 'GET',
    url,
    headers: {},
    body: '',
    credentials: who,
    region: target.region,
    service: 'execute-api',
  });
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), timeoutMs);
  try {
    const response = await fetch(url, { headers: signed, signal: abort.signal });
    const contentType = response.headers.get('content-type');
    if (response.status !== 200) {
      return {
        status: response.status,
        contentType,
        events: [],
        body: await response.json(),
        ended: true,
      };
    }
    const parser = new SseParser();
    const events: StreamedEvent[] = [];
    const decoder = new TextDecoder();
    let ended = false;
    try {
      for await (const chunk of response.body ?? []) {
        for (const message of parser.push(decoder.decode(chunk as Uint8Array, { stream: true }))) {
          events.push({ id: message.id, type: message.event, event: JSON.parse(message.data) });
        }
      }
      ended = true;
    } catch (error) {
      if (!abort.signal.aborted) throw error;
    }
    return { status: 200, contentType, events, ended };
  } finally {
    clearTimeout(timer);
  }
}

async function start(type: string, name: string, input: unknown): Promise<string> {
  const response = await callApi(target, target.alice, 'POST', '/jobs', { type, name, input });
  expect(response.status).toBe(202);
  return (response.body as { runId: string }).runId;
}

describe.runIf(target.kind === 'local')('the live event stream (local cloud, SSE)', () => {
  it('1. delivers every lifecycle event of a run in order, then closes after the terminal one', async () => {
    const name = uniqueName('stream');
    const runId = await start('sleep', name, { seconds: 2.5 });

    const stream = await readStream(name);

    expect(stream.status).toBe(200);
    expect(stream.contentType).toMatch(/^text\/event-stream/);
    expect(stream.ended).toBe(true);
    const types = stream.events.map((e) => e.type);
    expect(types[0]).toBe('Job Started');
    expect(types.at(-1)).toBe('Job Completed');
    expect(types.slice(1, -1).every((t) => t === 'Job Progress')).toBe(true);
    expect(types.filter((t) => t === 'Job Progress').length).toBeGreaterThanOrEqual(1);
    // Ids count up from 1 without a gap, and every document is the EventBridge event of this run.
    expect(stream.events.map((e) => e.id)).toEqual(stream.events.map((_, i) => String(i + 1)));
    for (const { type, event } of stream.events) {
      expect(event['detail-type']).toBe(type);
      expect(event.source).toBe('eventjobs');
      expect(event.detail).toMatchObject({ runId, jobName: name });
    }
    expect(new Set(stream.events.map((e) => e.event.id)).size).toBe(stream.events.length);
  });

  it('2. a client that connects after the end still gets the events so far, then the stream closes', async () => {
    const name = uniqueName('stream-late');
    const runId = await start('fail', name, { message: 'on purpose' });
    await eventually(`${name} to fail`, async () => {
      const response = await callApi(target, target.alice, 'GET', `/jobs/${name}`);
      return (response.body as { status?: string }).status === 'FAILED' ? true : undefined;
    });

    const stream = await readStream(name);

    expect(stream.ended).toBe(true);
    expect(stream.events.map((e) => e.type)).toEqual(['Job Started', 'Job Failed']);
    expect(stream.events.every((e) => e.event.detail.runId === runId)).toBe(true);
  });

  it('3. Last-Event-ID resumes after the events a client already has', async () => {
    const name = uniqueName('stream-resume');
    await start('echo', name, { value: 'hi' });
    const first = await readStream(name);
    expect(first.events.map((e) => e.type)).toEqual(['Job Started', 'Job Completed']);

    const url = `${target.apiUrl}/jobs/${name}/events`;
    const headers = { 'last-event-id': '1' };
    const signed = await signRequest({
      method: 'GET',
      url,
      headers,
      body: '',
      credentials: target.alice,
      region: target.region,
      service: 'execute-api',
    });
    const text = await (await fetch(url, { headers: { ...headers, ...signed } })).text();
    const resumed = new SseParser().push(text);
    expect(resumed.map((m) => [m.id, m.event])).toEqual([['2', 'Job Completed']]);
  });

  it('4. answers an unknown job with 404 and a JSON error, and so does another identity', async () => {
    const missing = await readStream(uniqueName('no-such-job'));
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ error: { code: 'NotFound' } });

    const name = uniqueName('stream-private');
    await start('echo', name, { value: 1 });
    const other = await readStream(name, target.bob);
    expect(other.status).toBe(404);
  });

  it('5. refuses an unsigned request with 403', async () => {
    const response = await fetch(`${target.apiUrl}/jobs/anything/events`);
    expect(response.status).toBe(403);
    // AWS's own answer; the local cloud adds a hint of where the signing keys are.
    expect(await response.json()).toEqual({
      message: 'Forbidden',
      ...(target.kind === 'local' ? { localHint: expect.stringMatching(/SigV4/) } : {}),
    });
  });
});
