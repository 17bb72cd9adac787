/**
 * Replay (issue 18): `POST /jobs/{name}/replay` starts a finished job again
 * with what its outcome recorded, through the same start as `POST /jobs`, over
 * signed HTTP and through the real `eventjobs replay` binary.
 */
import { afterAll, describe, expect, inject, it } from 'vitest';
import { cliWorkspace } from './cli-run';
import { type ApiResponse, callApi, eventually, uniqueName } from './client';
import type { Identity } from './target';

const target = inject('e2e');

interface JobBody {
  jobName: string;
  runId: string;
  type: string;
  status: string;
  input?: unknown;
  result?: unknown;
  error?: { name: string; message: string };
  startedBy?: { kind: string; jobName?: string; runId?: string };
}

interface ErrorBody {
  error: { code: string; message: string; details?: unknown[] };
  job?: JobBody;
}

const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;

function replay(name: string, body?: unknown, who: Identity = target.alice) {
  return callApi(target, who, 'POST', `/jobs/${encodeURIComponent(name)}/replay`, body);
}

/** Starts a job of alice's and answers its name and run id. */
async function start(
  type: string,
  input: unknown,
  extra: Record<string, unknown> = {},
): Promise<{ name: string; runId: string }> {
  const name = uniqueName(`replay-${type}`);
  const response = await callApi(target, target.alice, 'POST', '/jobs', {
    type,
    name,
    input,
    ...extra,
  });
  expect(response.status, response.text).toBe(202);
  return { name, runId: (response.body as JobBody).runId };
}

/** The job once it has this status (and, with `runId`, is that run). */
function finished(name: string, status: string, runId?: string): Promise<JobBody> {
  return eventually(
    `${name} to be ${status}`,
    async () => {
      const response = await callApi(target, target.alice, 'GET', `/jobs/${name}`);
      const job = response.body as JobBody | undefined;
      return response.status === 200 &&
        job?.status === status &&
        (runId === undefined || job.runId === runId)
        ? job
        : undefined;
    },
    60_000,
  );
}

const errorOf = (response: ApiResponse) => response.body as ErrorBody;

