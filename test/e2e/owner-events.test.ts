/**
 * The local cloud's owner-wide stream, `GET /events` over HTTP: the lifecycle
 * events of all of the caller's jobs as server-sent events, and never another
 * identity's. Local cloud only (on AWS the stream is the WebSocket API's).
 */
import { afterEach, describe, expect, inject, it } from 'vitest';
import { SseParser } from '../../client/sse';
import { type SigV4Credentials, signRequest } from '../../functions/shared/signer';
import { callApi, uniqueName } from './client';

const target = inject('e2e');

interface OwnerEvent {
  readonly id: string | undefined;
  readonly type: string;
  readonly event: {
    readonly 'detail-type': string;
    readonly detail: { readonly jobName: string; readonly owner?: string };
  };
}

/** One open `GET /events`, read as far as a test asks. */
class OwnerStream {
  readonly events: OwnerEvent[] = [];
  readonly #abort: AbortController;
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly #parser = new SseParser();
  readonly #decoder = new TextDecoder();

  private constructor(reader: ReadableStreamDefaultReader<Uint8Array>, abort: AbortController) {
    this.#reader = reader;
    this.#abort = abort;
  }

  static async open(who: SigV4Credentials): Promise<OwnerStream> {
    const abort = new AbortController();
    const response = await fetch(`${target.apiUrl}/events`, {
      headers: await signed(`${target.apiUrl}/events`, who),
      signal: abort.signal,
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    if (!response.body) throw new Error('GET /events has no body');
    const stream = new OwnerStream(response.body.getReader(), abort);
    open.push(stream);
    return stream;
  }

  /** Reads until an event of `jobName` of that detail-type has come. */
  async until(jobName: string, detailType: string): Promise<void> {
    const has = () =>
      this.events.some((e) => e.type === detailType && e.event.detail.jobName === jobName);
    while (!has()) {
      const { done, value } = await this.#reader.read();
      if (done) throw new Error(`GET /events ended before ${detailType} of ${jobName}`);
      for (const message of this.#parser.push(this.#decoder.decode(value, { stream: true }))) {
        this.events.push({ id: message.id, type: message.event, event: JSON.parse(message.data) });
      }
    }
  }

  jobNames(): Set<string> {
    return new Set(this.events.map((e) => e.event.detail.jobName));
  }

  close(): void {
    this.#abort.abort();
  }
}

const open: OwnerStream[] = [];

afterEach(() => {
  for (const stream of open.splice(0)) stream.close();
});

function signed(url: string, who: SigV4Credentials): Promise<Record<string, string>> {
  return signRequest({
    method: 'GET',
    url,
    headers: {},
    body: '',
    credentials: who,
    region: target.region,
    service: 'execute-api',
  });
}

async function startEcho(who: 'alice' | 'bob', name: string): Promise<void> {
  const answer = await callApi(target, target[who], 'POST', '/jobs', {
    type: 'echo',
    name,
    input: { value: name },
  });
  expect(answer.status, answer.text).toBe(202);
}

describe.runIf(target.kind === 'local')('GET /events (local cloud, owner-wide SSE)', () => {
  it("carries each caller's own jobs' events, in rising ids, and never another identity's", async () => {
    // Prepare
    const alice = await OwnerStream.open(target.alice);
    const bob = await OwnerStream.open(target.bob);
    const aliceFirst = uniqueName('owner-alice');
    const bobs = uniqueName('owner-bob');
    const aliceLast = uniqueName('owner-alice-last');

    // Act: one after another, so that a leak would come before the event each stream waits for.
    await startEcho('alice', aliceFirst);
    await alice.until(aliceFirst, 'Job Completed');
    await startEcho('bob', bobs);
    await bob.until(bobs, 'Job Completed');
    await startEcho('alice', aliceLast);
    await alice.until(aliceLast, 'Job Completed');

    // Assess
    expect(bob.jobNames().has(aliceFirst)).toBe(false);
    expect(bob.jobNames().has(aliceLast)).toBe(false);
    expect(alice.jobNames().has(bobs)).toBe(false);
    expect(bob.events.every((e) => e.event.detail.owner === target.bob.owner)).toBe(true);
    expect(alice.events.every((e) => e.event.detail.owner === target.alice.owner)).toBe(true);
    const ofFirst = alice.events.filter((e) => e.event.detail.jobName === aliceFirst);
    expect(ofFirst.map((e) => e.type)).toEqual(['Job Started', 'Job Completed']);
    for (const e of alice.events) expect(e.event['detail-type']).toBe(e.type);
    const ids = alice.events.map((e) => Number(e.id));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
  });

  it.each([
    ['a parameter', '?since=1'],
    ['an empty one', '?x='],
  ])('answers a query string (%s) with 400 and a JSON error', async (_, query) => {
    // Prepare
    const url = `${target.apiUrl}/events${query}`;

    // Act
    const response = await fetch(url, { headers: await signed(url, target.alice) });

    // Assess
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await response.json()).toEqual({
      error: { code: 'InvalidQuery', message: 'GET /events takes no query parameters' },
    });
  });

  it('refuses an unsigned request with 403', async () => {
    const response = await fetch(`${target.apiUrl}/events`);

    expect(response.status).toBe(403);
    expect(await response.json()).toMatchObject({ message: 'Forbidden' });
  });
});
