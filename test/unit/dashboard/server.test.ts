/**
 * The dashboard server's guards and its answers to bad input, with the jobs
 * API replaced by a fetch stub: loopback Host only, the token on every API
 * request and on the page, 4xx JSON for bad queries and bodies, the API's own
 * errors passed on unchanged, the type filter's paging and the statistics.
 */
import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import type { FetchFn } from '../../../client/http';
import { percentile } from '../../../dashboard/api';
import { type RunningDashboard, startDashboard } from '../../../dashboard/server';

const TOKEN = 'test-token-0123456789';
let dashboard: RunningDashboard | undefined;
let calls: string[] = [];

afterEach(async () => {
  await dashboard?.close();
  dashboard = undefined;
  calls = [];
});

/** A dashboard whose API answers with `answer(method, url)`. */
async function start(answer: (method: string, url: URL) => Response): Promise<RunningDashboard> {
  const fetchStub: FetchFn = async (input, init) => {
    const url = new URL(input);
    calls.push(`${init?.method ?? 'GET'} ${url.pathname}${url.search}`);
    return answer(init?.method ?? 'GET', url);
  };
  dashboard = await startDashboard({
    target: {
      kind: 'local',
      apiUrl: 'http://127.0.0.1:9',
      region: 'us-east-1',
      credentials: async () => ({ accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' }),
      description: 'a stub',
    },
    fetch: fetchStub,
    token: TOKEN,
  });
  return dashboard;
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json' },
  });
}

/** A raw request, so that the Host header can be anything. */
function send(
  port: number,
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, method: options.method ?? 'GET', headers: options.headers },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

function withToken(port: number, extra: Record<string, string> = {}) {
  return { host: `127.0.0.1:${port}`, 'x-dashboard-token': TOKEN, ...extra };
}

