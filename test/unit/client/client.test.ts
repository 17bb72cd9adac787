/**
 * The client's calls against a fake fetch: targets (the local cloud's state
 * file, a deployed stack), each method's request and answer, the sorted query
 * string, the error classes and `result()`'s cases. Signatures are checked
 * with the local cloud's own verifier, as the API would check them.
 * (`watch` is in client-watch.test.ts.)
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  ApiError,
  ClientOptionError,
  type ClientOptions,
  createClient,
  EventJobsError,
  JobNotFoundError,
  JobNotSucceededError,
  JobStillRunningError,
  NoResultError,
  UnreachableError,
} from '../../../client';
import type { SigV4Credentials } from '../../../functions/shared/signer';
import type { LocalCredential } from '../../../local/contracts';
import { verifyRequest } from '../../../local/sigv4';

const LOCAL = { accessKeyId: 'AKIALOCALALICE000001', secretAccessKey: 'local/alice/secret' };
const AWS = {
  accessKeyId: 'ASIAEXAMPLE000000001',
  secretAccessKey: 'aws/secret/key',
  sessionToken: 'FwoGZXIvYXdzEXAMPLEsessiontoken//+==',
};
const LOCAL_URL = 'http://127.0.0.1:3999';
const API_URL = 'https://abc123.execute-api.eu-west-1.amazonaws.com';

interface Call {
  readonly url: string;
  readonly method: string;
  readonly headers: Record<string, string>;
  readonly body: string;
}

type Answer = Response | Error;

/** A fetch that records each request and answers from a queue. */
class FakeFetch {
  readonly calls: Call[] = [];
  readonly #answers: Answer[] = [];

  answer(...answers: Answer[]): this {
    this.#answers.push(...answers);
    return this;
  }

  readonly fetch = async (url: string, init?: RequestInit): Promise<Response> => {
    this.calls.push({
      url,
      method: init?.method ?? 'GET',
      headers: init?.headers as Record<string, string>,
      body: (init?.body as string | undefined) ?? '',
    });
    const answer = this.#answers.shift();
    if (answer === undefined) throw new Error(`unexpected request ${url}`);
    if (answer instanceof Error) throw answer;
    return answer;
  };
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json' },
  });
}

/** A server that never answers: the request ends only when its signal aborts, as with fetch. */
function hang(_url: string, init?: RequestInit): Promise<Response> {
  return new Promise<Response>((_resolve, reject) => {
    const signal = init?.signal;
    if (!signal) return;
    if (signal.aborted) reject(signal.reason);
    else signal.addEventListener('abort', () => reject(signal.reason));
  });
}

/** Checks a recorded request's signature the way the local API gateway does. */
function verifyCall(call: Call, credential: SigV4Credentials, region: string) {
  const url = new URL(call.url);
  const stored: LocalCredential = {
    ...credential,
    accountId: '000000000000',
    arn: 'arn:aws:iam::000000000000:user/alice',
    userId: 'AIDA',
    name: 'alice',
  };
  return verifyRequest(
    {
      method: call.method,
      rawPath: url.pathname,
      rawQuery: url.search.slice(1),
      headers: { ...call.headers, host: url.host },
      body: call.body,
    },
    { lookup: (id) => (id === credential.accessKeyId ? stored : undefined) },
    { region, service: 'execute-api' },
  );
}

const CREATED = '2026-01-01T10:00:00.000Z';
function view(status: string, extra: Record<string, unknown> = {}) {
  return {
    jobName: 'j1',
    runId: 'R1',
    type: 'echo',
    status,
    createdAt: CREATED,
    input: {},
    ...extra,
  };
}
function summary(name: string) {
  return { jobName: name, runId: 'R', type: 'echo', status: 'SUCCEEDED', createdAt: CREATED };
}

