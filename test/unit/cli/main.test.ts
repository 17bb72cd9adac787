/**
 * The CLI end to end in-process: `main` with a fake fetch, a fake WebSocket
 * and a state file in a temporary directory. Signatures are checked with the
 * local cloud's own verifier, as the real API would check them.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ExitCode } from '../../../cli/errors';
import { type MainDeps, main, processDeps } from '../../../cli/main';
import type { WebSocketEventLike, WebSocketLike } from '../../../client/websocket';
import type { SigV4Credentials } from '../../../functions/shared/signer';
import type { LocalCredential } from '../../../local/contracts';
import { verifyRequest } from '../../../local/sigv4';

const LOCAL = { accessKeyId: 'AKIALOCALALICE000001', secretAccessKey: 'local/alice/secret' };
const AWS = {
  accessKeyId: 'ASIAEXAMPLE000000001',
  secretAccessKey: 'aws/secret/key',
  sessionToken: 'FwoGZXIvYXdzEXAMPLEsessiontoken//+==',
};
const API_URL = 'https://abc123.execute-api.eu-west-1.amazonaws.com';
const STREAM_URL = 'wss://ws456.execute-api.eu-west-1.amazonaws.com/prod';

interface Call {
  readonly url: string;
  readonly method: string;
  readonly headers: Record<string, string>;
  readonly body: string;
}

type Answer = Response | (() => Response) | Error;

class Harness {
  readonly calls: Call[] = [];
  stdout = '';
  stderr = '';
  private readonly answers: Answer[] = [];
  interrupt: (() => void) | undefined;
  readonly dir = mkdtempSync(join(tmpdir(), 'eventjobs-cli-'));
  deps: MainDeps;

  constructor(overrides: Partial<MainDeps> = {}) {
    this.deps = {
      env: {},
      cwd: this.dir,
      stdout: { isTTY: false, write: (text: string) => (this.stdout += text) },
      stderr: { write: (text: string) => (this.stderr += text) },
      fetch: async (url, init) => {
        const headers = init?.headers as Record<string, string>;
        this.calls.push({
          url,
          method: init?.method ?? 'GET',
          headers,
          body: (init?.body as string | undefined) ?? '',
        });
        const answer = this.answers.shift();
        if (answer === undefined) throw new Error(`unexpected request ${url}`);
        if (answer instanceof Error) throw answer;
        return typeof answer === 'function' ? answer() : answer;
      },
      readFile: (path) => readFileSync(path, 'utf8'),
      isAlive: () => true,
      awsCredentials: async () => AWS,
      onInterrupt: (handler) => {
        this.interrupt = handler;
        return () => {
          this.interrupt = undefined;
        };
      },
      version: '9.9.9',
      ...overrides,
    };
  }

  writeState(pid = 4242): string {
    mkdirSync(join(this.dir, '.eventjobs'), { recursive: true });
    const path = join(this.dir, '.eventjobs/local.json');
    writeFileSync(
      path,
      JSON.stringify({
        pid,
        startedAt: '2026-01-01T00:00:00.000Z',
        stackName: 'EventJobs',
        region: 'us-east-1',
        apiUrl: 'http://127.0.0.1:3999',
        awsEndpoint: 'http://127.0.0.1:4999',
        credentials: LOCAL,
        outputs: {},
      }),
    );
    return path;
  }

  answer(...answers: Answer[]): this {
    this.answers.push(...answers);
    return this;
  }

  run(...argv: string[]): Promise<number> {
    return main(argv, this.deps);
  }

  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json' },
  });
}

/** A `text/event-stream` answer that arrives in the given chunks. */
function sse(chunks: string[]): () => Response {
  return () =>
    new Response(
      new ReadableStream<Uint8Array>({
        start(controller) {
          for (const chunk of chunks) controller.enqueue(new TextEncoder().encode(chunk));
          controller.close();
        },
      }),
      { status: 200, headers: { 'content-type': 'text/event-stream' } },
    );
}

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
const times = {
  attempt: 1,
  startedAt: '2026-01-01T10:00:00.000Z',
  finishedAt: '2026-01-01T10:00:05.000Z',
  durationMs: 5000,
};
const STARTED = event('e1', 'Job Started', { attempt: 1, startedAt: times.startedAt });
const PROGRESS = event('e2', 'Job Progress', {
  attempt: 1,
  percent: 50,
  message: 'half',
  at: times.startedAt,
});
const COMPLETED = event('e3', 'Job Completed', { ...times, result: { value: 42 } });
const FAILED = event('e3', 'Job Failed', { ...times, error: { name: 'Error', message: 'boom' } });
const CANCELLED = event('e3', 'Job Cancelled', { finishedAt: times.finishedAt, reason: 'asked' });
const TIMED_OUT = event('e3', 'Job Timed Out', {
  finishedAt: times.finishedAt,
  reason: 'deadline',
});

