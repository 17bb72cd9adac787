/**
 * The CLI under throttling: `main` against a local HTTP server (found through
 * a state file) that answers 429, 503 or API Gateway's bare 500 a few times
 * and then 200. Waits go through the injected `sleep`, which only records
 * them: nothing really waits.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ExitCode } from '../../../cli/errors';
import { type MainDeps, main } from '../../../cli/main';
import {
  GATEWAY_500,
  jobView,
  LOCAL,
  REGION,
  THROTTLED,
  ThrottlingServer,
  UNAVAILABLE,
} from '../client/throttling-server';

let server: ThrottlingServer;
let dir: string;
let stdout: string;
let stderr: string;
let waits: number[];

beforeEach(async () => {
  server = await new ThrottlingServer().start();
  dir = mkdtempSync(join(tmpdir(), 'eventjobs-cli-retry-'));
  mkdirSync(join(dir, '.eventjobs'));
  writeFileSync(
    join(dir, '.eventjobs/local.json'),
    JSON.stringify({
      pid: 4242,
      startedAt: '2026-01-01T00:00:00.000Z',
      stackName: 'EventJobs',
      region: REGION,
      apiUrl: server.url,
      awsEndpoint: 'http://127.0.0.1:4999',
      credentials: LOCAL,
      outputs: {},
    }),
  );
  stdout = '';
  stderr = '';
  waits = [];
});
afterEach(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

function run(...argv: string[]): Promise<number> {
  const deps: MainDeps = {
    env: {},
    cwd: dir,
    stdout: { isTTY: false, write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    fetch: (input, init) => fetch(input, init),
    readFile: (path) => readFileSync(path, 'utf8'),
    isAlive: () => true,
    awsCredentials: async () => {
      throw new Error('the local cloud needs no AWS credentials');
    },
    onInterrupt: () => () => undefined,
    sleep: async (ms) => {
      waits.push(ms);
    },
    version: '9.9.9',
  };
  return main(argv, deps);
}

describe('eventjobs under throttling', () => {
  it('retries a throttled call and says so once on stderr', async () => {
    // Prepare
    server.answer(THROTTLED('1'), THROTTLED('2'), { status: 200, body: jobView() });

    // Act
    const code = await run('status', 'j1', '--json');

    // Assess
    expect(code).toBe(ExitCode.Ok);
    expect(JSON.parse(stdout)).toMatchObject({ jobName: 'j1' });
    expect(stderr).toBe(
      'eventjobs: retrying after 429 Throttled (attempt 2 of 5, waiting 1.0 s)\n',
    );
    expect(waits).toEqual([1000, 2000]);
    expect(server.received).toHaveLength(3);
  });

  it('an unnamed start keeps the one name it was given across attempts', async () => {
    // Prepare
    server.answer(GATEWAY_500, UNAVAILABLE('1'), {
      status: 202,
      body: { jobName: 'set-by-test', runId: 'R1', status: 'RUNNING' },
    });

    // Act
    const code = await run('start', 'echo', '--input', '{"text":"hi"}');

    // Assess
    expect(code).toBe(ExitCode.Ok);
    const names = (server.bodies() as { name?: string }[]).map((body) => body.name);
    expect(names).toHaveLength(3);
    expect(new Set(names).size).toBe(1);
    expect(names[0]).toMatch(/^[0-9A-Z]{26}$/);
    expect(stderr).toContain('retrying after 500 Internal Server Error (attempt 2 of 5');
    expect(stdout).not.toContain('already running');
  });

  it('--max-attempts bounds the attempts; the last answer is the error, with how many there were', async () => {
    // Prepare
    server.answer(UNAVAILABLE('2'), UNAVAILABLE('2'), { status: 200, body: { jobs: [] } });

    // Act
    const code = await run('--max-attempts', '2', 'list', '--json');

    // Assess
    expect(code).toBe(ExitCode.ApiError);
    expect(server.received).toHaveLength(2);
    expect(stderr).toContain('(503 ServiceUnavailable)');
    expect(stderr).toContain('hint: still throttled after 2 attempts; try again later');
    expect(JSON.parse(stdout)).toEqual({
      error: {
        code: 'ServiceUnavailable',
        message: 'The job could not be started',
        status: 503,
        attempts: 2,
        exitCode: ExitCode.ApiError,
      },
    });
  });

  it('--max-attempts 1 turns retrying off, and a 4xx is never retried', async () => {
    // Prepare
    server.answer(THROTTLED('1'), {
      status: 409,
      body: { error: { code: 'JobFinished', message: 'finished' } },
    });

    // Act
    const throttled = await run('status', 'j1', '--max-attempts', '1');
    const finished = await run('cancel', 'j1');

    // Assess
    expect(throttled).toBe(ExitCode.ApiError);
    expect(finished).toBe(ExitCode.ApiError);
    expect(server.received.map((r) => r.method)).toEqual(['GET', 'DELETE']);
    expect(waits).toEqual([]);
    expect(stderr).not.toContain('retrying');
  });

  it.each(['0', 'two', '1.5'])('refuses --max-attempts %s as a usage error', async (value) => {
    const code = await run('--max-attempts', value, 'list');
    expect(code).toBe(ExitCode.Usage);
    expect(stderr).toContain(`--max-attempts must be a whole number of at least 1, got "${value}"`);
    expect(server.received).toEqual([]);
  });
});