describe('the dashboard server', () => {
  it('listens on 127.0.0.1 and prints a URL with its token', async () => {
    const { url, port } = await start(() => json(200, { jobs: [] }));
    expect(url).toBe(`http://127.0.0.1:${port}/?token=${TOKEN}`);
  });

  it('refuses a Host that is not its own (DNS rebinding), also with the token', async () => {
    const { port } = await start(() => json(200, { jobs: [] }));
    for (const host of ['evil.example:80', `evil.example:${port}`, `127.0.0.1:${port + 1}`]) {
      const answer = await send(port, '/api/jobs', { headers: { ...withToken(port), host } });
      expect(answer.status).toBe(403);
      expect(JSON.parse(answer.body)).toMatchObject({ error: { code: 'InvalidHost' } });
    }
    expect(calls).toEqual([]);
    const local = await send(port, '/api/session', {
      headers: withToken(port, { host: `localhost:${port}` }),
    });
    expect(local.status).toBe(200);
  });

  it('refuses API requests without the token header, and the page without the token in its URL', async () => {
    const { port } = await start(() => json(200, { jobs: [] }));
    const host = `127.0.0.1:${port}`;
    const noHeader = await send(port, `/api/jobs?token=${TOKEN}`, {
      headers: { host, cookie: `token=${TOKEN}` },
    });
    const wrong = await send(port, '/api/jobs', { headers: { host, 'x-dashboard-token': 'nope' } });
    const page = await send(port, '/', { headers: { host } });
    const pageWithToken = await send(port, `/?token=${TOKEN}`, { headers: { host } });
    expect([noHeader.status, wrong.status, page.status]).toEqual([403, 403, 403]);
    expect(JSON.parse(noHeader.body)).toMatchObject({ error: { code: 'InvalidToken' } });
    expect(calls).toEqual([]);
    expect(pageWithToken.status).toBe(200);
    expect(pageWithToken.headers['content-security-policy']).toContain("script-src 'self'");
    expect(pageWithToken.body).toContain('<script src="/app.js"');
  });

  it.each([
    ['/api/jobs?status=DONE', 400, 'InvalidStatus'],
    ['/api/jobs?limit=0', 400, 'InvalidLimit'],
    ['/api/jobs?limit=abc', 400, 'InvalidLimit'],
    ['/api/jobs?type=%3Cscript%3E', 400, 'InvalidType'],
    ['/api/jobs?colour=red', 400, 'InvalidQuery'],
    ['/api/jobs/%E0%A4%A', 400, 'InvalidJobName'],
    ['/api/nothing', 404, 'NotFound'],
  ])('answers %s with %i %s, asking the API nothing', async (path, status, code) => {
    const { port } = await start(() => json(200, { jobs: [] }));
    const answer = await send(port, path, { headers: withToken(port) });
    expect(answer.status).toBe(status);
    expect(JSON.parse(answer.body)).toMatchObject({ error: { code } });
    expect(calls).toEqual([]);
  });

  it('refuses a replay body that is not JSON, or too large', async () => {
    const { port } = await start(() => json(202, { jobName: 'x' }));
    const text = await send(port, '/api/jobs/a/replay', {
      method: 'POST',
      headers: withToken(port, { 'content-type': 'text/plain' }),
      body: 'name=x',
    });
    const broken = await send(port, '/api/jobs/a/replay', {
      method: 'POST',
      headers: withToken(port, { 'content-type': 'application/json' }),
      body: '{',
    });
    const large = await send(port, '/api/jobs/a/replay', {
      method: 'POST',
      headers: withToken(port, { 'content-type': 'application/json' }),
      body: JSON.stringify({ name: 'x'.repeat(20_000) }),
    });
    expect([text.status, broken.status, large.status]).toEqual([415, 400, 413]);
    expect(calls).toEqual([]);
  });

  it("passes the API's errors on as they came", async () => {
    const body = { error: { code: 'JobStillRunning', message: 'The job is running' } };
    const { port } = await start(() => json(409, body));
    const answer = await send(port, '/api/jobs/report-1/replay', {
      method: 'POST',
      headers: withToken(port, { 'content-type': 'application/json' }),
      body: '{"name":"report-2"}',
    });
    expect(answer.status).toBe(409);
    expect(JSON.parse(answer.body)).toEqual(body);
    expect(calls).toEqual(['POST /jobs/report-1/replay']);
  });

  it('filters by type across the API pages, resuming where it stopped reading', async () => {
    const pages: Record<string, unknown> = {
      '': {
        jobs: [
          { jobName: 'a', type: 'echo' },
          { jobName: 'b', type: 'sleep' },
        ],
        nextCursor: 'c1',
      },
      c1: { jobs: [{ jobName: 'c', type: 'sleep' }], nextCursor: 'c2' },
    };
    const { port } = await start((_method, url) =>
      json(200, pages[url.searchParams.get('cursor') ?? '']),
    );
    const answer = await send(port, '/api/jobs?limit=2&type=sleep', { headers: withToken(port) });
    expect(JSON.parse(answer.body)).toEqual({
      jobs: [
        { jobName: 'b', type: 'sleep' },
        { jobName: 'c', type: 'sleep' },
      ],
      nextCursor: 'c2',
      scanned: 3,
    });
    expect(calls).toEqual(['GET /jobs?limit=2', 'GET /jobs?cursor=c1&limit=1']);
  });

  it('counts outcomes and takes duration percentiles per type', async () => {
    const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();
    const { port } = await start((_method, url) =>
      json(200, {
        jobs:
          url.searchParams.get('status') === 'SUCCEEDED'
            ? [1, 2, 3, 4].map((s) => ({
                jobName: `j${s}`,
                type: 'echo',
                createdAt: at(0),
                finishedAt: at(s),
              }))
            : url.searchParams.get('status') === 'FAILED'
              ? [{ jobName: 'f', type: 'echo', createdAt: at(0), finishedAt: at(10) }]
              : [],
      }),
    );
    const answer = await send(port, '/api/stats', { headers: withToken(port) });
    expect(JSON.parse(answer.body)).toEqual({
      types: [
        {
          type: 'echo',
          counts: { SUCCEEDED: 4, FAILED: 1, CANCELLED: 0, TIMED_OUT: 0 },
          timed: 5,
          p50Ms: 3000,
          p95Ms: 10_000,
        },
      ],
      outcomes: 5,
      truncated: false,
    });
  });

  it('takes nearest-rank percentiles', () => {
    expect(percentile([], 50)).toBeUndefined();
    expect(percentile([7], 95)).toBe(7);
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 50)).toBe(5);
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 95)).toBe(10);
  });
});