function sseMessage(seq: number, value: { 'detail-type': string }): string {
  return `id: ${seq}\r\nevent: ${value['detail-type']}\r\ndata: ${JSON.stringify(value)}\r\n\r\n`;
}

/** Checks a recorded request's signature the way the local API gateway does. */
function verifyCall(call: Call, credential: SigV4Credentials, region: string) {
  const url = new URL(call.url);
  const stored: LocalCredential = {
    ...credential,
    accountId: '000000000000',
    arn: owner,
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

let h: Harness;
beforeEach(() => {
  h = new Harness();
});
afterEach(() => h.cleanup());

describe('the local cloud target', () => {
  it('finds .eventjobs/local.json in a parent directory and signs with its credentials', async () => {
    // Prepare
    h.writeState();
    const sub = join(h.dir, 'a/b');
    mkdirSync(sub, { recursive: true });
    h.deps = { ...h.deps, cwd: sub };
    h.answer(
      json(200, {
        jobName: 'j1',
        runId: 'R1',
        type: 'sleep',
        status: 'RUNNING',
        createdAt: times.startedAt,
        input: {},
      }),
    );

    // Act
    const code = await h.run('status', 'j1');

    // Assess
    expect(code).toBe(ExitCode.Ok);
    expect(h.calls[0]?.url).toBe('http://127.0.0.1:3999/jobs/j1');
    expect(await verifyCall(h.calls[0] as Call, LOCAL, 'us-east-1')).toMatchObject({ ok: true });
    expect(h.stdout).toContain('status   RUNNING');
  });

  it('uses EVENTJOBS_STATE_FILE over the walk up', async () => {
    const path = h.writeState();
    h.deps = { ...h.deps, cwd: tmpdir(), env: { EVENTJOBS_STATE_FILE: path } };
    h.answer(json(200, { jobs: [] }));
    expect(await h.run('list')).toBe(ExitCode.Ok);
    expect(h.stdout).toBe('no jobs\n');
  });

  it('says the local cloud is not running (exit 6) when its process is gone', async () => {
    h.writeState(999_999);
    h.deps = { ...h.deps, isAlive: () => false };
    expect(await h.run('status', 'j1')).toBe(ExitCode.Unreachable);
    expect(h.stderr).toContain(
      'eventjobs: the local cloud is not running; start it with `npm start`',
    );
    expect(h.stderr).toContain('process 999999, which is gone');
    expect(h.calls).toEqual([]);
  });

  it('says the local cloud is not running (exit 6) when there is no state file', async () => {
    h.deps = { ...h.deps, cwd: h.dir, env: { EVENTJOBS_STATE_FILE: join(h.dir, 'nope.json') } };
    expect(await h.run('list')).toBe(ExitCode.Unreachable);
    expect(h.stderr).toContain('the local cloud is not running');
  });

  it('maps a refused connection to exit 6 with a hint', async () => {
    h.writeState();
    h.answer(
      new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED 127.0.0.1:3999') }),
    );
    expect(await h.run('status', 'j1')).toBe(ExitCode.Unreachable);
    expect(h.stderr).toContain(
      'cannot reach the local cloud at http://127.0.0.1:3999: connect ECONNREFUSED',
    );
    expect(h.stderr).toContain('hint: is the local cloud still running?');
  });
});

describe('API errors and exit codes', () => {
  beforeEach(() => h.writeState());

  it('400: exit 5 with the API message and details', async () => {
    h.answer(
      json(400, {
        error: {
          code: 'InvalidInput',
          message: 'The input is not valid for job type "sleep"',
          details: [{ path: 'seconds', message: 'Too big: expected number to be <=900' }],
        },
      }),
    );
    expect(await h.run('start', 'sleep', '--input', '{"seconds":1000}')).toBe(ExitCode.ApiError);
    expect(h.stderr).toContain(
      'eventjobs: The input is not valid for job type "sleep" (400 InvalidInput)',
    );
    expect(h.stderr).toContain('  seconds: Too big: expected number to be <=900');
    expect(JSON.parse(h.calls[0]?.body ?? '')).toEqual({
      type: 'sleep',
      name: expect.stringMatching(/^[0-9A-Z]{26}$/),
      input: { seconds: 1000 },
    });
  });

  it('404: exit 7 with a hint', async () => {
    h.answer(
      json(404, {
        error: { code: 'NotFound', message: 'No job named "x" is running or retained' },
      }),
    );
    expect(await h.run('status', 'x')).toBe(ExitCode.NotFound);
    expect(h.stderr).toContain('(404 NotFound)');
    expect(h.stderr).toContain('hint: no job by that name');
  });

  it('403: exit 5, API Gateway body, hint about credentials', async () => {
    h.answer(json(403, { message: 'The security token included in the request is invalid.' }));
    expect(await h.run('list')).toBe(ExitCode.ApiError);
    expect(h.stderr).toContain(
      'The security token included in the request is invalid. (403 Forbidden)',
    );
    expect(h.stderr).toContain('hint:');
  });

  it('409 JobNameInUse: exit 5 and shows the running job', async () => {
    h.answer(
      json(409, {
        error: {
          code: 'JobNameInUse',
          message: 'A job named "j1" is running with a different input',
        },
        job: {
          jobName: 'j1',
          runId: 'R0',
          type: 'sleep',
          createdAt: times.startedAt,
          progress: { percent: 30 },
        },
      }),
    );
    expect(await h.run('start', 'sleep', '--name', 'j1', '--input', '{"seconds":2}')).toBe(
      ExitCode.ApiError,
    );
    expect(h.stderr).toContain(
      'running: j1 (sleep, run R0, created 2026-01-01T10:00:00.000Z, 30%)',
    );
    expect(h.stderr).toContain('eventjobs cancel j1');
  });

  it('--json: the error as one JSON document on stdout, the message on stderr', async () => {
    h.answer(json(409, { error: { code: 'JobFinished', message: 'finished' } }));
    expect(await h.run('cancel', 'j1', '--json')).toBe(ExitCode.ApiError);
    expect(JSON.parse(h.stdout)).toEqual({
      error: { code: 'JobFinished', message: 'finished', status: 409, exitCode: 5 },
    });
    expect(h.stderr).toContain('eventjobs: finished');
  });

  it.each([
    ['SUCCEEDED', ExitCode.Ok],
    ['FAILED', ExitCode.JobFailed],
    ['CANCELLED', ExitCode.JobCancelled],
    ['TIMED_OUT', ExitCode.JobTimedOut],
    ['RUNNING', ExitCode.StillRunning],
  ])('result of a %s job exits %i', async (status, expected) => {
    h.answer(
      json(200, {
        jobName: 'j1',
        runId: 'R1',
        type: 'echo',
        status,
        createdAt: times.startedAt,
        input: {},
        ...(status === 'SUCCEEDED' ? { result: { value: [1, 2] } } : {}),
        ...(status === 'FAILED' ? { error: { name: 'Error', message: 'boom' } } : {}),
      }),
    );
    expect(await h.run('result', 'j1')).toBe(expected);
    if (status === 'SUCCEEDED') expect(JSON.parse(h.stdout)).toEqual({ value: [1, 2] });
    else expect(h.stdout).toBe('');
    if (status === 'FAILED') expect(h.stderr).toContain('FAILED: Error: boom');
  });

  it('result of a RUNNING job: exit 8, a hint to watch it, and with --json the error document', async () => {
    // Prepare
    h.answer(
      json(200, {
        jobName: 'j1',
        runId: 'R1',
        type: 'sleep',
        status: 'RUNNING',
        createdAt: times.startedAt,
        input: {},
        progress: { percent: 40, at: times.startedAt },
      }),
    );

    // Act
    const code = await h.run('result', 'j1', '--json');

    // Assess
    expect(code).toBe(ExitCode.StillRunning);
    expect(h.stderr).toBe(
      'eventjobs: job j1 is still RUNNING (40%); it has no result yet\n' +
        'hint: wait for it with `eventjobs watch j1`\n',
    );
    expect(JSON.parse(h.stdout)).toEqual({
      error: {
        code: 'Cli',
        message: 'job j1 is still RUNNING (40%); it has no result yet',
        exitCode: 8,
      },
    });
  });

  it('--json: a target that cannot be reached is the error code Unreachable', async () => {
    // Prepare
    h.answer(new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED') }));

    // Act
    const code = await h.run('status', 'j1', '--json');

    // Assess
    expect(code).toBe(ExitCode.Unreachable);
    expect(JSON.parse(h.stdout)).toMatchObject({
      error: { code: 'Unreachable', exitCode: ExitCode.Unreachable },
    });
  });

  it('usage errors exit 2 without calling the API', async () => {
    expect(await h.run('list', '--frobnicate')).toBe(ExitCode.Usage);
    expect(h.stderr).toContain("Unknown option '--frobnicate'");
    expect(h.stderr).toContain("Run 'eventjobs list --help'.");
    expect(h.calls).toEqual([]);
  });
});

describe('commands', () => {
  beforeEach(() => h.writeState());

  it('start prints name and runId; --json prints the answer as one document', async () => {
    h.answer(json(202, { jobName: 'j1', runId: 'R1', status: 'RUNNING' }));
    expect(await h.run('start', 'sleep', '--name', 'j1', '--timeout', '9')).toBe(0);
    expect(h.stdout).toBe('name   j1\nrunId  R1\n');
    expect(JSON.parse(h.calls[0]?.body ?? '')).toEqual({
      type: 'sleep',
      name: 'j1',
      timeoutSeconds: 9,
    });

    h.stdout = '';
    h.answer(json(200, { jobName: 'j1', runId: 'R1', status: 'RUNNING' }));
    expect(await h.run('--json', 'start', 'sleep', '--name', 'j1')).toBe(0);
    expect(JSON.parse(h.stdout)).toEqual({ jobName: 'j1', runId: 'R1', status: 'RUNNING' });
  });

  it('list --all follows nextCursor and --json prints every job once', async () => {
    const row = (name: string) => ({
      jobName: name,
      runId: 'R',
      type: 'echo',
      status: 'SUCCEEDED',
      createdAt: times.startedAt,
    });
    h.answer(
      json(200, { jobs: [row('a'), row('b')], nextCursor: 'c1' }),
      json(200, { jobs: [row('c')] }),
    );
    expect(await h.run('list', '--all', '--limit', '2', '--status', 'succeeded', '--json')).toBe(0);
    expect(h.calls.map((c) => new URL(c.url).search)).toEqual([
      '?limit=2&status=SUCCEEDED',
      '?cursor=c1&limit=2&status=SUCCEEDED',
    ]);
    expect(JSON.parse(h.stdout).jobs.map((j: { jobName: string }) => j.jobName)).toEqual([
      'a',
      'b',
      'c',
    ]);
  });

  it('cancel sends DELETE to the encoded job path', async () => {
    h.answer(
      json(202, {
        jobName: 'a.b',
        runId: 'R',
        status: 'RUNNING',
        cancelRequestedAt: times.startedAt,
      }),
    );
    expect(await h.run('cancel', 'a.b')).toBe(0);
    expect(h.calls[0]).toMatchObject({ method: 'DELETE', url: 'http://127.0.0.1:3999/jobs/a.b' });
    expect(h.stdout).toContain('cancel requested for a.b (run R)');
  });
});

describe('signal', () => {
  beforeEach(() => h.writeState());
  const sent = { jobName: 'a.b', runId: 'R', signal: 'approval', receivedAt: times.startedAt };

  it('POSTs the payload to the encoded signal path and says when it was received', async () => {
    h.answer(json(202, sent));
    expect(await h.run('signal', 'a.b', 'approval', '{"approved":true}')).toBe(0);
    expect(h.calls[0]).toMatchObject({
      method: 'POST',
      url: 'http://127.0.0.1:3999/jobs/a.b/signals/approval',
      body: '{"approved":true}',
    });
    expect(h.stdout).toContain(`signal approval for a.b (run R) received at ${times.startedAt}`);
  });

  it('says so when the signal had been received already, and exits 0', async () => {
    h.answer(json(202, { ...sent, duplicate: true }));
    expect(await h.run('signal', 'a.b', 'approval')).toBe(0);
    expect(h.calls[0]?.body).toBe('');
    expect(h.stdout).toContain('was already received');
  });

  it('--json prints the API answer as one document', async () => {
    h.answer(json(202, sent));
    expect(await h.run('signal', 'a.b', 'approval', 'null', '--json')).toBe(0);
    expect(JSON.parse(h.stdout)).toEqual(sent);
    expect(h.calls[0]?.body).toBe('null');
  });

  it('exits 5 on a SignalConflict and 7 for an unknown job', async () => {
    h.answer(
      json(409, { error: { code: 'SignalConflict', message: 'different payload' } }),
      json(404, { error: { code: 'NotFound', message: 'No job named "a.b"' } }),
    );
    expect(await h.run('signal', 'a.b', 'approval', '{"approved":false}')).toBe(ExitCode.ApiError);
    expect(h.stderr).toContain('(409 SignalConflict)');
    expect(await h.run('signal', 'a.b', 'approval')).toBe(ExitCode.NotFound);
  });

  it('exits 2 without a signal name, sending nothing', async () => {
    expect(await h.run('signal', 'a.b')).toBe(ExitCode.Usage);
    expect(h.calls).toHaveLength(0);
    expect(h.stderr).toContain('signal needs <signal>');
  });
});

describe('replay', () => {
  beforeEach(() => h.writeState());
  const started = { jobName: 'again', runId: 'R2', status: 'RUNNING' };

  it('POSTs the new name to the encoded replay path and prints the new run', async () => {
    h.answer(json(202, started));
    expect(await h.run('replay', 'a.b', '--name', 'again')).toBe(0);
    expect(h.calls[0]).toMatchObject({
      method: 'POST',
      url: 'http://127.0.0.1:3999/jobs/a.b/replay',
      body: '{"name":"again"}',
    });
    expect(await verifyCall(h.calls[0] as Call, LOCAL, 'us-east-1')).toMatchObject({ ok: true });
    expect(h.stdout).toMatch(/name\s+again/);
    expect(h.stdout).toMatch(/runId\s+R2/);
    expect(h.stdout).toMatch(/replay\s+of a\.b/);
  });

  it('sends a generated name without --name, and --json prints the API answer', async () => {
    h.answer(json(202, started));
    expect(await h.run('replay', 'a.b', '--json')).toBe(0);
    expect(JSON.parse(h.calls[0]?.body ?? '')).toEqual({
      name: expect.stringMatching(/^[0-9A-HJKMNP-TV-Z]{26}$/),
    });
    expect(JSON.parse(h.stdout)).toEqual(started);
  });

  it('exits 5 with a hint for a job still running, and 7 for one not found', async () => {
    h.answer(
      json(409, { error: { code: 'JobStillRunning', message: 'The job "a.b" is still RUNNING' } }),
      json(404, { error: { code: 'NotFound', message: 'No finished job named "a.b"' } }),
    );
    expect(await h.run('replay', 'a.b')).toBe(ExitCode.ApiError);
    expect(h.stderr).toContain('(409 JobStillRunning)');
    expect(h.stderr).toContain('replay it once it has finished');
    expect(await h.run('replay', 'a.b')).toBe(ExitCode.NotFound);
  });

  it('--wait follows the new run to its end, with its exit code', async () => {
    h.answer(
      json(202, { jobName: 'j1', runId: 'R1', status: 'RUNNING' }),
      sse([sseMessage(1, STARTED), sseMessage(2, FAILED)]),
    );
    expect(await h.run('replay', 'first', '--name', 'j1', '--wait')).toBe(ExitCode.JobFailed);
    expect(h.calls[1]?.url).toBe('http://127.0.0.1:3999/jobs/j1/events');
    expect(h.stdout).toContain('Job Failed');
  });

  it('--wait without a stream URL is a usage error before anything is replayed', async () => {
    expect(await h.run('replay', 'first', '--wait', '--url', API_URL)).toBe(ExitCode.Usage);
    expect(h.calls).toHaveLength(0);
  });

  it('exits 2 without a name, sending nothing', async () => {
    expect(await h.run('replay')).toBe(ExitCode.Usage);
    expect(h.calls).toHaveLength(0);
    expect(h.stderr).toContain('replay needs <name>');
  });
});

describe('watch over server-sent events (local cloud)', () => {
  beforeEach(() => h.writeState());

  it.each([
    [COMPLETED, ExitCode.Ok],
    [FAILED, ExitCode.JobFailed],
    [CANCELLED, ExitCode.JobCancelled],
    [TIMED_OUT, ExitCode.JobTimedOut],
  ])('exits with the outcome of the terminal event: $0.detail-type', async (terminal, expected) => {
    // Prepare: the stream arrives cut at awkward places.
    const text = `: hello\n\n${sseMessage(1, STARTED)}${sseMessage(2, PROGRESS)}${sseMessage(3, terminal)}`;
    h.answer(sse([text.slice(0, 17), text.slice(17, 200), text.slice(200, 201), text.slice(201)]));

    // Act
    const code = await h.run('watch', 'j1');

    // Assess
    expect(code).toBe(expected);
    expect(h.calls[0]?.url).toBe('http://127.0.0.1:3999/jobs/j1/events');
    expect(h.calls[0]?.headers.accept).toBe('text/event-stream');
    expect(await verifyCall(h.calls[0] as Call, LOCAL, 'us-east-1')).toMatchObject({ ok: true });
    expect(h.stdout).toContain('Job Started');
    expect(h.stdout).toContain('50%  half');
    expect(h.stdout).toContain(terminal['detail-type']);
  });

  it('--json prints one event per line', async () => {
    h.answer(sse([sseMessage(1, STARTED), sseMessage(2, COMPLETED)]));
    expect(await h.run('watch', 'j1', '--json')).toBe(0);
    expect(
      h.stdout
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l)),
    ).toEqual([STARTED, COMPLETED]);
  });

  it('a 404 from the stream exits 7', async () => {
    h.answer(json(404, { error: { code: 'JobNotFound', message: 'No job named "j1"' } }));
    expect(await h.run('watch', 'j1')).toBe(ExitCode.NotFound);
  });

  it('start --wait starts, then follows only its own run, and prints the result', async () => {
    const otherRun = event('old', 'Job Completed', { ...times, result: 'stale' }, 'R0');
    h.answer(
      json(202, { jobName: 'j1', runId: 'R1', status: 'RUNNING' }),
      sse([sseMessage(1, otherRun), sseMessage(2, STARTED), sseMessage(3, COMPLETED)]),
    );
    expect(await h.run('start', 'echo', '--name', 'j1', '--wait')).toBe(0);
    expect(h.stdout).toContain('runId  R1');
    expect(h.stdout).toContain('"value": 42');
    expect(h.stdout).not.toContain('stale');
  });

  it('reopens a stream that ends early, skipping events it has already shown', async () => {
    h.answer(sse([sseMessage(1, STARTED)]), sse([sseMessage(1, STARTED), sseMessage(2, FAILED)]));
    expect(await h.run('watch', 'j1')).toBe(ExitCode.JobFailed);
    expect(h.calls).toHaveLength(2);
    expect(h.stdout.match(/Job Started/g)).toHaveLength(1);
  });

  it('Ctrl-C stops watching with exit 130 and says the job keeps running', async () => {
    h.answer(
      () =>
        new Response(
          new ReadableStream<Uint8Array>({
            start(controller) {
              controller.enqueue(new TextEncoder().encode(sseMessage(1, STARTED)));
              setTimeout(() => h.interrupt?.(), 20);
            },
          }),
          { status: 200 },
        ),
    );
    expect(await h.run('watch', 'j1')).toBe(ExitCode.Interrupted);
    expect(h.stderr).toContain('the job keeps running');
  });
});

describe('a deployed stack (--url)', () => {
  it('signs with the AWS chain credentials, session token included, in the region of the host', async () => {
    // Prepare
    const awsCredentials = vi.fn(async () => AWS);
    h.deps = { ...h.deps, awsCredentials };
    h.answer(json(200, { jobs: [] }));

    // Act
    const code = await h.run('list', '--url', `${API_URL}/`);

    // Assess
    expect(code).toBe(0);
    expect(awsCredentials).toHaveBeenCalledWith('eu-west-1');
    const call = h.calls[0] as Call;
    expect(call.url).toBe(`${API_URL}/jobs`);
    expect(call.headers['x-amz-security-token']).toBe(AWS.sessionToken);
    expect(call.headers.authorization).toContain('/eu-west-1/execute-api/aws4_request');
    expect(await verifyCall(call, AWS, 'eu-west-1')).toMatchObject({ ok: true });
  });

  it('takes the URL from EVENTJOBS_URL and the region from --region over the host', async () => {
    h.deps = { ...h.deps, env: { EVENTJOBS_URL: API_URL, AWS_REGION: 'ap-south-1' } };
    h.answer(json(200, { jobs: [] }));
    expect(await h.run('list', '--region', 'us-west-2')).toBe(0);
    expect(await verifyCall(h.calls[0] as Call, AWS, 'us-west-2')).toMatchObject({ ok: true });
  });

  it('needs a region for a custom domain (exit 2), and takes AWS_REGION', async () => {
    expect(await h.run('list', '--url', 'https://jobs.example.com')).toBe(ExitCode.Usage);
    expect(h.stderr).toContain(
      'eventjobs: cannot tell the region of jobs.example.com; pass --region or set AWS_REGION',
    );
    expect(h.stderr).toContain("Run 'eventjobs list --help'.");
    h.deps = { ...h.deps, env: { AWS_REGION: 'ap-south-1' } };
    h.answer(json(200, { jobs: [] }));
    expect(await h.run('list', '--url', 'https://jobs.example.com')).toBe(0);
    expect(await verifyCall(h.calls[0] as Call, AWS, 'ap-south-1')).toMatchObject({ ok: true });
  });

  it('reports missing credentials as exit 6', async () => {
    h.deps = {
      ...h.deps,
      awsCredentials: async () =>
        Promise.reject(new Error('Could not load credentials from any providers')),
    };
    expect(await h.run('status', 'j1', '--url', API_URL)).toBe(ExitCode.Unreachable);
    expect(h.stderr).toContain('no AWS credentials: Could not load credentials from any providers');
  });

  it('start --wait without a stream URL is a usage error before anything starts', async () => {
    expect(await h.run('start', 'sleep', '--wait', '--url', API_URL)).toBe(ExitCode.Usage);
    expect(h.stderr).toContain('--stream-url');
    expect(h.calls).toEqual([]);
  });

  it('gets credentials through the AWS SDK default chain (environment variables here)', async () => {
    vi.stubEnv('AWS_ACCESS_KEY_ID', AWS.accessKeyId);
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', AWS.secretAccessKey);
    vi.stubEnv('AWS_SESSION_TOKEN', AWS.sessionToken);
    try {
      expect(await processDeps().awsCredentials('eu-west-1')).toEqual(AWS);
    } finally {
      vi.unstubAllEnvs();
    }
  });
});

/** A scripted WebSocket server: answers the subscribe message with `replies`. */
function fakeWebSocket(replies: (name: string) => Array<string | 'close' | 'error'>) {
  const sockets: FakeWebSocket[] = [];
  class FakeWebSocket implements WebSocketLike {
    readonly sent: string[] = [];
    closed = false;
    private readonly listeners = new Map<string, Array<(event: WebSocketEventLike) => void>>();
    constructor(readonly url: string) {
      sockets.push(this);
      setTimeout(() => this.emit('open', {}), 1);
    }
    addEventListener(type: string, listener: (event: WebSocketEventLike) => void) {
      this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
    }
    send(data: string) {
      this.sent.push(data);
      const { name } = JSON.parse(data) as { name: string };
      setTimeout(() => {
        for (const reply of replies(name)) {
          if (reply === 'close') this.close(1000);
          else if (reply === 'error') this.emit('error', { message: 'reset' });
          else this.emit('message', { data: reply });
        }
      }, 1);
    }
    close(code?: number) {
      if (this.closed) return;
      this.closed = true;
      this.emit('close', { code });
    }
    private emit(type: string, event: WebSocketEventLike) {
      for (const listener of this.listeners.get(type) ?? []) listener(event);
    }
  }
  return { FakeWebSocket, sockets };
}

describe('watch over the WebSocket stream (deployed stack)', () => {
  const frame = (seq: number, value: unknown) =>
    JSON.stringify({ type: 'event', seq, event: value });

  it('connects with a presigned URL (60 s, session token), subscribes, and exits with the outcome', async () => {
    // Prepare
    const { FakeWebSocket, sockets } = fakeWebSocket(() => [
      frame(1, STARTED),
      frame(2, PROGRESS),
      frame(3, FAILED),
      'close',
    ]);
    h.deps = { ...h.deps, WebSocket: FakeWebSocket };

    // Act
    const code = await h.run('watch', 'j1', '--url', API_URL, '--stream-url', STREAM_URL);

    // Assess
    expect(code).toBe(ExitCode.JobFailed);
    const socket = sockets[0];
    expect(socket?.sent).toEqual([JSON.stringify({ action: 'subscribe', name: 'j1' })]);
    const url = new URL(socket?.url ?? '');
    expect(url.host).toBe('ws456.execute-api.eu-west-1.amazonaws.com');
    expect(url.searchParams.get('X-Amz-Expires')).toBe('60');
    expect(url.searchParams.get('X-Amz-Security-Token')).toBe(AWS.sessionToken);
    expect(
      await verifyCall({ url: url.href, method: 'GET', headers: {}, body: '' }, AWS, 'eu-west-1'),
    ).toMatchObject({ ok: true });
    expect(socket?.closed).toBe(true);
    expect(h.stdout).toContain('FAILED: Error: boom');
  });

  it('takes the stream URL from EVENTJOBS_STREAM_URL and prints NDJSON with --json', async () => {
    const { FakeWebSocket } = fakeWebSocket(() => [frame(1, STARTED), frame(2, COMPLETED)]);
    h.deps = {
      ...h.deps,
      WebSocket: FakeWebSocket,
      env: { EVENTJOBS_URL: API_URL, EVENTJOBS_STREAM_URL: STREAM_URL },
    };
    expect(await h.run('watch', 'j1', '--json')).toBe(0);
    expect(
      h.stdout
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l)),
    ).toEqual([STARTED, COMPLETED]);
  });

  it('an error message from the stream ends the watch: JobNotFound exits 7', async () => {
    const { FakeWebSocket } = fakeWebSocket((name) => [
      JSON.stringify({ type: 'error', code: 'JobNotFound', message: `No job named "${name}"` }),
      'close',
    ]);
    h.deps = { ...h.deps, WebSocket: FakeWebSocket };
    expect(await h.run('watch', 'nope', '--url', API_URL, '--stream-url', STREAM_URL)).toBe(
      ExitCode.NotFound,
    );
    expect(h.stderr).toContain('No job named "nope" (404 JobNotFound)');
  });

  it('a connection that keeps failing exits 6 after a few attempts', async () => {
    const { FakeWebSocket, sockets } = fakeWebSocket(() => ['error', 'close']);
    h.deps = { ...h.deps, WebSocket: FakeWebSocket };
    vi.useFakeTimers({ shouldAdvanceTime: true, advanceTimeDelta: 50 });
    try {
      const code = await h.run('watch', 'j1', '--url', API_URL, '--stream-url', STREAM_URL);
      expect(code).toBe(ExitCode.Unreachable);
    } finally {
      vi.useRealTimers();
    }
    expect(sockets).toHaveLength(4);
    expect(h.stderr).toContain(
      'the event stream at ws456.execute-api.eu-west-1.amazonaws.com failed: reset',
    );
  });

  it('without a WebSocket in this Node.js, re-runs itself with one when it can, else says how to get one', async () => {
    const reexecWithWebSocket = vi.fn(async () => 0);
    h.deps = { ...h.deps, WebSocket: undefined, reexecWithWebSocket };
    vi.stubGlobal('WebSocket', undefined);
    try {
      expect(await h.run('watch', 'j1', '--url', API_URL, '--stream-url', STREAM_URL)).toBe(0);
      expect(reexecWithWebSocket).toHaveBeenCalledOnce();

      h.deps = { ...h.deps, reexecWithWebSocket: undefined };
      expect(await h.run('watch', 'j1', '--url', API_URL, '--stream-url', STREAM_URL)).toBe(
        ExitCode.Unreachable,
      );
      expect(h.stderr).toContain('--experimental-websocket');
    } finally {
      vi.unstubAllGlobals();
    }
  });
});