let dir: string;
let fake: FakeFetch;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'eventjobs-client-'));
  fake = new FakeFetch();
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function writeState(at = dir, pid = 4242, region = 'us-east-1'): string {
  mkdirSync(join(at, '.eventjobs'), { recursive: true });
  const path = join(at, '.eventjobs/local.json');
  writeFileSync(
    path,
    JSON.stringify({
      pid,
      startedAt: CREATED,
      stackName: 'EventJobs',
      region,
      apiUrl: `${LOCAL_URL}/`,
      awsEndpoint: 'http://127.0.0.1:4999',
      credentials: LOCAL,
      outputs: {},
    }),
  );
  return path;
}

/** A client of the local cloud described by the state file in `dir`. */
function localClient(options: ClientOptions = {}) {
  return createClient({ cwd: dir, env: {}, fetch: fake.fetch, isAlive: () => true, ...options });
}

/** A client of a deployed stack, with fixed credentials. */
function awsClient(options: ClientOptions = {}) {
  return createClient({ url: API_URL, credentials: AWS, env: {}, fetch: fake.fetch, ...options });
}

describe('the local cloud target', () => {
  it('finds .eventjobs/local.json in a parent directory and signs with its identity', async () => {
    // Prepare
    writeState();
    const sub = join(dir, 'a/b');
    mkdirSync(sub, { recursive: true });
    fake.answer(json(200, view('RUNNING')));
    const client = localClient({ cwd: sub });

    // Act
    const job = await client.get('j1');

    // Assess
    expect(job.status).toBe('RUNNING');
    expect(fake.calls[0]?.url).toBe(`${LOCAL_URL}/jobs/j1`);
    expect(await verifyCall(fake.calls[0] as Call, LOCAL, 'us-east-1')).toMatchObject({ ok: true });
    expect(await client.target()).toEqual({
      kind: 'local',
      apiUrl: LOCAL_URL,
      awsEndpoint: 'http://127.0.0.1:4999',
      region: 'us-east-1',
      description: `the local cloud at ${LOCAL_URL}/`,
    });
  });

  it('takes the stateFile option over EVENTJOBS_STATE_FILE, and that over the walk up', async () => {
    // Prepare: three state files, told apart by their region.
    const elsewhere = mkdtempSync(join(tmpdir(), 'eventjobs-client-other-'));
    try {
      writeState(dir, 4242, 'eu-north-1'); // the one the walk up from dir finds
      const fromEnvPath = writeState(join(elsewhere, 'env'), 4242, 'ap-south-1');
      const fromOptionPath = writeState(join(elsewhere, 'option'), 4242, 'sa-east-1');
      const env = { EVENTJOBS_STATE_FILE: fromEnvPath };

      // Act
      const regions = await Promise.all([
        localClient({ env, stateFile: fromOptionPath }).target(),
        localClient({ env }).target(),
        localClient().target(),
      ]);

      // Assess
      expect(regions.map((t) => t.region)).toEqual(['sa-east-1', 'ap-south-1', 'eu-north-1']);
    } finally {
      rmSync(elsewhere, { recursive: true, force: true });
    }
  });

  it('says the local cloud is not running when the process that wrote the file is gone', async () => {
    // Prepare
    writeState(dir, 999_999);
    const isAlive = vi.fn(() => false);
    const client = localClient({ isAlive });

    // Act
    const error = await client.list().catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(UnreachableError);
    expect((error as UnreachableError).message).toBe(
      'the local cloud is not running; start it with `npm start`',
    );
    expect((error as UnreachableError).hint).toContain('process 999999, which is gone');
    expect(isAlive).toHaveBeenCalledWith(999_999);
    expect(fake.calls).toEqual([]);
  });

  it('is made without a state file, and says so at the first call, naming the url option', async () => {
    // Prepare: a fresh directory, with no state file in it or above it.
    const client = createClient({ cwd: dir, env: {}, fetch: fake.fetch });

    // Act
    const error = await client.get('j1').catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(UnreachableError);
    expect((error as UnreachableError).message).toBe(
      'the local cloud is not running; start it with `npm start`',
    );
    expect((error as UnreachableError).hint).toBe(
      `no .eventjobs/local.json in ${dir} or a parent; for a deployed stack pass the url option`,
    );
    expect(fake.calls).toEqual([]);
  });

  it('reports a state file without apiUrl or credentials', async () => {
    // Prepare
    const path = join(dir, 'broken.json');
    writeFileSync(path, JSON.stringify({ pid: process.pid, region: 'us-east-1' }));
    const client = localClient({ stateFile: path, isAlive: undefined });

    // Act
    const error = await client.get('j1').catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(UnreachableError);
    expect((error as Error).message).toBe(`${path} lacks apiUrl, region or credentials`);
  });
});