describe('POST /jobs/{name}/replay', () => {
  it('replays a FAILED job under a given name: the same input fails the same way, and the run names its origin', async () => {
    // Prepare
    const failed = await start('fail', { message: 'disk full, on purpose' });
    await finished(failed.name, 'FAILED');
    const newName = uniqueName('replayed');

    // Act
    const response = await replay(failed.name, { name: newName });

    // Assess: the answer of a start
    expect(response.status, response.text).toBe(202);
    expect(response.headers.get('location')).toBe(`/jobs/${newName}`);
    const started = response.body as JobBody & { statusUrl: string };
    expect(started).toMatchObject({ jobName: newName, status: 'RUNNING' });
    expect(started.runId).toMatch(ULID);
    expect(started.statusUrl).toMatch(new RegExp(`/jobs/${newName}$`));
    // Assess: the new run ends as its input says, and records where it came from
    const job = await finished(newName, 'FAILED', started.runId);
    expect(job).toMatchObject({
      type: 'fail',
      input: { message: 'disk full, on purpose' },
      error: { message: 'disk full, on purpose' },
      startedBy: { kind: 'replay', jobName: failed.name, runId: failed.runId },
    });
    // The replayed job itself is left as it was.
    expect(await finished(failed.name, 'FAILED', failed.runId)).toBeDefined();
  }, 90_000);

  it('replays under a generated name (a ULID) when the body is empty; a SUCCEEDED echo succeeds again', async () => {
    // Prepare
    const echo = await start('echo', { value: { again: [1, 2] } });
    await finished(echo.name, 'SUCCEEDED');

    // Act
    const response = await replay(echo.name);

    // Assess
    expect(response.status, response.text).toBe(202);
    const started = response.body as JobBody;
    expect(started.jobName).toMatch(ULID);
    const job = await finished(started.jobName, 'SUCCEEDED', started.runId);
    expect(job).toMatchObject({
      type: 'echo',
      result: { value: { again: [1, 2] } },
      startedBy: { kind: 'replay', jobName: echo.name, runId: echo.runId },
    });
  }, 90_000);

  it('keeps the timeout the start asked for: a run that timed out times out again', async () => {
    // Prepare
    const slow = await start('sleep', { seconds: 20 }, { timeoutSeconds: 1 });
    await finished(slow.name, 'TIMED_OUT');

    // Act
    const response = await replay(slow.name, { name: slow.name });

    // Assess: under the job's own name, a new run, which ends at the same deadline
    expect(response.status, response.text).toBe(202);
    const started = response.body as JobBody;
    expect(started.runId).not.toBe(slow.runId);
    const job = await finished(slow.name, 'TIMED_OUT', started.runId);
    expect(job.startedBy).toEqual({ kind: 'replay', jobName: slow.name, runId: slow.runId });
  }, 90_000);

  it('refuses a job that is still running with 409 JobStillRunning, and starts nothing', async () => {
    // Prepare
    const running = await start('sleep', { seconds: 60 });
    const newName = uniqueName('never');

    // Act
    const response = await replay(running.name, { name: newName });

    // Assess
    expect(response.status, response.text).toBe(409);
    expect(response.headers.get('content-type')).toMatch(/application\/json/);
    expect(errorOf(response)).toMatchObject({
      error: { code: 'JobStillRunning' },
      job: { jobName: running.name, runId: running.runId },
    });
    const missing = await callApi(target, target.alice, 'GET', `/jobs/${newName}`);
    expect(missing.status).toBe(404);
    await callApi(target, target.alice, 'DELETE', `/jobs/${running.name}`);
  });

  it("answers 404 for an unknown name, and for another owner's job (bob cannot replay alice's)", async () => {
    // Prepare
    const alices = await start('echo', { value: 'mine' });
    await finished(alices.name, 'SUCCEEDED');

    // Act
    const unknown = await replay(uniqueName('never-ran'));
    const bobsCopy = uniqueName('bob-copy');
    const bobs = await replay(alices.name, { name: bobsCopy }, target.bob);

    // Assess
    for (const response of [unknown, bobs]) {
      expect(response.status, response.text).toBe(404);
      expect(errorOf(response).error.code).toBe('NotFound');
    }
    // His replay started nothing, and alice's job is still hers alone.
    const copy = await callApi(target, target.bob, 'GET', `/jobs/${bobsCopy}`);
    expect(copy.status).toBe(404);
    const bobsView = await callApi(target, target.bob, 'GET', `/jobs/${alices.name}`);
    expect(bobsView.status).toBe(404);
  }, 60_000);

  it('refuses a bad body with a 400 JSON error', async () => {
    // Prepare
    const echo = await start('echo', { value: 1 });
    await finished(echo.name, 'SUCCEEDED');

    // Act
    const unknownKey = await replay(echo.name, { name: uniqueName('x'), input: { value: 2 } });
    const badName = await replay(echo.name, { name: 'no spaces allowed' });
    const notAnObject = await replay(echo.name, ['a']);

    // Assess
    expect(unknownKey.status, unknownKey.text).toBe(400);
    expect(unknownKey.headers.get('content-type')).toMatch(/application\/json/);
    expect(errorOf(unknownKey).error.code).toBe('InvalidBody');
    expect(badName.status).toBe(400);
    expect(errorOf(badName).error.code).toBe('InvalidJobName');
    expect(notAnObject.status).toBe(400);
    expect(errorOf(notAnObject).error.code).toBe('InvalidBody');
  }, 60_000);
});

describe.runIf(target.kind === 'local')('eventjobs replay (the CLI binary)', () => {
  const cli = cliWorkspace(target);
  afterAll(() => cli.cleanup());

  it('replays a FAILED job with --wait (exit 1, as the new run fails), and says why it cannot replay', async () => {
    // Prepare
    const failed = await start('fail', { message: 'cli replay' });
    await finished(failed.name, 'FAILED');
    const newName = uniqueName('cli-replayed');
    const running = await start('sleep', { seconds: 60 });

    // Act
    const waited = await cli.run(['replay', failed.name, '--name', newName, '--wait']);
    const status = await cli.run(['status', newName]);
    const asJson = await cli.run(['replay', failed.name, '--json']);
    const stillRunning = await cli.run(['replay', running.name]);
    const unknown = await cli.run(['replay', uniqueName('never-ran')]);
    const usage = await cli.run(['replay', failed.name, '--input', '{}']);

    // Assess
    expect(waited.code, waited.stderr).toBe(1);
    expect(waited.stdout).toContain(newName);
    expect(waited.stdout).toContain('Job Failed');
    expect(status.stdout).toMatch(
      new RegExp(`started by\\s+replay of ${failed.name} \\(run ${failed.runId}\\)`),
    );
    expect(asJson.code, asJson.stderr).toBe(0);
    expect(JSON.parse(asJson.stdout)).toMatchObject({
      jobName: expect.stringMatching(ULID),
      status: 'RUNNING',
    });
    expect(stillRunning.code).toBe(5);
    expect(stillRunning.stderr).toContain('JobStillRunning');
    expect(unknown.code).toBe(7);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain("Unknown option '--input'");
    await callApi(target, target.alice, 'DELETE', `/jobs/${running.name}`);
  }, 120_000);
});
