/**
 * The job lifecycle end to end: cancellation reaching a running worker,
 * deadlines, eventjobs' own retries, and names reused after a run ends.
 */
import { describe, expect, inject, it } from 'vitest';
import { type ApiResponse, callApi, eventually, uniqueName } from './client';

const target = inject('e2e');

interface JobBody {
  jobName: string;
  runId: string;
  status: string;
  attempt?: number;
  progress?: { percent: number };
  cancelRequestedAt?: string;
  deadlineAt?: string;
  result?: unknown;
  error?: { name: string; message: string };
  attempts?: { attempt: number; error: { name: string; message: string }; at: string }[];
}

const asJob = (response: ApiResponse) => response.body as JobBody;

async function start(type: string, name: string, input: unknown): Promise<JobBody> {
  const response = await callApi(target, target.alice, 'POST', '/jobs', { type, name, input });
  expect(response.status).toBe(202);
  return asJob(response);
}

async function waitFor(
  name: string,
  done: (job: JobBody) => boolean,
  what: string,
  timeoutMs = 30_000,
): Promise<JobBody> {
  return eventually(
    `${name} ${what}`,
    async () => {
      const response = await callApi(target, target.alice, 'GET', `/jobs/${name}`);
      return response.status === 200 && done(asJob(response)) ? asJob(response) : undefined;
    },
    timeoutMs,
  );
}

describe('the job lifecycle', () => {
  it('1. DELETE reaches a running sleep job through its heartbeat: it ends CANCELLED', async () => {
    const name = uniqueName('cancel');
    const started = await start('sleep', name, { seconds: 60 });
    await waitFor(
      name,
      (job) => job.status === 'RUNNING' && job.deadlineAt !== undefined,
      'to run',
    );

    const cancel = await callApi(target, target.alice, 'DELETE', `/jobs/${name}`);
    expect(cancel.status).toBe(202);
    const cancelled = await waitFor(name, (job) => job.status !== 'RUNNING', 'to end', 10_000);

    expect(cancelled).toMatchObject({ status: 'CANCELLED', runId: started.runId });
    expect(cancelled.error?.name).toBe('JobCancelledError');
    expect(cancelled.cancelRequestedAt).toEqual(expect.any(String));
  });

  it('2. a job that outlives its deadline ends TIMED_OUT', async () => {
    // The e2e worker timeout caps every deadline, so a long sleep cannot finish in time.
    const name = uniqueName('deadline');
    const started = await start('sleep', name, { seconds: target.workerTimeoutSeconds * 10 });

    const timedOut = await waitFor(name, (job) => job.status !== 'RUNNING', 'to end', 30_000);

    expect(timedOut).toMatchObject({ status: 'TIMED_OUT', runId: started.runId });
    expect(timedOut.error?.name).toBe('JobTimedOut');
  });

  it('3. a flaky job is retried by eventjobs and succeeds on its second attempt', async () => {
    const name = uniqueName('flaky-ok');
    await start('flaky', name, { failures: 1 });

    const done = await waitFor(name, (job) => job.status !== 'RUNNING', 'to end');

    expect(done).toMatchObject({ status: 'SUCCEEDED', attempt: 2, result: { attempt: 2 } });
  });

  it("4. a job that fails every attempt ends FAILED with each attempt's error", async () => {
    const name = uniqueName('flaky-fail');
    await start('flaky', name, { failures: 5 });

    const failed = await waitFor(name, (job) => job.status !== 'RUNNING', 'to end');

    expect(failed).toMatchObject({ status: 'FAILED', attempt: 3 });
    expect(failed.attempts?.map((a) => a.attempt)).toEqual([1, 2, 3]);
    expect(failed.attempts?.every((a) => a.error.name === 'FlakyError')).toBe(true);
  });

  it('5. a finished name can be used again, and starts a new run with a new run id', async () => {
    const name = uniqueName('again');
    const first = await start('echo', name, { value: 1 });
    await waitFor(name, (job) => job.runId === first.runId && job.status === 'SUCCEEDED', 'to end');

    const second = await start('echo', name, { value: 2 });
    const done = await waitFor(
      name,
      (job) => job.runId === second.runId && job.status === 'SUCCEEDED',
      'to end again',
    );

    expect(second.runId).not.toBe(first.runId);
    expect(done.result).toEqual({ value: 2 });
  });
});