describe('a deployed stack (url)', () => {
  it('signs with the given credentials, session token included, in the region of the host', async () => {
    // Prepare
    fake.answer(json(200, { jobs: [] }));

    // Act
    await awsClient({ url: `${API_URL}/` }).list();

    // Assess
    const call = fake.calls[0] as Call;
    expect(call.url).toBe(`${API_URL}/jobs`);
    expect(call.headers['x-amz-security-token']).toBe(AWS.sessionToken);
    expect(call.headers.authorization).toContain('/eu-west-1/execute-api/aws4_request');
    expect(await verifyCall(call, AWS, 'eu-west-1')).toMatchObject({ ok: true });
  });

  it('takes the URL from EVENTJOBS_URL and asks a credentials provider once, with the region', async () => {
    // Prepare
    const provider = vi.fn(async () => AWS);
    const client = createClient({
      env: { EVENTJOBS_URL: 'https://jobs.example.com', AWS_REGION: 'ap-south-1' },
      credentials: provider,
      fetch: fake.fetch,
    });
    fake.answer(json(200, view('RUNNING')), json(200, view('RUNNING')));

    // Act
    await client.get('j1');
    await client.get('j1');

    // Assess
    expect(provider).toHaveBeenCalledTimes(1);
    expect(provider).toHaveBeenCalledWith({ region: 'ap-south-1' });
    expect(await verifyCall(fake.calls[1] as Call, AWS, 'ap-south-1')).toMatchObject({ ok: true });
  });

  it('asks again for credentials that are about to expire, and after a failure', async () => {
    // Prepare
    const soon = new Date(Date.now() + 60_000);
    const provider = vi
      .fn<() => Promise<typeof AWS & { expiration?: Date }>>()
      .mockRejectedValueOnce(new Error('Token is expired'))
      .mockResolvedValueOnce({ ...AWS, expiration: soon })
      .mockResolvedValue(AWS);
    const client = awsClient({ credentials: provider });
    fake.answer(json(200, { jobs: [] }), json(200, { jobs: [] }), json(200, { jobs: [] }));

    // Act
    const first = await client.list().catch((e: unknown) => e);
    await client.list();
    await client.list();
    await client.list();

    // Assess
    expect(first).toBeInstanceOf(UnreachableError);
    expect((first as Error).message).toBe('no AWS credentials: Token is expired');
    expect((first as Error).cause).toBeInstanceOf(Error);
    expect(provider).toHaveBeenCalledTimes(3);
  });

  it.each([
    [
      { url: 'ftp://example.com' },
      'url',
      'the url option must be an http(s) URL, got "ftp://example.com"',
    ],
    [{ url: 'https://jobs.example.com' }, 'region', 'pass the region option or set AWS_REGION'],
    [{ streamUrl: 'https://not-a-socket' }, 'streamUrl', 'must be a wss:// URL'],
  ])('refuses a bad option before sending anything: %j', async (options, option, message) => {
    // Prepare
    const client = awsClient(options);

    // Act
    const error = await client.get('j1').catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(ClientOptionError);
    expect((error as ClientOptionError).option).toBe(option);
    expect((error as Error).message).toContain(message);
    expect(fake.calls).toEqual([]);
  });

  it('names the options as the caller calls them (optionNames)', async () => {
    // Prepare
    const client = awsClient({ url: 'nope', optionNames: { url: '--url' } });

    // Act
    const error = await client.get('j1').catch((e: unknown) => e);

    // Assess
    expect((error as Error).message).toBe('--url must be an http(s) URL, got "nope"');
  });
});