describe('help and version', () => {
  it('prints the version and per-command help, exit 0', async () => {
    expect(await h.run('--version')).toBe(0);
    expect(h.stdout).toBe('9.9.9\n');
    h.stdout = '';
    expect(await h.run('result', '--help')).toBe(0);
    expect(h.stdout).toMatch(/^Usage: eventjobs result <name>/);
  });
});

describe('dashboard', () => {
  it('serves the page for the local cloud of the state file, prints its URL, and stops with exit 0 on Ctrl-C', async () => {
    // Prepare
    h.writeState();

    // Act
    const exit = h.run('dashboard', '--json');
    await vi.waitFor(() => expect(h.stdout).toContain('"url"'));
    const printed = JSON.parse(h.stdout) as { url: string; port: number; live: string };
    const page = await fetch(printed.url);
    const token = new URL(printed.url).searchParams.get('token') ?? '';
    const session = await fetch(`http://127.0.0.1:${printed.port}/api/session`, {
      headers: { 'x-dashboard-token': token },
    });
    h.interrupt?.();

    // Assess
    expect(await exit).toBe(ExitCode.Ok);
    expect(printed.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]{20,}$/);
    expect(printed.live).toBe('sse');
    expect(page.status).toBe(200);
    expect(await session.json()).toMatchObject({
      target: 'local',
      description: 'the local cloud at http://127.0.0.1:3999',
    });
    expect(h.stderr).toContain('eventjobs: dashboard stopped');
    await expect(fetch(printed.url)).rejects.toThrow();
  });

  it('for a deployed stack with a stream, re-runs itself with a WebSocket when this Node.js has none', async () => {
    // Prepare
    const reexecWithWebSocket = vi.fn(async () => 0);
    h.deps = { ...h.deps, WebSocket: undefined, reexecWithWebSocket };
    vi.stubGlobal('WebSocket', undefined);

    try {
      // Act
      const code = await h.run('dashboard', '--url', API_URL, '--stream-url', STREAM_URL);

      // Assess
      expect(code).toBe(0);
      expect(reexecWithWebSocket).toHaveBeenCalledOnce();
      expect(h.stdout).toBe('');
    } finally {
      vi.unstubAllGlobals();
    }
  });

  it('without a local cloud, exits 6 and serves nothing', async () => {
    expect(await h.run('dashboard')).toBe(ExitCode.Unreachable);
    expect(h.stderr).toContain('the local cloud is not running');
    expect(h.stdout).toBe('');
  });
});
