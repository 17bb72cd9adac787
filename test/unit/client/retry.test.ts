/**
 * The client retrying throttled calls, against a local HTTP server that
 * answers 429, 503 or API Gateway's bare 500 a few times and then 200. Waits
 * go through an injected `sleep` that only records them (and moves the fake
 * clock, so each attempt's signature date is the time it was sent): nothing
 * really waits, and nothing is timed.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  ApiError,
  ClientOptionError,
  type ClientOptions,
  createClient,
  type JobEvent,
  JobNotFoundError,
  type RetryNotice,
} from '../../../client';
import {
  BASE_DELAY_MS,
  backoffMs,
  delayBeforeRetry,
  MAX_DELAY_MS,
  parseRetryAfter,
  readThrottling,
} from '../../../client/retry';
import {
  GATEWAY_429,
  GATEWAY_500,
  jobView,
  LOCAL,
  QUEUE_FULL,
  REGION,
  THROTTLED,
  ThrottlingServer,
  UNAVAILABLE,
} from './throttling-server';

const START = new Date('2026-01-01T10:00:00.000Z');

let server: ThrottlingServer;
let waits: number[];
let notices: RetryNotice[];

beforeEach(async () => {
  // Only Date: the server's sockets and timers stay real.
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(START);
  server = await new ThrottlingServer().start();
  waits = [];
  notices = [];
});
afterEach(async () => {
  vi.useRealTimers();
  await server.close();
});

function client(options: Partial<ClientOptions> = {}) {
  return createClient({
    localCloud: { apiUrl: server.url, region: REGION, users: [LOCAL] },
    sleep: async (ms) => {
      waits.push(ms);
      vi.setSystemTime(Date.now() + ms);
    },
    onRetry: (notice) => notices.push(notice),
    ...options,
  });
}

const ok = (body: unknown) => ({ status: 200, body });

describe('the retries', () => {
  it('retries a 429 Throttled until the 200, each attempt signed anew after Retry-After', async () => {
    // Prepare
    server.answer(THROTTLED('1'), THROTTLED('3'), ok(jobView()));

    // Act
    const job = await client().get('j1');

    // Assess
    expect(job.jobName).toBe('j1');
    expect(server.received).toHaveLength(3);
    expect(server.received.every((r) => r.signed)).toBe(true);
    const dates = server.received.map((r) => r.headers['x-amz-date']);
    expect(new Set(dates).size).toBe(3);
    // Retry-After is a floor: 1 s, then 3 s, never less (the backoff is far below it here).
    expect(waits).toEqual([1000, 3000]);
    expect(notices).toEqual([
      {
        method: 'GET',
        path: '/jobs/j1',
        status: 429,
        code: 'Throttled',
        attempt: 2,
        maxAttempts: 5,
        delayMs: 1000,
      },
      expect.objectContaining({ attempt: 3, delayMs: 3000 }),
    ]);
  });

  it("retries a 503 and API Gateway's 429 and bare 500, with jittered backoff where no Retry-After", async () => {
    // Prepare
    server.answer(
      GATEWAY_429,
      GATEWAY_500,
      UNAVAILABLE('2'),
      ok({ jobName: 'j1', runId: 'R1', status: 'RUNNING', cancelRequestedAt: 'x' }),
    );

    // Act
    const answer = await client().cancel('j1');

    // Assess
    expect(answer.jobName).toBe('j1');
    expect(server.received.map((r) => r.method)).toEqual(['DELETE', 'DELETE', 'DELETE', 'DELETE']);
    expect(notices.map((n) => `${n.status} ${n.code}`)).toEqual([
      '429 Too Many Requests',
      '500 Internal Server Error',
      '503 ServiceUnavailable',
    ]);
    // Full jitter: somewhere in [0, base × 2^retries) for the gateway's answers.
    expect(waits[0]).toBeGreaterThanOrEqual(0);
    expect(waits[0]).toBeLessThan(BASE_DELAY_MS);
    expect(waits[1]).toBeLessThan(BASE_DELAY_MS * 2);
    expect(waits[2]).toBe(2000);
  });

  it('retries a 429 QueueFull after its 30 s Retry-After (the queue drains)', async () => {
    // Prepare
    server.answer(QUEUE_FULL, {
      status: 202,
      body: { jobName: 'nightly', runId: 'R2', status: 'QUEUED' },
    });

    // Act
    const started = await client().start({ type: 'sleep', name: 'nightly' });

    // Assess
    expect(started).toMatchObject({ jobName: 'nightly', runId: 'R2', created: true });
    expect(waits).toEqual([30_000]);
    expect(server.bodies()).toEqual([
      { type: 'sleep', name: 'nightly' },
      { type: 'sleep', name: 'nightly' },
    ]);
  });

  it('retries a throttled signal with the same payload, which the API takes as one signal', async () => {
    // Prepare: the first attempt may have been stored; the repeat is then a duplicate
    const sent = { jobName: 'nightly', runId: 'R2', signal: 'approval', receivedAt: 'x' };
    server.answer(UNAVAILABLE('1'), { status: 202, body: { ...sent, duplicate: true } });

    // Act
    const answer = await client().signal('nightly', 'approval', { approved: true });

    // Assess
    expect(answer).toEqual({ ...sent, duplicate: true });
    expect(server.received.map((r) => `${r.method} ${r.url}`)).toEqual([
      'POST /jobs/nightly/signals/approval',
      'POST /jobs/nightly/signals/approval',
    ]);
    expect(server.bodies()).toEqual([{ approved: true }, { approved: true }]);
    expect(waits).toEqual([1000]);
  });

  it('gives an unnamed start its name before the first attempt, and every retry repeats it', async () => {
    // Prepare
    const started = { runId: 'R1', status: 'RUNNING' };
    server.answer(GATEWAY_500, UNAVAILABLE('1'), THROTTLED('1'), {
      status: 202,
      body: started,
    });

    // Act
    const answer = await client().start({ type: 'echo', input: { text: 'hi' } });

    // Assess
    const bodies = server.bodies() as { name?: string }[];
    expect(bodies).toHaveLength(4);
    const name = bodies[0]?.name;
    expect(name).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(bodies).toEqual(bodies.map(() => ({ type: 'echo', name, input: { text: 'hi' } })));
    expect(answer.created).toBe(true);
  });

  it('gives an unnamed replay its name before the first attempt, so a retry cannot start two runs', async () => {
    // Prepare: the first attempt may have started the run; the repeat then answers 200 for it
    server.answer(UNAVAILABLE('1'), ok({ jobName: 'x', runId: 'R2', status: 'RUNNING' }));

    // Act
    const answer = await client().replay('nightly');

    // Assess
    expect(server.received.map((r) => `${r.method} ${r.url}`)).toEqual([
      'POST /jobs/nightly/replay',
      'POST /jobs/nightly/replay',
    ]);
    const bodies = server.bodies() as { name?: string }[];
    expect(bodies[0]?.name).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(bodies[1]).toEqual(bodies[0]);
    expect(answer).toMatchObject({ runId: 'R2', created: true });
  });

  it('reads a 200 for its own generated name as created: an earlier attempt of this call started it', async () => {
    // Prepare: the first attempt was recorded, though its answer was a 503.
    server.answer(UNAVAILABLE('1'), ok({ jobName: 'x', runId: 'R1', status: 'RUNNING' }));

    // Act
    const answer = await client().start({ type: 'echo' });

    // Assess
    expect(answer.created).toBe(true);
    expect(server.received).toHaveLength(2);
  });

  it('retries every page of listAll and the opening of the event stream', async () => {
    // Prepare
    const completed = {
      version: '0',
      id: 'e1',
      'detail-type': 'Job Completed',
      source: 'eventjobs',
      account: '000000000000',
      time: '2026-01-01T10:00:00Z',
      region: REGION,
      resources: [],
      detail: {
        owner: 'o',
        jobName: 'j1',
        runId: 'R1',
        type: 'sleep',
        attempt: 1,
        startedAt: START.toISOString(),
        finishedAt: START.toISOString(),
        durationMs: 0,
        result: {},
      },
    };
    server.answer(
      ok({ jobs: [{ jobName: 'a' }], nextCursor: 'c1' }),
      THROTTLED('1'),
      ok({ jobs: [{ jobName: 'b' }] }),
      GATEWAY_500,
      {
        status: 200,
        body: `id: 1\nevent: Job Completed\ndata: ${JSON.stringify(completed)}\n\n`,
        headers: { 'content-type': 'text/event-stream' },
      },
    );
    const jobs = client();

    // Act
    const names: string[] = [];
    for await (const job of jobs.listAll()) names.push(job.jobName);
    const events: JobEvent[] = [];
    for await (const event of jobs.watch('j1')) events.push(event);

    // Assess
    expect(names).toEqual(['a', 'b']);
    expect(server.received.map((r) => r.url)).toEqual([
      '/jobs',
      '/jobs?cursor=c1',
      '/jobs?cursor=c1',
      '/jobs/j1/events',
      '/jobs/j1/events',
    ]);
    expect(events.map((e) => e['detail-type'])).toEqual(['Job Completed']);
  });
});

describe('what is not retried, and giving up', () => {
  it.each([
    [400, { error: { code: 'InvalidInput', message: 'bad' } }],
    [403, { message: 'The security token included in the request is invalid.' }],
    [404, { error: { code: 'NotFound', message: 'No job named "j1"' } }],
    [409, { error: { code: 'JobFinished', message: 'finished' } }],
    [500, { error: { code: 'InternalError', message: 'a fault, not throttling' } }],
    [502, { message: 'Bad Gateway' }],
  ])('answers a %i at once, without a retry', async (status, body) => {
    // Prepare
    server.answer({ status, body }, ok(jobView()));

    // Act
    const error = await client()
      .get('j1')
      .catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status, attempts: 1 });
    expect(server.received).toHaveLength(1);
    expect(waits).toEqual([]);
  });

  it('a 404 stays a JobNotFoundError', async () => {
    server.answer({ status: 404, body: { error: { code: 'NotFound', message: 'none' } } });
    await expect(client().get('j1')).rejects.toBeInstanceOf(JobNotFoundError);
  });

  it('throws the last answer as an ApiError with the number of attempts when they run out', async () => {
    // Prepare
    server.answer(THROTTLED('1'), THROTTLED('1'), UNAVAILABLE('1'), THROTTLED('1'), ok(jobView()));

    // Act
    const error = await client({ maxAttempts: 4 })
      .get('j1')
      .catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({
      status: 429,
      code: 'Throttled',
      attempts: 4,
      hint: 'still throttled after 4 attempts; try again later',
    });
    expect(server.received).toHaveLength(4);
    expect(waits).toHaveLength(3);
  });

  it('maxAttempts 1 turns retrying off', async () => {
    server.answer(GATEWAY_500, ok(jobView()));
    const error = await client({ maxAttempts: 1 })
      .get('j1')
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 500, attempts: 1, message: 'Internal Server Error' });
    expect(server.received).toHaveLength(1);
  });

  it('does not wait out a Retry-After longer than 120 s: the answer is the error', async () => {
    server.answer(THROTTLED('600'), ok(jobView()));
    const error = await client()
      .get('j1')
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 429, attempts: 1 });
    expect(waits).toEqual([]);
  });

  it("an abort during the wait rejects with the caller's reason and sends nothing more", async () => {
    // Prepare: the real sleep, aborted as the retry is announced.
    server.answer(THROTTLED('60'), ok(jobView()));
    const controller = new AbortController();
    const reason = new DOMException('stopped', 'AbortError');
    const jobs = client({ sleep: undefined, onRetry: () => controller.abort(reason) });

    // Act
    const error = await jobs.get('j1', { signal: controller.signal }).catch((e: unknown) => e);

    // Assess
    expect(error).toBe(reason);
    expect(server.received).toHaveLength(1);
  });

  it.each([0, -1, 1.5, Number.NaN])('refuses maxAttempts %s with a ClientOptionError', (value) => {
    expect(() => client({ maxAttempts: value })).toThrow(ClientOptionError);
    expect(() => client({ maxAttempts: value })).toThrow(/maxAttempts must be a whole number/);
  });
});

describe('the pieces', () => {
  it('reads Retry-After as seconds or an HTTP-date, and ignores anything else', () => {
    const now = START.getTime();
    expect(parseRetryAfter('7', now)).toBe(7000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
    expect(parseRetryAfter('Thu, 01 Jan 2026 10:00:05 GMT', now)).toBe(5000);
    expect(parseRetryAfter('Thu, 01 Jan 2026 09:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter('-3', now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });

  it('backs off exponentially with full jitter, capped at 20 s', () => {
    expect(backoffMs(0, () => 0)).toBe(0);
    expect(backoffMs(0, () => 0.999)).toBe(99);
    expect(backoffMs(3, () => 0.5)).toBe(400);
    expect(backoffMs(30, () => 0.999)).toBe(Math.floor(0.999 * MAX_DELAY_MS));
  });

  it('never waits less than Retry-After, and stops when the attempts are used up', () => {
    const answer = { status: 429, code: 'Throttled', retryAfterMs: 1000 };
    expect(delayBeforeRetry(answer, 1, 5, () => 0)).toBe(1000);
    expect(delayBeforeRetry(answer, 5, 8, () => 0.999)).toBe(1598);
    expect(delayBeforeRetry(answer, 5, 5)).toBeUndefined();
  });

  it('tells throttling from a fault by the status and, for a 500, the body', async () => {
    const response = (status: number, body: unknown) =>
      new Response(JSON.stringify(body), { status, headers: { 'retry-after': '2' } });
    expect(await readThrottling(response(429, { message: 'Too Many Requests' }))).toEqual({
      status: 429,
      code: 'Too Many Requests',
      retryAfterMs: 2000,
    });
    expect(await readThrottling(response(500, { message: 'Internal Server Error' }))).toMatchObject(
      { status: 500 },
    );
    expect(
      await readThrottling(response(500, { error: { code: 'InternalError' } })),
    ).toBeUndefined();
    expect(await readThrottling(response(504, { message: 'Gateway Timeout' }))).toBeUndefined();
    expect(await readThrottling(response(200, {}))).toBeUndefined();
  });
});