describe('the methods', () => {
  beforeEach(() => writeState());

  it('start: POSTs the request; 202 is a new run, 200 an identical one already running', async () => {
    // Prepare
    const answer = {
      jobName: 'j1',
      runId: 'R1',
      status: 'RUNNING',
      statusUrl: `${LOCAL_URL}/jobs/j1`,
    };
    fake.answer(json(202, answer), json(200, answer));
    const client = localClient();
    const request = {
      type: 'sleep',
      name: 'j1',
      input: { seconds: 2 },
      timeoutSeconds: 9,
      callback: { url: 'https://hooks.example.com/j1' },
    };

    // Act
    const first = await client.start(request);
    const again = await client.start(request);

    // Assess
    expect(first).toEqual({ ...answer, created: true });
    expect(again.created).toBe(false);
    expect(fake.calls[0]).toMatchObject({ method: 'POST', url: `${LOCAL_URL}/jobs` });
    expect(JSON.parse(fake.calls[0]?.body ?? '')).toEqual(request);
    expect(JSON.parse(fake.calls[1]?.body ?? '')).toEqual(request);
    expect(fake.calls[0]?.headers['content-type']).toBe('application/json');
    expect(await verifyCall(fake.calls[0] as Call, LOCAL, 'us-east-1')).toMatchObject({ ok: true });
  });

  it('get: GETs the job by its encoded name', async () => {
    // Prepare
    fake.answer(json(200, view('SUCCEEDED', { jobName: 'a b', result: 1 })));

    // Act
    const job = await localClient().get('a b');

    // Assess
    expect(fake.calls[0]).toMatchObject({ method: 'GET', url: `${LOCAL_URL}/jobs/a%20b` });
    expect(job).toMatchObject({ jobName: 'a b', status: 'SUCCEEDED', result: 1 });
    expect(await verifyCall(fake.calls[0] as Call, LOCAL, 'us-east-1')).toMatchObject({ ok: true });
  });

  it('list: sends the query sorted by name, which is the order SigV4 signs it in', async () => {
    // Prepare
    fake.answer(json(200, { jobs: [summary('a')], nextCursor: 'c/1+=' }), json(200, { jobs: [] }));
    const client = localClient();

    // Act
    const page = await client.list({ status: 'RUNNING', limit: 5, cursor: 'c/0 ~' });
    await client.list({ limit: 1 });

    // Assess
    expect(page).toEqual({ jobs: [summary('a')], nextCursor: 'c/1+=' });
    const [first, second] = fake.calls as [Call, Call];
    expect(new URL(first.url).search).toBe('?cursor=c%2F0%20~&limit=5&status=RUNNING');
    expect(new URL(second.url).search).toBe('?limit=1');
    expect(await verifyCall(first, LOCAL, 'us-east-1')).toMatchObject({ ok: true });
  });

  it('list: sends no query at all when given none', async () => {
    // Prepare
    fake.answer(json(200, { jobs: [] }));

    // Act
    await localClient().list();

    // Assess
    expect(fake.calls[0]?.url).toBe(`${LOCAL_URL}/jobs`);
  });

  it('listAll: follows nextCursor page after page and yields every job once', async () => {
    // Prepare
    fake.answer(
      json(200, { jobs: [summary('a'), summary('b')], nextCursor: 'c1' }),
      json(200, { jobs: [summary('c')], nextCursor: 'c2' }),
      json(200, { jobs: [] }),
    );
    const names: string[] = [];

    // Act
    for await (const job of localClient().listAll({ status: 'SUCCEEDED', limit: 2 })) {
      names.push(job.jobName);
    }

    // Assess
    expect(names).toEqual(['a', 'b', 'c']);
    expect(fake.calls.map((c) => new URL(c.url).search)).toEqual([
      '?limit=2&status=SUCCEEDED',
      '?cursor=c1&limit=2&status=SUCCEEDED',
      '?cursor=c2&limit=2&status=SUCCEEDED',
    ]);
  });

  it('cancel: DELETEs the job and answers when cancelling was requested', async () => {
    // Prepare
    const answer = { jobName: 'j1', runId: 'R1', status: 'RUNNING', cancelRequestedAt: CREATED };
    fake.answer(json(202, answer));

    // Act
    const requested = await localClient().cancel('j1');

    // Assess
    expect(requested).toEqual(answer);
    expect(fake.calls[0]).toMatchObject({ method: 'DELETE', url: `${LOCAL_URL}/jobs/j1` });
    expect(await verifyCall(fake.calls[0] as Call, LOCAL, 'us-east-1')).toMatchObject({ ok: true });
  });
});

describe('signal()', () => {
  beforeEach(() => writeState());
  const sent = { jobName: 'j 1', runId: 'R1', signal: 'approval.v2', receivedAt: CREATED };

  it('POSTs the payload as JSON to the encoded job and signal, and answers the 202 body', async () => {
    // Prepare
    fake.answer(json(202, sent));

    // Act
    const answer = await localClient().signal('j 1', 'approval.v2', { approved: true });

    // Assess
    expect(answer).toEqual(sent);
    expect(fake.calls[0]).toMatchObject({
      method: 'POST',
      url: `${LOCAL_URL}/jobs/j%201/signals/approval.v2`,
      body: '{"approved":true}',
    });
    expect(fake.calls[0]?.headers['content-type']).toBe('application/json');
    expect(await verifyCall(fake.calls[0] as Call, LOCAL, 'us-east-1')).toMatchObject({ ok: true });
  });

  it('sends no body without a payload (the API takes it as null), and "null" for null', async () => {
    // Prepare
    fake.answer(json(202, sent), json(202, sent));
    const client = localClient();

    // Act
    await client.signal('j1', 'approval');
    await client.signal('j1', 'approval', null);

    // Assess
    expect(fake.calls[0]?.body).toBe('');
    expect(fake.calls[0]?.headers['content-type']).toBeUndefined();
    expect(fake.calls[1]?.body).toBe('null');
  });

  it('answers a repeat of the same signal with duplicate: true', async () => {
    // Prepare
    fake.answer(json(202, { ...sent, duplicate: true }));

    // Act
    const answer = await localClient().signal('j1', 'approval', { approved: true });

    // Assess
    expect(answer.duplicate).toBe(true);
  });

  it('throws an ApiError 409 SignalConflict with the first receivedAt in its body', async () => {
    // Prepare
    fake.answer(
      json(409, {
        error: { code: 'SignalConflict', message: 'already sent with a different payload' },
        receivedAt: CREATED,
      }),
    );

    // Act
    const error = await localClient()
      .signal('j1', 'approval', { approved: false })
      .catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({
      status: 409,
      code: 'SignalConflict',
      body: { receivedAt: CREATED },
    });
  });

  it('throws JobNotFoundError for an unknown job', async () => {
    // Prepare
    fake.answer(json(404, { error: { code: 'NotFound', message: 'No job named "j1"' } }));

    // Act
    const error = await localClient()
      .signal('j1', 'approval')
      .catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(JobNotFoundError);
  });
});

describe('replay()', () => {
  beforeEach(() => writeState());
  const started = { jobName: 'again', runId: 'R2', status: 'RUNNING', statusUrl: 'x' };

  it('POSTs the new name to the encoded replay path; 202 is a new run, 200 the same replay again', async () => {
    // Prepare
    fake.answer(json(202, started), json(200, started));
    const client = localClient();

    // Act
    const first = await client.replay('j 1', { name: 'again' });
    const again = await client.replay('j 1', { name: 'again' });

    // Assess
    expect(first).toEqual({ ...started, created: true });
    expect(again).toEqual({ ...started, created: false });
    expect(fake.calls[0]).toMatchObject({
      method: 'POST',
      url: `${LOCAL_URL}/jobs/j%201/replay`,
      body: '{"name":"again"}',
    });
    expect(await verifyCall(fake.calls[0] as Call, LOCAL, 'us-east-1')).toMatchObject({ ok: true });
  });

  it('names an unnamed replay itself, with a ULID', async () => {
    // Prepare
    fake.answer(json(202, started));

    // Act
    await localClient().replay('j1');

    // Assess
    expect(JSON.parse(fake.calls[0]?.body ?? '')).toEqual({
      name: expect.stringMatching(/^[0-9A-HJKMNP-TV-Z]{26}$/),
    });
  });

  it('throws an ApiError 409 JobStillRunning with the job, and JobNotFoundError for a 404', async () => {
    // Prepare
    fake.answer(
      json(409, {
        error: { code: 'JobStillRunning', message: 'The job "j1" is still RUNNING' },
        job: { jobName: 'j1', status: 'RUNNING' },
      }),
      json(404, { error: { code: 'NotFound', message: 'No finished job named "j1"' } }),
    );
    const client = localClient();

    // Act
    const running = await client.replay('j1').catch((e: unknown) => e);
    const missing = await client.replay('j1').catch((e: unknown) => e);

    // Assess
    expect(running).toBeInstanceOf(ApiError);
    expect(running).toMatchObject({
      status: 409,
      code: 'JobStillRunning',
      hint: 'replay it once it has finished',
      body: { job: { jobName: 'j1' } },
    });
    expect(missing).toBeInstanceOf(JobNotFoundError);
  });
});

describe('result()', () => {
  beforeEach(() => writeState());

  it('answers the result of a SUCCEEDED job', async () => {
    // Prepare
    fake.answer(json(200, view('SUCCEEDED', { result: { value: [1, 2] } })));

    // Act
    const result = await localClient().result<{ value: number[] }>('j1');

    // Assess
    expect(result).toEqual({ value: [1, 2] });
  });

  it('throws JobStillRunningError for a RUNNING job, with its progress', async () => {
    // Prepare
    fake.answer(json(200, view('RUNNING', { progress: { percent: 41.6, at: CREATED } })));

    // Act
    const error = await localClient()
      .result('j1')
      .catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(JobStillRunningError);
    expect(error).toBeInstanceOf(NoResultError);
    expect(error).toMatchObject({ name: 'JobStillRunningError', status: 'RUNNING' });
    expect((error as Error).message).toBe('job j1 is still RUNNING (42%); it has no result yet');
  });

  it.each([
    [
      'FAILED',
      { error: { name: 'Error', message: 'boom' } },
      'job j1 ended FAILED: Error: boom; it has no result',
    ],
    ['CANCELLED', {}, 'job j1 ended CANCELLED; it has no result'],
    ['TIMED_OUT', {}, 'job j1 ended TIMED_OUT; it has no result'],
  ])(
    'throws JobNotSucceededError for a %s job, with its status and error',
    async (status, extra, message) => {
      // Prepare
      fake.answer(json(200, view(status, extra)));

      // Act
      const error = await localClient()
        .result('j1')
        .catch((e: unknown) => e);

      // Assess
      expect(error).toBeInstanceOf(JobNotSucceededError);
      const failure = error as JobNotSucceededError;
      expect(failure.status).toBe(status);
      expect(failure.jobError).toEqual((extra as { error?: unknown }).error);
      expect(failure.job.jobName).toBe('j1');
      expect(failure.message).toBe(message);
    },
  );
});

describe('errors', () => {
  beforeEach(() => writeState());

  it('a 400 is an ApiError with the status, code, message and details of its body', async () => {
    // Prepare
    const body = {
      error: {
        code: 'InvalidInput',
        message: 'The input is not valid for job type "sleep"',
        details: [{ path: 'seconds', message: 'Too big' }, { nonsense: true }],
      },
    };
    fake.answer(json(400, body));

    // Act
    const error = await localClient()
      .start({ type: 'sleep', input: { seconds: 1000 } })
      .catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(ApiError);
    expect(error).not.toBeInstanceOf(JobNotFoundError);
    expect(error).toMatchObject({
      name: 'ApiError',
      status: 400,
      code: 'InvalidInput',
      message: 'The input is not valid for job type "sleep"',
      details: [{ path: 'seconds', message: 'Too big' }],
      body,
    });
  });

  it('a 404 is a JobNotFoundError, which is an ApiError', async () => {
    // Prepare
    fake.answer(json(404, { error: { code: 'NotFound', message: 'No job named "x"' } }));

    // Act
    const error = await localClient()
      .get('x')
      .catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(JobNotFoundError);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toBeInstanceOf(EventJobsError);
    expect(error).toMatchObject({ name: 'JobNotFoundError', status: 404, code: 'NotFound' });
  });

  it("reads API Gateway's own 403 body, and a body that is not JSON", async () => {
    // Prepare
    fake.answer(
      json(403, { message: 'The security token included in the request is invalid.' }),
      new Response('upstream exploded', { status: 502 }),
    );
    const client = localClient();

    // Act
    const forbidden = await client.get('j1').catch((e: unknown) => e);
    const badGateway = await client.get('j1').catch((e: unknown) => e);

    // Assess
    expect(forbidden).toMatchObject({
      status: 403,
      code: 'Forbidden',
      message: 'The security token included in the request is invalid.',
    });
    expect((forbidden as ApiError).hint).toContain('state file may be stale');
    expect(badGateway).toMatchObject({
      status: 502,
      code: 'HTTP502',
      message: 'upstream exploded',
    });
  });

  it('a refused connection is an UnreachableError that keeps the cause', async () => {
    // Prepare
    const refused = new TypeError('fetch failed', {
      cause: new Error('connect ECONNREFUSED 127.0.0.1:3999'),
    });
    fake.answer(refused);

    // Act
    const error = await localClient()
      .get('j1')
      .catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(UnreachableError);
    expect(error).toMatchObject({
      name: 'UnreachableError',
      message: `cannot reach the local cloud at ${LOCAL_URL}/: connect ECONNREFUSED 127.0.0.1:3999`,
      hint: 'is the local cloud still running? start it with `npm start`',
    });
    expect((error as Error).cause).toBe(refused);
  });

  it('a request that outlives timeoutMs is an UnreachableError: no answer in time', async () => {
    // Prepare: a server that never answers.
    const client = localClient({ fetch: hang, timeoutMs: 20 });

    // Act
    const error = await client.get('j1').catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(UnreachableError);
    expect((error as Error).message).toContain('no answer in time');
  });

  it("a call the caller aborts rejects with the caller's reason, not as unreachable", async () => {
    // Prepare
    const controller = new AbortController();
    const reason = new Error('stop');

    // Act
    const pending = localClient({ fetch: hang }).get('j1', { signal: controller.signal });
    controller.abort(reason);
    const error = await pending.catch((e: unknown) => e);

    // Assess
    expect(error).toBe(reason);
  });

  it('every error class sets its name and keeps its cause', () => {
    // Prepare
    const cause = new Error('root');

    // Act
    const errors = [
      new ApiError(500, 'Internal', 'boom', { cause }),
      new JobNotFoundError(404, 'NotFound', 'none', { cause }),
      new UnreachableError('away', { cause, hint: 'try later' }),
      new ClientOptionError('region', 'which region?', { cause }),
    ];

    // Assess
    expect(errors.map((e) => e.name)).toEqual([
      'ApiError',
      'JobNotFoundError',
      'UnreachableError',
      'ClientOptionError',
    ]);
    expect(errors.every((e) => e.cause === cause && e instanceof EventJobsError)).toBe(true);
    expect(errors[2]?.hint).toBe('try later');
  });
});

describe('the package', () => {
  it("exports createClient and the error classes from 'eventjobs'", async () => {
    // Act
    const pkg = await import('eventjobs');

    // Assess
    expect(pkg.createClient).toBe(createClient);
    expect(pkg.JobNotFoundError).toBe(JobNotFoundError);
  });
});
